// sqlite_storage: the original's file layout, persistence, prefix ranges, atomic batches, busy
// handling and crash recovery.

#include "support.hpp"
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <signe/storage.hpp>
#include <signe/storage_sqlite.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <functional>
#include <random>
#include <thread>

namespace signe {
namespace {

using namespace std::chrono_literals;
using storage_test::keys_of;
using storage_test::puts;
using storage_test::raw_db;
using storage_test::temp_dir;

const storage_key demo{"main", "demo"};

std::string what_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const std::exception& error) {
        return error.what();
    }
    return "(nothing thrown)";
}

// catalogue 7.6 node.spec: "provides a SQLite storage provider"
TEST(SqliteStorage, ProvidesTheOriginalsOperations) {
    temp_dir dir;
    sqlite_storage storage({.path = dir.file("rooms.sqlite")});
    storage.write(
        demo, puts({{"value", json::parse(R"({"persisted":true})")}, {"other", "entry"}})
    );
    EXPECT_EQ(*storage.get(demo, "value"), json::parse(R"({"persisted":true})"));
    auto entries = storage.list(demo, "");
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(keys_of(entries), (std::vector<std::string>{"other", "value"}));
    write_batch remove;
    remove.deletes.push_back("other");
    storage.write(demo, remove);
    EXPECT_FALSE(storage.get(demo, "other").has_value());
    EXPECT_TRUE(storage.get(demo, "value").has_value());
}

TEST(SqliteStorage, CreatesTheOriginalsTableAndStoresJsonText) {
    temp_dir dir;
    auto path = dir.file("rooms.sqlite");
    {
        sqlite_storage storage({.path = path});
        storage.write(
            demo,
            puts({{"state:.", json::parse(R"({"count":3,"name":"x\u00e9","pos":{"x":1.5}})")}})
        );
    }
    raw_db raw(path);
    EXPECT_EQ(
        raw.column("SELECT name || ':' || type || ':' || \"notnull\" || ':' || pk "
                   "FROM pragma_table_info('signe_room_storage') ORDER BY cid"),
        (std::vector<std::string>{
            "namespace:TEXT:1:1", "room_id:TEXT:1:2", "key:TEXT:1:3", "value:TEXT:1:0"})
    );
    EXPECT_EQ(raw.scalar("SELECT typeof(value) FROM signe_room_storage"), "text");
    EXPECT_EQ(
        raw.scalar("SELECT namespace || '|' || room_id || '|' || key || '|' || value "
                   "FROM signe_room_storage"),
        "main|demo|state:.|{\"count\":3,\"name\":\"x\xc3\xa9\",\"pos\":{\"x\":1.5}}"
    );
    EXPECT_EQ(raw.scalar("PRAGMA journal_mode"), "wal");
}

TEST(SqliteStorage, OpensATableTheOriginalCreated) {
    temp_dir dir;
    auto path = dir.file("node.sqlite");
    {
        raw_db raw(path);
        raw.exec(
            "CREATE TABLE IF NOT EXISTS signe_room_storage (namespace TEXT NOT NULL, room_id "
            "TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (namespace, "
            "room_id, key))"
        );
        raw.exec(
            "INSERT INTO signe_room_storage VALUES ('main', 'demo', 'state:count', '5'), "
            "('main', 'demo', 'session:p', '{\"publicId\":\"Ab3dE9xZ\",\"connected\":true}')"
        );
    }
    sqlite_storage storage({.path = path});
    EXPECT_EQ(*storage.get(demo, "state:count"), 5);
    EXPECT_EQ(
        *storage.get(demo, "session:p"), json::parse(R"({"publicId":"Ab3dE9xZ","connected":true})")
    );
}

TEST(SqliteStorage, KeepsDataAcrossReopening) {
    temp_dir dir;
    auto path = dir.file("rooms.sqlite");
    {
        sqlite_storage storage({.path = path});
        storage.write(demo, puts({{"state:count", 1}, {"state:name", "a"}}));
        storage.write(demo, puts({{"state:count", 2}}));
        storage.write({"main", "other"}, puts({{"state:count", 9}}));
    }
    sqlite_storage storage({.path = path});
    EXPECT_EQ(*storage.get(demo, "state:count"), 2);
    EXPECT_EQ(*storage.get(demo, "state:name"), "a");
    EXPECT_EQ(*storage.get({"main", "other"}, "state:count"), 9);
}

TEST(SqliteStorage, UsesAnotherTableWhenAsked) {
    temp_dir dir;
    auto path = dir.file("rooms.sqlite");
    sqlite_storage storage({.path = path, .table = "My_rooms2"});
    storage.write(demo, puts({{"k", 1}}));
    raw_db raw(path);
    EXPECT_EQ(raw.scalar("SELECT count(*) FROM My_rooms2"), "1");
    EXPECT_EQ(
        raw.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'signe_room_storage'"), "0"
    );
}

// catalogue 7.6 node.spec: "rejects unsafe SQLite table names"
TEST(SqliteStorage, RejectsUnsafeTableNames) {
    temp_dir dir;
    auto path = dir.file("rooms.sqlite");
    for (std::string name :
         {"rooms; DROP TABLE rooms;", "", "1rooms", "rooms-x", "r\xc3\xa9", "a b"}) {
        EXPECT_THROW(sqlite_storage({.path = path, .table = name}), std::invalid_argument) << name;
        EXPECT_EQ(
            what_of([&] { sqlite_storage({.path = path, .table = name}); }),
            "Invalid SQLite table name: " + name
        );
    }
    EXPECT_FALSE(std::filesystem::exists(path));  // nothing opened
}

TEST(SqliteStorage, ValidatesJournalAndSynchronousModes) {
    temp_dir dir;
    auto path = dir.file("rooms.sqlite");
    EXPECT_EQ(
        what_of([&] { sqlite_storage({.path = path, .journal_mode = "wall"}); }),
        "Invalid SQLite journal mode: wall"
    );
    EXPECT_THROW(
        sqlite_storage({.path = path, .journal_mode = "WAL; DROP"}), std::invalid_argument
    );
    EXPECT_EQ(
        what_of([&] { sqlite_storage({.path = path, .synchronous = "sometimes"}); }),
        "Invalid SQLite synchronous mode: sometimes"
    );
    EXPECT_THROW(sqlite_storage({.path = ""}), std::invalid_argument);

    // Case-insensitive, as in the original.
    sqlite_storage storage({.path = path, .journal_mode = "delete", .synchronous = "full"});
    EXPECT_EQ(storage.options().journal_mode, "DELETE");
    EXPECT_EQ(storage.options().synchronous, "FULL");
    storage.write(demo, puts({{"k", 1}}));
    raw_db raw(path);
    EXPECT_EQ(raw.scalar("PRAGMA journal_mode"), "delete");
}

TEST(SqliteStorage, NormalisesNegativeBusySettings) {
    temp_dir dir;
    sqlite_storage storage(
        {.path = dir.file("rooms.sqlite"), .busy_timeout = -1ms, .busy_retries = -2}
    );
    EXPECT_EQ(storage.options().busy_timeout, 5000ms);
    EXPECT_EQ(storage.options().busy_retries, 0);
}

TEST(SqliteStorage, ReportsSqliteErrors) {
    temp_dir dir;
    auto message =
        what_of([&] { sqlite_storage storage({.path = dir.file("missing-dir/rooms.sqlite")}); });
    EXPECT_NE(message.find("unable to open database file"), std::string::npos) << message;

    auto path = dir.file("rooms.sqlite");
    sqlite_storage storage({.path = path});
    storage.write(demo, puts({{"k", 1}}));
    {
        raw_db raw(path);
        raw.exec("UPDATE signe_room_storage SET value = 'not json{' WHERE key = 'k'");
    }
    EXPECT_THROW(storage.get(demo, "k"), std::runtime_error);
    EXPECT_NE(
        what_of([&] { storage.list(demo, ""); }).find("\"k\" is not JSON"), std::string::npos
    );
}

// Numbers as JSON.stringify writes them read back as the same doubles (Boost.JSON 1.81's own
// parser is one unit in the last place off for some of these), and deep values read at all.
TEST(SqliteStorage, ReadsNumbersAndDeepValuesAsJavaScriptWroteThem) {
    temp_dir dir;
    auto path = dir.file("rooms.sqlite");
    sqlite_storage storage({.path = path});
    const std::vector<std::string> numbers = {
        "49.300000000000004",
        "0.9316699673633131",
        "400.15822740181227",
        "4.2595596694873763e+24",
        "-1.8964613972278022e+24",
        "123456789012345680000",
        "0.30000000000000004",
        "1e-7",
        "5e-324",
        "1.7976931348623157e+308",
    };
    std::string deep = "1";
    for (int i = 0; i < 200; ++i) {
        deep = "[" + deep + "]";
    }
    {
        raw_db raw(path);
        for (std::size_t i = 0; i < numbers.size(); ++i) {
            raw.exec(
                "INSERT INTO signe_room_storage VALUES ('main', 'demo', 'n" + std::to_string(i) +
                "', '" + numbers[i] + "')"
            );
        }
        raw.exec("INSERT INTO signe_room_storage VALUES ('main', 'demo', 'deep', '" + deep + "')");
    }
    for (std::size_t i = 0; i < numbers.size(); ++i) {
        double expected = 0;
        std::from_chars(numbers[i].data(), numbers[i].data() + numbers[i].size(), expected);
        auto value = storage.get(demo, "n" + std::to_string(i));
        ASSERT_TRUE(value.has_value());
        ASSERT_TRUE(value->is_number()) << numbers[i];
        EXPECT_EQ(value->to_number<double>(), expected) << numbers[i];
    }
    auto value = storage.get(demo, "deep");
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(to_text(*value), deep);
}

// Prefix ranges are taken on UTF-8 bytes. The original's prefix + "\uffff" misses keys that go
// on with a code point above U+FFFF; this range does not.
TEST(SqliteStorage, PrefixRangesCoverEveryKeyStartingWithThePrefix) {
    temp_dir dir;
    sqlite_storage storage({.path = dir.file("rooms.sqlite")});
    const std::string e_acute = "\xc3\xa9";         // U+00E9
    const std::string e_circumflex = "\xc3\xaa";    // U+00EA
    const std::string u_ffff = "\xef\xbf\xbf";      // U+FFFF
    const std::string emoji = "\xf0\x9f\x98\x80";   // U+1F600
    const std::string last = "\xf4\x8f\xbf\xbf";    // U+10FFFF
    const std::string before_gap = "\xed\x9f\xbf";  // U+D7FF, just below the surrogates
    const std::string after_gap = "\xee\x80\x80";   // U+E000, just above them
    std::vector<std::string> keys = {
        "state:",
        "state:" + e_acute,
        "state:" + e_acute + ".x",
        "state:" + e_acute + "a",
        "state:" + e_circumflex,
        "state:" + u_ffff,
        "state:" + u_ffff + "z",
        "state:" + emoji,
        "state:" + emoji + ".hp",
        "state:" + last,
        "state:" + last + last,
        "state:" + before_gap,
        "state:" + before_gap + "x",
        "state:" + after_gap,
        "state;",
        "statf",
        "state",
    };
    write_batch batch;
    for (const auto& key : keys) {
        batch.puts.emplace_back(key, key);
    }
    storage.write(demo, batch);

    auto expect_prefix = [&](const std::string& prefix) {
        std::vector<std::string> expected;
        for (const auto& key : keys) {
            if (key.starts_with(prefix)) {
                expected.push_back(key);
            }
        }
        std::sort(expected.begin(), expected.end());
        EXPECT_EQ(keys_of(storage.list(demo, prefix)), expected) << prefix;
    };
    for (const auto& prefix : keys) {
        expect_prefix(prefix);
    }
    expect_prefix("state:" + std::string("\xc3"));  // a prefix cut inside a character
    EXPECT_EQ(storage.list(demo, "state:").size(), 14u);
    EXPECT_EQ(
        keys_of(storage.list(demo, "state:" + emoji)),
        (std::vector<std::string>{"state:" + emoji, "state:" + emoji + ".hp"})
    );

    write_batch remove;
    remove.delete_prefixes = {"state:" + last, "state:" + e_acute};
    storage.write(demo, remove);
    EXPECT_EQ(storage.list(demo, "state:").size(), 9u);
    EXPECT_TRUE(storage.get(demo, "state:" + e_circumflex).has_value());
    EXPECT_TRUE(storage.get(demo, "state;").has_value());
}

// The same random keys and prefixes through memory_storage (a std::map and starts_with) and
// sqlite_storage: list and prefix deletes agree, malformed UTF-8 included.
TEST(SqliteStorage, PrefixesAgreeWithMemoryStorageOnRandomKeys) {
    temp_dir dir;
    sqlite_storage sqlite({.path = dir.file("rooms.sqlite")});
    memory_storage memory;
    const std::vector<std::string> pieces = {
        "a",
        "b",
        ".",
        ":",
        "\x7f",
        "\xc2\x80",
        "\xc3\xa9",
        "\xef\xbf\xbf",
        "\xf0\x9f\x98\x80",
        "\xf4\x8f\xbf\xbf",
        "\xed\x9f\xbf",
        "\xee\x80\x80",
        "\xff",
        "\x80",
        std::string(1, '\0'),
    };
    std::mt19937 random(20240611);
    auto random_text = [&](std::size_t max_pieces) {
        std::string text;
        auto count = std::uniform_int_distribution<std::size_t>(0, max_pieces)(random);
        for (std::size_t i = 0; i < count; ++i) {
            text +=
                pieces[std::uniform_int_distribution<std::size_t>(0, pieces.size() - 1)(random)];
        }
        return text;
    };
    write_batch batch;
    for (int i = 0; i < 600; ++i) {
        batch.puts.emplace_back(random_text(4), i);
    }
    sqlite.write(demo, batch);
    memory.write(demo, batch);
    ASSERT_EQ(sqlite.list(demo, ""), memory.list(demo, ""));
    for (int i = 0; i < 300; ++i) {
        auto prefix = random_text(3);
        ASSERT_EQ(sqlite.list(demo, prefix), memory.list(demo, prefix)) << i;
    }
    for (int i = 0; i < 40; ++i) {
        write_batch remove;
        remove.delete_prefixes.push_back(random_text(2) + random_text(1));
        sqlite.write(demo, remove);
        memory.write(demo, remove);
        ASSERT_EQ(sqlite.list(demo, ""), memory.list(demo, "")) << i;
    }
}

// A trigger of the test's own makes any put of the key "boom" fail, in the middle of a batch.
void arm_failing_put(const std::string& path) {
    raw_db raw(path);
    raw.exec(
        "CREATE TRIGGER fail_boom BEFORE INSERT ON signe_room_storage WHEN NEW.key = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    );
}

TEST(SqliteStorage, AFailedWriteLeavesNothingOfItsBatch) {
    temp_dir dir;
    auto path = dir.file("rooms.sqlite");
    sqlite_storage storage({.path = path});
    storage.write(demo, puts({{"state:a", 1}, {"state:a.x", 2}, {"state:b", 3}}));
    arm_failing_put(path);

    write_batch batch;
    batch.delete_prefixes = {"state:a"};
    batch.deletes = {"state:b"};
    batch.puts = {{"state:c", 4}, {"boom", 5}, {"state:d", 6}};
    EXPECT_NE(
        what_of([&] { storage.write(demo, batch); }).find("injected failure"), std::string::npos
    );
    EXPECT_EQ(
        keys_of(storage.list(demo, "")),
        (std::vector<std::string>{"state:a", "state:a.x", "state:b"})
    );

    // The connection is usable afterwards (the transaction was rolled back, not left open).
    storage.write(demo, puts({{"state:c", 7}}));
    EXPECT_EQ(*storage.get(demo, "state:c"), 7);
    raw_db raw(path);
    EXPECT_EQ(raw.scalar("SELECT count(*) FROM signe_room_storage"), "4");
}

TEST(SqliteStorage, WriteManyIsOneTransactionAcrossRooms) {
    temp_dir dir;
    auto path = dir.file("rooms.sqlite");
    sqlite_storage storage({.path = path});
    storage_key other{"main", "other"};
    storage_key third{"world", "demo"};
    storage.write(other, puts({{"state:count", 1}}));
    arm_failing_put(path);

    std::vector<std::pair<storage_key, write_batch>> batches;
    batches.emplace_back(demo, puts({{"state:count", 10}}));
    write_batch wipe;
    wipe.delete_prefixes.push_back("");
    batches.emplace_back(other, wipe);
    batches.emplace_back(third, puts({{"state:x", 1}, {"boom", 2}}));
    EXPECT_THROW(storage.write_many(batches), std::runtime_error);

    EXPECT_FALSE(storage.get(demo, "state:count").has_value());
    EXPECT_EQ(*storage.get(other, "state:count"), 1);
    EXPECT_TRUE(storage.list(third, "").empty());

    batches.pop_back();
    storage.write_many(batches);
    EXPECT_EQ(*storage.get(demo, "state:count"), 10);
    EXPECT_TRUE(storage.list(other, "").empty());
}

// Another connection (another process, in real life) holds the write lock for less than
// busy_timeout: the write waits for it and succeeds.
TEST(SqliteStorage, WaitsForALockHeldLessThanTheBusyTimeout) {
    temp_dir dir;
    auto path = dir.file("rooms.sqlite");
    sqlite_storage storage({.path = path});  // busy_timeout 5000 ms
    raw_db other(path);
    other.exec("BEGIN IMMEDIATE");
    other.exec("INSERT INTO signe_room_storage VALUES ('main', 'demo', 'held', '1')");

    std::atomic<bool> released{false};
    std::thread holder([&] {
        std::this_thread::sleep_for(300ms);  // how long the lock is held, not synchronisation
        released = true;
        other.exec("COMMIT");
    });
    storage.write(demo, puts({{"state:count", 1}}));
    // The lock was taken before the write started, so the write can only have finished after
    // the holder let it go.
    EXPECT_TRUE(released.load());
    holder.join();
    EXPECT_EQ(*storage.get(demo, "state:count"), 1);
    EXPECT_EQ(*storage.get(demo, "held"), 1);
}

// With no wait inside SQLite, the retries (25, 50, 100, ... ms apart) still get the write in.
TEST(SqliteStorage, RetriesABusyDatabase) {
    temp_dir dir;
    auto path = dir.file("rooms.sqlite");
    sqlite_storage storage({.path = path, .busy_timeout = 0ms, .busy_retries = 8});
    raw_db other(path);
    other.exec("BEGIN IMMEDIATE");
    std::atomic<bool> released{false};
    std::thread holder([&] {
        std::this_thread::sleep_for(60ms);  // how long the lock is held, not synchronisation
        released = true;
        other.exec("COMMIT");
    });
    storage.write(demo, puts({{"state:count", 1}}));
    EXPECT_TRUE(released.load());
    holder.join();
    EXPECT_EQ(*storage.get(demo, "state:count"), 1);
}

// A lock held past busy_timeout and every retry: the write fails with SQLite's message and
// leaves nothing behind.
TEST(SqliteStorage, GivesUpOnALockHeldTooLong) {
    temp_dir dir;
    auto path = dir.file("rooms.sqlite");
    sqlite_storage storage({.path = path, .busy_timeout = 20ms, .busy_retries = 2});
    storage.write(demo, puts({{"state:count", 1}}));
    raw_db other(path);
    other.exec("BEGIN IMMEDIATE");

    write_batch batch;
    batch.deletes = {"state:count"};
    batch.puts = {{"state:name", "x"}};
    auto started = std::chrono::steady_clock::now();
    auto message = what_of([&] { storage.write(demo, batch); });
    auto elapsed = std::chrono::steady_clock::now() - started;
    EXPECT_NE(message.find("database is locked"), std::string::npos) << message;
    // Three tries of 20 ms each, with 25 and 50 ms of backoff between them.
    EXPECT_GE(elapsed, 135ms);
    other.exec("COMMIT");

    EXPECT_EQ(keys_of(storage.list(demo, "")), (std::vector<std::string>{"state:count"}));
    storage.write(demo, batch);  // and it works once the lock is gone
    EXPECT_EQ(keys_of(storage.list(demo, "")), (std::vector<std::string>{"state:name"}));
}

// A writer killed with SIGKILL leaves a WAL file with committed transactions and an open one:
// the next open recovers the committed ones and none of the open one.
TEST(SqliteStorage, RecoversAWalLeftByAKilledWriter) {
    temp_dir dir;
    auto path = dir.file("rooms.sqlite");
    pid_t child = fork();
    ASSERT_NE(child, -1);
    if (child == 0) {
        try {
            sqlite_storage storage({.path = path});
            for (int i = 1; i <= 100; ++i) {
                write_batch batch;
                batch.delete_prefixes = {"state:items."};
                batch.puts = {{"state:count", i}, {"state:items." + std::to_string(i), i}};
                storage.write(demo, batch);
            }
            raw_db raw(path);
            raw.exec("BEGIN IMMEDIATE");
            raw.exec("INSERT INTO signe_room_storage VALUES ('main', 'demo', 'torn', '1')");
            raw.exec("UPDATE signe_room_storage SET value = '-1' WHERE key = 'state:count'");
            kill(getpid(), SIGKILL);
        } catch (...) {
            _exit(2);
        }
        _exit(3);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exit status " << WEXITSTATUS(status);
    ASSERT_EQ(WTERMSIG(status), SIGKILL);
    ASSERT_TRUE(std::filesystem::exists(path + "-wal"));
    EXPECT_GT(std::filesystem::file_size(path + "-wal"), 0u);

    sqlite_storage storage({.path = path});
    EXPECT_EQ(*storage.get(demo, "state:count"), 100);
    EXPECT_FALSE(storage.get(demo, "torn").has_value());
    EXPECT_EQ(
        keys_of(storage.list(demo, "")),
        (std::vector<std::string>{"state:count", "state:items.100"})
    );
    raw_db raw(path);
    EXPECT_EQ(raw.scalar("PRAGMA integrity_check"), "ok");
}

TEST(MakeStorage, BuildsTheBackendASpecNames) {
    temp_dir dir;
    auto memory = make_storage("memory");
    EXPECT_NE(dynamic_cast<memory_storage*>(memory.get()), nullptr);

    auto path = dir.file("made.sqlite");
    auto sqlite = make_storage("sqlite:" + path);
    auto* backend = dynamic_cast<sqlite_storage*>(sqlite.get());
    ASSERT_NE(backend, nullptr);
    EXPECT_EQ(backend->options().path, path);
    EXPECT_EQ(backend->options().journal_mode, "WAL");
    sqlite->write(demo, puts({{"k", 1}}));
    EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(MakeStorage, RejectsAnythingElseListingTheAcceptedForms) {
    for (std::string spec : {"", "Memory", "redis:localhost", "sqlite", "postgres:x"}) {
        auto message = what_of([&] { make_storage(spec); });
        EXPECT_NE(message.find("\"memory\" or \"sqlite:<path>\""), std::string::npos) << message;
        EXPECT_THROW(make_storage(spec), std::invalid_argument);
    }
    EXPECT_THROW(make_storage("sqlite:"), std::invalid_argument);
    EXPECT_NE(
        what_of([] { make_storage("sqlite:"); }).find("needs a database path"), std::string::npos
    );
}

}  // namespace
}  // namespace signe

// redis_storage: the storage_backend contract (tests/storage/backend_contract.hpp, shared with
// memory and SQLite), the key layout, atomic batches, reconnection, and Redis going
// down and coming back.

#include "redis/redis_server.hpp"
#include "storage/backend_contract.hpp"
#include <gtest/gtest.h>

#include <signe/storage.hpp>
#include <signe/storage_redis.hpp>

#include <atomic>
#include <thread>

namespace signe {
namespace {

using namespace std::chrono_literals;
using redis_test::redis_server;

using storage_test::keys_of;
using storage_test::puts;

template <class F>
std::string what_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no exception)";
}

class RedisStorageTest : public ::testing::Test {
protected:
    redis_server server;
    std::unique_ptr<redis_storage> storage = make();
    storage_key demo{"main", "demo"};

    std::unique_ptr<redis_storage> make(std::string prefix = "signe") {
        redis_storage_options options;
        options.connection.url = server.url();
        options.connection.connect_timeout = 1000ms;
        options.connection.command_timeout = 2000ms;
        options.prefix = std::move(prefix);
        return std::make_unique<redis_storage>(options);
    }
};

// One hash per room, values as the JSON text JSON.stringify writes.
TEST_F(RedisStorageTest, KeepsOneHashPerRoomWithJsonTextValues) {
    storage->write(demo, puts({{"state:count", 3}, {"state:.", json::parse(R"({"a":[1.5]})")}}));
    EXPECT_EQ(storage->room_key(demo), "signe:main:demo");
    EXPECT_EQ(server.call({"TYPE", "signe:main:demo"}), "hash");
    EXPECT_EQ(server.call({"HGET", "signe:main:demo", "state:count"}), "3");
    EXPECT_EQ(server.call({"HGET", "signe:main:demo", "state:."}), R"({"a":[1.5]})");
    EXPECT_EQ(storage->room_key({"a:b", "c d/é"}), "signe:a%3Ab:c%20d%2F%C3%A9");

    // A value written by another program in the same layout reads back.
    server.call({"HSET", "signe:main:demo", "session:x", R"({"publicId":"p1","n":[2,0.25]})"});
    EXPECT_EQ(*storage->get(demo, "session:x"), json::parse(R"({"publicId":"p1","n":[2,0.25]})"));
}

// catalogue 7.6 node.spec: "keeps explicit memory storage isolated by namespace and room id"
// catalogue 7.6 node.spec: "keeps default storage isolated per room id"
TEST_F(RedisStorageTest, KeepsNamespacesRoomsAndPrefixesApart) {
    storage_key alternate{"alternate", "demo"};
    storage_key other{"main", "other"};
    storage->write(demo, puts({{"value", "main-demo"}}));
    storage->write(alternate, puts({{"value", "alternate-demo"}}));
    storage->write(other, puts({{"value", "main-other"}}));
    EXPECT_EQ(*storage->get(demo, "value"), "main-demo");
    EXPECT_EQ(*storage->get(alternate, "value"), "alternate-demo");
    EXPECT_EQ(*storage->get(other, "value"), "main-other");

    write_batch wipe;
    wipe.delete_prefixes.push_back("");
    storage->write(demo, wipe);
    EXPECT_FALSE(storage->get(demo, "value").has_value());
    EXPECT_EQ(server.call({"EXISTS", "signe:main:demo"}), "0");
    EXPECT_EQ(*storage->get(alternate, "value"), "alternate-demo");
    EXPECT_EQ(*storage->get(other, "value"), "main-other");
    // A room id that is another room's namespace-qualified name is still another room.
    storage->write({"main", "a:b"}, puts({{"value", 1}}));
    EXPECT_FALSE(storage->get({"main:a", "b"}, "value").has_value());
    EXPECT_FALSE(storage->get({"main", "a"}, "value").has_value());

    // Another deployment (another prefix) on the same Redis sees nothing of this one.
    auto elsewhere = make("other-app");
    EXPECT_FALSE(elsewhere->get(alternate, "value").has_value());
    elsewhere->write(alternate, puts({{"value", "theirs"}}));
    EXPECT_EQ(*storage->get(alternate, "value"), "alternate-demo");
}

// All rooms of a write_many, or none: a room key of the wrong type fails the call before
// anything is written.
TEST_F(RedisStorageTest, ABatchThatCannotBeAppliedChangesNothing) {
    storage->write(demo, puts({{"a", 1}}));
    storage_key broken{"main", "broken"};
    server.call({"SET", storage->room_key(broken), "not a hash"});
    std::vector<std::pair<storage_key, write_batch>> batches;
    write_batch change;
    change.delete_prefixes = {""};
    change.puts = {{"b", 2}};
    batches.emplace_back(demo, change);
    batches.emplace_back(broken, puts({{"x", 1}}));
    auto message = what_of([&] { storage->write_many(batches); });
    EXPECT_NE(message.find("WRONGTYPE"), std::string::npos) << message;
    EXPECT_EQ(keys_of(storage->list(demo, "")), (std::vector<std::string>{"a"}));
    EXPECT_EQ(server.call({"GET", storage->room_key(broken)}), "not a hash");
}

// Another client never sees half a batch: every list shows all keys of one batch or another.
TEST_F(RedisStorageTest, ReadersNeverSeeHalfABatch) {
    constexpr int keys = 50;
    auto batch_for = [&](int n) {
        write_batch batch;
        batch.delete_prefixes = {"k:"};
        for (int i = 0; i < keys; ++i) {
            batch.puts.emplace_back("k:" + std::to_string(i), n);
        }
        return batch;
    };
    storage->write(demo, batch_for(0));
    std::atomic<bool> done{false};
    std::atomic<int> reads{0};
    std::string torn;
    std::thread reader([&] {
        auto mine = make();
        while (!done) {
            auto entries = mine->list(demo, "k:");
            if (entries.size() != static_cast<std::size_t>(keys)) {
                torn = "saw " + std::to_string(entries.size()) + " keys";
                return;
            }
            for (const auto& [key, value] : entries) {
                if (value != entries.front().second) {
                    torn = "mixed values " + json::serialize(value) + " and " +
                           json::serialize(entries.front().second);
                    return;
                }
            }
            ++reads;
        }
    });
    for (int n = 1; n <= 200 || reads < 20; ++n) {
        storage->write(demo, batch_for(n));
        if (!torn.empty() || n > 100000) {
            break;
        }
    }
    done = true;
    reader.join();
    EXPECT_EQ(torn, "");
    EXPECT_GE(reads.load(), 20);
}

TEST_F(RedisStorageTest, KeepsEverythingAcrossReconnectsAndNewClients) {
    storage->write(demo, puts({{"state:count", 7}, {"session:s1", json::parse(R"({"p":"x"})")}}));
    storage.reset();  // the process goes away
    auto again = make();
    EXPECT_EQ(*again->get(demo, "state:count"), 7);
    EXPECT_EQ(
        keys_of(again->list(demo, "")), (std::vector<std::string>{"session:s1", "state:count"})
    );

    // Redis drops every connection: the next call reconnects and nothing was lost.
    server.call({"CLIENT", "KILL", "TYPE", "normal"});
    EXPECT_EQ(*again->get(demo, "state:count"), 7);
    again->write(demo, puts({{"state:count", 8}}));
    EXPECT_EQ(server.call({"HGET", "signe:main:demo", "state:count"}), "8");
}

TEST(RedisStorage, FailsClearlyWhileRedisIsDownAndWorksAgainWhenItReturns) {
    // Saved to an append-only file, so what was written before the outage is still there after.
    redis_server server({"--appendonly", "yes", "--appendfsync", "always"});
    redis_storage_options options;
    options.connection.url = server.url();
    redis_storage storage(options);
    storage_key demo{"main", "demo"};
    storage.write(demo, puts({{"before", 1}}));

    server.stop();
    auto expected = "redis: connection refused (127.0.0.1:" + std::to_string(server.port()) + ")";
    try {
        storage.write(demo, puts({{"during", 2}}));
        FAIL() << "no exception";
    } catch (const redis_error& e) {
        EXPECT_TRUE(e.unavailable());
        EXPECT_EQ(std::string(e.what()), expected);
    }
    EXPECT_EQ(what_of([&] { storage.get(demo, "before"); }), expected);
    EXPECT_EQ(what_of([&] { storage.list(demo, ""); }), expected);

    server.start();
    EXPECT_EQ(*storage.get(demo, "before"), 1);
    EXPECT_FALSE(storage.get(demo, "during").has_value());
    storage.write(demo, puts({{"after", 3}}));  // the write script is loaded again
    EXPECT_EQ(keys_of(storage.list(demo, "")), (std::vector<std::string>{"after", "before"}));
}

TEST(RedisStorage, ConstructionFailsWhenRedisCannotBeReached) {
    auto port = redis_test::free_port();
    redis_storage_options options;
    options.connection.url = "redis://127.0.0.1:" + std::to_string(port);
    EXPECT_EQ(
        what_of([&] { redis_storage storage(options); }),
        "redis: connection refused (127.0.0.1:" + std::to_string(port) + ")"
    );
    options.prefix = "";
    EXPECT_THROW(redis_storage storage(options), std::invalid_argument);
}

TEST(MakeStorage, BuildsRedisStorageFromAUrl) {
    redis_server server;
    auto made = make_storage(server.url() + "/2?prefix=game&timeout_ms=1500");
    auto* redis = dynamic_cast<redis_storage*>(made.get());
    ASSERT_NE(redis, nullptr);
    EXPECT_EQ(redis->options().prefix, "game");
    EXPECT_EQ(redis->options().connection.command_timeout, 1500ms);
    made->write({"main", "demo"}, puts({{"k", 1}}));
    EXPECT_EQ(server.call({"EXISTS", "game:main:demo"}), "0");  // database 2, not 0
    redis_client db2{{.url = server.url() + "/2"}};
    EXPECT_EQ(db2.command({"HGET", "game:main:demo", "k"}).str, "1");

    EXPECT_NE(
        what_of([&] { make_storage(server.url() + "?prefx=x"); }
        ).find("Unknown Redis storage option"),
        std::string::npos
    );
    EXPECT_NE(
        what_of([&] { make_storage(server.url() + "?timeout_ms=0"); }).find("timeout_ms"),
        std::string::npos
    );
    EXPECT_NE(what_of([] { make_storage("rediss://127.0.0.1"); }).find("TLS"), std::string::npos);
    EXPECT_NE(
        what_of([] { make_storage("redis:x"); }).find("redis://host:port"), std::string::npos
    );
}

}  // namespace
}  // namespace signe

namespace signe::storage_test {
namespace {

// The contract every backend meets (tests/storage/backend_contract.hpp), on a private Redis.
struct redis_backend {
    redis_test::redis_server server;
    std::unique_ptr<storage_backend> make() {
        redis_storage_options options;
        options.connection.url = server.url();
        return std::make_unique<redis_storage>(options);
    }
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Redis, BackendContract, redis_backend);

}  // namespace signe::storage_test

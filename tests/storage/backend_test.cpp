// Behaviour every storage_backend shares, run against memory_storage and sqlite_storage.

#include "support.hpp"
#include <gtest/gtest.h>

#include <signe/storage.hpp>
#include <signe/storage_sqlite.hpp>

namespace signe {
namespace {

using storage_test::keys_of;
using storage_test::puts;

struct memory_backend {
    std::unique_ptr<storage_backend> make() { return std::make_unique<memory_storage>(); }
};

struct sqlite_backend {
    storage_test::temp_dir dir;
    std::unique_ptr<storage_backend> make() {
        return std::make_unique<sqlite_storage>(sqlite_options{.path = dir.file("db.sqlite")});
    }
};

template <class Backend>
class BackendTest : public ::testing::Test {
protected:
    Backend backend;
    std::unique_ptr<storage_backend> storage = backend.make();
    storage_key demo{"main", "demo"};
};

using backends = ::testing::Types<memory_backend, sqlite_backend>;
class backend_names {
public:
    template <class T>
    static std::string GetName(int) {
        return std::is_same_v<T, memory_backend> ? "memory" : "sqlite";
    }
};
TYPED_TEST_SUITE(BackendTest, backends, backend_names);

TYPED_TEST(BackendTest, GetOfAMissingKeyIsEmpty) {
    EXPECT_FALSE(this->storage->get(this->demo, "state:count").has_value());
    EXPECT_TRUE(this->storage->list(this->demo, "").empty());
}

TYPED_TEST(BackendTest, PutsAndReadsBackEveryKindOfJsonValue) {
    json::value values = json::parse(
        R"({"null":null,"true":true,"int":-42,"big":9007199254740991,"double":0.5,)"
        R"("text":"h\u00e9llo \"w\" \n","array":[1,"two",{"three":3}],"object":{"a":{"b":[]}}})"
    );
    write_batch batch;
    for (const auto& [key, value] : values.as_object()) {
        batch.puts.emplace_back(std::string(key), value);
    }
    this->storage->write(this->demo, batch);
    for (const auto& [key, value] : values.as_object()) {
        auto stored = this->storage->get(this->demo, key);
        ASSERT_TRUE(stored.has_value()) << key;
        EXPECT_EQ(*stored, value) << key;
    }
}

// catalogue 7.6 node.spec: "keeps explicit memory storage isolated by namespace and room id"
// catalogue 7.6 node.spec: "keeps default storage isolated per room id"
TYPED_TEST(BackendTest, KeepsNamespacesAndRoomsApart) {
    storage_key alternate{"alternate", "demo"};
    storage_key other{"main", "other"};
    this->storage->write(this->demo, puts({{"value", "main-demo"}}));
    this->storage->write(alternate, puts({{"value", "alternate-demo"}}));
    this->storage->write(other, puts({{"value", "main-other"}}));
    EXPECT_EQ(*this->storage->get(this->demo, "value"), "main-demo");
    EXPECT_EQ(*this->storage->get(alternate, "value"), "alternate-demo");
    EXPECT_EQ(*this->storage->get(other, "value"), "main-other");

    write_batch wipe;
    wipe.delete_prefixes.push_back("");
    this->storage->write(this->demo, wipe);
    EXPECT_FALSE(this->storage->get(this->demo, "value").has_value());
    EXPECT_EQ(*this->storage->get(alternate, "value"), "alternate-demo");
    EXPECT_EQ(*this->storage->get(other, "value"), "main-other");
    // A room id that is another room's namespace-qualified name is still another room.
    EXPECT_FALSE(this->storage->get({"main:demo", ""}, "value").has_value());
}

TYPED_TEST(BackendTest, ListsByPrefixInAscendingBinaryOrder) {
    // Binary (UTF-8 byte) order, the order SQLite's BINARY collation gives: upper case before
    // lower case, and non-ASCII after ASCII, unlike the original memory provider's localeCompare.
    this->storage->write(
        this->demo,
        puts(
            {{"state:b", 2},
             {"state:a", 1},
             {"state:B", 3},
             {"state:\xc3\xa9", 4},
             {"state:a.0", 5},
             {"state:", 6},
             {"session:x", 7},
             {"statf", 8}}
        )
    );
    EXPECT_EQ(
        keys_of(this->storage->list(this->demo, "state:")),
        (std::vector<std::string>{
            "state:", "state:B", "state:a", "state:a.0", "state:b", "state:\xc3\xa9"})
    );
    EXPECT_EQ(
        keys_of(this->storage->list(this->demo, "")),
        (std::vector<std::string>{
            "session:x",
            "state:",
            "state:B",
            "state:a",
            "state:a.0",
            "state:b",
            "state:\xc3\xa9",
            "statf"})
    );
    EXPECT_EQ(
        keys_of(this->storage->list(this->demo, "state:a")),
        (std::vector<std::string>{"state:a", "state:a.0"})
    );
    EXPECT_TRUE(this->storage->list(this->demo, "nothing").empty());
    auto entries = this->storage->list(this->demo, "state:a.");
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].second, 5);
}

// A batch applies prefix deletes, then key deletes, then puts: a put survives a delete of the same
// key or prefix in the same batch (this is how compaction rewrites "state:.").
TYPED_TEST(BackendTest, AppliesABatchAsPrefixDeletesThenDeletesThenPuts) {
    this->storage->write(
        this->demo,
        puts({{"state:a", 1}, {"state:a.x", 2}, {"state:a.y", 3}, {"state:b", 4}, {"state:c", 5}})
    );
    write_batch batch;
    batch.puts = {{"state:a.x", "new"}, {"state:b", "again"}};
    batch.deletes = {"state:b", "state:c", "state:missing"};
    batch.delete_prefixes = {"state:a"};
    this->storage->write(this->demo, batch);
    auto entries = this->storage->list(this->demo, "");
    EXPECT_EQ(keys_of(entries), (std::vector<std::string>{"state:a.x", "state:b"}));
    EXPECT_EQ(*this->storage->get(this->demo, "state:a.x"), "new");
    EXPECT_EQ(*this->storage->get(this->demo, "state:b"), "again");
}

TYPED_TEST(BackendTest, OverwritesAValue) {
    this->storage->write(this->demo, puts({{"state:count", 1}}));
    this->storage->write(this->demo, puts({{"state:count", json::parse(R"({"n":2})")}}));
    EXPECT_EQ(*this->storage->get(this->demo, "state:count"), json::parse(R"({"n":2})"));
    EXPECT_EQ(this->storage->list(this->demo, "").size(), 1u);
}

TYPED_TEST(BackendTest, WritesBatchesOfSeveralRooms) {
    storage_key other{"main", "other"};
    this->storage->write(other, puts({{"gone", 1}}));
    std::vector<std::pair<storage_key, write_batch>> batches;
    batches.emplace_back(this->demo, puts({{"a", 1}}));
    write_batch clear_other;
    clear_other.deletes.push_back("gone");
    clear_other.puts.emplace_back("b", 2);
    batches.emplace_back(other, clear_other);
    batches.emplace_back(this->demo, puts({{"a", 3}}));  // later batches win
    batches.emplace_back(storage_key{"main", "empty"}, write_batch{});
    this->storage->write_many(batches);
    EXPECT_EQ(*this->storage->get(this->demo, "a"), 3);
    EXPECT_EQ(keys_of(this->storage->list(other, "")), (std::vector<std::string>{"b"}));
    EXPECT_TRUE(this->storage->list({"main", "empty"}, "").empty());
}

TYPED_TEST(BackendTest, KeysMayHoldAnyBytes) {
    std::string with_nul("a\0b", 3);
    this->storage->write(this->demo, puts({{with_nul, 1}, {"a", 2}, {"a\x01", 3}}));
    EXPECT_EQ(*this->storage->get(this->demo, with_nul), 1);
    EXPECT_EQ(
        keys_of(this->storage->list(this->demo, "a")),
        (std::vector<std::string>{"a", with_nul, "a\x01"})
    );
    EXPECT_EQ(
        keys_of(this->storage->list(this->demo, std::string("a\0", 2))),
        (std::vector<std::string>{with_nul})
    );
}

}  // namespace
}  // namespace signe

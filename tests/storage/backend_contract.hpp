#pragma once

// The storage_backend contract: what every backend must do, whatever it keeps data in. Run for
// memory and SQLite by backend_test.cpp and for Redis by tests/redis/redis_storage_test.cpp:
//
//     struct my_backend { std::unique_ptr<storage_backend> make(); };
//     INSTANTIATE_TYPED_TEST_SUITE_P(Mine, BackendContract, ::testing::Types<my_backend>);

#include "storage/support.hpp"
#include <gtest/gtest.h>

#include <signe/storage.hpp>

namespace signe::storage_test {

template <class Backend>
class BackendContract : public ::testing::Test {
protected:
    Backend backend;
    std::unique_ptr<storage_backend> storage = backend.make();
    storage_key demo{"main", "demo"};
};

TYPED_TEST_SUITE_P(BackendContract);

TYPED_TEST_P(BackendContract, GetOfAMissingKeyIsEmpty) {
    EXPECT_FALSE(this->storage->get(this->demo, "state:count").has_value());
    EXPECT_TRUE(this->storage->list(this->demo, "").empty());
    EXPECT_TRUE(this->storage->list(this->demo, "state:").empty());
}

TYPED_TEST_P(BackendContract, PutsAndReadsBackEveryKindOfJsonValue) {
    json::value values = json::parse(
        R"({"null":null,"true":true,"int":-42,"big":9007199254740991,"double":0.5,)"
        R"("long":49.300000000000004,"text":"h\u00e9llo \"w\" \n","array":[1,"two",{"three":3}],)"
        R"("object":{"a":{"b":[]}}})"
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
TYPED_TEST_P(BackendContract, KeepsNamespacesAndRoomsApart) {
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

TYPED_TEST_P(BackendContract, ListsByPrefixInAscendingBinaryOrder) {
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
             {"statf", 8},
             {"state:\xf0\x9f\x98\x80", 9}}
        )
    );
    EXPECT_EQ(
        keys_of(this->storage->list(this->demo, "state:")),
        (std::vector<std::string>{
            "state:",
            "state:B",
            "state:a",
            "state:a.0",
            "state:b",
            "state:\xc3\xa9",
            "state:\xf0\x9f\x98\x80"})
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
            "state:\xf0\x9f\x98\x80",
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
    // Pattern characters (glob, LIKE) in a prefix are plain characters.
    this->storage->write(this->demo, puts({{"s*[x]?", 10}, {"s*y", 11}, {"s%_z", 12}}));
    EXPECT_EQ(
        keys_of(this->storage->list(this->demo, "s*[")), (std::vector<std::string>{"s*[x]?"})
    );
    EXPECT_EQ(keys_of(this->storage->list(this->demo, "s%")), (std::vector<std::string>{"s%_z"}));
}

// A batch applies prefix deletes, then key deletes, then puts: a put survives a delete of the same
// key or prefix in the same batch (this is how compaction rewrites "state:.").
TYPED_TEST_P(BackendContract, AppliesABatchAsPrefixDeletesThenDeletesThenPuts) {
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

    // An empty prefix clears the room, and puts of the same batch stay.
    write_batch rewrite;
    rewrite.delete_prefixes = {""};
    rewrite.puts = {{"state:.", json::parse(R"({"n":1})")}};
    this->storage->write(this->demo, rewrite);
    EXPECT_EQ(keys_of(this->storage->list(this->demo, "")), (std::vector<std::string>{"state:."}));
}

TYPED_TEST_P(BackendContract, OverwritesAValue) {
    this->storage->write(this->demo, puts({{"state:count", 1}}));
    this->storage->write(this->demo, puts({{"state:count", json::parse(R"({"n":2})")}}));
    EXPECT_EQ(*this->storage->get(this->demo, "state:count"), json::parse(R"({"n":2})"));
    EXPECT_EQ(this->storage->list(this->demo, "").size(), 1u);
}

TYPED_TEST_P(BackendContract, WritesBatchesOfSeveralRooms) {
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
    this->storage->write_many({});
}

TYPED_TEST_P(BackendContract, KeysMayHoldAnyBytes) {
    std::string with_nul("a\0b", 3);
    this->storage->write(this->demo, puts({{with_nul, 1}, {"a", 2}, {"a\x01", 3}, {"a\xff", 4}}));
    EXPECT_EQ(*this->storage->get(this->demo, with_nul), 1);
    EXPECT_EQ(
        keys_of(this->storage->list(this->demo, "a")),
        (std::vector<std::string>{"a", with_nul, "a\x01", "a\xff"})
    );
    EXPECT_EQ(
        keys_of(this->storage->list(this->demo, std::string("a\0", 2))),
        (std::vector<std::string>{with_nul})
    );
    write_batch batch;
    batch.delete_prefixes = {std::string("a\0", 2)};
    this->storage->write(this->demo, batch);
    EXPECT_EQ(
        keys_of(this->storage->list(this->demo, "")),
        (std::vector<std::string>{"a", "a\x01", "a\xff"})
    );
}

REGISTER_TYPED_TEST_SUITE_P(
    BackendContract,
    GetOfAMissingKeyIsEmpty,
    PutsAndReadsBackEveryKindOfJsonValue,
    KeepsNamespacesAndRoomsApart,
    ListsByPrefixInAscendingBinaryOrder,
    AppliesABatchAsPrefixDeletesThenDeletesThenPuts,
    OverwritesAValue,
    WritesBatchesOfSeveralRooms,
    KeysMayHoldAnyBytes
);

}  // namespace signe::storage_test

// memory_storage: snapshot, restore and clear (the original's MemoryNodeRoomStorage).

#include "support.hpp"
#include <gtest/gtest.h>

#include <signe/storage.hpp>

namespace signe {
namespace {

using storage_test::puts;

const storage_key demo{"main", "demo"};

// catalogue 7.6 node.spec: "uses explicit memory storage providers"
TEST(MemoryStorage, PutGetAndSnapshotAsTheOriginalNamesRooms) {
    memory_storage storage;
    storage.write(demo, puts({{"value", "memory"}}));
    EXPECT_EQ(*storage.get(demo, "value"), "memory");
    memory_storage::snapshot_type expected{{"main:demo", {{"value", "memory"}}}};
    EXPECT_EQ(storage.snapshot(), expected);
}

TEST(MemoryStorage, SnapshotNamesRoomsWithPercentEncodedParts) {
    memory_storage storage;
    storage.write({"my party", "a:b/\xc3\xa9"}, puts({{"k", 1}}));
    auto snapshot = storage.snapshot();
    ASSERT_EQ(snapshot.size(), 1u);
    EXPECT_EQ(snapshot.begin()->first, "my%20party:a%3Ab%2F%C3%A9");

    memory_storage restored;
    restored.restore(snapshot);
    EXPECT_EQ(*restored.get({"my party", "a:b/\xc3\xa9"}, "k"), 1);
}

TEST(MemoryStorage, SnapshotLeavesOutEmptyRooms) {
    memory_storage storage;
    storage.write(demo, puts({{"value", 1}}));
    write_batch remove;
    remove.deletes.push_back("value");
    storage.write(demo, remove);
    EXPECT_TRUE(storage.snapshot().empty());
}

// catalogue 7.6 node.spec: "returns snapshots without exposing mutable memory internals"
TEST(MemoryStorage, SnapshotsAndReadsAreDeepCopies) {
    memory_storage storage;
    storage.write(demo, puts({{"state", json::parse(R"({"count":1,"list":[1]})")}}));

    auto snapshot = storage.snapshot();
    auto& stored = snapshot["main:demo"].at(0).second.as_object();
    stored["count"] = 99;
    stored["list"].as_array().push_back(2);

    auto read = storage.get(demo, "state");
    read->as_object()["count"] = 98;
    auto listed = storage.list(demo, "");
    listed.at(0).second.as_object()["count"] = 97;

    EXPECT_EQ(*storage.get(demo, "state"), json::parse(R"({"count":1,"list":[1]})"));
}

// catalogue 7.6 node.spec: "restores memory snapshots into new storage providers"
TEST(MemoryStorage, RestoresASnapshotIntoANewStorage) {
    memory_storage first;
    first.write(demo, puts({{"state", json::parse(R"({"count":7})")}}));
    first.write({"main", "other"}, puts({{"a", 1}}));
    auto snapshot = first.snapshot();

    memory_storage second;
    second.write({"main", "stale"}, puts({{"x", 1}}));
    second.restore(snapshot);
    EXPECT_EQ(*second.get(demo, "state"), json::parse(R"({"count":7})"));
    EXPECT_EQ(*second.get({"main", "other"}, "a"), 1);
    EXPECT_FALSE(second.get({"main", "stale"}, "x").has_value());  // restore replaces everything
    EXPECT_EQ(second.snapshot(), snapshot);

    // The restored data is a copy: changing the source afterwards changes nothing.
    first.write(demo, puts({{"state", 0}}));
    snapshot.clear();
    EXPECT_EQ(*second.get(demo, "state"), json::parse(R"({"count":7})"));
}

// catalogue 7.6 node.spec: "clears explicit memory storage providers"
TEST(MemoryStorage, ClearDropsEveryRoom) {
    memory_storage storage;
    storage.write(demo, puts({{"value", "memory"}}));
    storage.write({"alternate", "demo"}, puts({{"value", "x"}}));
    storage.clear();
    EXPECT_FALSE(storage.get(demo, "value").has_value());
    EXPECT_TRUE(storage.snapshot().empty());
}

}  // namespace
}  // namespace signe

// The in-memory World registry: the atomic operations a shared implementation must also honour.

#include <gtest/gtest.h>

#include <signe/world_registry.hpp>

#include <chrono>

namespace {

using namespace signe::world;
using namespace std::chrono_literals;

shard_info make(std::string id, std::string room, int max = 2) {
    shard_info s;
    s.id = std::move(id);
    s.room_id = std::move(room);
    s.world_id = "world-default";
    s.url = s.id;
    s.max_connections = max;
    s.last_heartbeat = 0;
    s.lease_until = 1000;
    return s;
}

TEST(MemoryRegistry, RoomsAreUpsertedInOrder) {
    memory_registry r;
    room_config a;
    a.name = "a";
    room_config b;
    b.name = "b";
    r.put_room(a);
    r.put_room(b);
    a.min_shards = 4;
    r.put_room(a);
    auto rooms = r.rooms();
    ASSERT_EQ(rooms.size(), 2U);
    EXPECT_EQ(rooms[0].name, "a");
    EXPECT_EQ(rooms[0].min_shards, 4);
    EXPECT_FALSE(r.room("c"));
}

TEST(MemoryRegistry, AddShardHonoursMaxShardsAndIds) {
    memory_registry r;
    EXPECT_EQ(r.add_shard(make("s1", "g"), 2), add_outcome::added);
    EXPECT_EQ(r.add_shard(make("s1", "g"), 2), add_outcome::duplicate_id);
    EXPECT_EQ(r.add_shard(make("s2", "g"), 2), add_outcome::added);
    EXPECT_EQ(r.add_shard(make("s3", "g"), 2), add_outcome::at_limit);
    EXPECT_EQ(r.add_shard(make("t1", "other"), 2), add_outcome::added);
    EXPECT_EQ(r.add_shard(make("s3", "g"), std::nullopt), add_outcome::added);
    auto shards = r.shards("g", 0);
    ASSERT_EQ(shards.size(), 3U);
    EXPECT_EQ(shards[0].id, "s1");
    EXPECT_EQ(shards[2].id, "s3");
    EXPECT_EQ(r.all_shards(0).size(), 4U);
}

TEST(MemoryRegistry, SeatsNeverExceedCapacity) {
    memory_registry r;
    r.add_shard(make("s", "g", 3), std::nullopt);
    r.heartbeat("s", {.connections = 1, .status = {}, .now_ms = 0, .lease_until = 1000});
    auto a = r.reserve_seat("s", 0, 100ms);
    auto b = r.reserve_seat("s", 0, 100ms);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_FALSE(r.reserve_seat("s", 0, 100ms));  // 1 connection + 2 seats = 3
    EXPECT_EQ(r.shard("s", 0)->reserved_seats, 2);
    EXPECT_TRUE(r.release_seat("s", a->seat_id));
    EXPECT_FALSE(r.release_seat("s", a->seat_id));
    EXPECT_TRUE(r.reserve_seat("s", 0, 100ms));
    EXPECT_FALSE(r.reserve_seat("s", 99, 100ms));
    EXPECT_TRUE(r.reserve_seat("s", 100, 100ms));  // the first seats lapsed at 100
    EXPECT_FALSE(r.reserve_seat("unknown", 0, 100ms));
    r.set_status("s", shard_status::maintenance);
    EXPECT_FALSE(r.reserve_seat("s", 1000, 100ms));
}

TEST(MemoryRegistry, HeartbeatUpdatesAndRemovesEmptyDrainingShards) {
    memory_registry r;
    r.add_shard(make("s", "g"), std::nullopt);
    EXPECT_EQ(
        r.heartbeat(
            "s",
            {.connections = 2, .status = shard_status::draining, .now_ms = 5, .lease_until = 50}
        ),
        heartbeat_outcome::updated
    );
    auto s = r.shard("s", 5);
    EXPECT_EQ(s->current_connections, 2);
    EXPECT_EQ(s->last_heartbeat, 5);
    EXPECT_EQ(s->lease_until, 50);
    EXPECT_EQ(
        r.heartbeat("s", {.connections = 0, .status = {}, .now_ms = 6, .lease_until = 60}),
        heartbeat_outcome::removed
    );
    EXPECT_EQ(
        r.heartbeat("s", {.connections = 0, .status = {}, .now_ms = 6, .lease_until = 60}),
        heartbeat_outcome::not_found
    );
}

TEST(MemoryRegistry, LeasesExpire) {
    memory_registry r;
    r.add_shard(make("a", "g"), std::nullopt);
    r.add_shard(make("b", "g"), std::nullopt);
    r.heartbeat("b", {.connections = 0, .status = {}, .now_ms = 900, .lease_until = 2000});
    EXPECT_TRUE(r.remove_expired(1000).empty());  // "more than": 1000 is not past 1000
    EXPECT_EQ(r.remove_expired(1001), std::vector<std::string>{"a"});
    EXPECT_EQ(r.shards("g", 1001).size(), 1U);
}

TEST(MemoryRegistry, RoundRobinCounterPerRoom) {
    memory_registry r;
    EXPECT_EQ(r.next_round_robin("g"), 0U);
    EXPECT_EQ(r.next_round_robin("g"), 1U);
    EXPECT_EQ(r.next_round_robin("h"), 0U);
    EXPECT_TRUE(r.remove_shard("nope") == false);
}

TEST(Strategies, NamesRoundTrip) {
    for (auto s :
         {balancing_strategy::round_robin,
          balancing_strategy::least_connections,
          balancing_strategy::random}) {
        EXPECT_EQ(parse_strategy(to_string(s)), s);
    }
    for (auto s : {shard_status::active, shard_status::maintenance, shard_status::draining}) {
        EXPECT_EQ(parse_status(to_string(s)), s);
    }
    EXPECT_FALSE(parse_strategy("fastest"));
    EXPECT_FALSE(parse_status("gone"));
}

}  // namespace

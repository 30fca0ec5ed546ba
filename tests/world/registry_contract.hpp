#pragma once

// The registry interface's contract: the atomic operations every implementation honours. Each
// test binary instantiates it with its implementations:
//
//     INSTANTIATE_TEST_SUITE_P(Memory, RegistryContract, testing::Values(registry_maker{...}));

#include <gtest/gtest.h>

#include <signe/world_registry.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace signe::world::contract {

using namespace std::chrono_literals;

// Makes a fresh, empty registry (which may own its store, e.g. a private redis-server).
struct registry_maker {
    std::string name;
    std::function<std::shared_ptr<registry>()> make;
};

inline std::string maker_name(const testing::TestParamInfo<registry_maker>& info) {
    return info.param.name;
}

// How GoogleTest prints the parameter (in test lists, hence in ctest's names): its name, not
// its bytes.
inline void PrintTo(const registry_maker& maker, std::ostream* out) {
    *out << maker.name;
}

class RegistryContract : public testing::TestWithParam<registry_maker> {
protected:
    void SetUp() override { reg_ = GetParam().make(); }
    std::shared_ptr<registry> reg_;
};

inline shard_info make(std::string id, std::string room, int max = 2) {
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

TEST_P(RegistryContract, RoomsAreUpsertedInOrder) {
    registry& r = *reg_;
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

TEST_P(RegistryContract, AddShardHonoursMaxShardsAndIds) {
    registry& r = *reg_;
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

TEST_P(RegistryContract, SeatsNeverExceedCapacity) {
    registry& r = *reg_;
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

inline heartbeat_update reporting(int connections, std::int64_t now_ms) {
    return {.connections = connections, .status = {}, .now_ms = now_ms, .lease_until = 1000};
}

TEST_P(RegistryContract, ArrivalsReportedByAHeartbeatReleaseTheirSeats) {
    registry& r = *reg_;
    r.add_shard(make("s", "g", 4), std::nullopt);
    auto a = r.reserve_seat("s", 0, 100ms);
    auto b = r.reserve_seat("s", 0, 100ms);
    auto c = r.reserve_seat("s", 0, 100ms);
    ASSERT_TRUE(a && b && c);
    // Two of the three clients arrived: 2 connections + 1 seat, not 2 + 3 (which is full).
    EXPECT_EQ(r.heartbeat("s", reporting(2, 1)), heartbeat_outcome::updated);
    auto s = r.shard("s", 1);
    EXPECT_EQ(s->current_connections, 2);
    EXPECT_EQ(s->reserved_seats, 1);
    EXPECT_TRUE(r.reserve_seat("s", 1, 100ms));
    EXPECT_FALSE(r.reserve_seat("s", 1, 100ms));  // 2 connections + 2 seats = 4
    // The oldest seats went; the newest of the three is still held.
    EXPECT_FALSE(r.release_seat("s", a->seat_id));
    EXPECT_FALSE(r.release_seat("s", b->seat_id));
    EXPECT_TRUE(r.release_seat("s", c->seat_id));
}

TEST_P(RegistryContract, FewerOrAsManyConnectionsReleaseNoSeat) {
    registry& r = *reg_;
    auto added = make("s", "g", 5);
    added.current_connections = 3;  // the previous value of the first heartbeat
    r.add_shard(added, std::nullopt);
    ASSERT_TRUE(r.reserve_seat("s", 0, 100ms));
    ASSERT_TRUE(r.reserve_seat("s", 0, 100ms));
    EXPECT_FALSE(r.reserve_seat("s", 0, 100ms));
    r.heartbeat("s", reporting(3, 1));  // no change
    EXPECT_EQ(r.shard("s", 1)->reserved_seats, 2);
    r.heartbeat("s", reporting(2, 2));  // one left: the seats stay
    EXPECT_EQ(r.shard("s", 2)->reserved_seats, 2);
    EXPECT_TRUE(r.reserve_seat("s", 2, 100ms));  // 2 + 3 seats
    EXPECT_FALSE(r.reserve_seat("s", 2, 100ms));
    r.heartbeat("s", reporting(3, 3));  // one arrived, counted from 2
    EXPECT_EQ(r.shard("s", 3)->reserved_seats, 2);
    r.heartbeat("s", reporting(9, 4));  // more arrivals than seats: all go
    EXPECT_EQ(r.shard("s", 4)->reserved_seats, 0);
    EXPECT_FALSE(r.reserve_seat("s", 4, 100ms));  // 9 connections on 5: full by itself
}

TEST_P(RegistryContract, HeartbeatsReleaseTheOldestLiveSeatsInReservationOrder) {
    registry& r = *reg_;
    r.add_shard(make("s", "g", 50), std::nullopt);
    auto lapsing = r.reserve_seat("s", 0, 10ms);      // lapsed at the heartbeat: not released
    auto long_lived = r.reserve_seat("s", 0, 500ms);  // oldest live seat, yet expires last
    std::vector<seat> burst;  // reserved in the same millisecond: seat-9 before seat-10
    for (int i = 0; i < 12; ++i) {
        burst.push_back(*r.reserve_seat("s", 5, 100ms));
    }
    ASSERT_TRUE(lapsing && long_lived);
    EXPECT_EQ(r.heartbeat("s", reporting(11, 20)), heartbeat_outcome::updated);
    EXPECT_EQ(r.shard("s", 20)->reserved_seats, 2);
    EXPECT_FALSE(r.release_seat("s", long_lived->seat_id));
    for (int i = 0; i < 10; ++i) {
        EXPECT_FALSE(r.release_seat("s", burst[i].seat_id)) << i;
    }
    EXPECT_TRUE(r.release_seat("s", burst[10].seat_id));
    EXPECT_TRUE(r.release_seat("s", burst[11].seat_id));
}

TEST_P(RegistryContract, HeartbeatUpdatesAndRemovesEmptyDrainingShards) {
    registry& r = *reg_;
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

TEST_P(RegistryContract, LeasesExpire) {
    registry& r = *reg_;
    r.add_shard(make("a", "g"), std::nullopt);
    r.add_shard(make("b", "g"), std::nullopt);
    r.heartbeat("b", {.connections = 0, .status = {}, .now_ms = 900, .lease_until = 2000});
    EXPECT_TRUE(r.remove_expired(1000).empty());  // "more than": 1000 is not past 1000
    EXPECT_EQ(r.remove_expired(1001), std::vector<std::string>{"a"});
    EXPECT_EQ(r.shards("g", 1001).size(), 1U);
}

TEST_P(RegistryContract, RoundRobinCounterPerRoom) {
    registry& r = *reg_;
    EXPECT_EQ(r.next_round_robin("g"), 0U);
    EXPECT_EQ(r.next_round_robin("g"), 1U);
    EXPECT_EQ(r.next_round_robin("h"), 0U);
    EXPECT_TRUE(r.remove_shard("nope") == false);
}

TEST_P(RegistryContract, ConfigsAndShardsReadBackWholly) {
    registry& r = *reg_;
    room_config c;
    c.name = "arena";
    c.strategy = balancing_strategy::least_connections;
    c.is_public = false;
    c.max_players_per_shard = 12;
    c.min_shards = 3;
    c.max_shards = 7;
    r.put_room(c);
    auto back = r.room("arena");
    ASSERT_TRUE(back);
    EXPECT_EQ(back->strategy, balancing_strategy::least_connections);
    EXPECT_FALSE(back->is_public);
    EXPECT_EQ(back->max_players_per_shard, 12);
    EXPECT_EQ(back->min_shards, 3);
    EXPECT_EQ(back->max_shards, 7);
    c.max_shards.reset();
    r.put_room(c);
    EXPECT_FALSE(r.room("arena")->max_shards);

    auto s = make("arena:world-default:1700000000000-1", "arena", 9);
    s.url = "http://127.0.0.1:4000/parties/main/arena";
    s.last_heartbeat = 1700000000000;
    s.lease_until = 1700000300000;
    s.status = shard_status::maintenance;
    ASSERT_EQ(r.add_shard(s, std::nullopt), add_outcome::added);
    auto got = r.shard(s.id, 1700000000000);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->room_id, "arena");
    EXPECT_EQ(got->world_id, "world-default");
    EXPECT_EQ(got->url, s.url);
    EXPECT_EQ(got->max_connections, 9);
    EXPECT_EQ(got->status, shard_status::maintenance);
    EXPECT_EQ(got->last_heartbeat, 1700000000000);
    EXPECT_EQ(got->lease_until, 1700000300000);
    EXPECT_TRUE(r.set_status(s.id, shard_status::active));
    EXPECT_FALSE(r.set_status("nope", shard_status::active));
    auto seat = r.reserve_seat(s.id, 1700000000000, 10s);
    ASSERT_TRUE(seat);
    EXPECT_EQ(seat->expires_at, 1700000010000);
    EXPECT_EQ(r.shard(s.id, 1700000000000)->reserved_seats, 1);
    EXPECT_TRUE(r.remove_shard(s.id));
    EXPECT_FALSE(r.shard(s.id, 1700000000000));
    EXPECT_TRUE(r.all_shards(0).empty());
}

}  // namespace signe::world::contract

// The Redis World registry: the registry contract (tests/world/registry_contract.hpp) on a
// private redis-server, then what only a shared store must show: two registries (two
// connections, as two World processes) racing for seats and shards, leases, and a Redis outage.

#include "redis/redis_server.hpp"
#include "world/registry_contract.hpp"
#include <gtest/gtest.h>

#include <signe/json.hpp>
#include <signe/storage.hpp>
#include <signe/testing.hpp>
#include <signe/world.hpp>
#include <signe/world_redis_registry.hpp>

#include <atomic>
#include <latch>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace signe::world;
using namespace std::chrono_literals;
using signe::redis_test::redis_server;
using signe::world::contract::registry_maker;
using signe::world::contract::RegistryContract;

redis_registry_options options_for(const redis_server& server, std::string world = "world-t") {
    redis_registry_options o;
    o.connection.url = server.url();
    o.world_id = std::move(world);
    return o;
}

// A registry that owns its redis-server.
std::shared_ptr<registry> make_redis_registry() {
    struct owner {
        redis_server server;
        redis_registry reg{options_for(server)};
    };
    auto o = std::make_shared<owner>();
    return std::shared_ptr<registry>(o, &o->reg);
}

INSTANTIATE_TEST_SUITE_P(
    Redis,
    RegistryContract,
    testing::Values(registry_maker{"redis", make_redis_registry}),
    signe::world::contract::maker_name
);

shard_info shard_of(std::string id, std::string room, int max_connections) {
    shard_info s;
    s.id = std::move(id);
    s.room_id = std::move(room);
    s.world_id = "world-t";
    s.url = s.id;
    s.max_connections = max_connections;
    s.lease_until = 1'000'000;
    return s;
}

TEST(RedisRegistry, TwoProcessesNeverExceedMaxConnections) {
    redis_server server;
    redis_registry a(options_for(server));
    redis_registry b(options_for(server));
    ASSERT_EQ(a.add_shard(shard_of("s", "g", 60), std::nullopt), add_outcome::added);
    ASSERT_EQ(
        b.heartbeat("s", {.connections = 10, .status = {}, .now_ms = 1, .lease_until = 1'000'000}),
        heartbeat_outcome::updated
    );
    std::atomic<int> granted{0};
    std::latch go(2);
    auto attempts = [&](registry& r) {
        go.arrive_and_wait();
        for (int i = 0; i < 100; ++i) {
            if (r.reserve_seat("s", 2, 60s)) {
                ++granted;
            }
        }
    };
    std::thread t1(attempts, std::ref(a));
    std::thread t2(attempts, std::ref(b));
    t1.join();
    t2.join();
    EXPECT_EQ(granted.load(), 50);  // 10 connections + 50 seats = 60
    EXPECT_EQ(a.shard("s", 2)->reserved_seats, 50);
    EXPECT_EQ(b.shard("s", 2)->reserved_seats, 50);
}

TEST(RedisRegistry, SeatIdsAreUniqueAcrossProcesses) {
    redis_server server;
    redis_registry a(options_for(server));
    redis_registry b(options_for(server));
    a.add_shard(shard_of("s", "g", 100), std::nullopt);
    std::set<std::string> ids;
    for (int i = 0; i < 10; ++i) {
        ids.insert(a.reserve_seat("s", 0, 1s)->seat_id);
        ids.insert(b.reserve_seat("s", 0, 1s)->seat_id);
    }
    EXPECT_EQ(ids.size(), 20U);
    auto one = *ids.begin();
    EXPECT_TRUE(b.release_seat("s", one));
    EXPECT_FALSE(a.release_seat("s", one));
    EXPECT_EQ(a.shard("s", 0)->reserved_seats, 19);
}

TEST(RedisRegistry, TwoProcessesNeverExceedMaxShardsNorDuplicateIds) {
    redis_server server;
    redis_registry a(options_for(server));
    redis_registry b(options_for(server));
    std::atomic<int> added{0};
    std::atomic<int> duplicates{0};
    std::latch go(2);
    auto adding = [&](registry& r, const std::string& tag) {
        go.arrive_and_wait();
        for (int i = 0; i < 40; ++i) {
            // Distinct ids per process, plus ids both processes try ("same-<i>").
            auto outcome = r.add_shard(shard_of(tag + std::to_string(i), "g", 10), 25);
            added += outcome == add_outcome::added ? 1 : 0;
            auto same = r.add_shard(shard_of("same-" + std::to_string(i), "h", 10), std::nullopt);
            added += same == add_outcome::added ? 1 : 0;
            duplicates += same == add_outcome::duplicate_id ? 1 : 0;
        }
    };
    std::thread t1(adding, std::ref(a), "a-");
    std::thread t2(adding, std::ref(b), "b-");
    t1.join();
    t2.join();
    EXPECT_EQ(a.shards("g", 0).size(), 25U);
    EXPECT_EQ(b.shards("h", 0).size(), 40U);
    EXPECT_EQ(duplicates.load(), 40);
    EXPECT_EQ(added.load(), 25 + 40);
}

TEST(RedisRegistry, ExpiredLeasesAreNotChosenAndAreRemoved) {
    redis_server server;
    redis_registry a(options_for(server));
    redis_registry b(options_for(server));
    auto old = shard_of("old", "g", 10);
    old.lease_until = 1000;
    auto live = shard_of("live", "g", 10);
    live.lease_until = 5000;
    a.add_shard(old, std::nullopt);
    a.add_shard(live, std::nullopt);
    EXPECT_TRUE(b.reserve_seat("old", 1000, 1s));   // not past its lease yet
    EXPECT_FALSE(b.reserve_seat("old", 1001, 1s));  // lease ended: never chosen
    EXPECT_TRUE(b.reserve_seat("live", 1001, 1s));
    EXPECT_EQ(b.remove_expired(1001), std::vector<std::string>{"old"});
    EXPECT_FALSE(a.shard("old", 1001));
    EXPECT_EQ(a.shards("g", 1001).size(), 1U);
    // A heartbeat renews a lease, seen by the other process.
    a.heartbeat("live", {.connections = 0, .status = {}, .now_ms = 4000, .lease_until = 9000});
    EXPECT_TRUE(b.remove_expired(8000).empty());
    EXPECT_EQ(b.remove_expired(9001), std::vector<std::string>{"live"});
    // Nothing of the removed shards is left in Redis but the sequences.
    auto keys = server.call({"KEYS", "*"});
    EXPECT_EQ(keys.find("shard:"), std::string::npos) << keys;
    EXPECT_EQ(keys.find("seats:"), std::string::npos) << keys;
}

TEST(RedisRegistry, RoundRobinCounterIsShared) {
    redis_server server;
    redis_registry a(options_for(server));
    redis_registry b(options_for(server));
    EXPECT_EQ(a.next_round_robin("g"), 0U);
    EXPECT_EQ(b.next_round_robin("g"), 1U);
    EXPECT_EQ(a.next_round_robin("g"), 2U);
    EXPECT_EQ(b.next_round_robin("h"), 0U);
}

TEST(RedisRegistry, WorldsAndPrefixesAreKeptApart) {
    redis_server server;
    redis_registry one(options_for(server, "world-one"));
    redis_registry two(options_for(server, "world-two"));
    auto o = options_for(server, "world-one");
    o.connection.url = server.url() + "?prefix=other";
    redis_registry other(o);
    EXPECT_EQ(one.key_prefix(), "signe:world:{world-one}:");
    EXPECT_EQ(other.key_prefix(), "other:{world-one}:");
    one.add_shard(shard_of("s", "g", 1), std::nullopt);
    EXPECT_TRUE(two.all_shards(0).empty());
    EXPECT_TRUE(other.all_shards(0).empty());
    EXPECT_EQ(one.all_shards(0).size(), 1U);
}

TEST(RedisRegistry, RedisDownIsUnavailableThenRecovers) {
    redis_server server;
    redis_registry r(options_for(server));
    r.add_shard(shard_of("s", "g", 5), std::nullopt);
    server.stop();
    EXPECT_THROW(r.shards("g", 0), registry_unavailable);
    EXPECT_THROW(r.reserve_seat("s", 0, 1s), registry_unavailable);
    EXPECT_THROW(r.next_round_robin("g"), registry_unavailable);
    try {
        r.rooms();
        FAIL() << "no exception";
    } catch (const registry_unavailable& e) {
        EXPECT_NE(std::string(e.what()).find("redis"), std::string::npos) << e.what();
    }
    server.start();  // same port, empty (nothing was saved)
    EXPECT_TRUE(r.shards("g", 0).empty());
    EXPECT_EQ(r.add_shard(shard_of("s", "g", 5), std::nullopt), add_outcome::added);
    EXPECT_TRUE(r.reserve_seat("s", 0, 1s));  // the scripts are loaded again (NOSCRIPT)
}

TEST(RedisRegistry, RegistryForSpec) {
    EXPECT_FALSE(registry_for_spec(""));
    EXPECT_FALSE(registry_for_spec("memory"));
    EXPECT_THROW(registry_for_spec("mongodb://x"), std::invalid_argument);
    redis_server server;
    auto for_world = registry_for_spec(server.url());
    ASSERT_TRUE(for_world);
    auto a = for_world("world-a");
    EXPECT_EQ(a, for_world("world-a"));
    EXPECT_NE(a, for_world("world-b"));
    a->add_shard(shard_of("s", "g", 1), std::nullopt);
    EXPECT_EQ(for_world("world-a")->all_shards(0).size(), 1U);
    EXPECT_TRUE(for_world("world-b")->all_shards(0).empty());
}

// Two World rooms (as two signe-world processes) over one Redis: a room registered through one
// is served by the other; Redis down gives 503; back up, the World works again.
TEST(RedisRegistry, WorldsShareTheRegistryAndAnswer503WhileRedisIsDown) {
    redis_server server;
    auto world = [&] {
        world_options o;
        o.jwt_secret = "jwt";
        o.shard_secret = "shard";
        o.registry_for = redis_registry_for(server.url());
        return std::make_unique<signe::testing::harness_base>(
            definition(o), "world-default", "world", std::make_shared<signe::memory_storage>()
        );
    };
    auto first = world();
    auto second = world();
    const std::vector<std::pair<std::string, std::string>> admin{{"x-access-shard", "shard"}};
    const std::string room = R"({"name":"game","balancingStrategy":"round-robin","public":true,)"
                             R"("maxPlayersPerShard":2,"minShards":0,"maxShards":1})";
    const std::string connect = R"({"roomId":"game"})";
    ASSERT_EQ(first->request(signe::verb::post, "/register-room", room, admin).status_code(), 200);
    EXPECT_EQ(second->request(signe::verb::post, "/connect", connect).status_code(), 200);
    EXPECT_EQ(first->request(signe::verb::post, "/connect", connect).status_code(), 200);
    // maxPlayersPerShard 2 and maxShards 1, counted across both processes.
    EXPECT_EQ(second->request(signe::verb::post, "/connect", connect).status_code(), 404);

    server.stop();
    auto down = first->request(signe::verb::post, "/connect", connect);
    EXPECT_EQ(down.status_code(), 503);
    EXPECT_NE(down.body_text().find("World registry unavailable"), std::string::npos)
        << down.body_text();

    server.start();  // empty again: the room is registered again, then served
    ASSERT_EQ(second->request(signe::verb::post, "/register-room", room, admin).status_code(), 200);
    EXPECT_EQ(first->request(signe::verb::post, "/connect", connect).status_code(), 200);
    EXPECT_EQ(second->request(signe::verb::post, "/connect", connect).status_code(), 200);
    EXPECT_EQ(first->request(signe::verb::post, "/connect", connect).status_code(), 404);
}

}  // namespace

// Placement in Redis: one holder per room across processes, claims that die with their holder's
// lease, rooms taken over while a process was cut off, and a clear error when Redis is down.

#include "redis_server.hpp"
#include <gtest/gtest.h>

#include <signe/placement.hpp>
#include <signe/redis.hpp>

#include <chrono>
#include <map>
#include <set>
#include <thread>

namespace signe {
namespace {

using namespace std::chrono_literals;
using redis_test::redis_server;

placement_options options(
    std::string url, std::string group, std::string address, std::chrono::milliseconds lease = 10s
) {
    placement_options o;
    o.url = std::move(url);
    o.group = std::move(group);
    o.address = std::move(address);
    o.lease = lease;
    return o;
}

placement_options member(
    const redis_server& redis, const std::string& address, std::chrono::milliseconds lease = 10s
) {
    return options(redis.url(), "rooms", address, lease);
}

// What a lease ending does, without waiting for it: the member's key is gone.
void kill_member(const redis_server& redis, const placement& p) {
    redis_client admin({.url = redis.url()});
    admin.command({"DEL", "signe:placement:{rooms}:member:" + p.self_id()});
}

TEST(Placement, TheFirstProcessAskedForAFreeRoomHoldsItAndEveryoneAgrees) {
    redis_server redis;
    placement a(member(redis, "10.0.0.1:3000"));
    placement b(member(redis, "10.0.0.2:3000"));
    auto first = a.claim("main/game-1");
    EXPECT_TRUE(first.is(a.self_id()));
    EXPECT_EQ(first.address, "10.0.0.1:3000");
    auto second = b.claim("main/game-1");
    EXPECT_TRUE(second.is(a.self_id())) << "b must route to a, not create the room again";
    EXPECT_EQ(second.address, "10.0.0.1:3000");
    ASSERT_TRUE(b.holder("main/game-1").has_value());
    EXPECT_EQ(b.holder("main/game-1")->address, "10.0.0.1:3000");
    EXPECT_FALSE(b.holder("main/never-asked").has_value());
}

TEST(Placement, SimultaneousClaimsFromTwoProcessesNeverGiveARoomTwoHolders) {
    redis_server redis;
    placement a(member(redis, "a:1"));
    placement b(member(redis, "b:1"));
    std::map<std::string, std::string> seen_by_a;
    std::map<std::string, std::string> seen_by_b;
    auto race = [](placement& p, std::map<std::string, std::string>& seen) {
        for (int i = 0; i < 300; ++i) {
            std::string key = "main/room-" + std::to_string(i);
            seen[key] = p.claim(key).id;
        }
    };
    std::thread ta([&] { race(a, seen_by_a); });
    std::thread tb([&] { race(b, seen_by_b); });
    ta.join();
    tb.join();
    std::set<std::string> holders;
    for (const auto& [key, holder] : seen_by_a) {
        EXPECT_EQ(holder, seen_by_b[key]) << key;
        holders.insert(holder);
    }
    EXPECT_LE(holders.size(), 2u);
}

TEST(Placement, ARoomOfADeadProcessGoesToTheNextProcessAskedWhenItsLeaseEnds) {
    redis_server redis;
    placement dying(member(redis, "dying:1", 300ms));
    placement survivor(member(redis, "survivor:1"));
    dying.claim("main/game-1");
    ASSERT_TRUE(survivor.claim("main/game-1").is(dying.self_id()));
    // No heartbeat from `dying` any more: within the lease it still holds the room, after it not.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (survivor.holder("main/game-1").has_value() && std::chrono::steady_clock::now() < deadline
    ) {
        std::this_thread::sleep_for(20ms);  // polling the lease's end, not synchronising threads
    }
    EXPECT_FALSE(survivor.holder("main/game-1").has_value());
    auto taken = survivor.claim("main/game-1");
    EXPECT_TRUE(taken.is(survivor.self_id()));
    EXPECT_TRUE(taken.taken_over);
    EXPECT_FALSE(survivor.claim("main/game-1").taken_over) << "only the claim that took it over";
    EXPECT_FALSE(survivor.claim("main/fresh").taken_over);
}

TEST(Placement, HeartbeatsKeepEveryRoomOfAProcess) {
    redis_server redis;
    placement a(member(redis, "a:1", 400ms));
    placement b(member(redis, "b:1"));
    for (int i = 0; i < 50; ++i) {
        a.claim("main/r" + std::to_string(i));
    }
    for (int beat = 0; beat < 6; ++beat) {  // 1.2 s: three leases, renewed every 200 ms
        std::this_thread::sleep_for(200ms);
        a.heartbeat();
    }
    for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(b.claim("main/r" + std::to_string(i)).is(a.self_id()));
    }
}

TEST(Placement, AProcessThatLeavesFreesItsRoomsAtOnce) {
    redis_server redis;
    placement a(member(redis, "a:1"));
    placement b(member(redis, "b:1"));
    a.claim("main/game-1");
    a.leave();
    EXPECT_TRUE(b.claim("main/game-1").is(b.self_id()));
}

TEST(Placement, LostTellsAProcessWhichRoomsWereTakenOverWhileItWasCutOff) {
    redis_server redis;
    placement a(member(redis, "a:1"));
    placement b(member(redis, "b:1"));
    a.claim("main/taken");
    a.claim("main/kept");
    a.claim("main/freed");
    kill_member(redis, a);  // a's lease ended while it could not reach Redis
    EXPECT_TRUE(b.claim("main/taken").is(b.self_id()));
    redis_client admin({.url = redis.url()});
    admin.command({"DEL", "signe:placement:{rooms}:claim:main/freed"});  // e.g. Redis lost it

    auto lost = a.lost({"main/taken", "main/kept", "main/freed"});
    EXPECT_EQ(lost, std::vector<std::string>{"main/taken"});
    EXPECT_TRUE(b.claim("main/kept").is(a.self_id()));
    EXPECT_TRUE(b.claim("main/freed").is(a.self_id())) << "a free room is taken back";
}

TEST(Placement, ReleaseGivesUpOnlyWhatThisProcessHolds) {
    redis_server redis;
    placement a(member(redis, "a:1"));
    placement b(member(redis, "b:1"));
    a.claim("main/game-1");
    b.release("main/game-1");
    EXPECT_TRUE(b.claim("main/game-1").is(a.self_id()));
    a.release("main/game-1");
    EXPECT_TRUE(b.claim("main/game-1").is(b.self_id()));
}

TEST(Placement, MembersListsTheLiveProcessesAndPickMemberSpreadsRoomsOverThem) {
    redis_server redis;
    placement a(member(redis, "a:1"));
    placement b(member(redis, "b:1"));
    placement c(member(redis, "c:1"));
    a.heartbeat();
    b.heartbeat();
    c.heartbeat();
    kill_member(redis, c);
    auto live = a.members();
    ASSERT_EQ(live.size(), 2u);
    std::set<std::string> addresses{live[0].address, live[1].address};
    EXPECT_EQ(addresses, (std::set<std::string>{"a:1", "b:1"}));

    std::map<std::string, int> per_member;
    for (int i = 0; i < 1000; ++i) {
        std::string key = "main/room-" + std::to_string(i);
        auto picked = pick_member(live, key);
        ASSERT_TRUE(picked.has_value());
        EXPECT_EQ(picked->id, pick_member(b.members(), key)->id) << "every process picks alike";
        ++per_member[picked->id];
    }
    for (const auto& [id, n] : per_member) {
        EXPECT_GT(n, 350) << id;  // about half each
    }
    EXPECT_FALSE(pick_member({}, "main/x").has_value());
}

TEST(Placement, LookingUpDoesNotJoinTheGroup) {
    redis_server redis;
    placement reader(member(redis, "reader:1"));
    placement a(member(redis, "a:1"));
    a.claim("main/x");
    ASSERT_TRUE(reader.holder("main/x").has_value());
    EXPECT_EQ(reader.holder("main/x")->address, "a:1");
    auto live = reader.members();
    ASSERT_EQ(live.size(), 1u);
    EXPECT_EQ(live[0].address, "a:1");
}

TEST(Placement, GroupsAreSeparate) {
    redis_server redis;
    placement room_server(member(redis, "rooms:1"));
    placement shard(options(redis.url(), "shards", "shards:1"));
    room_server.claim("x");
    EXPECT_TRUE(shard.claim("x").is(shard.self_id()));
}

TEST(Placement, SaysWhyWhenRedisIsDownAndWorksAgainWhenItReturns) {
    redis_server redis;
    placement a(member(redis, "a:1"));
    a.claim("main/game-1");
    redis.stop();
    try {
        a.claim("main/game-2");
        FAIL() << "no error without Redis";
    } catch (const redis_error& e) {
        EXPECT_TRUE(e.unavailable());
        EXPECT_NE(std::string(e.what()).find("connection refused"), std::string::npos) << e.what();
    }
    redis.start();
    EXPECT_TRUE(a.claim("main/game-2").is(a.self_id()));
}

TEST(Placement, RefusesOptionsItCannotWorkWith) {
    EXPECT_THROW(placement(options("redis://x", "", "a:1")), std::invalid_argument);
    EXPECT_THROW(placement(options("redis://x", "rooms", "")), std::invalid_argument);
    EXPECT_THROW(placement(options("http://x", "rooms", "a:1")), std::invalid_argument);
}

}  // namespace
}  // namespace signe

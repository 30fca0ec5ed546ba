// The user's connected flag (the original's @connected): set by the server on join and leave,
// visible in hooks and sent to the other clients. Adapts catalogue 7.15 (tests/room/users.spec.ts).

#include "unit/test_helpers.hpp"
#include <gtest/gtest.h>

#include <signe/testing.hpp>

#include <string>
#include <vector>

namespace {

using signe::testing::room_harness;
using signe_test::sync_values;
namespace json = signe::json;

struct player {
    signe::synced<std::string> name{"Anon"};
    signe::synced<bool> is_connected{false};
    static auto fields() {
        return signe::fields(
            signe::field("name", &player::name),
            signe::field("isConnected", &player::is_connected).connected()
        );
    }
};

class users_room {
public:
    signe::users<player> players;
    static auto fields() { return signe::fields(signe::field("players", &users_room::players)); }

    std::vector<bool> connected_in_on_join;
    std::vector<bool> connected_in_on_leave;

    static void define(signe::room_spec<users_room>& spec) {
        spec.path("users-test")
            .on_join([](users_room& r, player& p, signe::connection&, const signe::request_info&) {
                r.connected_in_on_join.push_back(p.is_connected.get());
            })
            .on_leave([](users_room& r, player& p, signe::connection&) {
                r.connected_in_on_leave.push_back(p.is_connected.get());
            });
    }
};

// catalogue 7.15 users.spec: "mark user as connected when they join"
TEST(users_connected_flag, is_true_after_joining) {
    room_harness<users_room> h;
    auto& alice = h.connect("alice");
    EXPECT_TRUE(h.user(alice)->is_connected.get());
    EXPECT_EQ(
        alice.frames().at(0).at("value").at("players").at(alice.public_id()).at("isConnected"), true
    );
}

// catalogue 7.15 users.spec: "mark user as disconnected when they leave"
TEST(users_connected_flag, is_false_after_leaving) {
    room_harness<users_room> h;
    auto& alice = h.connect("alice");
    alice.close();
    EXPECT_FALSE(h.room().players.at(alice.public_id()).is_connected.get());
}

// catalogue 7.15 users.spec: "track connection state independently for each user"
TEST(users_connected_flag, is_tracked_per_user) {
    room_harness<users_room> h;
    auto& alice = h.connect("alice");
    auto& bob = h.connect("bob");
    alice.close();
    EXPECT_FALSE(h.room().players.at(alice.public_id()).is_connected.get());
    EXPECT_TRUE(h.room().players.at(bob.public_id()).is_connected.get());
}

// catalogue 7.15 users.spec: "have correct connection state in lifecycle hooks"
TEST(users_connected_flag, hooks_see_the_new_state) {
    room_harness<users_room> h;
    h.connect("alice").close();
    EXPECT_EQ(h.room().connected_in_on_join, std::vector<bool>{true});
    EXPECT_EQ(h.room().connected_in_on_leave, std::vector<bool>{false});
}

// catalogue 7.15 users.spec: "update connection state when user reconnects"
TEST(users_connected_flag, follows_reconnection) {
    room_harness<users_room> h;
    auto& first = h.connect("alice");
    std::string public_id = first.public_id();
    EXPECT_TRUE(h.room().players.at(public_id).is_connected.get());
    first.close();
    EXPECT_FALSE(h.room().players.at(public_id).is_connected.get());
    h.connect("alice");
    EXPECT_TRUE(h.room().players.at(public_id).is_connected.get());
}

TEST(users_connected_flag, changes_are_sent_to_the_other_clients) {
    room_harness<users_room> h;
    auto& observer = h.connect("observer");
    observer.clear();
    auto& alice = h.connect("alice");
    const std::string& pid = alice.public_id();
    // One frame for the join: the new user, already online.
    ASSERT_EQ(sync_values(observer).size(), 1u);
    EXPECT_EQ(
        sync_values(observer)[0],
        json::value({{"players", {{pid, {{"name", "Anon"}, {"isConnected", true}}}}}})
    );

    observer.clear();
    alice.close();
    EXPECT_EQ(
        sync_values(observer),
        std::vector<json::value>{json::value({{"players", {{pid, {{"isConnected", false}}}}}})}
    );

    observer.clear();
    h.connect("alice");
    EXPECT_EQ(
        sync_values(observer),
        std::vector<json::value>{json::value({{"players", {{pid, {{"isConnected", true}}}}}})}
    );
}

TEST(users_connected_flag, is_not_part_of_the_persisted_snapshot) {
    room_harness<users_room> h;
    auto& alice = h.connect("alice");
    json::value snap = signe::snapshot(h.room());
    EXPECT_EQ(snap, json::value({{"players", {{alice.public_id(), {{"name", "Anon"}}}}}}));
}

}  // namespace

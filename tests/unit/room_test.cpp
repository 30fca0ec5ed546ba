// Room behaviour seen through the harness: joining, hooks, actions, action and room guards, the
// unhandled-action fallback, payload validation, custom frames, timers, max_users and deferred
// (asynchronous) guards.
// Adapts catalogue 7.9 (tests/room/room.spec.ts).

#include "unit/test_helpers.hpp"
#include <gtest/gtest.h>

#include <signe/testing.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using signe::testing::room_harness;
using signe_test::J;
using signe_test::sync_values;
namespace json = signe::json;

struct player {
    std::string id;
    signe::synced<std::string> name{"Anon"};
    static auto fields() {
        return signe::fields(
            signe::field("id", &player::id).key(), signe::field("name", &player::name)
        );
    }
};

struct position_msg {
    double x = 0;
    double y = 0;
    static auto fields() {
        return signe::fields(
            signe::field("x", &position_msg::x), signe::field("y", &position_msg::y)
        );
    }
};

struct name_msg {
    std::string name;
    static auto fields() { return signe::fields(signe::field("name", &name_msg::name).min(3)); }
};

// A call a spy saw: which connection, which user, which value.
struct seen_call {
    std::string conn_id;
    std::string user_id;
    json::value value;
};

// The fixture GameRoom of room.spec: a counter, users, guarded actions and hook spies.
class game_room : public signe::room_base {
public:
    signe::synced<int> count{0};
    signe::users<player> players;
    static auto fields() {
        return signe::fields(
            signe::field("count", &game_room::count), signe::field("players", &game_room::players)
        );
    }

    bool started = false;
    bool admin_allowed = true;
    bool user_allowed = true;
    std::vector<seen_call> admin_guard_calls;
    std::vector<seen_call> user_guard_calls;
    std::vector<seen_call> joins;
    std::vector<seen_call> leaves;
    std::optional<std::string> join_query_token;

    static void define(signe::room_spec<game_room>& spec) {
        spec.path("game")
            .on_start([](game_room& r) { r.started = true; })
            .on_join(&game_room::on_join)
            .on_leave(&game_room::on_leave)
            .action<json::value>("increment", [](game_room& r, const json::value&) { ++r.count; })
            .action<json::value>(
                "adminAction",
                [](game_room& r, const json::value&) { r.count += 10; },
                {.guards = {&game_room::user_guard, &game_room::admin_guard}}
            )
            .action<json::value>(
                "userAction",
                [](game_room& r, const json::value&) { r.count += 5; },
                {.guards = {&game_room::user_guard}}
            )
            .action("updatePosition", &game_room::update_position)
            .action("updateName", &game_room::update_name)
            .action<json::value>("resetPlayers", [](game_room& r, const json::value&) {
                r.players.clear();
            });
    }

    void on_join(player& p, signe::connection& c, const signe::request_info& req) {
        joins.push_back({c.id(), p.id, json::value(p.name.get())});
        if (auto token = req.query_param("token")) {
            join_query_token = std::string(*token);
        }
    }
    void on_leave(player& p, signe::connection& c) { leaves.push_back({c.id(), p.id, nullptr}); }

    bool admin_guard(signe::connection& c, const json::value& value) {
        admin_guard_calls.push_back({c.id(), c.public_id(), value});
        return admin_allowed;
    }
    bool user_guard(signe::connection& c, const json::value& value) {
        user_guard_calls.push_back({c.id(), c.public_id(), value});
        return user_allowed;
    }

    void update_position(player&, const position_msg& m) { count += static_cast<int>(m.x + m.y); }
    void update_name(player& p, const name_msg& m) {
        p.name = m.name;
        ++count;
    }
};

// ---------------------------------------------------------------------------------------------
// Server

// catalogue 7.9 room.spec: "initialize correctly"
TEST(room, on_start_runs_before_any_client) {
    room_harness<game_room> h;
    EXPECT_TRUE(h.room().started);
    EXPECT_EQ(h.room().id(), "game");
    EXPECT_EQ(h.room().party(), "main");
}

// catalogue 7.9 room.spec: "handle connection correctly"
TEST(room, joining_client_gets_its_public_id_in_a_first_sync_frame) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    ASSERT_EQ(alice.frames().size(), 1u);
    const json::value& first = alice.frames()[0];
    EXPECT_EQ(first.at("type"), "sync");
    EXPECT_EQ(first.at("value").at("pId"), json::value(alice.public_id()));
    EXPECT_EQ(alice.public_id().size(), 8u);
    EXPECT_EQ(h.room().joins.size(), 1u);
}

TEST(room, initial_sync_holds_the_full_state_including_the_joiner) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    auto& bob = h.connect("bob");
    json::value expected = {
        {"pId", bob.public_id()},
        {"count", 0},
        {"players",
         {{alice.public_id(), {{"name", "Anon"}}}, {bob.public_id(), {{"name", "Anon"}}}}}};
    EXPECT_EQ(bob.frames().at(0).at("value"), expected);
}

TEST(room, others_learn_about_a_newcomer_but_the_newcomer_only_gets_its_snapshot) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    alice.clear();
    auto& bob = h.connect("bob");
    ASSERT_EQ(sync_values(alice).size(), 1u);
    EXPECT_EQ(
        sync_values(alice)[0], json::value({{"players", {{bob.public_id(), {{"name", "Anon"}}}}}})
    );
    EXPECT_EQ(bob.frames().size(), 1u);
}

// catalogue 7.9 room.spec: "pass correct parameters to onJoin hook"
TEST(room, on_join_receives_the_new_user_the_connection_and_the_request) {
    room_harness<game_room> h;
    signe::testing::client_options opts;
    opts.query = {{"token", "abc"}};
    auto& alice = h.connect("alice", opts);
    ASSERT_EQ(h.room().joins.size(), 1u);
    EXPECT_EQ(h.room().joins[0].conn_id, alice.conn().id());
    EXPECT_EQ(h.room().joins[0].user_id, alice.public_id());
    EXPECT_EQ(h.room().join_query_token, "abc");
}

// catalogue 7.9 room.spec: "pass correct parameters to onLeave hook"
// catalogue 7.9 room.spec: "handle disconnection correctly"
TEST(room, on_leave_receives_the_user_and_the_connection) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    std::string conn_id = alice.conn().id();
    alice.close();
    ASSERT_EQ(h.room().leaves.size(), 1u);
    EXPECT_EQ(h.room().leaves[0].conn_id, conn_id);
    EXPECT_EQ(h.room().leaves[0].user_id, alice.public_id());
}

// catalogue 7.9 room.spec: "handle messages correctly"
TEST(room, action_changes_state_and_every_client_receives_the_delta) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    auto& bob = h.connect("bob");
    alice.clear();
    bob.clear();
    alice.send("increment", nullptr);
    EXPECT_EQ(h.room().count.get(), 1);
    EXPECT_EQ(
        alice.frames(), std::vector<json::value>{J(R"({"type":"sync","value":{"count":1}})")}
    );
    EXPECT_EQ(bob.frames(), alice.frames());
}

// catalogue 7.9 room.spec: "handle invalid messages"
TEST(room, invalid_json_has_no_effect) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    alice.clear();
    alice.send_raw("invalid json");
    EXPECT_EQ(h.room().count.get(), 0);
    EXPECT_TRUE(alice.frames().empty());
    EXPECT_FALSE(alice.closed());
}

// catalogue 7.9 room.spec: "handle messages with invalid actions"
TEST(room, unknown_action_has_no_effect) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    alice.clear();
    alice.send("doesNotExist", 1);
    EXPECT_EQ(h.room().count.get(), 0);
    EXPECT_TRUE(alice.frames().empty());
    EXPECT_FALSE(alice.closed());
}

// catalogue 7.9 room.spec: "update users signal on connection"
TEST(room, each_new_session_creates_one_user) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    EXPECT_EQ(h.room().players.size(), 1u);
    EXPECT_TRUE(h.room().players.contains(alice.public_id()));
    EXPECT_EQ(h.user(alice), h.room().players.find(alice.public_id()));
    h.connect("alice");  // a second socket of the same session
    EXPECT_EQ(h.room().players.size(), 1u);
}

// catalogue 7.9 room.spec: "reset players and notify clients"
TEST(room, clearing_users_sends_a_delete_for_each_user) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    auto& bob = h.connect("bob");
    alice.clear();
    bob.clear();
    alice.send("resetPlayers", nullptr);
    EXPECT_TRUE(h.room().players.empty());
    json::value expected = {
        {"players", {{alice.public_id(), "$delete"}, {bob.public_id(), "$delete"}}}};
    EXPECT_EQ(sync_values(alice), std::vector<json::value>{expected});
    EXPECT_EQ(sync_values(bob), std::vector<json::value>{expected});
}

// catalogue 7.9 room.spec: "handle messages from different users"
TEST(room, messages_from_different_users_all_apply) {
    room_harness<game_room> h;
    h.connect("alice").send("increment", nullptr);
    h.connect("bob").send("increment", nullptr);
    EXPECT_EQ(h.room().count.get(), 2);
}

// ---------------------------------------------------------------------------------------------
// Action guards

// catalogue 7.9 room.spec: "allow action when all guards pass"
TEST(room_action_guards, action_runs_when_all_guards_pass) {
    room_harness<game_room> h;
    h.connect("alice").send("adminAction", nullptr);
    EXPECT_EQ(h.room().user_guard_calls.size(), 1u);
    EXPECT_EQ(h.room().admin_guard_calls.size(), 1u);
    EXPECT_EQ(h.room().count.get(), 10);
}

// catalogue 7.9 room.spec: "block action when any guard fails"
TEST(room_action_guards, action_is_dropped_when_any_guard_fails) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    alice.clear();
    h.room().admin_allowed = false;
    alice.send("adminAction", nullptr);
    EXPECT_EQ(h.room().count.get(), 0);
    EXPECT_TRUE(alice.frames().empty());  // refusals are silent
    EXPECT_FALSE(alice.closed());
    EXPECT_EQ(h.stats().guard_refusals, 1u);
}

TEST(room_action_guards, guards_run_in_order_and_stop_at_the_first_refusal) {
    room_harness<game_room> h;
    h.room().user_allowed = false;
    h.connect("alice").send("adminAction", nullptr);
    EXPECT_EQ(h.room().user_guard_calls.size(), 1u);
    EXPECT_TRUE(h.room().admin_guard_calls.empty());
}

// catalogue 7.9 room.spec: "allow action with single guard when it passes"
TEST(room_action_guards, single_guard_pass_runs_only_that_guard) {
    room_harness<game_room> h;
    h.connect("alice").send("userAction", nullptr);
    EXPECT_EQ(h.room().count.get(), 5);
    EXPECT_TRUE(h.room().admin_guard_calls.empty());
}

// catalogue 7.9 room.spec: "block action with single guard when it fails"
TEST(room_action_guards, single_guard_refusal_blocks_the_action) {
    room_harness<game_room> h;
    h.room().user_allowed = false;
    h.connect("alice").send("userAction", nullptr);
    EXPECT_EQ(h.room().count.get(), 0);
}

// catalogue 7.9 room.spec: "pass connection and message value to guards"
TEST(room_action_guards, guards_receive_the_connection_and_the_raw_value) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    alice.send("adminAction", J(R"({"test":"data"})"));
    ASSERT_EQ(h.room().admin_guard_calls.size(), 1u);
    EXPECT_EQ(h.room().admin_guard_calls[0].conn_id, alice.conn().id());
    EXPECT_EQ(h.room().admin_guard_calls[0].user_id, alice.public_id());
    EXPECT_EQ(h.room().admin_guard_calls[0].value, J(R"({"test":"data"})"));
}

// ---------------------------------------------------------------------------------------------
// Unhandled actions (fixture FallbackRoom)

class fallback_room : public signe::room_base {
public:
    signe::synced<int> count{0};
    signe::users<player> players;
    static auto fields() {
        return signe::fields(
            signe::field("count", &fallback_room::count),
            signe::field("players", &fallback_room::players)
        );
    }

    bool guard_allows = true;
    std::vector<json::value> guard_values;
    std::vector<seen_call> fallback_calls;

    static void define(signe::room_spec<fallback_room>& spec) {
        spec.path("game")
            .action<json::value>(
                "increment", [](fallback_room& r, const json::value&) { ++r.count; }
            )
            .on_unknown_action(&fallback_room::fallback, {.guards = {&fallback_room::guard}});
    }

    bool guard(signe::connection&, const json::value& value) {
        guard_values.push_back(value);
        return guard_allows;
    }
    void fallback(player& p, const signe::unknown_action& msg, signe::connection& c) {
        fallback_calls.push_back(
            {c.id(), p.id, json::value{{"action", msg.action}, {"value", msg.value}}}
        );
        count = 100;
    }
};

// catalogue 7.9 room.spec: "dispatch unknown actions to the fallback handler"
TEST(room_unhandled_action, unknown_action_reaches_the_fallback_with_action_and_value) {
    room_harness<fallback_room> h;
    auto& alice = h.connect("alice");
    alice.send("missingAction", J(R"({"a":1})"));
    ASSERT_EQ(h.room().fallback_calls.size(), 1u);
    EXPECT_EQ(h.room().fallback_calls[0].user_id, alice.public_id());
    EXPECT_EQ(h.room().fallback_calls[0].conn_id, alice.conn().id());
    EXPECT_EQ(h.room().fallback_calls[0].value, J(R"({"action":"missingAction","value":{"a":1}})"));
    EXPECT_EQ(h.room().count.get(), 100);
    EXPECT_EQ(h.stats().unknown_actions, 0u);  // handled by the fallback
}

// catalogue 7.9 room.spec: "keep matching actions higher priority than the fallback handler"
TEST(room_unhandled_action, registered_actions_win_over_the_fallback) {
    room_harness<fallback_room> h;
    h.connect("alice").send("increment", nullptr);
    EXPECT_EQ(h.room().count.get(), 1);
    EXPECT_TRUE(h.room().fallback_calls.empty());
    EXPECT_TRUE(h.room().guard_values.empty());
}

// catalogue 7.9 room.spec: "apply guards to the fallback handler"
TEST(room_unhandled_action, fallback_guards_see_the_whole_message_and_can_refuse) {
    room_harness<fallback_room> h;
    h.room().guard_allows = false;
    h.connect("alice").send("missingAction", 7);
    EXPECT_EQ(h.room().count.get(), 0);
    EXPECT_TRUE(h.room().fallback_calls.empty());
    ASSERT_EQ(h.room().guard_values.size(), 1u);
    EXPECT_EQ(h.room().guard_values[0], J(R"({"action":"missingAction","value":7})"));
}

// ---------------------------------------------------------------------------------------------
// Action payload validation

// catalogue 7.9 room.spec: "accept an action with valid data"
TEST(room_action_validation, valid_payload_reaches_the_handler) {
    room_harness<game_room> h;
    h.connect("alice").send("updatePosition", J(R"({"x":10,"y":20})"));
    EXPECT_EQ(h.room().count.get(), 30);
}

// catalogue 7.9 room.spec: "reject an action with invalid data (wrong type)"
TEST(room_action_validation, wrong_field_type_is_dropped) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    alice.clear();
    alice.send("updatePosition", J(R"({"x":"10","y":20})"));
    EXPECT_EQ(h.room().count.get(), 0);
    EXPECT_TRUE(alice.frames().empty());
    EXPECT_EQ(h.stats().invalid_payloads, 1u);
}

// catalogue 7.9 room.spec: "reject an action with invalid data (missing field)"
TEST(room_action_validation, missing_field_is_dropped) {
    room_harness<game_room> h;
    h.connect("alice").send("updatePosition", J(R"({"x":10})"));
    EXPECT_EQ(h.room().count.get(), 0);
    EXPECT_EQ(h.stats().invalid_payloads, 1u);
}

// catalogue 7.9 room.spec: "reject an action with invalid string validation"
TEST(room_action_validation, too_short_string_is_dropped_without_side_effects) {
    room_harness<game_room> h;
    auto& alice = h.connect("alice");
    alice.send("updateName", J(R"({"name":"ab"})"));
    EXPECT_EQ(h.room().count.get(), 0);
    EXPECT_EQ(h.user(alice)->name.get(), "Anon");
    alice.send("updateName", J(R"({"name":"abc"})"));
    EXPECT_EQ(h.user(alice)->name.get(), "abc");
}

// ---------------------------------------------------------------------------------------------
// Room guards (join and message)

class guarded_room : public signe::room_base {
public:
    signe::synced<int> count{0};
    signe::users<player> players;
    static auto fields() {
        return signe::fields(
            signe::field("count", &guarded_room::count),
            signe::field("players", &guarded_room::players)
        );
    }

    bool join_allowed = true;
    bool message_allowed = true;
    int joins = 0;
    std::vector<std::string> calls;  // "join", "message", "action" in call order
    std::vector<json::value> message_guard_values;
    std::string join_guard_room_id;
    std::string join_guard_private_id;
    std::optional<std::string> join_guard_header;

    static void define(signe::room_spec<guarded_room>& spec) {
        spec.path("game")
            .join_guard(&guarded_room::join_guard)
            .message_guard(&guarded_room::message_guard)
            .on_join([](guarded_room& r, player&, signe::connection&, const signe::request_info&) {
                ++r.joins;
            })
            .action<json::value>(
                "increment",
                [](guarded_room& r, const json::value&) { ++r.count; },
                {.guards = {[](guarded_room& r, signe::connection&, const json::value&) {
                     r.calls.push_back("action");
                     return true;
                 }}}
            );
    }

    bool join_guard(signe::connection& c, const signe::request_info& req) {
        calls.push_back("join");
        join_guard_room_id = id();
        join_guard_private_id = c.private_id();
        if (auto h = req.header("x-api-key")) {
            join_guard_header = std::string(*h);
        }
        return join_allowed;
    }
    bool message_guard(signe::connection&, const json::value& value) {
        calls.push_back("message");
        message_guard_values.push_back(value);
        return message_allowed;
    }
};

// catalogue 7.9 room.spec: "block connection when room guard fails"
TEST(room_guards, refused_join_closes_the_socket_without_any_frame) {
    room_harness<guarded_room> h;
    h.room().join_allowed = false;
    auto& alice = h.connect("alice");
    EXPECT_TRUE(alice.closed());
    EXPECT_EQ(alice.close_code(), signe::close_code::policy_violation);
    EXPECT_TRUE(alice.frames().empty());
    EXPECT_EQ(h.room().joins, 0);
    EXPECT_TRUE(h.room().players.empty());
    EXPECT_FALSE(h.session("alice").has_value());
    EXPECT_EQ(h.connection_count(), 0u);
}

// catalogue 7.9 room.spec: "allow connection when room guard passes"
TEST(room_guards, accepted_join_runs_on_join_and_sends_the_initial_sync) {
    room_harness<guarded_room> h;
    auto& alice = h.connect("alice");
    EXPECT_FALSE(alice.closed());
    EXPECT_EQ(h.room().joins, 1);
    EXPECT_EQ(alice.frames().size(), 1u);
}

// catalogue 7.9 room.spec: "block messages when room guard fails"
TEST(room_guards, message_guard_refusal_drops_the_message) {
    room_harness<guarded_room> h;
    auto& alice = h.connect("alice");
    h.room().message_allowed = false;
    alice.send("increment", nullptr);
    EXPECT_EQ(h.room().calls, (std::vector<std::string>{"join", "message"}));
    EXPECT_EQ(h.room().count.get(), 0);
}

// catalogue 7.9 room.spec: "allow messages when room guard passes"
TEST(room_guards, message_guard_pass_lets_the_action_run) {
    room_harness<guarded_room> h;
    h.connect("alice").send("increment", nullptr);
    EXPECT_EQ(h.room().calls, (std::vector<std::string>{"join", "message", "action"}));
    EXPECT_EQ(h.room().count.get(), 1);
}

// catalogue 7.9 room.spec: "check room guards before action guards"
TEST(room_guards, room_guard_refusal_skips_the_action_guards) {
    room_harness<guarded_room> h;
    auto& alice = h.connect("alice");
    h.room().message_allowed = false;
    alice.send("increment", nullptr);
    EXPECT_EQ(std::count(h.room().calls.begin(), h.room().calls.end(), "action"), 0);
}

// catalogue 7.9 room.spec: "pass connection and context to room guards on connect"
TEST(room_guards, join_guard_sees_the_connection_the_request_and_the_room) {
    room_harness<guarded_room> h;
    signe::testing::client_options opts;
    opts.headers = {{"X-Api-Key", "k1"}};
    h.connect("alice", opts);
    EXPECT_EQ(h.room().join_guard_room_id, "game");
    EXPECT_EQ(h.room().join_guard_private_id, "alice");
    EXPECT_EQ(h.room().join_guard_header, "k1");  // header lookup is case-insensitive
}

// catalogue 7.9 room.spec: "pass connection and message value to room guards on message"
TEST(room_guards, message_guard_sees_the_action_value) {
    room_harness<guarded_room> h;
    h.connect("alice").send("increment", J(R"({"test":"data"})"));
    EXPECT_EQ(h.room().message_guard_values, std::vector<json::value>{J(R"({"test":"data"})")});
}

// ---------------------------------------------------------------------------------------------
// Custom frames and timers from room code

struct ping_msg {
    double t = 0;
    static auto fields() { return signe::fields(signe::field("t", &ping_msg::t)); }
};

class messaging_room : public signe::room_base {
public:
    signe::synced<int> ticks{0};
    static auto fields() { return signe::fields(signe::field("ticks", &messaging_room::ticks)); }

    std::uint64_t ticker = 0;

    static void define(signe::room_spec<messaging_room>& spec) {
        spec.path("messaging")
            .on_start([](messaging_room& r) { r.ticker = r.set_timer(1000ms, [&r] { r.tick(); }); })
            .action("ping", &messaging_room::ping)
            .action<json::value>(
                "shout",
                [](messaging_room& r, const json::value& v) {
                    r.broadcast({{"type", "shout"}, {"value", v}});
                }
            )
            .action<json::value>("whisper", &messaging_room::whisper)
            .action<json::value>("tickAndAnnounce", &messaging_room::tick_and_announce)
            .action<json::value>("stop", [](messaging_room& r, const json::value&) {
                r.cancel_timer(r.ticker);
            });
    }

    void ping(signe::connection& from, const ping_msg& m) {
        send(from, {{"type", "pong"}, {"value", {{"t", m.t}}}});
    }
    // Changes state, then announces it: clients must see the change before the announcement.
    void tick_and_announce(signe::connection&, const json::value&) {
        ++ticks;
        broadcast({{"type", "ticked"}, {"value", ticks.get()}});
    }
    void whisper(signe::connection& from, const json::value& v) {
        broadcast_except({{"type", "whisper"}, {"value", v}}, from);
    }
    void tick() {
        ++ticks;
        ticker = set_timer(1000ms, [this] { tick(); });
    }
};

TEST(room_messages, send_reaches_only_the_target_socket) {
    room_harness<messaging_room> h;
    auto& alice = h.connect("alice");
    auto& bob = h.connect("bob");
    alice.clear();
    bob.clear();
    alice.send("ping", J(R"({"t":123.5})"));
    EXPECT_EQ(
        alice.frames(), std::vector<json::value>{J(R"({"type":"pong","value":{"t":123.5}})")}
    );
    EXPECT_TRUE(bob.frames().empty());
}

TEST(room_messages, broadcast_reaches_everyone_including_the_sender) {
    room_harness<messaging_room> h;
    auto& alice = h.connect("alice");
    auto& bob = h.connect("bob");
    alice.clear();
    bob.clear();
    alice.send("shout", "hi");
    EXPECT_EQ(alice.frames(), std::vector<json::value>{J(R"({"type":"shout","value":"hi"})")});
    EXPECT_EQ(bob.frames(), alice.frames());
}

TEST(room_messages, broadcast_except_skips_one_socket) {
    room_harness<messaging_room> h;
    auto& alice = h.connect("alice");
    auto& bob = h.connect("bob");
    alice.clear();
    bob.clear();
    alice.send("whisper", "psst");
    EXPECT_TRUE(alice.frames().empty());
    EXPECT_EQ(bob.frames(), std::vector<json::value>{J(R"({"type":"whisper","value":"psst"})")});
}

// A handler that changes state and then sends a custom frame: in the original (one sync frame per
// change, sent at once) the state change arrives first, so a client reacting to the custom frame
// reads the new state.
TEST(room_messages, state_changed_before_a_custom_frame_arrives_before_it) {
    room_harness<messaging_room> h;
    auto& alice = h.connect("alice");
    alice.clear();
    alice.send("tickAndAnnounce", nullptr);
    EXPECT_EQ(
        alice.frames(),
        (std::vector<json::value>{
            J(R"({"type":"sync","value":{"ticks":1}})"), J(R"({"type":"ticked","value":1})")})
    );
}

TEST(room_timers, changes_made_by_a_timer_reach_clients) {
    room_harness<messaging_room> h;
    auto& alice = h.connect("alice");
    alice.clear();
    h.advance(999ms);
    EXPECT_TRUE(alice.frames().empty());
    h.advance(1ms);
    EXPECT_EQ(sync_values(alice), std::vector<json::value>{J(R"({"ticks":1})")});
    h.advance(2000ms);
    EXPECT_EQ(h.room().ticks.get(), 3);
    EXPECT_EQ(sync_values(alice).back(), J(R"({"ticks":3})"));
}

TEST(room_timers, cancelled_timer_never_fires) {
    room_harness<messaging_room> h;
    auto& alice = h.connect("alice");
    alice.send("stop", nullptr);
    h.advance(10000ms);
    EXPECT_EQ(h.room().ticks.get(), 0);
}

TEST(room_timers, room_clock_is_the_harness_clock) {
    room_harness<messaging_room> h;
    std::int64_t start = h.room().now_ms();
    EXPECT_EQ(start, h.now_ms());
    h.advance(1500ms);
    EXPECT_EQ(h.room().now_ms(), start + 1500);
}

// ---------------------------------------------------------------------------------------------
// max_users (the original stores it but never enforces it; this port closes with 1013)

class small_room {
public:
    signe::users<player> players;
    static auto fields() { return signe::fields(signe::field("players", &small_room::players)); }
    static void define(signe::room_spec<small_room>& spec) { spec.path("small").max_users(2); }
};

TEST(room_max_users, third_user_is_closed_with_1013_and_gets_nothing) {
    room_harness<small_room> h;
    h.connect("alice");
    h.connect("bob");
    auto& carol = h.connect("carol");
    EXPECT_TRUE(carol.closed());
    EXPECT_EQ(carol.close_code(), signe::close_code::try_again_later);
    EXPECT_TRUE(carol.frames().empty());
    EXPECT_EQ(h.room().players.size(), 2u);
    EXPECT_EQ(h.connection_count(), 2u);
}

TEST(room_max_users, another_socket_of_an_online_session_is_still_accepted) {
    room_harness<small_room> h;
    h.connect("alice");
    h.connect("bob");
    auto& alice_tab2 = h.connect("alice");
    EXPECT_FALSE(alice_tab2.closed());
    EXPECT_EQ(h.connection_count(), 3u);
}

TEST(room_max_users, a_place_frees_up_when_a_user_leaves) {
    room_harness<small_room> h;
    h.connect("alice");
    h.connect("bob").close();
    auto& carol = h.connect("carol");
    EXPECT_FALSE(carol.closed());
    EXPECT_EQ(carol.frames().size(), 1u);
}

TEST(room_max_users, returning_user_counts_against_the_limit_again) {
    room_harness<small_room> h;
    h.connect("alice").close();
    h.connect("bob");
    h.connect("carol");
    auto& alice_again = h.connect("alice");
    EXPECT_TRUE(alice_again.closed());
    EXPECT_EQ(alice_again.close_code(), signe::close_code::try_again_later);
}

// ---------------------------------------------------------------------------------------------
// Deferred (asynchronous) guards

class async_room : public signe::room_base {
public:
    signe::synced<int> count{0};
    signe::users<player> players;
    static auto fields() {
        return signe::fields(
            signe::field("count", &async_room::count), signe::field("players", &async_room::players)
        );
    }

    bool defer_joins = false;
    std::vector<signe::decision::resolver> waiting;
    std::vector<std::string> handled;  // "<private id>:<action>:<value>" in handling order

    static void define(signe::room_spec<async_room>& spec) {
        spec.path("async")
            .join_guard([](async_room& r, signe::connection&, const signe::request_info&) {
                return r.maybe_defer(r.defer_joins);
            })
            .action(
                "slow",
                &async_room::record_slow,
                {.guards = {[](async_room& r, signe::connection&, const json::value&) {
                     return r.maybe_defer(true);
                 }}}
            )
            .action("fast", &async_room::record_fast);
    }

    signe::decision maybe_defer(bool defer) {
        if (!defer) {
            return true;
        }
        auto [result, resolve] = signe::decision::deferred();
        waiting.push_back(resolve);
        return result;
    }
    void record(signe::connection& c, std::string_view action, int value) {
        handled.push_back(c.private_id() + ":" + std::string(action) + ":" + std::to_string(value));
        count = value;
    }
    void record_slow(signe::connection& c, const int& value) { record(c, "slow", value); }
    void record_fast(signe::connection& c, const int& value) { record(c, "fast", value); }
};

TEST(room_deferred_guards, action_waits_for_the_verdict) {
    room_harness<async_room> h;
    auto& alice = h.connect("alice");
    alice.send("slow", 1);
    EXPECT_TRUE(h.room().handled.empty());
    ASSERT_EQ(h.room().waiting.size(), 1u);
    h.room().waiting[0](true);
    EXPECT_EQ(h.room().handled, std::vector<std::string>{"alice:slow:1"});
    EXPECT_EQ(sync_values(alice).back(), J(R"({"count":1})"));
}

TEST(room_deferred_guards, later_frames_of_the_same_socket_keep_their_order) {
    room_harness<async_room> h;
    auto& alice = h.connect("alice");
    alice.send("slow", 1);
    alice.send("fast", 2);
    alice.send("fast", 3);
    EXPECT_TRUE(h.room().handled.empty());  // held behind the undecided guard
    h.room().waiting.at(0)(true);
    EXPECT_EQ(
        h.room().handled, (std::vector<std::string>{"alice:slow:1", "alice:fast:2", "alice:fast:3"})
    );
    EXPECT_EQ(h.room().count.get(), 3);
}

TEST(room_deferred_guards, refusal_drops_only_the_guarded_frame) {
    room_harness<async_room> h;
    auto& alice = h.connect("alice");
    alice.send("slow", 1);
    alice.send("fast", 2);
    h.room().waiting.at(0)(false);
    EXPECT_EQ(h.room().handled, std::vector<std::string>{"alice:fast:2"});
    EXPECT_EQ(h.stats().guard_refusals, 1u);
}

TEST(room_deferred_guards, other_sockets_are_not_held_up) {
    room_harness<async_room> h;
    auto& alice = h.connect("alice");
    auto& bob = h.connect("bob");
    alice.send("slow", 1);
    bob.send("fast", 2);
    EXPECT_EQ(h.room().handled, std::vector<std::string>{"bob:fast:2"});
    h.room().waiting.at(0)(true);
    EXPECT_EQ(h.room().handled, (std::vector<std::string>{"bob:fast:2", "alice:slow:1"}));
}

TEST(room_deferred_guards, verdict_after_the_socket_closed_runs_nothing) {
    room_harness<async_room> h;
    auto& alice = h.connect("alice");
    alice.send("slow", 1);
    alice.close();
    h.room().waiting.at(0)(true);
    EXPECT_TRUE(h.room().handled.empty());
}

TEST(room_deferred_guards, deferred_join_sends_the_initial_sync_once_accepted_then_queued_frames) {
    room_harness<async_room> h;
    h.room().defer_joins = true;
    auto& alice = h.connect("alice");
    EXPECT_TRUE(alice.frames().empty());
    alice.send("fast", 5);  // sent before the join completes: queued, not lost
    EXPECT_TRUE(h.room().handled.empty());
    h.room().waiting.at(0)(true);
    ASSERT_EQ(alice.frames().size(), 2u);
    EXPECT_EQ(alice.frames()[0].at("value").at("pId"), json::value(alice.public_id()));
    EXPECT_EQ(alice.frames()[1], J(R"({"type":"sync","value":{"count":5}})"));
    EXPECT_EQ(h.room().handled, std::vector<std::string>{"alice:fast:5"});
}

TEST(room_deferred_guards, deferred_join_refusal_closes_the_socket) {
    room_harness<async_room> h;
    h.room().defer_joins = true;
    auto& alice = h.connect("alice");
    alice.send("fast", 5);
    h.room().waiting.at(0)(false);
    EXPECT_TRUE(alice.closed());
    EXPECT_EQ(alice.close_code(), signe::close_code::policy_violation);
    EXPECT_TRUE(alice.frames().empty());
    EXPECT_TRUE(h.room().handled.empty());
    EXPECT_TRUE(h.room().players.empty());
}

TEST(room_deferred_guards, too_many_frames_before_the_join_completes_close_the_socket) {
    room_harness<async_room> h;
    h.room().defer_joins = true;
    auto& alice = h.connect("alice");
    for (int i = 0; i < 1024; ++i) {
        alice.send("fast", i);
    }
    EXPECT_FALSE(alice.closed());
    alice.send("fast", 1024);
    EXPECT_TRUE(alice.closed());
    EXPECT_EQ(alice.close_code(), signe::close_code::try_again_later);
    h.room().waiting.at(0)(true);
    EXPECT_TRUE(h.room().handled.empty());
    EXPECT_EQ(h.connection_count(), 0u);
}

TEST(room_deferred_guards, socket_closed_while_its_join_is_pending_never_joins) {
    room_harness<async_room> h;
    h.room().defer_joins = true;
    auto& alice = h.connect("alice");
    alice.close();
    h.room().waiting.at(0)(true);
    EXPECT_TRUE(h.room().players.empty());
    EXPECT_EQ(h.connection_count(), 0u);
    EXPECT_FALSE(h.session("alice").has_value());
}

}  // namespace

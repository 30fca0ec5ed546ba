// Sessions kept in memory: creation, reconnection with the same private id (`id` or `_pk`),
// several sockets per session, disconnect notices and expiry with "$delete".
// Adapts catalogue 7.12 (tests/room/session.spec.ts), the in-memory parts.

#include "unit/test_helpers.hpp"
#include <gtest/gtest.h>

#include <signe/testing.hpp>

#include <algorithm>
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

// Room `game` with sessionExpiryTime 1000 and users(Player), as in session.spec.
class session_room : public signe::room_base {
public:
    signe::users<player> players;
    static auto fields() { return signe::fields(signe::field("players", &session_room::players)); }

    struct join_seen {
        player* user;
        std::string private_id;
        std::string conn_id;
    };
    std::vector<join_seen> joins;
    int leaves = 0;

    static void define(signe::room_spec<session_room>& spec) {
        spec.path("game")
            .session_expiry(1000ms)
            .on_join(
                [](session_room& r, player& p, signe::connection& c, const signe::request_info&) {
                    r.joins.push_back({&p, c.private_id(), c.id()});
                }
            )
            .on_leave([](session_room& r, player&, signe::connection&) { ++r.leaves; })
            .action("setName", &session_room::set_name)
            .action<json::value>(
                "kickMe",
                [](session_room&, signe::connection& c, const json::value&) {
                    c.close(4001, "kicked");
                }
            );
    }
    void set_name(player& p, const std::string& name) { p.name = name; }
};

json::value delete_of(const std::string& public_id) {
    return {{"players", {{public_id, "$delete"}}}};
}

bool received(const signe::testing::test_client& c, const json::value& sync_value) {
    auto values = sync_values(c);
    return std::find(values.begin(), values.end(), sync_value) != values.end();
}

// ---------------------------------------------------------------------------------------------
// Basic session functionality

// catalogue 7.12 session.spec: "create a session when manually saved"
TEST(session, joining_creates_a_connected_session_for_the_private_id) {
    room_harness<session_room> h;
    auto& alice = h.connect("alice");
    auto s = h.session("alice");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->public_id, alice.public_id());
    EXPECT_TRUE(s->connected);
    EXPECT_EQ(s->created, h.now_ms());
}

// catalogue 7.12 session.spec: "be able to delete session manually"
TEST(session, deleted_session_is_gone_and_its_id_starts_a_new_user) {
    room_harness<session_room> h;
    auto& first = h.connect("alice");
    std::string public_id = first.public_id();
    first.close();
    EXPECT_TRUE(h.delete_session("alice"));
    EXPECT_FALSE(h.session("alice").has_value());
    EXPECT_FALSE(h.delete_session("alice"));
    auto& again = h.connect("alice");
    EXPECT_NE(again.public_id(), public_id);
}

// catalogue 7.12 session.spec: "maintain session when reconnecting with the same privateId"
TEST(session, reconnecting_with_the_same_private_id_restores_the_public_id) {
    room_harness<session_room> h;
    auto& first = h.connect("alice");
    std::string public_id = first.public_id();
    first.close();
    auto& again = h.connect("alice");
    EXPECT_EQ(again.public_id(), public_id);
    EXPECT_EQ(again.frames().at(0).at("value").at("pId"), json::value(public_id));
    EXPECT_TRUE(h.session("alice")->connected);
    EXPECT_EQ(h.room().players.size(), 1u);
}

TEST(session, closing_marks_the_session_offline_with_the_time) {
    room_harness<session_room> h;
    auto& alice = h.connect("alice");
    std::int64_t created = h.session("alice")->created;
    h.advance(250ms);
    alice.close();
    auto s = h.session("alice");
    ASSERT_TRUE(s.has_value());
    EXPECT_FALSE(s->connected);
    EXPECT_EQ(s->disconnected_at, h.now_ms());
    EXPECT_EQ(s->created, created);
}

TEST(session, reconnecting_keeps_the_creation_time) {
    room_harness<session_room> h;
    h.connect("alice").close();
    std::int64_t created = h.session("alice")->created;
    h.advance(500ms);
    h.connect("alice");
    EXPECT_EQ(h.session("alice")->created, created);
    EXPECT_TRUE(h.session("alice")->connected);
}

TEST(session, client_without_an_id_gets_a_fresh_session_each_time) {
    room_harness<session_room> h;
    auto& a = h.connect();
    auto& b = h.connect();
    EXPECT_FALSE(a.private_id().empty());
    EXPECT_NE(a.private_id(), b.private_id());
    EXPECT_NE(a.public_id(), b.public_id());
    EXPECT_EQ(h.room().players.size(), 2u);
}

TEST(session, pk_query_parameter_is_accepted_as_the_private_id) {
    room_harness<session_room> h;
    signe::testing::client_options pk;
    pk.id_as_pk = true;
    auto& first = h.connect("browser-1", pk);
    EXPECT_EQ(first.private_id(), "browser-1");
    ASSERT_TRUE(h.session("browser-1").has_value());
    std::string public_id = first.public_id();
    first.close();
    auto& again = h.connect("browser-1", pk);
    EXPECT_EQ(again.public_id(), public_id);
}

TEST(session, id_query_parameter_wins_over_pk) {
    room_harness<session_room> h;
    signe::testing::client_options both;
    both.query = {{"id", "from-id"}, {"_pk", "from-pk"}};
    auto& c = h.connect("", both);
    EXPECT_EQ(c.private_id(), "from-id");
    EXPECT_TRUE(h.session("from-id").has_value());
    EXPECT_FALSE(h.session("from-pk").has_value());
}

TEST(session, blank_id_falls_back_to_pk) {
    room_harness<session_room> h;
    signe::testing::client_options opts;
    opts.query = {{"id", "  "}, {"_pk", "pk-1"}};
    EXPECT_EQ(h.connect("", opts).private_id(), "pk-1");
}

// ---------------------------------------------------------------------------------------------
// Session expiration

// catalogue 7.12 session.spec: "not expire session if client is still connected"
TEST(session_expiry, connected_session_never_expires) {
    room_harness<session_room> h;
    h.connect("alice");
    h.advance(1100ms);
    ASSERT_TRUE(h.session("alice").has_value());
    EXPECT_TRUE(h.session("alice")->connected);
}

// catalogue 7.12 session.spec: "not expire recently disconnected sessions"
TEST(session_expiry, recently_disconnected_session_is_kept) {
    room_harness<session_room> h;
    h.connect("alice").close();
    h.advance(500ms);
    ASSERT_TRUE(h.session("alice").has_value());
    EXPECT_FALSE(h.session("alice")->connected);
}

TEST(session_expiry, expired_user_is_deleted_and_others_receive_delete) {
    room_harness<session_room> h;
    auto& observer = h.connect("observer");
    auto& alice = h.connect("alice");
    std::string public_id = alice.public_id();
    alice.close();
    h.advance(999ms);
    EXPECT_FALSE(received(observer, delete_of(public_id)));
    EXPECT_TRUE(h.room().players.contains(public_id));

    h.advance(1ms);
    EXPECT_EQ(sync_values(observer).back(), delete_of(public_id));
    EXPECT_FALSE(h.room().players.contains(public_id));
    EXPECT_FALSE(h.session("alice").has_value());
}

TEST(session_expiry, expiry_counts_from_the_disconnect_not_from_the_join) {
    room_harness<session_room> h;
    auto& alice = h.connect("alice");
    h.advance(5000ms);  // connected far longer than the expiry time
    alice.close();
    h.advance(999ms);
    EXPECT_TRUE(h.session("alice").has_value());
    h.advance(1ms);
    EXPECT_FALSE(h.session("alice").has_value());
}

TEST(session_expiry, reconnecting_before_expiry_cancels_it) {
    room_harness<session_room> h;
    auto& observer = h.connect("observer");
    auto& first = h.connect("alice");
    std::string public_id = first.public_id();
    first.close();
    h.advance(900ms);
    auto& again = h.connect("alice");
    h.advance(5000ms);
    EXPECT_EQ(again.public_id(), public_id);
    EXPECT_TRUE(h.room().players.contains(public_id));
    EXPECT_FALSE(received(observer, delete_of(public_id)));
}

TEST(session_expiry, after_expiry_the_same_private_id_gets_a_new_user) {
    room_harness<session_room> h;
    auto& first = h.connect("alice");
    std::string old_public_id = first.public_id();
    first.close();
    h.advance(1000ms);
    auto& again = h.connect("alice");
    EXPECT_NE(again.public_id(), old_public_id);
    EXPECT_EQ(h.room().players.size(), 1u);
}

class never_expiring_room {
public:
    signe::users<player> players;
    static auto fields() {
        return signe::fields(signe::field("players", &never_expiring_room::players));
    }
    static void define(signe::room_spec<never_expiring_room>& spec) {
        spec.path("forever").session_expiry(std::nullopt);
    }
};

TEST(session_expiry, expiry_can_be_turned_off) {
    room_harness<never_expiring_room> h;
    h.connect("alice").close();
    h.advance(24h);
    EXPECT_TRUE(h.session("alice").has_value());
    EXPECT_EQ(h.room().players.size(), 1u);
}

class default_expiry_room {
public:
    signe::users<player> players;
    static auto fields() {
        return signe::fields(signe::field("players", &default_expiry_room::players));
    }
    static void define(signe::room_spec<default_expiry_room>& spec) { spec.path("default"); }
};

TEST(session_expiry, default_expiry_is_five_minutes) {
    room_harness<default_expiry_room> h;
    h.connect("alice").close();
    h.advance(5min - 1ms);
    EXPECT_TRUE(h.session("alice").has_value());
    h.advance(1ms);
    EXPECT_FALSE(h.session("alice").has_value());
    EXPECT_TRUE(h.room().players.empty());
}

// ---------------------------------------------------------------------------------------------
// Multi-client session behaviour

// catalogue 7.12 session.spec: "assign different connection IDs to different clients"
TEST(session_clients, every_socket_has_its_own_connection_id) {
    room_harness<session_room> h;
    auto& a = h.connect("alice");
    auto& b = h.connect("bob");
    auto& a2 = h.connect("alice");
    EXPECT_NE(a.conn().id(), b.conn().id());
    EXPECT_NE(a.conn().id(), a2.conn().id());
}

// catalogue 7.12 session.spec: "create and store users in the users collection"
TEST(session_clients, each_session_has_one_user_keyed_by_public_id) {
    room_harness<session_room> h;
    auto& a = h.connect("alice");
    auto& b = h.connect("bob");
    EXPECT_EQ(h.room().players.size(), 2u);
    EXPECT_EQ(h.room().players.at(a.public_id()).id, a.public_id());
    EXPECT_EQ(h.room().players.at(b.public_id()).id, b.public_id());
}

TEST(session_clients, sockets_of_one_session_share_the_user_and_each_get_an_initial_sync) {
    room_harness<session_room> h;
    auto& tab1 = h.connect("alice");
    auto& tab2 = h.connect("alice");
    EXPECT_EQ(tab1.public_id(), tab2.public_id());
    EXPECT_EQ(h.room().players.size(), 1u);
    EXPECT_EQ(tab2.frames().at(0).at("value").at("pId"), json::value(tab1.public_id()));
    EXPECT_EQ(h.room().joins.size(), 2u);  // on_join runs for each socket
    EXPECT_EQ(h.room().joins[0].user, h.room().joins[1].user);
}

TEST(session_clients, closing_one_of_two_sockets_changes_nothing_visible) {
    room_harness<session_room> h;
    auto& observer = h.connect("observer");
    auto& tab1 = h.connect("alice");
    auto& tab2 = h.connect("alice");
    observer.clear();
    tab1.close();
    EXPECT_TRUE(observer.frames().empty());
    EXPECT_TRUE(h.session("alice")->connected);
    EXPECT_EQ(h.room().leaves, 0);
    h.advance(5000ms);
    EXPECT_TRUE(h.room().players.contains(tab2.public_id()));
    tab2.close();
    EXPECT_FALSE(h.session("alice")->connected);
    EXPECT_EQ(h.room().leaves, 1);
}

TEST(session_clients, broadcasts_reach_every_socket_of_a_session) {
    room_harness<session_room> h;
    auto& tab1 = h.connect("alice");
    auto& tab2 = h.connect("alice");
    tab1.clear();
    tab2.clear();
    tab1.send("setName", "Zed");
    json::value expected = {{"players", {{tab1.public_id(), {{"name", "Zed"}}}}}};
    EXPECT_EQ(sync_values(tab1), std::vector<json::value>{expected});
    EXPECT_EQ(sync_values(tab2), std::vector<json::value>{expected});
}

// ---------------------------------------------------------------------------------------------
// User creation and restoration, observed via on_join

// catalogue 7.12 session.spec: "observe user parameter in onJoin when a client connects"
TEST(session_on_join, on_join_gets_the_user_and_the_connection) {
    room_harness<session_room> h;
    auto& alice = h.connect("alice");
    ASSERT_EQ(h.room().joins.size(), 1u);
    EXPECT_EQ(h.room().joins[0].user, h.room().players.find(alice.public_id()));
    EXPECT_EQ(h.room().joins[0].conn_id, alice.conn().id());
    EXPECT_EQ(h.room().joins[0].private_id, "alice");
}

// catalogue 7.12 session.spec: "observe user parameter in onJoin when a client connects and have
// session" (no storage here: the existing session comes from an earlier connection instead of a
// seed)
TEST(session_on_join, on_join_gets_the_existing_user_on_reconnection) {
    room_harness<session_room> h;
    h.connect("alice").close();
    player* existing = h.room().joins.at(0).user;
    h.connect("alice");
    ASSERT_EQ(h.room().joins.size(), 2u);
    EXPECT_EQ(h.room().joins[1].user, existing);
    EXPECT_EQ(h.room().joins[1].private_id, "alice");
}

// catalogue 7.12 session.spec: "preserve user data across reconnection"
TEST(session_on_join, user_data_survives_a_reconnection) {
    room_harness<session_room> h;
    auto& first = h.connect("alice");
    first.send("setName", "Test Name");
    std::string public_id = first.public_id();
    first.close();
    auto& again = h.connect("alice");
    EXPECT_EQ(again.public_id(), public_id);
    EXPECT_EQ(again.frames().at(0).at("value").at("players").at(public_id).at("name"), "Test Name");
    EXPECT_EQ(h.user(again)->name.get(), "Test Name");
}

// ---------------------------------------------------------------------------------------------
// Disconnect notices

// The user type has no connected flag: the others get a user_disconnected frame.
TEST(session_disconnect, user_without_connected_flag_is_announced_with_user_disconnected) {
    room_harness<session_room> h;
    auto& observer = h.connect("observer");
    auto& alice = h.connect("alice");
    observer.clear();
    alice.close();
    json::value expected = {
        {"type", "user_disconnected"}, {"value", {{"publicId", alice.public_id()}}}};
    EXPECT_EQ(observer.frames(), std::vector<json::value>{expected});
    EXPECT_TRUE(h.room().players.contains(alice.public_id()));  // kept until the session expires
}

TEST(session_disconnect, room_code_closing_a_socket_is_a_normal_leave) {
    room_harness<session_room> h;
    auto& observer = h.connect("observer");
    auto& alice = h.connect("alice");
    observer.clear();
    alice.send("kickMe", nullptr);
    EXPECT_TRUE(alice.closed());
    EXPECT_EQ(alice.close_code(), 4001);
    EXPECT_EQ(alice.close_reason(), "kicked");
    EXPECT_FALSE(h.session("alice")->connected);
    EXPECT_EQ(h.room().leaves, 1);
    EXPECT_EQ(h.connection_count(), 1u);
    EXPECT_EQ(observer.frames_of_type("user_disconnected").size(), 1u);
}

struct online_player {
    signe::synced<bool> connected{false};
    static auto fields() {
        return signe::fields(signe::field("connected", &online_player::connected).connected());
    }
};

class flagged_room {
public:
    signe::users<online_player> players;
    static auto fields() { return signe::fields(signe::field("players", &flagged_room::players)); }
    static void define(signe::room_spec<flagged_room>& spec) { spec.path("flagged"); }
};

TEST(session_disconnect, user_with_connected_flag_is_announced_through_the_flag_only) {
    room_harness<flagged_room> h;
    auto& observer = h.connect("observer");
    auto& alice = h.connect("alice");
    observer.clear();
    alice.close();
    json::value expected = {
        {"type", "sync"}, {"value", {{"players", {{alice.public_id(), {{"connected", false}}}}}}}};
    EXPECT_EQ(observer.frames(), std::vector<json::value>{expected});
}

class userless_room {
public:
    signe::synced<int> count{0};
    static auto fields() { return signe::fields(signe::field("count", &userless_room::count)); }
    static void define(signe::room_spec<userless_room>& spec) { spec.path("plain"); }
};

TEST(session_disconnect, room_without_users_sends_no_disconnect_notice) {
    room_harness<userless_room> h;
    auto& observer = h.connect("observer");
    auto& alice = h.connect("alice");
    observer.clear();
    alice.close();
    EXPECT_TRUE(observer.frames().empty());
}

TEST(session_disconnect, room_without_users_still_gives_a_public_id) {
    room_harness<userless_room> h;
    auto& alice = h.connect("alice");
    json::value expected = {
        {"type", "sync"}, {"value", {{"pId", alice.public_id()}, {"count", 0}}}};
    EXPECT_EQ(alice.frames().at(0), expected);
}

}  // namespace

// Room state, sessions and transfers in storage: what is written, when, and what a restarted
// room reads back. Adapts catalogue 7.18 (storage-restore.spec), 7.14 (transfer.spec) and the
// storage parts of 7.5/7.6 (node-adapter.spec, node.spec).

#include "unit/test_helpers.hpp"
#include <gtest/gtest.h>

#include <signe/testing.hpp>

namespace {

using namespace std::chrono_literals;
using signe::testing::room_harness;
using signe_test::J;
using signe_test::sync_values;
namespace json = signe::json;

const signe::storage_key main_key(const std::string& room) {
    return {"main", room};
}

struct item {
    signe::synced<std::string> id;
    signe::synced<std::string> name;
    static auto fields() {
        return signe::fields(signe::field("id", &item::id), signe::field("name", &item::name));
    }
};

struct player {
    signe::synced<std::string> name{"Anon"};
    signe::synced<double> x{0};
    signe::synced<bool> connected{false};
    signe::synced_vector<item> items;
    static auto fields() {
        return signe::fields(
            signe::field("name", &player::name),
            signe::field("x", &player::x),
            signe::field("connected", &player::connected).connected(),
            signe::field("items", &player::items)
        );
    }
};

struct move_msg {
    double x = 0;
    static auto fields() { return signe::fields(signe::field("x", &move_msg::x)); }
};

struct name_msg {
    std::string name;
    static auto fields() { return signe::fields(signe::field("name", &name_msg::name)); }
};

// A room with a title, a counter, a keyed collection and players.
class saved_room : public signe::room_base {
public:
    signe::synced<std::string> title{"untitled"};
    signe::synced<int> count{0};
    signe::synced<std::string> text;
    signe::synced_map<int> items;
    signe::users<player> players;
    static auto fields() {
        return signe::fields(
            signe::field("title", &saved_room::title),
            signe::field("count", &saved_room::count),
            signe::field("text", &saved_room::text),
            signe::field("items", &saved_room::items),
            signe::field("players", &saved_room::players)
        );
    }

    static void define(signe::room_spec<saved_room>& spec) {
        spec.path("{id}")
            .session_expiry(1000ms)
            .action("move", &saved_room::move)
            .action("rename", &saved_room::rename)
            .action("go", &saved_room::go);
    }
    void move(player& p, const move_msg& m) { p.x = m.x; }
    void rename(player& p, const name_msg& m) { p.name = m.name; }
    void go(signe::connection& c, const name_msg& target) {
        transfer_session(c, target.name, [this](std::optional<std::string> t) { token = t; });
    }
    std::optional<std::string> token;
};

class throttled_room {
public:
    signe::synced<int> count{0};
    signe::synced<std::string> text;
    static auto fields() {
        return signe::fields(
            signe::field("count", &throttled_room::count),
            signe::field("text", &throttled_room::text)
        );
    }
    static void define(signe::room_spec<throttled_room>& spec) {
        spec.path("throttled").throttle_storage(2500ms).action("set", &throttled_room::set);
    }
    struct set_msg {
        std::optional<int> count;
        std::optional<std::string> text;
        static auto fields() {
            return signe::fields(
                signe::field("count", &set_msg::count), signe::field("text", &set_msg::text)
            );
        }
    };
    void set(const set_msg& m) {
        if (m.count) {
            count = *m.count;
        }
        if (m.text) {
            text = *m.text;
        }
    }
};

std::shared_ptr<signe::memory_storage> seeded(
    const std::string& room, signe::storage_entries entries
) {
    auto storage = std::make_shared<signe::memory_storage>();
    signe::write_batch batch;
    batch.puts = std::move(entries);
    storage->write(main_key(room), batch);
    return storage;
}

std::vector<std::string> keys_of(
    signe::storage_backend& storage, const std::string& room, std::string_view prefix = ""
) {
    std::vector<std::string> keys;
    for (auto& [k, v] : storage.list(main_key(room), prefix)) {
        keys.push_back(k);
    }
    return keys;
}

// ---------------------------------------------------------------------------------------------
// What is written

TEST(persistence, starting_defaults_are_never_written) {
    room_harness<saved_room> h{"lobby"};
    EXPECT_TRUE(keys_of(h.storage(), "lobby", "state:").empty());
}

// catalogue 7.5 node-adapter.spec: "uses the explicit websocket id query parameter as the private
// session id"
TEST(persistence, a_join_writes_the_session_its_index_and_the_user) {
    room_harness<saved_room> h{"lobby"};
    auto& a = h.connect("browser-session");
    auto session = h.storage().get(main_key("lobby"), "session:browser-session");
    ASSERT_TRUE(session.has_value());
    EXPECT_EQ(session->at("publicId"), json::value(a.public_id()));
    EXPECT_EQ(session->at("connected"), true);
    EXPECT_EQ(
        *h.storage().get(main_key("lobby"), "session-public:" + a.public_id()),
        J(R"(["browser-session"])")
    );
    auto user = h.storage().get(main_key("lobby"), "state:players." + a.public_id());
    ASSERT_TRUE(user.has_value());
    EXPECT_EQ(user->at("name"), "Anon");
    EXPECT_FALSE(user->as_object().contains("connected")) << "the online flag is never persisted";
}

// catalogue 7.5 node-adapter.spec: "marks a session offline when the websocket closes"
TEST(persistence, closing_writes_the_session_offline_with_its_time) {
    room_harness<saved_room> h{"lobby"};
    auto& a = h.connect("s1");
    h.advance(40ms);
    a.close();
    auto session = *h.storage().get(main_key("lobby"), "session:s1");
    EXPECT_EQ(session.at("connected"), false);
    EXPECT_EQ(session.at("disconnectedAt"), json::value(h.now_ms()));
}

TEST(persistence, changes_are_written_under_their_path) {
    room_harness<saved_room> h{"lobby"};
    auto& a = h.connect("s1");
    a.send("move", J(R"({"x":12})"));
    EXPECT_EQ(*h.storage().get(main_key("lobby"), "state:players." + a.public_id() + ".x"), 12);
}

// catalogue 7.18 storage-restore.spec: "compacts runtime deletes instead of leaving delete markers
// in storage"
TEST(persistence, a_runtime_delete_compacts_instead_of_leaving_a_marker) {
    room_harness<saved_room> h{"lobby"};
    h.act([](saved_room& r) {
        r.items.set("a", 1);
        r.items.set("b", 2);
    });
    h.act([](saved_room& r) { r.items.erase("a"); });
    EXPECT_EQ(keys_of(h.storage(), "lobby", "state:"), std::vector<std::string>{"state:."});
    EXPECT_EQ(h.storage().get(main_key("lobby"), "state:.")->at("items"), J(R"({"b":2})"));
}

TEST(persistence, writing_a_container_removes_stale_keys_below_it) {
    room_harness<saved_room> h{"lobby"};
    auto& a = h.connect("s1");
    a.send("move", J(R"({"x":3})"));
    std::string user_key = "state:players." + a.public_id();
    ASSERT_TRUE(h.storage().get(main_key("lobby"), user_key + ".x").has_value());
    h.act([&](saved_room& r) {
        r.players.erase(a.public_id());
        r.players.emplace(a.public_id());
    });
    h.restart();
    EXPECT_EQ(h.room().players.at(a.public_id()).x.get(), 0) << "the old x did not come back";
}

// catalogue 7.6 node.spec: "debounces throttled storage writes until the wait time has elapsed"
TEST(persistence, throttled_writes_wait_for_the_window) {
    room_harness<throttled_room> h;
    auto& a = h.connect("a");
    a.send("set", J(R"({"count":1})"));
    a.send("set", J(R"({"count":2})"));
    a.send("set", J(R"({"count":3})"));
    h.advance(2499ms);
    EXPECT_FALSE(h.storage().get(main_key("throttled"), "state:count").has_value());
    h.advance(1ms);
    EXPECT_EQ(*h.storage().get(main_key("throttled"), "state:count"), 3);
}

// catalogue 7.6 node.spec: "restarts the throttled storage debounce window after each change"
// Adapted: a steady stream of changes is written once per window instead of never (the
// original's pure debounce writes nothing while changes keep coming).
TEST(persistence, a_steady_stream_is_written_every_window) {
    room_harness<throttled_room> h;
    auto& a = h.connect("a");
    std::vector<json::value> written;
    for (int i = 1; i <= 6; ++i) {
        a.send("set", json::value({{"count", i}}));  // at 0, 1000, ... 5000 ms
        h.advance(1000ms);
        written.push_back(h.storage().get(main_key("throttled"), "state:count").value_or(nullptr));
    }
    // The first window (0-2500 ms) writes 3; the next opens with the change at 3000 and writes
    // 6 at 5500.
    EXPECT_EQ(written, (std::vector<json::value>{nullptr, nullptr, 3, 3, 3, 6}));
}

// catalogue 7.6 node.spec: "batches multiple throttled storage writes in one put call"
TEST(persistence, changes_of_one_window_go_in_one_batch) {
    room_harness<throttled_room> h;
    auto& a = h.connect("a");
    a.send("set", J(R"({"count":7,"text":"ready"})"));
    h.advance(2500ms);
    EXPECT_EQ(*h.storage().get(main_key("throttled"), "state:count"), 7);
    EXPECT_EQ(*h.storage().get(main_key("throttled"), "state:text"), "ready");
}

TEST(persistence, a_crash_loses_at_most_the_throttle_window) {
    room_harness<throttled_room> h;
    auto& a = h.connect("a");
    a.send("set", J(R"({"count":1})"));
    h.advance(2500ms);
    a.send("set", J(R"({"count":2})"));
    h.crash();
    EXPECT_EQ(h.room().count.get(), 1);
}

TEST(persistence, a_clean_restart_loses_nothing) {
    room_harness<throttled_room> h;
    auto& a = h.connect("a");
    a.send("set", J(R"({"count":2,"text":"kept"})"));
    h.restart();
    EXPECT_EQ(h.room().count.get(), 2);
    EXPECT_EQ(h.room().text.get(), "kept");
}

// ---------------------------------------------------------------------------------------------
// What a restarted room reads back

TEST(persistence, a_restarted_room_gives_a_returning_client_its_user_and_state) {
    room_harness<saved_room> h{"lobby"};
    auto& a = h.connect("alice");
    a.send("move", J(R"({"x":42})"));
    a.send("rename", J(R"({"name":"Alice"})"));
    auto& b = h.connect("bob");
    std::string alice_id = a.public_id();
    std::string bob_id = b.public_id();
    h.restart();

    auto& again = h.connect("alice");
    EXPECT_EQ(again.public_id(), alice_id);
    const auto& first = again.frames().at(0).at("value");
    EXPECT_EQ(
        first.at("players").at(alice_id),
        J(R"({"name":"Alice","x":42,"connected":true,"items":{}})")
    );
    EXPECT_EQ(first.at("players").at(bob_id).at("connected"), false) << "bob has not come back";
}

// catalogue 7.18 storage-restore.spec: "hydrate the persisted root snapshot before load"
TEST(persistence, on_storage_restore_edits_the_snapshot_before_it_is_applied) {
    struct hydrated : saved_room {
        static void define(signe::room_spec<hydrated>& spec) {
            spec.path("{id}").on_storage_restore([](hydrated&, json::value& snapshot, bool legacy) {
                EXPECT_FALSE(legacy);
                snapshot.as_object()["title"] =
                    std::string(snapshot.at("title").as_string()) + ":hydrated";
            });
        }
    };
    room_harness<hydrated> h{"lobby", "main", seeded("lobby", {{"state:title", "saved"}})};
    EXPECT_EQ(h.room().title.get(), "saved:hydrated");
}

// catalogue 7.18 storage-restore.spec: "hydrate persisted user snapshots before load"
// Adapted: the stored user has a session (a user no session refers to is removed at start).
TEST(persistence, on_user_storage_restore_edits_each_user_before_it_is_applied) {
    struct hydrated : saved_room {
        static void define(signe::room_spec<hydrated>& spec) {
            spec.path("{id}").on_user_storage_restore(
                [](hydrated&, json::value& user, const std::string& public_id, bool) {
                    EXPECT_EQ(public_id, "public-1");
                    for (auto& entry : user.at("items").as_array()) {
                        entry.as_object()["name"] =
                            "hydrated-" + std::string(entry.at("id").as_string());
                    }
                }
            );
        }
    };
    auto storage = seeded(
        "lobby",
        {{"state:players.public-1.items", J(R"([{"id":"potion"}])")},
         {"session:p1",
          J(R"({"publicId":"public-1","created":1,"connected":false,"disconnectedAt":1})")}}
    );
    room_harness<hydrated> h{"lobby", "main", storage};
    const auto& items = h.room().players.at("public-1").items;
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].id.get(), "potion");
    EXPECT_EQ(items[0].name.get(), "hydrated-potion");
}

// catalogue 7.18 storage-restore.spec: "compacts persisted delete markers when loading room
// storage"
TEST(persistence, stored_delete_markers_are_compacted_at_start) {
    room_harness<saved_room> h{
        "lobby", "main", seeded("lobby", {{"state:items.a", "$delete"}, {"state:items.b", 2}})};
    EXPECT_EQ(keys_of(h.storage(), "lobby", "state:"), std::vector<std::string>{"state:."});
    EXPECT_EQ(h.storage().get(main_key("lobby"), "state:.")->at("items"), J(R"({"b":2})"));
}

TEST(persistence, the_legacy_layout_is_migrated_and_other_keys_are_left_alone) {
    auto storage = seeded("lobby", {{"count", 5}, {"title", "old"}, {"app-key", "mine"}});
    std::optional<bool> legacy_seen;
    struct legacy_room : saved_room {
        static void define(signe::room_spec<legacy_room>& spec) {
            spec.path("{id}").on_storage_restore([](legacy_room& r, json::value&, bool legacy) {
                r.was_legacy = legacy;
            });
        }
        bool was_legacy = false;
    };
    room_harness<legacy_room> h{"lobby", "main", storage};
    EXPECT_TRUE(h.room().was_legacy);
    EXPECT_EQ(h.room().count.get(), 5);
    EXPECT_EQ(h.room().title.get(), "old");
    EXPECT_EQ(keys_of(h.storage(), "lobby"), (std::vector<std::string>{"app-key", "state:."}));
}

TEST(persistence, sessions_of_a_crashed_process_count_as_disconnected_and_expire) {
    room_harness<saved_room> h{"lobby"};
    auto& a = h.connect("alice");
    auto& observer = h.connect("observer");
    std::string alice_id = a.public_id();
    h.crash();  // both sessions were "connected" when the process died
    auto& back = h.connect("observer");
    EXPECT_EQ(h.storage().get(main_key("lobby"), "session:alice")->at("connected"), false);
    h.advance(1000ms);  // alice's session expires one expiry after the restart
    EXPECT_FALSE(h.session("alice").has_value());
    EXPECT_FALSE(h.storage().get(main_key("lobby"), "session:alice").has_value());
    EXPECT_FALSE(h.storage().get(main_key("lobby"), "session-public:" + alice_id).has_value());
    EXPECT_EQ(back.frames().back().at("value").at("players").at(alice_id), "$delete");
    (void)observer;
}

// catalogue 7.5 node-adapter.spec: "expires disconnected sessions after the room sessionExpiryTime"
TEST(persistence, run_garbage_collector_expires_every_disconnected_session) {
    room_harness<saved_room> h{"lobby"};
    auto& a = h.connect("alice");
    h.connect("observer");
    a.close();
    h.run_garbage_collector();
    EXPECT_FALSE(h.storage().get(main_key("lobby"), "session:alice").has_value());
    EXPECT_TRUE(h.storage().get(main_key("lobby"), "session:observer").has_value());
    EXPECT_TRUE(h.storage().get(main_key("lobby"), "$room:session-gc:last-run").has_value());
}

TEST(persistence, a_damaged_public_index_is_repaired_at_start) {
    auto storage = seeded(
        "lobby",
        {{"session:p1", J(R"({"publicId":"P1","created":1,"connected":false,"disconnectedAt":1})")},
         {"session-public:P1", J(R"(["stale","p1"])")},
         {"session-public:GONE", J(R"(["nobody"])")},
         {"state:players.P1", J(R"({"name":"n"})")}}
    );
    room_harness<saved_room> h{"lobby", "main", storage};
    EXPECT_EQ(*h.storage().get(main_key("lobby"), "session-public:P1"), J(R"(["p1"])"));
    EXPECT_FALSE(h.storage().get(main_key("lobby"), "session-public:GONE").has_value());
}

TEST(persistence, room_keys_are_written_with_the_state_and_read_back) {
    room_harness<saved_room> h{"lobby"};
    std::optional<json::value> read;
    h.act([&](saved_room& r) {
        r.storage_put("app:score", 10);
        r.storage_get("app:score", [&](std::optional<json::value> v) { read = v; });
    });
    EXPECT_EQ(read, json::value(10)) << "a read sees the queued write";
    EXPECT_EQ(*h.storage().get(main_key("lobby"), "app:score"), 10);
}

// ---------------------------------------------------------------------------------------------
// Session transfer

// catalogue 7.14 transfer.spec: "transfer session and user data from room-a to room-b"
TEST(transfer, a_session_moves_with_its_user_and_the_token_restores_it) {
    room_harness<saved_room> a{"room-a"};
    room_harness<saved_room> b{"room-b"};
    a.link(b);
    auto& alice = a.connect("test");
    alice.send("rename", J(R"({"name":"Alice"})"));
    alice.send("go", J(R"({"name":"room-b"})"));
    ASSERT_TRUE(a.room().token.has_value());

    auto& there = b.connect("other-id", {.query = {{"transferToken", *a.room().token}}});
    EXPECT_EQ(there.public_id(), alice.public_id());
    EXPECT_EQ(there.private_id(), "test");
    EXPECT_EQ(b.room().players.at(alice.public_id()).name.get(), "Alice");
    EXPECT_EQ(
        b.storage().get(main_key("room-b"), "session:test")->at("publicId"),
        json::value(alice.public_id())
    );
}

TEST(transfer, a_token_is_single_use) {
    room_harness<saved_room> a{"room-a"};
    room_harness<saved_room> b{"room-b"};
    a.link(b);
    auto& alice = a.connect("test");
    alice.send("go", J(R"({"name":"room-b"})"));
    std::string token = *a.room().token;
    b.connect("x", {.query = {{"transferToken", token}}});
    auto& second = b.connect("y", {.query = {{"transferToken", token}}});
    EXPECT_NE(second.public_id(), alice.public_id());
    EXPECT_FALSE(b.storage().get(main_key("room-b"), "transfer:" + token).has_value());
}

// catalogue 7.14 transfer.spec: "removes expired transfer tokens during room activity"
TEST(transfer, an_expired_token_is_ignored_and_removed) {
    room_harness<saved_room> a{"room-a"};
    room_harness<saved_room> b{"room-b"};
    a.link(b);
    auto& alice = a.connect("test");
    alice.send("go", J(R"({"name":"room-b"})"));
    std::string token = *a.room().token;
    EXPECT_TRUE(b.storage().get(main_key("room-b"), "transfer:" + token).has_value());
    b.advance(5min);
    auto& late = b.connect("late", {.query = {{"transferToken", token}}});
    EXPECT_NE(late.public_id(), alice.public_id());
    EXPECT_FALSE(b.storage().get(main_key("room-b"), "transfer:" + token).has_value());
}

// catalogue 7.14 transfer.spec: "hydrate snapshot via onSessionRestore before load"
TEST(transfer, on_session_restore_edits_the_user_before_it_is_applied) {
    struct target : saved_room {
        static void define(signe::room_spec<target>& spec) {
            spec.path("{id}").on_session_restore(
                [](target&, json::value& user, const signe::session_restore_info& info) {
                    EXPECT_EQ(info.private_id, "test");
                    user.as_object()["items"] = J(R"([{"id":"item-1","name":"hydrated-item-1"}])");
                }
            );
        }
    };
    room_harness<saved_room> a{"room-a"};
    room_harness<target> b{"room-b"};
    a.link(b);
    auto& alice = a.connect("test");
    alice.send("go", J(R"({"name":"room-b"})"));
    auto& there = b.connect("test", {.query = {{"transferToken", *a.room().token}}});
    EXPECT_EQ(b.room().players.at(there.public_id()).items.at(0).name.get(), "hydrated-item-1");
    EXPECT_NE(signe::to_text(there.frames().at(0)).find("hydrated-item-1"), std::string::npos);
}

TEST(transfer, an_unknown_target_room_gives_no_token) {
    room_harness<saved_room> a{"room-a"};
    auto& alice = a.connect("test");
    alice.send("go", J(R"({"name":"nowhere"})"));
    EXPECT_FALSE(a.room().token.has_value());
}

TEST(transfer, the_http_endpoint_refuses_callers_without_the_deployment_secret) {
    room_harness<saved_room> b{"room-b"};
    auto res =
        b.request(signe::verb::post, "/session-transfer", R"({"privateId":"p","publicId":"P"})");
    EXPECT_EQ(res.status_code(), 403);
    EXPECT_FALSE(b.session("p").has_value());
}

}  // namespace

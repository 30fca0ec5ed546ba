// When and how state changes reach clients: batching per turn, automatic sync, manual sync with
// apply_sync, throttle_sync (leading + trailing edge) and the packet interceptor.
// Adapts catalogue 7.13 (tests/room/sync.spec.ts), 7.16 (interceptor-packet.spec.ts) and the
// throttle / buildObject parts of 7.17 (utils.spec.ts).

#include "unit/test_helpers.hpp"
#include <gtest/gtest.h>

#include <signe/testing.hpp>

#include <optional>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using signe::testing::room_harness;
using signe_test::J;
using signe_test::run;
using signe_test::sync_values;
namespace json = signe::json;

struct member {
    signe::synced<int> points{0};
    static auto fields() { return signe::fields(signe::field("points", &member::points)); }
};

struct set_msg {
    std::optional<int> count;
    std::optional<std::string> text;
    std::optional<int> score;
    static auto fields() {
        return signe::fields(
            signe::field("count", &set_msg::count),
            signe::field("text", &set_msg::text),
            signe::field("score", &set_msg::score)
        );
    }
};

// sync-test (auto sync) / manual-sync-test (auto_sync off), optionally throttled.
template <bool AutoSync, int ThrottleMs = 0>
class sync_room : public signe::room_base,
                  public signe_test::scripted<sync_room<AutoSync, ThrottleMs>> {
public:
    signe::synced<int> count{0};
    signe::synced<std::string> text{"initial"};
    signe::synced<int> score{0};
    signe::users<member> members;
    static auto fields() {
        return signe::fields(
            signe::field("count", &sync_room::count),
            signe::field("text", &sync_room::text),
            signe::field("score", &sync_room::score),
            signe::field("members", &sync_room::members)
        );
    }

    static void define(signe::room_spec<sync_room>& spec) {
        spec.path("sync-test")
            .auto_sync(AutoSync)
            .throttle_sync(std::chrono::milliseconds(ThrottleMs))
            .action("set", &sync_room::set);
        sync_room::add_run_action(spec);
    }

    void set(const set_msg& m) {
        if (m.count) {
            count = *m.count;
        }
        if (m.text) {
            text = *m.text;
        }
        if (m.score) {
            score = *m.score;
        }
    }
};

using auto_room = sync_room<true>;
using manual_room = sync_room<false>;
using throttled_room = sync_room<true, 100>;

// ---------------------------------------------------------------------------------------------
// Automatic synchronisation (default behaviour)

// catalogue 7.13 sync.spec: "automatically sync changes to all clients"
TEST(sync_auto, changes_reach_every_client) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    auto& b = h.connect("b");
    a.clear();
    b.clear();
    a.send("set", J(R"({"count":10})"));
    EXPECT_EQ(a.frames(), std::vector<json::value>{J(R"({"type":"sync","value":{"count":10}})")});
    EXPECT_EQ(b.frames(), a.frames());
}

// catalogue 7.13 sync.spec: "have autoSync enabled by default"
TEST(sync_auto, auto_sync_is_on_by_default) {
    room_harness<auto_room> h;
    EXPECT_TRUE(h.room().auto_sync());
}

// catalogue 7.13 sync.spec: "have empty pendingSync by default"
// (nothing is pending: a join sends exactly the initial sync and nothing follows it)
TEST(sync_auto, nothing_is_pending_after_start) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    a.clear();
    h.room().apply_sync();  // with nothing pending this re-sends the full state
    ASSERT_EQ(sync_values(a).size(), 1u);
    EXPECT_EQ(sync_values(a)[0].at("count"), 0);
    EXPECT_EQ(sync_values(a)[0].at("text"), "initial");
}

// catalogue 7.17 utils.spec: "set values in memoryObj and allMemory" (buildObject)
TEST(sync_packets, changes_of_one_turn_travel_in_one_nested_frame) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    a.clear();
    a.send("set", J(R"({"count":1,"text":"x","score":2})"));
    EXPECT_EQ(sync_values(a), std::vector<json::value>{J(R"({"count":1,"text":"x","score":2})")});
}

TEST(sync_packets, last_write_of_a_turn_wins) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    a.clear();
    run(h, a, [](auto_room& r) {
        r.count = 1;
        r.count = 2;
        r.count = 3;
    });
    EXPECT_EQ(sync_values(a), std::vector<json::value>{J(R"({"count":3})")});
}

TEST(sync_packets, setting_the_same_value_sends_nothing) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    a.clear();
    a.send("set", J(R"({"count":0,"text":"initial"})"));
    EXPECT_TRUE(a.frames().empty());
}

TEST(sync_packets, change_and_revert_in_one_turn_sends_the_final_value) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    a.clear();
    run(h, a, [](auto_room& r) {
        r.count = 5;
        r.count = 0;
    });
    EXPECT_EQ(sync_values(a), std::vector<json::value>{J(R"({"count":0})")});
}

// catalogue 7.17 utils.spec: "mixed set and delete operations" (buildObject)
TEST(sync_packets, set_and_delete_in_one_turn_travel_together) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    auto& b = h.connect("b");
    a.clear();
    run(h, a, [&](auto_room& r) {
        r.members.erase(b.public_id());
        r.members.at(a.public_id()).points = 3;
    });
    json::value expected = {
        {"members", {{b.public_id(), "$delete"}, {a.public_id(), {{"points", 3}}}}}};
    EXPECT_EQ(sync_values(a), std::vector<json::value>{expected});
}

// catalogue 7.17 utils.spec: "delete values from allMemory when value is $delete" (buildObject)
TEST(sync_packets, deleted_entries_are_gone_from_later_snapshots) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    auto& b = h.connect("b");
    run(h, a, [&](auto_room& r) { r.members.erase(b.public_id()); });
    auto& c = h.connect("c");
    const json::value& members = c.frames().at(0).at("value").at("members");
    EXPECT_FALSE(members.as_object().contains(b.public_id()));
    EXPECT_TRUE(members.as_object().contains(a.public_id()));
}

// catalogue 7.17 utils.spec: "not modify allMemory if path to delete does not exist" (buildObject)
TEST(sync_packets, deleting_a_missing_entry_sends_nothing) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    a.clear();
    run(h, a, [](auto_room& r) { EXPECT_FALSE(r.members.erase("nobody")); });
    EXPECT_TRUE(a.frames().empty());
}

TEST(sync_packets, entry_removed_after_a_change_in_the_same_turn_is_only_deleted) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    auto& b = h.connect("b");
    a.clear();
    run(h, a, [&](auto_room& r) {
        r.members.at(b.public_id()).points = 9;
        r.members.erase(b.public_id());
    });
    EXPECT_EQ(
        sync_values(a),
        std::vector<json::value>{json::value({{"members", {{b.public_id(), "$delete"}}}})}
    );
}

// A change made from test code through act() goes out like a handler's.
TEST(sync_packets, change_made_by_test_code_reaches_clients) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    a.clear();
    h.act([](auto_room& r) { r.count = 10; });  // the original's `room.count.set(10)` in sync.spec
    EXPECT_EQ(sync_values(a), std::vector<json::value>{J(R"({"count":10})")});
}

// ---------------------------------------------------------------------------------------------
// Manual synchronisation (auto_sync off)

// Connects two clients and gives them their initial sync, so later frames are only deltas.
struct manual_fixture {
    room_harness<manual_room> h;
    signe::testing::test_client& a = h.connect("a");
    signe::testing::test_client& b = h.connect("b");
    manual_fixture() {
        h.room().apply_sync();
        a.clear();
        b.clear();
    }
};

TEST(sync_manual, joining_client_waits_for_apply_sync_then_gets_the_full_state) {
    room_harness<manual_room> h;
    auto& a = h.connect("a");
    EXPECT_TRUE(a.frames().empty());
    h.room().apply_sync();
    ASSERT_FALSE(a.frames().empty());
    const json::value& first = a.frames()[0].at("value");
    EXPECT_EQ(first.at("pId"), json::value(a.public_id()));
    EXPECT_EQ(first.at("count"), 0);
    EXPECT_EQ(first.at("text"), "initial");
    EXPECT_TRUE(first.at("members").as_object().contains(a.public_id()));
}

// The waiting socket's first frame already holds everything; the delta must not follow it.
TEST(sync_manual, waiting_client_gets_exactly_one_frame_at_apply_sync) {
    room_harness<manual_room> h;
    auto& a = h.connect("a");
    h.room().apply_sync();
    EXPECT_EQ(a.frames().size(), 1u);
}

// catalogue 7.13 sync.spec: "not automatically sync changes when autoSync is disabled"
TEST(sync_manual, changes_are_not_sent_by_themselves) {
    manual_fixture f;
    EXPECT_FALSE(f.h.room().auto_sync());
    f.a.send("set", J(R"({"count":10})"));
    EXPECT_EQ(f.h.room().count.get(), 10);
    EXPECT_TRUE(f.a.frames().empty());
    EXPECT_TRUE(f.b.frames().empty());
}

// catalogue 7.13 sync.spec: "store changes in pendingSync when autoSync is disabled"
// catalogue 7.13 sync.spec: "broadcast pending changes when $applySync is called"
TEST(sync_manual, apply_sync_sends_the_pending_changes_to_everyone) {
    manual_fixture f;
    f.a.send("set", J(R"({"count":10,"text":"hello","score":100})"));
    f.h.room().apply_sync();
    json::value expected = J(R"({"count":10,"text":"hello","score":100})");
    EXPECT_EQ(sync_values(f.a), std::vector<json::value>{expected});
    EXPECT_EQ(sync_values(f.b), std::vector<json::value>{expected});
}

// catalogue 7.13 sync.spec: "clear pendingSync after $applySync is called"
TEST(sync_manual, apply_sync_clears_what_was_pending) {
    manual_fixture f;
    f.a.send("set", J(R"({"count":10})"));
    f.h.room().apply_sync();
    f.a.clear();
    f.h.room().apply_sync();  // nothing pending any more: the full state, not the old delta again
    ASSERT_EQ(sync_values(f.a).size(), 1u);
    EXPECT_EQ(sync_values(f.a)[0].at("count"), 10);
    EXPECT_EQ(sync_values(f.a)[0].at("text"), "initial");
}

// catalogue 7.13 sync.spec: "batch multiple changes before syncing"
TEST(sync_manual, several_changes_go_out_as_one_frame_with_the_last_values) {
    manual_fixture f;
    f.a.send("set", J(R"({"count":1})"));
    f.a.send("set", J(R"({"count":2})"));
    f.a.send("set", J(R"({"count":3,"text":"final"})"));
    EXPECT_TRUE(f.a.frames().empty());
    f.h.room().apply_sync();
    EXPECT_EQ(sync_values(f.a), std::vector<json::value>{J(R"({"count":3,"text":"final"})")});
}

// catalogue 7.13 sync.spec: "broadcast current state when $applySync is called with no pending
// changes"
TEST(sync_manual, apply_sync_with_nothing_pending_resends_the_full_state) {
    manual_fixture f;
    f.h.room().apply_sync();
    ASSERT_EQ(sync_values(f.b).size(), 1u);
    json::value state = sync_values(f.b)[0];
    EXPECT_EQ(state.at("count"), 0);
    EXPECT_EQ(state.at("text"), "initial");
    EXPECT_EQ(state.at("score"), 0);
    EXPECT_EQ(state.at("members").as_object().size(), 2u);
    EXPECT_FALSE(state.as_object().contains("pId"));
}

// catalogue 7.13 sync.spec: "allow toggling autoSync at runtime"
TEST(sync_toggle, auto_sync_can_be_switched_at_runtime) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    a.clear();
    a.send("set", J(R"({"count":1})"));
    EXPECT_EQ(sync_values(a).size(), 1u);

    h.room().set_auto_sync(false);
    a.send("set", J(R"({"count":2})"));
    EXPECT_EQ(sync_values(a).size(), 1u);

    h.room().set_auto_sync(true);
    a.clear();
    a.send("set", J(R"({"count":3})"));
    EXPECT_EQ(sync_values(a).back(), J(R"({"count":3})"));
}

// catalogue 7.13 sync.spec: "sync pending changes when re-enabling autoSync"
// (the original leaves them pending; this port sends them when auto sync comes back on)
TEST(sync_toggle, re_enabling_auto_sync_sends_what_piled_up) {
    room_harness<auto_room> h;
    auto& a = h.connect("a");
    h.room().set_auto_sync(false);
    a.send("set", J(R"({"count":2})"));
    a.send("set", J(R"({"text":"later"})"));
    a.clear();
    h.room().set_auto_sync(true);
    EXPECT_EQ(sync_values(a), std::vector<json::value>{J(R"({"count":2,"text":"later"})")});
}

// ---------------------------------------------------------------------------------------------
// throttle_sync: first change at once, the rest at the end of the window

// A throttled room with one client whose join window is over, so the next change is the first
// of a new window. The join itself is a change (the new user) and opens a window.
struct throttle_fixture {
    room_harness<throttled_room> h;
    signe::testing::test_client& a = h.connect("a");
    throttle_fixture() {
        h.advance(1s);
        a.clear();
    }
    void set_count(int n) { a.send("set", json::value{{"count", n}}); }
    std::vector<json::value> received() const { return sync_values(a); }
};

// catalogue 7.17 utils.spec: "call immediately on the first call" (throttle)
TEST(sync_throttle, first_change_is_sent_at_once) {
    throttle_fixture f;
    f.set_count(1);
    EXPECT_EQ(f.received(), std::vector<json::value>{J(R"({"count":1})")});
}

// catalogue 7.17 utils.spec: "not call again before the wait time" (throttle)
// catalogue 7.17 utils.spec: "call with the latest arguments after the wait time" (throttle)
TEST(sync_throttle, changes_inside_the_window_go_out_once_at_its_end_with_the_latest_values) {
    throttle_fixture f;
    f.set_count(1);
    f.h.advance(10ms);
    f.set_count(2);
    f.h.advance(10ms);
    f.a.send("set", J(R"({"count":3,"text":"second"})"));
    EXPECT_EQ(f.received().size(), 1u);
    f.h.advance(79ms);  // 99 ms into the window
    EXPECT_EQ(f.received().size(), 1u);
    f.h.advance(1ms);  // the window ends
    EXPECT_EQ(
        f.received(),
        (std::vector<json::value>{J(R"({"count":1})"), J(R"({"count":3,"text":"second"})")})
    );
}

// catalogue 7.17 utils.spec: "call again after the wait time" (throttle)
TEST(sync_throttle, call_wait_call_gives_the_trailing_frame_after_the_window) {
    throttle_fixture f;
    f.set_count(1);
    f.h.advance(50ms);
    f.set_count(2);
    f.h.advance(40ms);
    EXPECT_EQ(f.received().size(), 1u);
    f.h.advance(50ms);
    EXPECT_EQ(f.received(), (std::vector<json::value>{J(R"({"count":1})"), J(R"({"count":2})")}));
}

// catalogue 7.17 utils.spec: "not call again if not called during the wait" (throttle)
TEST(sync_throttle, quiet_window_sends_nothing_more) {
    throttle_fixture f;
    f.set_count(1);
    f.h.advance(1000ms);
    EXPECT_EQ(f.received().size(), 1u);
}

TEST(sync_throttle, change_after_a_quiet_window_is_sent_at_once_again) {
    throttle_fixture f;
    f.set_count(1);
    f.h.advance(150ms);
    f.set_count(2);
    EXPECT_EQ(f.received(), (std::vector<json::value>{J(R"({"count":1})"), J(R"({"count":2})")}));
}

TEST(sync_throttle, at_most_one_frame_per_window_under_continuous_changes) {
    throttle_fixture f;
    for (int i = 1; i <= 50; ++i) {  // a change every 10 ms for 500 ms
        f.set_count(i);
        f.h.advance(10ms);
    }
    f.h.advance(200ms);
    auto values = f.received();
    EXPECT_EQ(values.size(), 6u);  // the leading frame, then one per 100 ms window
    EXPECT_EQ(values.back(), J(R"({"count":50})"));
}

TEST(sync_throttle, joiner_inside_a_window_sees_itself_in_its_initial_sync) {
    throttle_fixture f;
    f.set_count(1);  // opens a window
    f.h.advance(10ms);
    auto& b = f.h.connect("b");
    const json::value& snapshot = b.frames().at(0).at("value");
    EXPECT_TRUE(snapshot.at("members").as_object().contains(b.public_id()));
    EXPECT_EQ(snapshot.at("count"), 1);
    // The others hear about b at the end of the window.
    f.a.clear();
    f.h.advance(90ms);
    ASSERT_EQ(f.received().size(), 1u);
    EXPECT_TRUE(f.received()[0].at("members").as_object().contains(b.public_id()));
}

// ---------------------------------------------------------------------------------------------
// Packet interceptor

struct named {
    signe::synced<std::string> name{""};
    static auto fields() { return signe::fields(signe::field("name", &named::name)); }
};

class intercept_room : public signe::room_base {
public:
    signe::users<named> users;
    static auto fields() { return signe::fields(signe::field("users", &intercept_room::users)); }

    struct call {
        std::string recipient_name;  // "<none>" when the recipient has no user
        std::string conn_id;
        json::value frame;
    };
    std::vector<call> calls;

    static void define(signe::room_spec<intercept_room>& spec) {
        spec.path("intercept")
            .action("setName", &intercept_room::set_name)
            .action<json::value>(
                "shout",
                [](intercept_room& r, const json::value& v) {
                    r.broadcast({{"type", "shout"}, {"value", v}});
                }
            )
            .intercept(&intercept_room::intercept);
    }
    void set_name(named& u, const std::string& n) { u.name = n; }

    // "muted" users get nothing; "loud" users get every frame wrapped.
    signe::intercept_result intercept(
        named* recipient, const json::value& frame, signe::connection& c
    ) {
        calls.push_back({recipient ? recipient->name.get() : "<none>", c.id(), frame});
        if (recipient && recipient->name.get() == "muted") {
            return signe::intercept_result::drop();
        }
        if (recipient && recipient->name.get() == "loud") {
            return signe::intercept_result::replace({{"type", "wrapped"}, {"value", frame}});
        }
        return signe::intercept_result::keep();
    }
};

// catalogue 7.16 interceptor-packet.spec: "should intercept packet"
TEST(sync_intercept, interceptor_sees_each_recipient_with_its_current_user) {
    room_harness<intercept_room> h;
    auto& alice = h.connect("alice");
    auto& bob = h.connect("bob");
    h.room().calls.clear();
    alice.send("setName", "Alice");
    ASSERT_EQ(h.room().calls.size(), 2u);  // one call per recipient
    EXPECT_EQ(h.room().calls[0].recipient_name, "Alice");
    EXPECT_EQ(h.room().calls[0].conn_id, alice.conn().id());
    EXPECT_EQ(h.room().calls[1].recipient_name, "");
    EXPECT_EQ(h.room().calls[1].conn_id, bob.conn().id());
    json::value expected = {
        {"type", "sync"}, {"value", {{"users", {{alice.public_id(), {{"name", "Alice"}}}}}}}};
    EXPECT_EQ(signe_test::as_sent(h.room().calls[1].frame), expected);
}

TEST(sync_intercept, initial_sync_goes_through_the_interceptor) {
    room_harness<intercept_room> h;
    auto& alice = h.connect("alice");
    ASSERT_EQ(h.room().calls.size(), 1u);
    EXPECT_EQ(h.room().calls[0].conn_id, alice.conn().id());
    EXPECT_EQ(h.room().calls[0].frame.at("value").at("pId"), json::value(alice.public_id()));
}

TEST(sync_intercept, dropping_a_frame_skips_only_that_recipient) {
    room_harness<intercept_room> h;
    auto& alice = h.connect("alice");
    auto& muted = h.connect("muted");
    muted.send("setName", "muted");
    alice.clear();
    muted.clear();
    alice.send("setName", "Alice");
    EXPECT_EQ(sync_values(alice).size(), 1u);
    EXPECT_TRUE(muted.frames().empty());
}

TEST(sync_intercept, replacing_a_frame_sends_the_replacement_to_that_recipient) {
    room_harness<intercept_room> h;
    auto& alice = h.connect("alice");
    auto& loud = h.connect("loud");
    loud.send("setName", "loud");
    alice.clear();
    loud.clear();
    alice.send("shout", "hi");
    EXPECT_EQ(alice.frames(), std::vector<json::value>{J(R"({"type":"shout","value":"hi"})")});
    EXPECT_EQ(
        loud.frames(),
        std::vector<json::value>{J(R"({"type":"wrapped","value":{"type":"shout","value":"hi"}})")}
    );
}

TEST(sync_intercept, custom_broadcasts_reach_the_sender_too) {
    room_harness<intercept_room> h;
    auto& alice = h.connect("alice");
    auto& bob = h.connect("bob");
    alice.clear();
    bob.clear();
    alice.send("shout", 42);
    EXPECT_EQ(alice.frames(), std::vector<json::value>{J(R"({"type":"shout","value":42})")});
    EXPECT_EQ(bob.frames(), alice.frames());
}

}  // namespace

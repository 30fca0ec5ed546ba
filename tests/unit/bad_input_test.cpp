// Bad input from clients and failing room code: every kind of broken frame is dropped (and
// counted), nobody is disconnected, and the room keeps serving everyone.

#include "unit/test_helpers.hpp"
#include <gtest/gtest.h>

#include <signe/testing.hpp>

#include <stdexcept>
#include <string>

namespace {

using signe::testing::room_harness;
using signe_test::J;
using signe_test::sync_values;
namespace json = signe::json;

struct player {
    signe::synced<int> hits{0};
    static auto fields() { return signe::fields(signe::field("hits", &player::hits)); }
};

struct amount_msg {
    int amount = 0;
    static auto fields() { return signe::fields(signe::field("amount", &amount_msg::amount)); }
};

class sturdy_room {
public:
    signe::synced<int> count{0};
    signe::users<player> players;
    static auto fields() {
        return signe::fields(
            signe::field("count", &sturdy_room::count),
            signe::field("players", &sturdy_room::players)
        );
    }

    static void define(signe::room_spec<sturdy_room>& spec) {
        spec.path("sturdy")
            .action("add", &sturdy_room::add)
            .action<json::value>(
                "throw",
                [](sturdy_room&, const json::value&) {
                    throw std::runtime_error("handler failure");
                }
            )
            .action<json::value>("throwOther", [](sturdy_room&, const json::value&) { throw 42; })
            .action<json::value>(
                "guardThrows",
                [](sturdy_room& r, const json::value&) { ++r.count; },
                {.guards =
                     {[](sturdy_room&, signe::connection&, const json::value&) -> signe::decision {
                         throw std::runtime_error("guard failure");
                     }}}
            )
            .on_join([](sturdy_room&, player&, signe::connection& c, const signe::request_info&) {
                if (c.private_id() == "bad-join") {
                    throw std::runtime_error("on_join failure");
                }
            })
            .on_leave([](sturdy_room&, player&, signe::connection&) {
                throw std::runtime_error("on_leave failure");
            });
    }
    void add(const amount_msg& m) { count += m.amount; }
};

// Two clients; the room must still serve both after whatever `sender` did.
struct sturdy_fixture {
    room_harness<sturdy_room> h;
    signe::testing::test_client& sender = h.connect("sender");
    signe::testing::test_client& other = h.connect("other");
    sturdy_fixture() {
        sender.clear();
        other.clear();
    }

    // The room still works: an ordinary action reaches both clients.
    void expect_room_still_works() {
        int before = h.room().count.get();
        sender.clear();
        other.clear();
        sender.send("add", J(R"({"amount":1})"));
        EXPECT_EQ(h.room().count.get(), before + 1);
        json::value expected = {{"count", before + 1}};
        EXPECT_EQ(sync_values(sender), std::vector<json::value>{expected});
        EXPECT_EQ(sync_values(other), std::vector<json::value>{expected});
        EXPECT_FALSE(sender.closed());
        EXPECT_FALSE(other.closed());
    }
};

TEST(bad_input, malformed_json_is_dropped_and_counted) {
    sturdy_fixture f;
    for (const char* text : {"invalid json", "{", "", "{\"action\":\"add\",", "\xff\xfe"}) {
        f.sender.send_raw(text);
    }
    EXPECT_EQ(f.h.stats().malformed_frames, 5u);
    EXPECT_TRUE(f.sender.frames().empty());
    EXPECT_TRUE(f.other.frames().empty());
    f.expect_room_still_works();
}

TEST(bad_input, frames_that_are_not_objects_are_dropped) {
    sturdy_fixture f;
    for (const char* text : {"[1,2]", "\"add\"", "42", "null", "true"}) {
        f.sender.send_raw(text);
    }
    EXPECT_EQ(f.h.stats().malformed_frames, 5u);
    f.expect_room_still_works();
}

TEST(bad_input, frames_without_a_string_action_are_dropped) {
    sturdy_fixture f;
    for (const char* text :
         {R"({"value":1})",
          R"({"action":5,"value":1})",
          R"({"action":null})",
          R"({"action":["add"]})",
          R"({"type":"add"})"}) {
        f.sender.send_raw(text);
    }
    EXPECT_EQ(f.h.stats().malformed_frames, 5u);
    EXPECT_EQ(f.h.room().count.get(), 0);
    f.expect_room_still_works();
}

TEST(bad_input, unknown_action_is_dropped_and_counted) {
    sturdy_fixture f;
    f.sender.send("nope", 1);
    f.sender.send("ADD", J(R"({"amount":1})"));  // names are case-sensitive
    EXPECT_EQ(f.h.stats().unknown_actions, 2u);
    EXPECT_EQ(f.h.room().count.get(), 0);
    f.expect_room_still_works();
}

TEST(bad_input, wrong_payload_type_is_dropped_and_counted) {
    sturdy_fixture f;
    f.sender.send("add", "five");
    f.sender.send("add", J(R"({"amount":"5"})"));
    f.sender.send("add", J(R"({"amount":1.5})"));
    f.sender.send("add");
    EXPECT_EQ(f.h.stats().invalid_payloads, 4u);
    EXPECT_EQ(f.h.room().count.get(), 0);
    f.expect_room_still_works();
}

TEST(bad_input, extra_keys_in_a_frame_are_ignored) {
    sturdy_fixture f;
    f.sender.send_raw(R"({"action":"add","value":{"amount":2},"extra":true})");
    EXPECT_EQ(f.h.room().count.get(), 2);
    EXPECT_EQ(f.h.stats().malformed_frames, 0u);
}

TEST(bad_input, throwing_handler_is_contained_and_counted) {
    sturdy_fixture f;
    f.sender.send("throw", nullptr);
    f.sender.send("throwOther", nullptr);
    EXPECT_EQ(f.h.stats().handler_errors, 2u);
    f.expect_room_still_works();
}

TEST(bad_input, throwing_guard_refuses_the_action) {
    sturdy_fixture f;
    f.sender.send("guardThrows", nullptr);
    EXPECT_EQ(f.h.room().count.get(), 0);
    EXPECT_EQ(f.h.stats().guard_refusals, 1u);
    f.expect_room_still_works();
}

TEST(bad_input, throwing_on_join_still_lets_the_client_in) {
    sturdy_fixture f;
    auto& late = f.h.connect("bad-join");
    EXPECT_FALSE(late.closed());
    ASSERT_EQ(late.frames().size(), 1u);
    EXPECT_EQ(late.frames()[0].at("value").at("pId"), json::value(late.public_id()));
    f.expect_room_still_works();
}

TEST(bad_input, throwing_on_leave_still_completes_the_leave) {
    sturdy_fixture f;
    f.sender.close();
    EXPECT_FALSE(f.h.session("sender")->connected);
    EXPECT_EQ(f.h.connection_count(), 1u);
    f.other.clear();
    f.other.send("add", J(R"({"amount":3})"));
    EXPECT_EQ(sync_values(f.other), std::vector<json::value>{J(R"({"count":3})")});
}

TEST(bad_input, every_frame_is_counted_as_received) {
    sturdy_fixture f;
    f.sender.send_raw("garbage");
    f.sender.send("nope");
    f.sender.send("add", J(R"({"amount":1})"));
    EXPECT_EQ(f.h.stats().frames_in, 3u);
}

TEST(bad_input, a_flood_of_bad_frames_leaves_the_room_usable) {
    sturdy_fixture f;
    for (int i = 0; i < 1000; ++i) {
        f.sender.send_raw(i % 2 ? "[" : R"({"action":"nope"})");
    }
    EXPECT_EQ(f.h.stats().malformed_frames, 500u);
    EXPECT_EQ(f.h.stats().unknown_actions, 500u);
    EXPECT_TRUE(f.other.frames().empty());
    f.expect_room_still_works();
}

}  // namespace

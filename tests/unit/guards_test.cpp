// The shipped guards. Adapts catalogue 7.11 (session-guard.spec: requireSession).

#include <gtest/gtest.h>

#include <signe/guards.hpp>
#include <signe/testing.hpp>

#include <stdexcept>

namespace {

using signe::testing::room_harness;
namespace json = signe::json;

struct member {
    signe::synced<int> gold{0};
    static auto fields() { return signe::fields(signe::field("gold", &member::gold)); }
};

class members_only : public signe::room_base {
public:
    signe::users<member> members;
    static auto fields() { return signe::fields(signe::field("members", &members_only::members)); }
    static void define(signe::room_spec<members_only>& spec) {
        spec.path("club").join_guard(signe::require_session<members_only>);
    }
};

class open_room : public signe::room_base {
public:
    signe::users<member> members;
    signe::synced<int> trades{0};
    static auto fields() {
        return signe::fields(
            signe::field("members", &open_room::members), signe::field("trades", &open_room::trades)
        );
    }
    static void define(signe::room_spec<open_room>& spec) {
        spec.path("club").action(
            "trade", &open_room::trade, {.guards = {signe::has_session<open_room>}}
        );
    }
    void trade(const json::value&) { ++trades; }
};

std::shared_ptr<signe::memory_storage> with_session(
    const std::string& private_id, json::value record
) {
    auto storage = std::make_shared<signe::memory_storage>();
    signe::write_batch batch;
    batch.puts.emplace_back("session:" + private_id, std::move(record));
    storage->write({"main", "club"}, batch);
    return storage;
}

// catalogue 7.11 session-guard.spec: "requires a sender with an id"
// Adapted: a first-time client (no stored session for its id) is refused and sees nothing.
TEST(require_session, a_first_time_client_is_refused) {
    room_harness<members_only> h;
    auto& c = h.connect("newcomer");
    EXPECT_TRUE(c.closed());
    EXPECT_EQ(c.close_code(), signe::close_code::policy_violation);
    EXPECT_TRUE(c.frames().empty());
    EXPECT_FALSE(h.session("newcomer").has_value()) << "a refused client creates no session";
}

// catalogue 7.11 session-guard.spec: "accepts sessions found by session id or connection id"
// catalogue 7.11 session-guard.spec: "uses the room storage in the exported requireSession guard"
TEST(require_session, a_returning_client_with_a_stored_session_gets_in) {
    auto storage = with_session(
        "private-1",
        json::parse(R"({"publicId":"P1","created":1,"connected":false,"disconnectedAt":1})")
    );
    room_harness<members_only> h{"club", "main", storage};
    auto& c = h.connect("private-1");
    EXPECT_FALSE(c.closed());
    EXPECT_EQ(c.public_id(), "P1");
}

// catalogue 7.11 session-guard.spec: "rejects missing or malformed sessions"
TEST(require_session, a_session_without_a_public_id_is_refused) {
    auto storage = with_session("private-2", json::parse(R"({"created":1})"));
    room_harness<members_only> h{"club", "main", storage};
    EXPECT_TRUE(h.connect("private-2").closed());
}

// A backend whose reads fail.
class failing_storage final : public signe::storage_backend {
public:
    std::optional<json::value> get(const signe::storage_key&, std::string_view) override {
        throw std::runtime_error("disk on fire");
    }
    signe::storage_entries list(const signe::storage_key&, std::string_view) override { return {}; }
    void write(const signe::storage_key&, const signe::write_batch&) override {}
};

// catalogue 7.11 session-guard.spec: "rejects when storage access fails"
TEST(require_session, a_storage_failure_refuses) {
    room_harness<members_only> h{"club", "main", std::make_shared<failing_storage>()};
    EXPECT_TRUE(h.connect("private-1").closed());
}

TEST(has_session, admitted_senders_pass_the_action_guard) {
    room_harness<open_room> h;
    auto& c = h.connect("alice");
    c.send("trade");
    EXPECT_EQ(h.room().trades.get(), 1);
}

}  // namespace

// Idle rooms are unloaded (server_limits::room_idle_timeout) and come back from storage as they
// were: same users, same state, sessions still valid. A room is never unloaded while a socket,
// a timer of its own or a storage read is in its way.

#include <gtest/gtest.h>

#include <signe/client.hpp>
#include <signe/server.hpp>

#include <chrono>
#include <thread>

namespace {

using namespace std::chrono_literals;
constexpr auto timeout = 10s;

struct walker {
    signe::synced<double> x{0};
    static auto fields() { return signe::fields(signe::field("x", &walker::x)); }
};

struct step {
    double x = 0;
    static auto fields() { return signe::fields(signe::field("x", &step::x)); }
};

// walk-{id}: players move; "later" sets x from a room timer 300 ms on.
class walk_room : public signe::room_base {
public:
    signe::users<walker> players;
    static auto fields() { return signe::fields(signe::field("players", &walk_room::players)); }
    static void define(signe::room_spec<walk_room>& spec) {
        spec.path("walk-{id}")
            .action("move", &walk_room::move)
            .action("later", &walk_room::later)
            .http(signe::verb::get, "/x", &walk_room::x_of_all);
    }
    void move(walker& w, const step& s) { w.x = s.x; }
    void later(walker& w, const step& s) {
        walker* target = &w;
        double x = s.x;
        set_timer(300ms, [target, x] { target->x = x; });
    }
    signe::json::value x_of_all(signe::request&) {
        signe::json::object out;
        for (auto& [id, w] : players) {
            out[id] = w.x.get();
        }
        return out;
    }
};

class idle_unload : public testing::Test {
protected:
    void SetUp() override {
        signe::server_config config;
        config.address = "127.0.0.1";
        config.port = 0;
        config.threads = 2;
        config.limits.room_idle_timeout = 100ms;
        server_ = std::make_unique<signe::server>(config);
        server_->add_room<walk_room>();
        port_ = server_->listen();
        thread_ = std::thread([this] { server_->run(); });
    }
    void TearDown() override {
        server_->stop();
        thread_.join();
    }

    signe::client_options options(const std::string& room, const std::string& id) const {
        signe::client_options o;
        o.host = "127.0.0.1:" + std::to_string(port_);
        o.room = room;
        o.id = id;
        o.reconnect = false;
        return o;
    }

    // Polls the server's counters (no event to wait on from outside the server).
    bool eventually_unloaded(std::uint64_t unloaded) const {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (server_->stats().rooms_unloaded < unloaded) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            std::this_thread::sleep_for(10ms);
        }
        return true;
    }

    std::unique_ptr<signe::server> server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

double x_of(const signe::json::value& state, const std::string& pid) {
    const auto* players = state.as_object().if_contains("players");
    const auto* p = players ? players->as_object().if_contains(pid) : nullptr;
    const auto* x = p ? p->as_object().if_contains("x") : nullptr;
    return x ? x->to_number<double>() : -1;
}

TEST_F(idle_unload, an_idle_room_is_unloaded_and_comes_back_with_its_users_and_state) {
    std::string pid;
    {
        signe::client c(options("walk-1", "session-1"));
        c.connect();
        ASSERT_TRUE(c.wait_ready(timeout));
        pid = std::string(c.state().at("pId").as_string());
        c.emit("move", {{"x", 42}});
        ASSERT_TRUE(c.wait_until([&](const auto& s) { return x_of(s, pid) == 42; }, timeout));
        c.close();
    }
    ASSERT_TRUE(eventually_unloaded(1));
    EXPECT_EQ(server_->stats().rooms, 0u);

    signe::client again(options("walk-1", "session-1"));
    again.connect();
    ASSERT_TRUE(again.wait_ready(timeout));
    EXPECT_EQ(again.state().at("pId").as_string(), pid) << "the session survived the unload";
    EXPECT_EQ(x_of(again.state(), pid), 42);
    again.close();
}

TEST_F(idle_unload, a_room_waits_for_its_own_timers_before_it_is_unloaded) {
    std::string pid;
    {
        signe::client c(options("walk-2", "session-2"));
        c.connect();
        ASSERT_TRUE(c.wait_ready(timeout));
        pid = std::string(c.state().at("pId").as_string());
        c.emit("later", {{"x", 7}});
        c.emit("move", {{"x", 1}});
        ASSERT_TRUE(c.wait_until([&](const auto& s) { return x_of(s, pid) == 1; }, timeout));
        c.close();  // the timer is still pending: 300 ms, three idle periods
    }
    ASSERT_TRUE(eventually_unloaded(1));
    signe::client again(options("walk-2", "session-2"));
    again.connect();
    ASSERT_TRUE(again.wait_ready(timeout));
    EXPECT_EQ(x_of(again.state(), pid), 7) << "unloading before the timer would have lost it";
    again.close();
}

TEST_F(idle_unload, a_room_with_a_socket_stays_loaded) {
    signe::client stays(options("walk-3", "stays"));
    stays.connect();
    ASSERT_TRUE(stays.wait_ready(timeout));
    {
        signe::client brief(options("walk-4", "brief"));
        brief.connect();
        ASSERT_TRUE(brief.wait_ready(timeout));
        brief.close();
    }
    // walk-4 goes; walk-3 had the same idle periods pass and is still there.
    ASSERT_TRUE(eventually_unloaded(1));
    EXPECT_EQ(server_->stats().rooms, 1u);
    stays.emit("move", {{"x", 3}});
    std::string pid(stays.state().at("pId").as_string());
    EXPECT_TRUE(stays.wait_until([&](const auto& s) { return x_of(s, pid) == 3; }, timeout));
    stays.close();
}

}  // namespace

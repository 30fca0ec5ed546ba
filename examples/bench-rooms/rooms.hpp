#pragma once

// The two rooms of the benchmark (issue 4), shared by the server (main.cpp) and the
// micro-benchmarks (bench/micro_bench.cpp). The Node version is bench/peer/server.mjs.
//
//   counter     synced `count`; action `increment` with an optional {amount}; GET /count
//   game-{id}   users with synced `x`, `y`; action `move {x, y}` (numbers); action `ping {t}`
//               answered to the sender only with {"type":"pong","value":{"t":t}}

#include <signe/room.hpp>

#include <optional>

namespace signe::bench_rooms {

struct increment_msg {
    std::optional<double> amount;
    static auto fields() { return signe::fields(signe::field("amount", &increment_msg::amount)); }
};

class counter_room {
public:
    signe::synced<double> count{0};
    static auto fields() { return signe::fields(signe::field("count", &counter_room::count)); }

    static void define(signe::room_spec<counter_room>& spec) {
        spec.path("counter")
            .action("increment", &counter_room::increment)
            .http(signe::verb::get, "/count", &counter_room::get_count);
    }

    void increment(signe::connection&, const std::optional<increment_msg>& msg) {
        count += msg && msg->amount ? *msg->amount : 1;
    }

    signe::json::value get_count(signe::request&) { return {{"count", count.get()}}; }
};

struct player {
    signe::synced<double> x{0};
    signe::synced<double> y{0};
    static auto fields() {
        return signe::fields(signe::field("x", &player::x), signe::field("y", &player::y));
    }
};

struct move_msg {
    double x = 0;
    double y = 0;
    static auto fields() {
        return signe::fields(signe::field("x", &move_msg::x), signe::field("y", &move_msg::y));
    }
};

struct ping_msg {
    double t = 0;
    static auto fields() { return signe::fields(signe::field("t", &ping_msg::t)); }
};

class game_room : public signe::room_base {
public:
    signe::users<player> players;
    static auto fields() { return signe::fields(signe::field("players", &game_room::players)); }

    static void define(signe::room_spec<game_room>& spec) {
        spec.path("game-{id}").action("move", &game_room::move).action("ping", &game_room::ping);
    }

    void move(player& p, const move_msg& m) {
        p.x = m.x;
        p.y = m.y;
    }

    void ping(signe::connection& from, const ping_msg& m) {
        send(from, {{"type", "pong"}, {"value", {{"t", m.t}}}});
    }
};

}  // namespace signe::bench_rooms

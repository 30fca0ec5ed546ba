#pragma once

// The load generator: N WebSocket clients on one thread, driven by one Asio io_context in
// reactor style (wait for readability, then drain each socket into one shared buffer), with
// frames parsed in place and sync packets applied leaf by leaf to a per-client mirror of what
// the scenario measures.

#include <signe/json.hpp>

#include <cstdint>
#include <string>

namespace signe::loadtest {

enum class scenario_kind {
    game,     // every client sends `move {x, y}`; each move must reach every other client
    counter,  // every client sends `increment`; each increment must reach every client
    idle,     // clients connect and hold, sending nothing
};

struct run_options {
    std::string url;  // ws://127.0.0.1:3000/parties/main/game-1[?extra=query]
    scenario_kind scenario = scenario_kind::game;
    std::size_t clients = 10;
    double rate = 10;        // actions per second, per client
    double ping_rate = 0;    // game: `ping {t}` per second, per client (round trips reported)
    double duration_s = 10;  // of the action phase (idle: how long connections are held)
    double drain_s = 3;      // at most this long after the last action, for late deliveries
    std::size_t connect_concurrency = 256;  // handshakes in flight at once
    double connect_timeout_s = 60;          // for the whole connect phase
    int server_pid = 0;                     // > 0: report that process's CPU time and memory
    std::string session_prefix;             // session ids are <prefix>-<n>; empty: a random prefix
    std::size_t max_frame_bytes = 16 * 1024 * 1024;
    // Self-test: an in-process fake server floods the clients with move frames, to measure how
    // many frames per second the generator itself absorbs (url and rate are ignored).
    bool self_test = false;
};

// Runs the scenario and returns the report (see docs/performance.md for every field).
json::value run(const run_options& options);

}  // namespace signe::loadtest

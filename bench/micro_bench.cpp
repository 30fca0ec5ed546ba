// Micro-benchmarks of the paths one game move takes, on the rooms of examples/bench-rooms:
//
//   action_decode        a client frame parsed and its payload decoded and validated (move)
//   change_record        x and y set on a bound player: two changes recorded (dotted paths)
//   packet_encode        pending changes built into one sync packet and encoded once
//   initial_sync_encode  the full state of a room of N players encoded (a join)
//   fanout/N             one move through a room with N connections: the frame parsed,
//                        validated, applied, recorded, encoded once and the same bytes queued to
//                        all N connections (items/s = deliveries per second, no sockets)
//   client_apply         a client receiving that frame: parse + apply_packet to its mirror
//   loadtest_scan        the load generator reading it: WebSocket frame + SAX scan (no DOM)
//
// The room runtime is driven directly (src/core), with no storage and no transport, so these
// are the costs of the room code itself; the kernel's per-write cost is in docs/performance.md.

#include "core/pending_changes.hpp"
#include "core/room_core.hpp"
#include "frame_scanner.hpp"
#include "rooms.hpp"
#include "ws_frames.hpp"
#include <benchmark/benchmark.h>

#include <signe/client.hpp>
#include <signe/connection.hpp>

#include <memory>
#include <string>
#include <vector>

namespace {

using namespace signe;
using bench_rooms::game_room;
using bench_rooms::move_msg;
using bench_rooms::player;

// A manual clock: the benchmarks never wait for timers.
class still_clock final : public detail::room_clock {
public:
    std::int64_t now_ms() const override { return 1'700'000'000'000; }
    std::uint64_t set_timer(std::chrono::milliseconds, std::function<void()>) override {
        return ++last_;
    }
    void cancel_timer(std::uint64_t) override {}

private:
    std::uint64_t last_ = 0;
};

request_info with_session(std::string session) {
    request_info req;
    req.query.add("id", std::move(session));
    return req;
}

// Keeps the last frame it was given, as a socket's send queue holds a reference to it.
class holding_connection final : public connection {
public:
    explicit holding_connection(std::string session)
        : connection(random_id(10), with_session(std::move(session))) {}
    void send_text(frame_ptr frame) override {
        last = std::move(frame);
        ++frames;
    }
    void close(int, std::string_view) override { open = false; }
    bool is_open() const override { return open; }

    frame_ptr last;
    std::uint64_t frames = 0;
    bool open = true;
};

std::string move_text(std::int64_t i) {
    return R"({"action":"move","value":{"x":)" + std::to_string(i) + R"(,"y":)" +
           std::to_string(i * 3) + "}}";
}

// A game room with `n` joined connections.
struct game_fixture {
    explicit game_fixture(std::size_t n)
        : def(define_room<game_room>()), core(def, room_info{"main", "game-1", {}}, clock) {
        core.start();
        for (std::size_t i = 0; i < n; ++i) {
            auto c = std::make_shared<holding_connection>("session-" + std::to_string(i));
            core.join(c);
            conns.push_back(c);
        }
    }
    detail::room_definition def;
    still_clock clock;
    detail::room_core core;
    std::vector<std::shared_ptr<holding_connection>> conns;
};

void action_decode(benchmark::State& state) {
    std::string text = move_text(12345);
    for (auto _ : state) {
        boost::system::error_code ec;
        json::value frame = json::parse(text, ec);
        const json::value* value = frame.as_object().if_contains("value");
        validation_error err;
        auto decoded = decode<move_msg>(value, err);
        benchmark::DoNotOptimize(decoded);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(action_decode);

// The room runtime's own sink: each change becomes a pending path.
class pending_sink final : public change_sink {
public:
    void record(change c) override {
        if (c.client) {
            pending.add(std::move(c.path), std::move(*c.client));
        }
    }
    detail::pending_changes pending;
};

void change_record(benchmark::State& state) {
    player p;
    pending_sink sink;
    detail::bind(p, &sink, "players.Ab3dE9xZ", field_flags{});
    double v = 0;
    for (auto _ : state) {
        v += 1;
        p.x = v;
        p.y = v * 2;
        sink.pending.clear();
    }
    state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(change_record);

void packet_encode(benchmark::State& state) {
    detail::pending_changes pending;
    std::int64_t i = 0;
    for (auto _ : state) {
        ++i;
        pending.add("players.Ab3dE9xZ.x", json::value(i));
        pending.add("players.Ab3dE9xZ.y", json::value(static_cast<double>(i) + 0.5));
        json::object frame{{"type", "sync"}, {"value", pending.build()}};
        auto bytes = std::make_shared<const std::string>(to_text(frame));
        benchmark::DoNotOptimize(bytes);
        pending.clear();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(packet_encode);

void initial_sync_encode(benchmark::State& state) {
    game_fixture room(static_cast<std::size_t>(state.range(0)));
    auto& instance = *static_cast<game_room*>(room.core.instance());
    for (auto _ : state) {
        json::value value = client_view(instance);
        value.as_object()["pId"] = "Ab3dE9xZ";
        std::string text = to_text(json::object{{"type", "sync"}, {"value", std::move(value)}});
        benchmark::DoNotOptimize(text);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(initial_sync_encode)->Arg(50)->Arg(500);

void fanout(benchmark::State& state) {
    game_fixture room(static_cast<std::size_t>(state.range(0)));
    std::int64_t i = 0;
    for (auto _ : state) {
        room.core.message(room.conns[0], move_text(++i));
    }
    std::uint64_t delivered = 0;
    for (const auto& c : room.conns) {
        delivered += c->frames;
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.counters["frame_bytes"] = static_cast<double>(room.conns[1]->last->size());
    state.counters["frames_checked"] = static_cast<double>(delivered);
}
BENCHMARK(fanout)->Arg(10)->Arg(100)->Arg(500);

const char* const move_frame =
    R"({"type":"sync","value":{"players":{"Ab3dE9xZ":{"x":1234,"y":5678}}}})";

void client_apply(benchmark::State& state) {
    game_fixture room(500);
    json::value mirror = client_view(*static_cast<game_room*>(room.core.instance()));
    for (auto _ : state) {
        json::value frame = json::parse(move_frame);
        apply_packet(mirror, frame.as_object().at("value"));
        benchmark::DoNotOptimize(mirror);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(client_apply);

struct counting_visitor final : loadtest::leaf_visitor {
    void on_type(std::string_view) override {}
    void on_leaf(std::span<const std::string_view>, const loadtest::leaf&) override { ++leaves; }
    std::uint64_t leaves = 0;
};

void loadtest_scan(benchmark::State& state) {
    std::string wire;
    for (int i = 0; i < 1000; ++i) {
        loadtest::append_server_frame(wire, loadtest::opcode::text, move_frame);
    }
    loadtest::frame_scanner scanner;
    counting_visitor visitor;
    for (auto _ : state) {
        std::string_view data = wire;
        while (!data.empty()) {
            loadtest::frame_view f;
            std::size_t used = 0;
            loadtest::parse_frame(data, f, used, 1 << 20);
            scanner.scan(f.payload, visitor);
            data.remove_prefix(used);
        }
    }
    state.SetItemsProcessed(state.iterations() * 1000);
    benchmark::DoNotOptimize(visitor.leaves);
}
BENCHMARK(loadtest_scan);

}  // namespace

BENCHMARK_MAIN();

// A small arena: room ids `game-{id}`, players with synced `x`, `y`, a name and an online flag,
// a validated `move {x, y}` and a `ping {t}` answered to the sender only. `make run` serves it
// on port 3000 with a browser page that uses @signe/sync/client.

#include <signe/server.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

namespace {

constexpr double arena_width = 900;
constexpr double arena_height = 560;

struct player {
    signe::synced<std::string> name{"Anonymous"};
    signe::synced<double> x{0};
    signe::synced<double> y{0};
    signe::synced<bool> connected{false};
    static auto fields() {
        return signe::fields(
            signe::field("name", &player::name),
            signe::field("x", &player::x),
            signe::field("y", &player::y),
            signe::field("connected", &player::connected).connected()
        );
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
        spec.path("game-{id}")
            .throttle_storage(std::chrono::milliseconds(200)
            )  // at most 200 ms of moves lost in a crash
            .on_join(&game_room::on_join)
            .action("move", &game_room::move)
            .action("ping", &game_room::ping)
            .http(signe::verb::get, "/state", &game_room::state);
    }

    void on_join(player& p, signe::connection&, const signe::request_info& req) {
        if (auto name = req.query_param("name"); name && !name->empty()) {
            p.name = std::string(name->substr(0, 40));
        }
    }

    void move(player& p, const move_msg& m) {
        p.x = std::clamp(m.x, 0.0, arena_width);
        p.y = std::clamp(m.y, 0.0, arena_height);
    }

    void ping(signe::connection& from, const ping_msg& m) {
        send(from, {{"type", "pong"}, {"value", {{"t", m.t}}}});
    }

    signe::json::value state(signe::request&) { return signe::client_view(*this); }
};

}  // namespace

int main(int argc, char** argv) try {
    signe::server_config defaults;
#ifdef SIGNE_EXAMPLE_PUBLIC_DIR
    defaults.static_dir = SIGNE_EXAMPLE_PUBLIC_DIR;
#endif
    // PORT / --port, SIGNE_STORAGE / --storage=sqlite:game.sqlite (make run uses SQLite), ...
    signe::server server{signe::config_from_args(argc, argv, defaults)};
    server.add_room<game_room>();
    return server.run_until_signal();
} catch (const std::exception& e) {
    std::fprintf(stderr, "signe-example-game: %s\n", e.what());
    return 2;
}

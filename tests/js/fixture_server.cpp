// The server the JavaScript tests drive: one room type per behaviour under test. It prints
// "signe listening on http://<address>:<port>" (PORT=0 picks a free port).

#include <signe/server.hpp>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace {

signe::server* running_server = nullptr;

struct increment_msg {
    std::optional<double> amount;
    static auto fields() { return signe::fields(signe::field("amount", &increment_msg::amount)); }
};

struct announce_msg {
    std::string text;
    static auto fields() {
        return signe::fields(signe::field("text", &announce_msg::text).length(1, 200));
    }
};

struct spam_msg {
    int count = 0;
    int size = 0;
    static auto fields() {
        return signe::fields(
            signe::field("count", &spam_msg::count).min(1).max(1000),
            signe::field("size", &spam_msg::size).min(1).max(1 << 20)
        );
    }
};

// counter-{id}: increments, custom broadcast frames, a throwing action, a flood for slow-reader
// tests, and the server's counters over HTTP.
class counter_room : public signe::room_base {
public:
    signe::synced<double> count{0};
    static auto fields() { return signe::fields(signe::field("count", &counter_room::count)); }

    static void define(signe::room_spec<counter_room>& spec) {
        spec.path("counter-{id}")
            .action("increment", &counter_room::increment)
            .action("announce", &counter_room::announce)
            .action("boom", &counter_room::boom)
            .action("spam", &counter_room::spam)
            .http(signe::verb::get, "/count", &counter_room::get_count)
            .http(signe::verb::get, "/stats", &counter_room::get_stats);
    }

    void increment(signe::connection&, const std::optional<increment_msg>& msg) {
        count += msg && msg->amount ? *msg->amount : 1;
    }
    void announce(signe::connection&, const announce_msg& msg) {
        broadcast({{"type", "announcement"}, {"value", {{"text", msg.text}}}});
    }
    void boom(signe::connection&, const signe::json::value&) {
        count += 1000;  // a change made before the throw still reaches clients
        throw std::runtime_error("boom");
    }
    void spam(signe::connection&, const spam_msg& msg) {
        std::string blob(static_cast<std::size_t>(msg.size), 'x');
        for (int i = 0; i < msg.count; ++i) {
            broadcast({{"type", "blob"}, {"value", {{"i", i}, {"data", blob}}}});
        }
    }
    signe::json::value get_count(signe::request&) { return {{"count", count.get()}}; }
    signe::json::value get_stats(signe::request&) {
        auto s = running_server->stats();
        return {
            {"slowReadersClosed", s.slow_readers_closed},
            {"oversizedFrames", s.oversized_frames},
            {"connectionsOpen", s.connections_open}};
    }
};

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

// game-{id}: players with an online flag, move, ping -> pong to the sender only.
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

// short-{id}: sessions expire 300 ms after the last socket leaves; the user type has no online
// flag, so leaving sends user_disconnected.
struct walker {
    signe::synced<double> x{0};
    static auto fields() { return signe::fields(signe::field("x", &walker::x)); }
};

struct step_msg {
    double x = 0;
    static auto fields() { return signe::fields(signe::field("x", &step_msg::x)); }
};

class short_room {
public:
    signe::users<walker> users;
    static auto fields() { return signe::fields(signe::field("users", &short_room::users)); }

    static void define(signe::room_spec<short_room>& spec) {
        spec.path("short-{id}")
            .session_expiry(std::chrono::milliseconds(300))
            .action("step", &short_room::step);
    }
    void step(walker& w, const step_msg& m) { w.x = m.x; }
};

// secret-{id}: every player has a secret that only its owner may see; the interceptor removes
// the other players' secrets from each recipient's frames.
struct agent {
    signe::synced<double> x{0};
    signe::synced<std::string> secret;
    static auto fields() {
        return signe::fields(signe::field("x", &agent::x), signe::field("secret", &agent::secret));
    }
};

struct secret_msg {
    std::string value;
    static auto fields() { return signe::fields(signe::field("value", &secret_msg::value)); }
};

class secret_room {
public:
    signe::users<agent> agents;
    static auto fields() { return signe::fields(signe::field("agents", &secret_room::agents)); }

    static void define(signe::room_spec<secret_room>& spec) {
        spec.path("secret-{id}")
            .action("set_secret", &secret_room::set_secret)
            .action("move", &secret_room::move)
            .intercept(&secret_room::hide_others_secrets);
    }
    void set_secret(agent& a, const secret_msg& m) { a.secret = m.value; }
    void move(agent& a, const step_msg& m) { a.x = m.x; }

    signe::intercept_result hide_others_secrets(
        agent*, const signe::json::value& frame, signe::connection& to
    ) {
        const auto* value = frame.as_object().if_contains("value");
        const auto* list =
            value && value->is_object() ? value->as_object().if_contains("agents") : nullptr;
        if (list == nullptr || !list->is_object()) {
            return signe::intercept_result::keep();
        }
        signe::json::value copy = frame;
        bool changed = false;
        for (auto& [id, entry] : copy.at("value").at("agents").as_object()) {
            if (id != to.public_id() && entry.is_object() &&
                entry.as_object().erase("secret") > 0) {
                changed = true;
            }
        }
        return changed ? signe::intercept_result::replace(std::move(copy))
                       : signe::intercept_result::keep();
    }
};

// lobby-{id} and arena-{id}: travellers with a name move from a lobby to an arena by session
// transfer; the client receives the token in a "transferred" frame and reconnects with it.
struct traveller {
    signe::synced<std::string> name{"Anonymous"};
    signe::synced<bool> connected{false};
    static auto fields() {
        return signe::fields(
            signe::field("name", &traveller::name),
            signe::field("connected", &traveller::connected).connected()
        );
    }
};

struct rename_msg {
    std::string name;
    static auto fields() {
        return signe::fields(signe::field("name", &rename_msg::name).length(1, 40));
    }
};

struct transfer_msg {
    std::string to;
    static auto fields() { return signe::fields(signe::field("to", &transfer_msg::to)); }
};

template <class Self>
class travel_room : public signe::room_base {
public:
    signe::users<traveller> players;
    static auto fields() { return signe::fields(signe::field("players", &Self::players)); }

    void rename(traveller& t, const rename_msg& m) { t.name = m.name; }
    void transfer(signe::connection& from, const transfer_msg& m) {
        std::string id = from.id();
        transfer_session(from, m.to, [this, id](std::optional<std::string> token) {
            for (auto* c : connections()) {
                if (c->id() == id) {
                    send(
                        *c,
                        {{"type", "transferred"},
                         {"value", {{"token", token ? signe::json::value(*token) : nullptr}}}}
                    );
                }
            }
        });
    }
    static void define_actions(signe::room_spec<Self>& spec) {
        spec.action("rename", &Self::rename).action("transfer", &Self::transfer);
    }
};

class lobby_room : public travel_room<lobby_room> {
public:
    static void define(signe::room_spec<lobby_room>& spec) {
        spec.path("lobby-{id}");
        define_actions(spec);
    }
};

class arena_room : public travel_room<arena_room> {
public:
    static void define(signe::room_spec<arena_room>& spec) {
        spec.path("arena-{id}");
        define_actions(spec);
    }
};

}  // namespace

// FIXTURE_ROOMS=lobby or =arena serves only those rooms (two processes for cross-process
// transfers); otherwise every room type is served.
int main() {
    signe::server server{signe::config_from_env()};
    running_server = &server;
    const char* only = std::getenv("FIXTURE_ROOMS");
    std::string_view rooms = only != nullptr ? only : "";
    if (rooms.empty() || rooms == "lobby") {
        server.add_room<lobby_room>();
    }
    if (rooms.empty() || rooms == "arena") {
        server.add_room<arena_room>();
    }
    if (rooms.empty()) {
        server.add_room<counter_room>()
            .add_room<game_room>()
            .add_room<short_room>()
            .add_room<secret_room>();
    }
    return server.run_until_signal();
}

// signe::client against a real server on loopback: an in-process server on port 0 for most
// tests, the benchmark server as a separate process for one. Every wait is on a condition with
// a timeout; nothing sleeps.

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <signe/client.hpp>
#include <signe/server.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using namespace std::chrono_literals;
using signe::json::value;

constexpr auto timeout = 5s;

// ---------------------------------------------------------------------------------------------
// A room with every kind of state, driven by random operations.

struct item {
    signe::synced<std::string> name{"thing"};
    signe::synced<int> qty{1};
    static auto fields() {
        return signe::fields(signe::field("name", &item::name), signe::field("qty", &item::qty));
    }
};

struct player {
    signe::synced<double> x{0};
    signe::synced<std::string> label{"new"};
    signe::synced_map<int> bag;
    signe::synced_vector<std::string> tags;
    static auto fields() {
        return signe::fields(
            signe::field("x", &player::x),
            signe::field("label", &player::label),
            signe::field("bag", &player::bag),
            signe::field("tags", &player::tags)
        );
    }
};

struct op_msg {
    std::string kind;
    std::string key;
    double num = 0;
    static auto fields() {
        return signe::fields(
            signe::field("kind", &op_msg::kind),
            signe::field("key", &op_msg::key),
            signe::field("num", &op_msg::num)
        );
    }
};

struct flood_msg {
    int count = 0;
    static auto fields() { return signe::fields(signe::field("count", &flood_msg::count)); }
};

struct shout_msg {
    std::string text;
    static auto fields() { return signe::fields(signe::field("text", &shout_msg::text)); }
};

class mirror_room : public signe::room_base {
public:
    signe::synced<int> n{0};
    signe::synced<std::string> title{"start"};
    signe::synced_map<item> items;
    signe::synced_map<double> scores;
    signe::synced_vector<std::string> words;
    signe::synced_vector<item> shelf;
    signe::users<player> players;
    static auto fields() {
        return signe::fields(
            signe::field("n", &mirror_room::n),
            signe::field("title", &mirror_room::title),
            signe::field("items", &mirror_room::items),
            signe::field("scores", &mirror_room::scores),
            signe::field("words", &mirror_room::words),
            signe::field("shelf", &mirror_room::shelf),
            signe::field("players", &mirror_room::players)
        );
    }

    static void define(signe::room_spec<mirror_room>& spec) {
        spec.path("mirror-{id}")
            .session_expiry(std::chrono::milliseconds(50))
            .action("op", &mirror_room::op)
            .action("dump", &mirror_room::dump)
            .action("kick", &mirror_room::kick)
            .action("shout", &mirror_room::shout)
            .action("flood", &mirror_room::flood);
    }

    void op(player& me, const op_msg& m) {
        auto index = static_cast<std::size_t>(std::max(0.0, m.num));
        auto count = static_cast<int>(m.num);
        if (m.kind == "n") {
            n = count;
        } else if (m.kind == "title") {
            title = m.key;
        } else if (m.kind == "put_item") {
            item it;
            it.name = m.key + "!";
            it.qty = count;
            items.set(m.key, it);
        } else if (m.kind == "item_qty") {
            if (auto* it = items.find(m.key)) {
                it->qty = count;
            }
        } else if (m.kind == "erase_item") {
            items.erase(m.key);
        } else if (m.kind == "score") {
            scores.set(m.key, m.num / 4);
        } else if (m.kind == "erase_score") {
            scores.erase(m.key);
        } else if (m.kind == "push_word") {
            words.push_back(m.key);
        } else if (m.kind == "set_word" && index < words.size()) {
            words.set(index, m.key);
        } else if (m.kind == "erase_word" && index < words.size()) {
            words.erase(index);
        } else if (m.kind == "clear_words") {
            words.clear();
        } else if (m.kind == "push_shelf") {
            item it;
            it.name = m.key;
            shelf.push_back(it);
        } else if (m.kind == "erase_shelf" && index < shelf.size()) {
            shelf.erase(index);
        } else if (m.kind == "x") {
            me.x = m.num;
        } else if (m.kind == "label") {
            me.label = m.key;
        } else if (m.kind == "bag") {
            me.bag.set(m.key, count);
        } else if (m.kind == "unbag") {
            me.bag.erase(m.key);
        } else if (m.kind == "tag") {
            me.tags.push_back(m.key);
        } else if (m.kind == "untag" && !me.tags.empty()) {
            me.tags.pop_back();
        }
    }

    // The room's state as clients should see it, sent to the asker only. It comes after every
    // sync frame the asker received before it, so it must equal the asker's mirror then.
    void dump(signe::connection& from, const value&) {
        send(from, {{"type", "state"}, {"value", signe::client_view(*this)}});
    }

    void kick(signe::connection& from, const value&) { from.close(1000, "kicked"); }

    void shout(const shout_msg& m) { broadcast({{"type", "shout"}, {"value", m.text}}); }

    // Many small frames to the sender, with a large one every 100 (written by reference, not
    // copied, by the server's batched write path).
    void flood(signe::connection& from, const flood_msg& m) {
        for (int i = 0; i < m.count; ++i) {
            send(from, {{"type", "tick"}, {"value", i}});
            if (i % 100 == 99) {
                send(from, {{"type", "big"}, {"value", std::string(70'000, 'x')}});
            }
        }
    }
};

// A stand-in World: `POST /parties/world/<id>/connect` names a "shard", here simply the
// mirror room under party "shard" of the same server; an unknown room is refused as the World
// refuses it.
struct connect_body {
    std::string roomId;
    std::optional<value> autoCreate;
    static auto fields() {
        return signe::fields(
            signe::field("roomId", &connect_body::roomId),
            signe::field("autoCreate", &connect_body::autoCreate)
        );
    }
};

class world_room {
public:
    static void define(signe::room_spec<world_room>& spec) {
        spec.path("world-{id}")
            .http<connect_body>(signe::verb::post, "/connect", &world_room::connect);
    }
    signe::response connect(signe::request&, const connect_body& body) {
        signe::response r;
        if (body.roomId == "mirror-missing") {
            r.status(404).json({{"error", "Room mirror-missing does not exist"}});
        } else {
            r.json({{"success", true}, {"shardId", "shard-1"}, {"url", body.roomId}});
        }
        return r;
    }
};

// ---------------------------------------------------------------------------------------------
// Helpers

// What a JS client's state can show of a server value: empty objects are never created by
// load() (a packet's `{}` is a no-op), so they are dropped; key order does not matter.
value visible(const value& v) {
    if (const auto* obj = v.if_object()) {
        std::vector<const signe::json::key_value_pair*> kvs;
        for (const auto& kv : *obj) {
            kvs.push_back(&kv);
        }
        std::sort(kvs.begin(), kvs.end(), [](const auto* a, const auto* b) {
            return a->key() < b->key();
        });
        signe::json::object out;
        for (const auto* kv : kvs) {
            value child = visible(kv->value());
            if (!(child.is_object() && child.get_object().empty())) {
                out[kv->key()] = std::move(child);
            }
        }
        return out;
    }
    if (const auto* arr = v.if_array()) {
        signe::json::array out;
        for (const auto& e : *arr) {
            out.push_back(visible(e));
        }
        return out;
    }
    return v;
}

std::string shown(const value& v) {
    return signe::to_text(visible(v));
}

value without_pid(value mirror) {
    mirror.as_object().erase("pId");
    return mirror;
}

// A server on 127.0.0.1, any free port, with its own worker threads.
class running_server {
public:
    running_server() : server_(config()) {
        server_.add_room<mirror_room>();
        server_.add_room<world_room>();
        port_ = server_.listen();
        thread_ = std::thread([this] { server_.run(); });
    }
    ~running_server() {
        server_.stop();
        thread_.join();
    }
    std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    static signe::server_config config() {
        signe::server_config c;
        c.address = "127.0.0.1";
        c.port = 0;
        c.threads = 2;
        return c;
    }
    signe::server server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

signe::client_options options_for(const running_server& srv, std::string room, std::string id) {
    signe::client_options o;
    o.host = srv.host();
    o.room = std::move(room);
    o.id = std::move(id);
    o.reconnect_min_delay = 10ms;
    o.reconnect_max_delay = 50ms;
    return o;
}

// Collects the values of one frame type; waits for a count.
class collector {
public:
    explicit collector(signe::client& c, std::string type) {
        c.on(std::move(type), [this](const value& v) {
            std::lock_guard lock(mutex_);
            values_.push_back(v);
            changed_.notify_all();
        });
    }
    bool wait_count(std::size_t n) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return values_.size() >= n; });
    }
    std::vector<value> values() {
        std::lock_guard lock(mutex_);
        return values_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<value> values_;
};

// Asks for a dump and returns (server state, mirror at the moment the dump arrived).
std::pair<value, value> dump_and_mirror(signe::client& c) {
    std::mutex m;
    std::condition_variable cv;
    std::optional<std::pair<value, value>> got;
    auto id = c.on("state", [&](const value& v) {
        std::lock_guard lock(m);
        got.emplace(v, c.mirror());  // on the client's executor: mirror() is safe here
        cv.notify_all();
    });
    c.emit("dump", nullptr);
    std::unique_lock lock(m);
    bool ok = cv.wait_for(lock, timeout, [&] { return got.has_value(); });
    lock.unlock();
    c.off(id);
    EXPECT_TRUE(ok) << "no state frame";
    return got.value_or(std::pair<value, value>{});
}

value random_op(std::mt19937& rng, int client) {
    static const char* kinds[] = {
        "n",
        "title",
        "put_item",
        "item_qty",
        "erase_item",
        "score",
        "erase_score",
        "push_word",
        "set_word",
        "erase_word",
        "clear_words",
        "push_shelf",
        "erase_shelf",
        "x",
        "label",
        "bag",
        "unbag",
        "tag",
        "untag"};
    std::uniform_int_distribution<std::size_t> kind(0, std::size(kinds) - 1);
    std::uniform_int_distribution<int> small(0, 4);
    std::string key = "k" + std::to_string(small(rng)) + "c" + std::to_string(client);
    return {{"kind", kinds[kind(rng)]}, {"key", key}, {"num", small(rng) * 1.5}};
}

// ---------------------------------------------------------------------------------------------
// Tests

TEST(client, mirror_equals_server_state_after_random_actions_of_three_clients) {
    running_server srv;
    std::vector<std::unique_ptr<signe::client>> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(std::make_unique<signe::client>(
            options_for(srv, "mirror-random", "session-" + std::to_string(i))
        ));
        clients.back()->connect();
    }
    for (auto& c : clients) {
        ASSERT_TRUE(c->wait_ready(timeout));
    }
    std::mt19937 rng(20240611);
    for (int round = 0; round < 200; ++round) {
        int who = round % 3;
        clients[static_cast<std::size_t>(who)]->emit("op", random_op(rng, who));
    }
    for (auto& c : clients) {
        auto [server_state, mirror] = dump_and_mirror(*c);
        EXPECT_EQ(shown(without_pid(mirror)), shown(server_state));
        EXPECT_GT(shown(server_state).size(), 300u);  // the random actions built real state
        EXPECT_EQ(c->stats().partial_packets, 0u);
    }
}

TEST(client, pid_is_its_own_player_and_state_copies_are_consistent) {
    running_server srv;
    signe::client a(options_for(srv, "mirror-pid", "alice"));
    a.connect();
    ASSERT_TRUE(a.wait_ready(timeout));
    std::string pid = a.pid();
    EXPECT_EQ(pid.size(), 8u);
    EXPECT_EQ(a.state().at("pId").as_string(), pid);
    a.emit("op", {{"kind", "x"}, {"key", ""}, {"num", 7.5}});
    EXPECT_TRUE(a.wait_until(
        [&](const value& s) {
            const auto* x = s.at("players").as_object().at(pid).as_object().if_contains("x");
            return x != nullptr && x->to_number<double>() == 7.5;
        },
        timeout
    ));
}

TEST(client, a_user_removed_after_session_expiry_is_deleted_from_the_mirror) {
    running_server srv;
    signe::client a(options_for(srv, "mirror-expiry", "alice"));
    signe::client b(options_for(srv, "mirror-expiry", "bob"));
    collector left(a, "user_disconnected");
    a.connect();
    b.connect();
    ASSERT_TRUE(a.wait_ready(timeout));
    ASSERT_TRUE(b.wait_ready(timeout));
    std::string bob = b.pid();
    ASSERT_TRUE(a.wait_until(
        [&](const value& s) { return s.at("players").as_object().contains(bob); }, timeout
    ));
    b.close();
    // Bob's session expires 50 ms after his socket closes: {"players":{"<bob>":"$delete"}}.
    EXPECT_TRUE(a.wait_until(
        [&](const value& s) { return !s.at("players").as_object().contains(bob); }, timeout
    ));
    ASSERT_TRUE(left.wait_count(1));
    EXPECT_EQ(left.values()[0].at("publicId").as_string(), bob);
}

TEST(client, reconnects_with_the_same_session_and_pid_and_sends_what_waited) {
    running_server srv;
    signe::client a(options_for(srv, "mirror-reconnect", "alice"));
    std::atomic<int> disconnects{0};
    a.on_disconnect([&](int, const std::string&) {
        // While disconnected: this waits for the next join, then goes out.
        if (disconnects++ == 0) {
            a.emit("op", {{"kind", "n"}, {"key", ""}, {"num", 42}});
        }
    });
    a.connect();
    ASSERT_TRUE(a.wait_ready(timeout));
    std::string pid = a.pid();
    a.emit("op", {{"kind", "label"}, {"key", "before"}, {"num", 0}});
    a.emit("kick", nullptr);  // the server closes this socket
    ASSERT_TRUE(a.wait_ready(timeout, 2));
    EXPECT_EQ(a.pid(), pid);
    EXPECT_TRUE(a.wait_until(
        [&](const value& s) {
            const auto* n = s.as_object().if_contains("n");
            return n != nullptr && n->to_number<int>() == 42;
        },
        timeout
    ));
    auto [server_state, mirror] = dump_and_mirror(a);
    EXPECT_EQ(shown(without_pid(mirror)), shown(server_state));
    EXPECT_EQ(
        server_state.at("players").at(pid).at("label").as_string(), "before"
    );  // the same user, not a new one
    EXPECT_EQ(a.stats().joins, 2u);
}

TEST(client, on_receives_custom_frames_and_off_stops_it) {
    running_server srv;
    signe::client a(options_for(srv, "mirror-shout", "alice"));
    signe::client b(options_for(srv, "mirror-shout", "bob"));
    std::atomic<int> removed_calls{0};
    auto removed = b.on("shout", [&](const value&) { ++removed_calls; });
    collector shouts(b, "shout");
    a.connect();
    b.connect();
    ASSERT_TRUE(a.wait_ready(timeout));
    ASSERT_TRUE(b.wait_ready(timeout));
    a.emit("shout", {{"text", "one"}});
    ASSERT_TRUE(shouts.wait_count(1));
    b.off(removed);
    a.emit("shout", {{"text", "two"}});
    ASSERT_TRUE(shouts.wait_count(2));
    EXPECT_EQ(shouts.values()[0], value("one"));
    EXPECT_EQ(shouts.values()[1], value("two"));
    EXPECT_EQ(removed_calls.load(), 1);
}

TEST(client, emits_made_before_connecting_are_sent_after_the_initial_sync) {
    running_server srv;
    signe::client a(options_for(srv, "mirror-early", "alice"));
    a.emit("op", {{"kind", "title"}, {"key", "early"}, {"num", 0}});
    a.connect();
    EXPECT_TRUE(a.wait_until(
        [](const value& s) {
            const auto* t = s.as_object().if_contains("title");
            return t != nullptr && t->is_string() && t->get_string() == "early";
        },
        timeout
    ));
}

TEST(client, runs_on_the_callers_io_context) {
    running_server srv;
    boost::asio::io_context ioc;
    auto guard = boost::asio::make_work_guard(ioc);
    std::thread runner([&] { ioc.run(); });
    {
        signe::client a(ioc, options_for(srv, "mirror-embedded", "alice"));
        a.connect();
        EXPECT_TRUE(a.wait_ready(timeout));
        a.close();
        EXPECT_TRUE(a.wait_status(signe::client_status::closed, timeout));
    }
    guard.reset();
    runner.join();
}

TEST(client, connects_through_a_world_to_the_shard_it_names) {
    running_server srv;
    auto o = options_for(srv, "mirror-via-world", "alice");
    o.world = "world-default";
    signe::client a(o);
    a.connect();
    ASSERT_TRUE(a.wait_ready(timeout));
    EXPECT_EQ(a.shard_id(), "shard-1");
    EXPECT_EQ(a.target(), "/parties/shard/mirror-via-world?_pk=alice&id=alice");
    a.emit("op", {{"kind", "n"}, {"key", ""}, {"num", 5}});
    auto [server_state, mirror] = dump_and_mirror(a);
    EXPECT_EQ(server_state.at("n"), value(5));
    EXPECT_EQ(shown(without_pid(mirror)), shown(server_state));
}

TEST(client, retries_when_the_world_refuses) {
    running_server srv;
    auto o = options_for(srv, "mirror-missing", "alice");
    o.world = "world-default";
    o.reconnect_min_delay = 400ms;  // stays "reconnecting" long enough to be seen
    signe::client a(o);
    a.connect();
    EXPECT_TRUE(a.wait_status(signe::client_status::reconnecting, timeout));
    EXPECT_GE(a.stats().world_refusals, 1u);
    EXPECT_EQ(a.stats().joins, 0u);
    EXPECT_EQ(a.shard_id(), "");
}

TEST(client, refuses_tls_and_builds_the_partysocket_target) {
    signe::client_options o;
    o.host = "wss://example.com";
    o.room = "r";
    EXPECT_THROW(signe::client{o}, std::invalid_argument);
    o.host = "ws://127.0.0.1:1/";
    o.id = "s 1";
    o.query = {{"name", "Sam"}};
    signe::client c(o);
    EXPECT_EQ(c.target(), "/parties/main/r?_pk=s%201&id=s%201&name=Sam");
    o.party = "";
    signe::client p(o);
    EXPECT_EQ(p.target(), "/party/r?_pk=s%201&id=s%201&name=Sam");
}

// The server writes data frames in batches and Beast writes pongs on the same socket: pings sent
// while frames stream must get their pongs, and every frame must arrive whole and in order.
TEST(server_write_path, frames_stay_whole_and_ordered_while_pings_are_answered) {
    namespace beast = boost::beast;
    namespace websocket = beast::websocket;
    running_server srv;
    boost::asio::io_context ioc;
    websocket::stream<boost::asio::ip::tcp::socket> ws(ioc);
    auto port = srv.host().substr(srv.host().find(':') + 1);
    boost::asio::connect(
        ws.next_layer(), boost::asio::ip::tcp::resolver(ioc).resolve("127.0.0.1", port)
    );
    ws.handshake(srv.host(), "/parties/main/mirror-flood?id=raw");
    int pongs = 0;
    ws.control_callback([&](websocket::frame_type kind, beast::string_view) {
        pongs += kind == websocket::frame_type::pong ? 1 : 0;
    });
    beast::flat_buffer buffer;
    ws.read(buffer);  // the initial sync
    buffer.clear();
    constexpr int count = 3000;
    ws.write(boost::asio::buffer(std::string(R"({"action":"flood","value":{"count":3000}})")));

    int ticks = 0;
    int bigs = 0;
    int pings = 0;
    bool in_order = true;
    bool done = false;
    const std::string dump = R"({"action":"dump","value":null})";
    // Pings one after another; after the last, a dump whose answer comes after every pong.
    std::function<void()> ping_next = [&] {
        if (pings == 100) {
            ws.async_write(boost::asio::buffer(dump), [](beast::error_code, std::size_t) {});
            return;
        }
        ++pings;
        ws.async_ping({}, [&](beast::error_code ec) {
            if (!ec) {
                ping_next();
            }
        });
    };
    std::function<void(beast::error_code, std::size_t)> on_read = [&](beast::error_code ec,
                                                                      std::size_t) {
        ASSERT_FALSE(ec) << ec.message();
        value frame = signe::json::parse(beast::buffers_to_string(buffer.data()));
        buffer.clear();
        if (frame.at("type") == value("tick")) {
            in_order = in_order && frame.at("value") == value(ticks);
            ++ticks;
        } else if (frame.at("type") == value("big")) {
            bigs += frame.at("value").as_string().size() == 70'000 ? 1 : 0;
        } else if (frame.at("type") == value("state")) {
            done = true;
            return;
        }
        ws.async_read(buffer, on_read);
    };
    ws.async_read(buffer, on_read);
    ping_next();
    ioc.run_for(timeout);
    EXPECT_TRUE(done);
    EXPECT_EQ(ticks, count);
    EXPECT_TRUE(in_order);
    EXPECT_EQ(bigs, count / 100);
    EXPECT_GT(pings, 0);
    EXPECT_EQ(pongs, pings);
}

// ---------------------------------------------------------------------------------------------
// Against the benchmark server as its own process.

class server_process {
public:
    explicit server_process(const char* binary) {
        int out[2];
        EXPECT_EQ(pipe(out), 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        std::vector<std::string> env_storage;
        for (char** e = environ; *e != nullptr; ++e) {
            env_storage.emplace_back(*e);
        }
        env_storage.emplace_back("PORT=0");
        env_storage.emplace_back("SIGNE_ADDRESS=127.0.0.1");
        env_storage.emplace_back("SIGNE_THREADS=1");
        std::vector<char*> env;
        for (auto& e : env_storage) {
            env.push_back(e.data());
        }
        env.push_back(nullptr);
        char* argv[] = {const_cast<char*>(binary), nullptr};
        EXPECT_EQ(posix_spawn(&pid_, binary, &actions, nullptr, argv, env.data()), 0);
        posix_spawn_file_actions_destroy(&actions);
        close(out[1]);
        // Blocks until the server prints its address (or exits): the line is the condition.
        FILE* in = fdopen(out[0], "r");
        char line[256];
        while (in != nullptr && std::fgets(line, sizeof line, in) != nullptr) {
            std::string text(line);
            auto at = text.find("listening on http://");
            if (at != std::string::npos) {
                port_ = text.substr(text.rfind(':') + 1);
                port_.erase(port_.find_last_not_of("\r\n") + 1);
                break;
            }
        }
        out_ = in;
    }
    ~server_process() {
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        if (out_ != nullptr) {
            std::fclose(out_);
        }
    }
    std::string host() const { return "127.0.0.1:" + port_; }

private:
    pid_t pid_ = 0;
    std::string port_;
    FILE* out_ = nullptr;
};

TEST(client_process, moves_and_pings_against_the_benchmark_server) {
    server_process srv(SIGNE_BENCH_ROOMS);
    signe::client_options o;
    o.host = srv.host();
    o.room = "game-1";
    o.id = "alice";
    signe::client a(o);
    o.id = "bob";
    signe::client b(o);
    collector pongs(a, "pong");
    a.connect();
    b.connect();
    ASSERT_TRUE(a.wait_ready(timeout));
    ASSERT_TRUE(b.wait_ready(timeout));
    std::string alice = a.pid();
    a.emit("move", {{"x", 3}, {"y", 4.5}});
    EXPECT_TRUE(b.wait_until(
        [&](const value& s) {
            const auto* p = s.at("players").as_object().if_contains(alice);
            return p != nullptr && p->at("x") == value(3) && p->at("y") == value(4.5);
        },
        timeout
    ));
    a.emit("move", {{"x", "not a number"}, {"y", 0}});  // invalid: ignored by the server
    a.emit("ping", {{"t", 123}});
    ASSERT_TRUE(pongs.wait_count(1));
    EXPECT_EQ(pongs.values()[0], value({{"t", 123}}));
    EXPECT_EQ(b.state().at("players").at(alice).at("x"), value(3));
}

}  // namespace

TEST(client, close_then_destroy_while_the_close_handshake_is_pending_is_one_close) {
    running_server srv;
    for (int i = 0; i < 20; ++i) {  // the handshake is in flight when the destructor runs
        signe::client c(options_for(srv, "mirror-close", "closer-" + std::to_string(i)));
        c.connect();
        ASSERT_TRUE(c.wait_ready(timeout));
        c.close();
    }
}

// The shard process (apps/signe-shard) as a program: catalogue 7.3 (tests/room/shard-unit.spec.ts)
// and 7.4 (tests/room/shard.spec.ts). Each test starts the real signe-shard ($SIGNE_SHARD) on a
// free port against fakes run here on loopback: a room server (the shard's upstream WebSocket and
// the HTTP it forwards) and a World (the update-shard reports). The original's shard is a room
// with stubs; where ours differs on purpose, the test checks ours and its comment says how the
// entry maps. Nothing sleeps: the test thread waits for conditions on what the fakes recorded.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <signe/json.hpp>
#include <signe/room.hpp>
#include <signe/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = signe::json;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr auto patience = 10s;  // the longest any condition is waited for
const std::string secret = "shard-secret";
const auto loopback = net::ip::make_address("127.0.0.1");

// ---------------------------------------------------------------- waiting on conditions

// A value written on the io thread (or a reader thread) and waited on by the test thread.
template <class T>
class watched {
public:
    template <class F>
    void update(F&& change) {
        {
            std::lock_guard lock(mutex_);
            change(value_);
        }
        changed_.notify_all();
    }

    // A copy of the value once `ready(value)` holds; throws (failing the test) after `patience`.
    template <class F>
    T wait(F&& ready, const std::string& what) const {
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, patience, [&] { return ready(value_); })) {
            throw std::runtime_error("timed out waiting for " + what);
        }
        return value_;
    }

    T get() const {
        std::lock_guard lock(mutex_);
        return value_;
    }

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    T value_{};
};

// Runs `start(done)` on the io thread and waits for done(ec): a blocking call that never races
// the io thread for the object it uses.
void on_io(
    net::io_context& ioc,
    const std::string& what,
    std::function<void(std::function<void(beast::error_code)>)> start
) {
    auto result = std::make_shared<std::promise<beast::error_code>>();
    auto future = result->get_future();
    net::post(ioc, [start = std::move(start), result] {
        start([result](beast::error_code ec) { result->set_value(ec); });
    });
    if (future.wait_for(patience) != std::future_status::ready) {
        throw std::runtime_error(what + ": timed out");
    }
    if (auto ec = future.get()) {
        throw std::runtime_error(what + ": " + ec.message());
    }
}

json::object parse_object(const std::string& text) {
    return json::parse(text).as_object();
}

std::string text_of(const json::value& v) {
    return v.is_string() ? std::string(v.get_string()) : std::string();
}

using header_map = std::map<std::string, std::string>;  // lower-case names

template <class Fields>
header_map headers_of(const Fields& fields) {
    header_map out;
    for (const auto& field : fields) {
        std::string name(field.name_string());
        std::ranges::transform(name, name.begin(), [](unsigned char c) {
            return static_cast<char>(std::tolower(c));
        });
        out[name] = std::string(field.value());
    }
    return out;
}

// ---------------------------------------------------------------- fakes

struct http_call {
    std::string method;
    std::string target;
    std::string body;
    header_map headers;
};

struct link_record {
    std::string target;
    header_map headers;
    std::vector<std::string> frames;  // text frames received, in order
};

// A loopback server that records what it is sent: HTTP requests (answered with answer()) and
// WebSocket links (frames in; send() and close() out). It is bound at construction but listens
// only after listen(): until then a connection to it is refused, as to a server that is down.
class fake_server {
public:
    explicit fake_server(net::io_context& ioc) : acceptor_(ioc) {
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(loopback, 0));
    }

    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    }

    void listen() {
        acceptor_.listen();
        accept();
    }

    // How HTTP requests are answered from now on (a header x-answered-by: fake is added).
    void answer(int status, std::string body) {
        answer_.update([&](auto& a) { a = {status, std::move(body)}; });
    }

    // Every request for which `match` holds, once there are at least `n`.
    std::vector<http_call> wait_requests(
        std::size_t n, std::function<bool(const http_call&)> match, const std::string& what
    ) {
        auto all = requests_.wait(
            [&](const auto& v) {
                return static_cast<std::size_t>(std::ranges::count_if(v, match)) >= n;
            },
            what
        );
        std::erase_if(all, [&](const http_call& c) { return !match(c); });
        return all;
    }

    // The open WebSocket link `index` (in order of arrival), once it is there.
    link_record wait_link(std::size_t index = 0) {
        return links_.wait([&](const auto& v) { return v.size() > index; }, "a link")[index];
    }
    // The frames of link 0 with this `type`, parsed, once there are at least `n`.
    std::vector<json::object> wait_frames(const std::string& type, std::size_t n) {
        auto of_type = [&](const std::vector<link_record>& links) {
            std::vector<json::object> out;
            for (const auto& frame : links.empty() ? std::vector<std::string>{} : links[0].frames) {
                auto parsed = parse_object(frame);
                if (parsed.contains("type") && text_of(parsed.at("type")) == type) {
                    out.push_back(std::move(parsed));
                }
            }
            return out;
        };
        auto links = links_.wait(
            [&](const auto& v) { return of_type(v).size() >= n; },
            std::to_string(n) + " upstream " + type
        );
        return of_type(links);
    }

    void send(std::size_t link, std::string text) {
        net::post(acceptor_.get_executor(), [this, link, text = std::move(text)] {
            auto& l = live_.at(link);
            l->out.push_back(text);
            write_next(l);
        });
    }
    void close(std::size_t link) {
        net::post(acceptor_.get_executor(), [this, link] {
            live_.at(link)->ws.async_close(websocket::close_code::normal, [](beast::error_code) {});
        });
    }

private:
    struct connection {
        beast::tcp_stream stream;
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
    };
    struct live_link {
        explicit live_link(beast::tcp_stream stream) : ws(std::move(stream)) {}
        websocket::stream<beast::tcp_stream> ws;
        beast::flat_buffer buffer;
        std::deque<std::string> out;
        bool writing = false;
    };

    void accept() {
        acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec) {
                return;
            }
            auto c = std::make_shared<connection>(connection{
                beast::tcp_stream(std::move(socket)), {}, {}});
            http::async_read(c->stream, c->buffer, c->req, [this, c](beast::error_code rec, auto) {
                if (!rec) {
                    websocket::is_upgrade(c->req) ? open_link(c) : reply(c);
                }
            });
            accept();
        });
    }

    void reply(const std::shared_ptr<connection>& c) {
        requests_.update([&](auto& v) {
            v.push_back(
                {std::string(c->req.method_string()),
                 std::string(c->req.target()),
                 c->req.body(),
                 headers_of(c->req)}
            );
        });
        auto [status, body] = answer_.get();
        auto res = std::make_shared<http::response<http::string_body>>(
            static_cast<http::status>(status), 11
        );
        res->set("x-answered-by", "fake");
        res->body() = body;
        res->keep_alive(false);
        res->prepare_payload();
        http::async_write(c->stream, *res, [c, res](beast::error_code, std::size_t) {
            beast::error_code ignored;
            c->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        });
    }

    void open_link(const std::shared_ptr<connection>& c) {
        auto l = std::make_shared<live_link>(std::move(c->stream));
        l->ws.async_accept(c->req, [this, l, c](beast::error_code ec) {
            if (ec) {
                return;
            }
            std::size_t index = live_.size();
            live_.push_back(l);
            links_.update([&](auto& v) {
                v.push_back({std::string(c->req.target()), headers_of(c->req), {}});
            });
            read_link(l, index);
        });
    }

    void read_link(const std::shared_ptr<live_link>& l, std::size_t index) {
        l->ws.async_read(l->buffer, [this, l, index](beast::error_code ec, std::size_t) {
            if (ec) {
                return;
            }
            auto text = beast::buffers_to_string(l->buffer.data());
            l->buffer.consume(l->buffer.size());
            links_.update([&](auto& v) { v[index].frames.push_back(text); });
            read_link(l, index);
        });
    }

    void write_next(const std::shared_ptr<live_link>& l) {
        if (l->writing || l->out.empty()) {
            return;
        }
        l->writing = true;
        l->ws.text(true);
        l->ws.async_write(net::buffer(l->out.front()), [this, l](beast::error_code, std::size_t) {
            l->writing = false;
            l->out.pop_front();
            write_next(l);
        });
    }

    tcp::acceptor acceptor_;
    watched<std::pair<int, std::string>> answer_;
    watched<std::vector<http_call>> requests_;
    watched<std::vector<link_record>> links_;
    std::vector<std::shared_ptr<live_link>> live_;  // io thread only
};

// ---------------------------------------------------------------- clients

struct client_record {
    std::vector<std::string> frames;
    bool closed = false;
    int close_code = 0;
    std::string close_reason;
};

// A plain WebSocket client of the shard: what it receives and how it was closed are recorded.
class ws_client {
public:
    ws_client(net::io_context& ioc, std::uint16_t port, const std::string& target)
        : ioc_(ioc), ws_(ioc) {
        on_io(ioc_, "connect to " + target, [this, port, target](auto done) {
            beast::get_lowest_layer(ws_).async_connect(
                tcp::endpoint(loopback, port),
                [this, port, target, done](beast::error_code ec) {
                    if (ec) {
                        return done(ec);
                    }
                    ws_.async_handshake(
                        "127.0.0.1:" + std::to_string(port),
                        target,
                        [this, done](beast::error_code hec) {
                            if (!hec) {
                                read();
                            }
                            done(hec);
                        }
                    );
                }
            );
        });
    }

    void send(const std::string& text) {
        auto frame = std::make_shared<std::string>(text);
        on_io(ioc_, "send " + text, [this, frame](auto done) {
            ws_.text(true);
            ws_.async_write(net::buffer(*frame), [frame, done](beast::error_code ec, std::size_t) {
                done(ec);
            });
        });
    }

    // Closes with 1000, as a client that leaves.
    void close() {
        on_io(ioc_, "close", [this](auto done) {
            ws_.async_close(websocket::close_code::normal, done);
        });
    }

    // The frames received, once there are at least n.
    std::vector<std::string> wait_frames(std::size_t n) {
        return seen_
            .wait(
                [n](const auto& s) { return s.frames.size() >= n; },
                std::to_string(n) + " frames on a client"
            )
            .frames;
    }
    client_record wait_closed() {
        return seen_.wait([](const auto& s) { return s.closed; }, "the client to be closed");
    }

private:
    void read() {
        ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
            if (ec) {
                auto reason = ws_.reason();
                return seen_.update([&](auto& s) {
                    s.closed = true;
                    s.close_code = reason.code;
                    s.close_reason = std::string(reason.reason.data(), reason.reason.size());
                });
            }
            auto text = beast::buffers_to_string(buffer_.data());
            buffer_.consume(buffer_.size());
            seen_.update([&](auto& s) { s.frames.push_back(text); });
            read();
        });
    }

    net::io_context& ioc_;
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    watched<client_record> seen_;
};

// One HTTP request to 127.0.0.1:port, its own io_context, every step bounded by `patience`.
http::response<http::string_body> http_request(
    std::uint16_t port,
    http::verb method,
    const std::string& target,
    const std::string& body = "",
    const header_map& headers = {}
) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    http::request<http::string_body> req(method, target, 11);
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    for (const auto& [name, value] : headers) {
        req.set(name, value);
    }
    req.body() = body;
    req.prepare_payload();
    http::response<http::string_body> res;
    beast::flat_buffer buffer;
    beast::error_code result = net::error::timed_out;
    stream.expires_after(patience);
    stream.async_connect(tcp::endpoint(loopback, port), [&](beast::error_code ec) {
        if (ec) {
            result = ec;
            return;
        }
        http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
            if (wec) {
                result = wec;
                return;
            }
            http::async_read(stream, buffer, res, [&](beast::error_code rec, std::size_t) {
                result = rec;
            });
        });
    });
    ioc.run();
    if (result) {
        throw std::runtime_error(target + ": " + result.message());
    }
    return res;
}

// ---------------------------------------------------------------- the shard process

// signe-shard ($SIGNE_SHARD) on a free loopback port (--port=0; the port is read from its
// "listening" line), SHARD_SECRET set, no WORLD_ID. Its stderr is its log. SIGTERM at the end.
class shard_process {
public:
    explicit shard_process(std::vector<std::string> flags) {
        spawn(std::move(flags));
        try {
            auto text = stdout_.wait(
                [](const std::string& s) { return s.find('\n') != std::string::npos; },
                "signe-shard to listen"
            );
            auto line = text.substr(0, text.find('\n'));
            if (!line.starts_with("signe-shard listening on http://")) {
                throw std::runtime_error("unexpected first line: " + line);
            }
            port_ = static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
        } catch (...) {
            stop();
            throw;
        }
    }

    ~shard_process() {
        stop();
        if (::testing::Test::HasFailure()) {
            std::cerr << "---- signe-shard log\n" << log_.get() << "----\n";
        }
    }
    shard_process(const shard_process&) = delete;
    shard_process& operator=(const shard_process&) = delete;

    std::uint16_t port() const { return port_; }

    // The process has not exited.
    bool running() {
        int status = 0;
        if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = 0;  // reaped
        }
        return pid_ > 0;
    }

    // Once the log holds `text`.
    void wait_log(const std::string& text) const {
        log_.wait(
            [&](const std::string& s) { return s.find(text) != std::string::npos; },
            "the shard to log '" + text + "'"
        );
    }

private:
    void spawn(std::vector<std::string> flags) {
        const char* program = std::getenv("SIGNE_SHARD");
        if (program == nullptr) {
            throw std::runtime_error("SIGNE_SHARD is not set (the signe-shard program)");
        }
        std::vector<std::string> args{program, "--port=0", "--address=127.0.0.1"};
        args.insert(args.end(), flags.begin(), flags.end());
        std::vector<std::string> env{"SHARD_SECRET=" + secret};
        for (char** e = environ; *e != nullptr; ++e) {
            std::string entry(*e);
            std::string name = entry.substr(0, entry.find('='));
            if (name != "SHARD_SECRET" && name != "WORLD_ID" && name != "PORT" &&
                !name.starts_with("SIGNE_")) {
                env.push_back(entry);
            }
        }
        int out[2];
        int err[2];
        if (::pipe2(out, O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe2 failed");
        }
        if (::pipe2(err, O_CLOEXEC) != 0) {
            ::close(out[0]);
            ::close(out[1]);
            throw std::runtime_error("pipe2 failed");
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
        int spawned = ::posix_spawn(
            &pid_, program, &actions, nullptr, pointers(args).data(), pointers(env).data()
        );
        posix_spawn_file_actions_destroy(&actions);
        ::close(out[1]);
        ::close(err[1]);
        if (spawned != 0) {
            pid_ = 0;
            ::close(out[0]);
            ::close(err[0]);
            throw std::runtime_error(std::string("cannot start ") + program);
        }
        stdout_reader_ = drain(out[0], stdout_);
        stderr_reader_ = drain(err[0], log_);
    }

    // SIGTERM, wait for the exit, then for the end of its output.
    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = 0;
        }
        for (auto* reader : {&stdout_reader_, &stderr_reader_}) {
            if (reader->joinable()) {
                reader->join();
            }
        }
    }

    static std::vector<char*> pointers(std::vector<std::string>& strings) {
        std::vector<char*> out;
        for (auto& s : strings) {
            out.push_back(s.data());
        }
        out.push_back(nullptr);
        return out;
    }

    // Reads fd to its end into `into`.
    static std::thread drain(int fd, watched<std::string>& into) {
        return std::thread([fd, &into] {
            char chunk[4096];
            ssize_t n = 0;
            while ((n = ::read(fd, chunk, sizeof chunk)) > 0) {
                into.update([&](std::string& s) { s.append(chunk, static_cast<std::size_t>(n)); });
            }
            ::close(fd);
        });
    }

    pid_t pid_ = 0;
    std::uint16_t port_ = 0;
    watched<std::string> stdout_;
    watched<std::string> log_;
    std::thread stdout_reader_;
    std::thread stderr_reader_;
};

// ---------------------------------------------------------------- a real room server

// Room "game" with count 0 and GET /count, as the original's main room in shard.spec.
class game_room {
public:
    signe::synced<int> count{0};
    static auto fields() { return signe::fields(signe::field("count", &game_room::count)); }
    static void define(signe::room_spec<game_room>& spec) {
        spec.path("game").http(signe::verb::get, "/count", &game_room::get_count);
    }
    json::value get_count(signe::request&) { return {{"count", count.get()}}; }
};

// signe::server on a free loopback port, accepting shards that present `secret`.
class room_server {
public:
    room_server() : server_(config()) {
        server_.add_room<game_room>();
        server_.listen();
        thread_ = std::thread([this] { server_.run(); });
    }
    ~room_server() {
        server_.stop();
        thread_.join();
    }
    room_server(const room_server&) = delete;
    room_server& operator=(const room_server&) = delete;

    std::uint16_t port() const { return server_.port(); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }

private:
    static signe::server_config config() {
        signe::server_config c;
        c.address = "127.0.0.1";
        c.port = 0;
        c.threads = 1;
        c.shard_secret = secret;
        c.shutdown_grace = 100ms;
        return c;
    }

    signe::server server_;
    std::thread thread_;
};

// ---------------------------------------------------------------- the fixture

// The fakes and clients live on one io thread; the shard is a child process.
class ShardProcess : public ::testing::Test {
protected:
    ShardProcess() : io_([this] { ioc_.run(); }) {
        room_.answer(200, "{}");
        world_.answer(200, "{}");
        offline_.answer(200, "{}");
        room_.listen();
        world_.listen();
    }
    ~ShardProcess() override {
        shard_.reset();
        work_.reset();
        ioc_.stop();
        io_.join();
    }

    // signe-shard linked to room_ and world_ with no periodic report; `flags` come after these
    // (the last of a flag wins).
    void start_shard(const std::vector<std::string>& flags = {}) {
        std::vector<std::string> all{
            "--upstream=" + room_.url(), "--world=" + world_.url(), "--stats-interval=0"};
        all.insert(all.end(), flags.begin(), flags.end());
        shard_ = std::make_unique<shard_process>(all);
    }

    // A client of shard `shard_id`, connected (query: "?id=..." or empty).
    ws_client& join(const std::string& shard_id, const std::string& query = "") {
        clients_.push_back(
            std::make_unique<ws_client>(ioc_, shard_->port(), "/parties/shard/" + shard_id + query)
        );
        return *clients_.back();
    }

    http::response<http::string_body> to_shard(
        http::verb method,
        const std::string& target,
        const std::string& body = "",
        const header_map& headers = {}
    ) {
        return http_request(shard_->port(), method, target, body, headers);
    }

    // The clients the shard process counts on `shard_id` (GET /signe/stats).
    std::int64_t shard_clients(const std::string& shard_id) {
        auto stats = json::parse(to_shard(http::verb::get, "/signe/stats").body());
        return stats.at("shards").at(shard_id).at("clients").to_number<std::int64_t>();
    }

    // The reports the World got for this exact body, once there are n.
    std::vector<http_call> reports(
        std::size_t n, const std::string& world, const std::string& body
    ) {
        return world_.wait_requests(
            n,
            [&](const http_call& c) {
                return c.target == "/parties/world/" + world + "/update-shard" && c.body == body;
            },
            std::to_string(n) + " reports " + body
        );
    }

    // The shard still serves: a client's message reaches the room, the room's frame the client.
    void expect_serving(ws_client& client, fake_server& room, std::size_t frames_before) {
        auto messages = room.wait_frames("shard.clientMessage", 0).size();
        client.send(R"({"action":"still-there"})");
        room.wait_frames("shard.clientMessage", messages + 1);
        room.send(0, R"({"type":"still-here"})");
        EXPECT_EQ(client.wait_frames(frames_before + 1)[frames_before], R"({"type":"still-here"})");
        EXPECT_TRUE(shard_->running());
    }

    net::io_context ioc_;
    fake_server room_{ioc_};
    fake_server world_{ioc_};
    fake_server offline_{ioc_};  // bound, not listening: refuses connections until listen()
    std::vector<std::unique_ptr<ws_client>> clients_;
    std::unique_ptr<shard_process> shard_;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{
        net::make_work_guard(ioc_)};
    std::thread io_;
};

class ShardUnitSpec : public ShardProcess {};  // catalogue 7.3 tests/room/shard-unit.spec.ts
class ShardSpec : public ShardProcess {};      // catalogue 7.4 tests/room/shard.spec.ts

// ---------------------------------------------------------------- 7.3 shard-unit.spec

// catalogue 7.3 shard-unit.spec: "warns and skips startup when the main room stub is missing".
// Ours: a shard whose room server cannot be reached closes its clients with 1011 "Room server
// unavailable" (they reconnect through their World) and stays up; once the room server is there,
// the next client links the shard to it again. A room server that drops the link later has the
// same effect.
TEST_F(ShardUnitSpec, WarnsAndSkipsStartupWhenTheMainRoomIsMissing) {
    start_shard({"--upstream=" + offline_.url()});
    auto& first = join("game:shard-1");
    auto closed = first.wait_closed();
    EXPECT_EQ(closed.close_code, 1011);
    EXPECT_EQ(closed.close_reason, "Room server unavailable");
    shard_->wait_log("shard game:shard-1: cannot reach the room server");
    EXPECT_TRUE(shard_->running());

    offline_.listen();
    auto& second = join("game:shard-1");
    auto link = offline_.wait_link();
    EXPECT_EQ(link.target, "/parties/main/game");
    offline_.wait_frames("shard.clientConnected", 1);
    expect_serving(second, offline_, 0);

    offline_.close(0);
    closed = second.wait_closed();
    EXPECT_EQ(closed.close_code, 1011);
    EXPECT_EQ(closed.close_reason, "Room server unavailable");
}

// catalogue 7.3 shard-unit.spec: "broadcasts main server messages without target clients"
TEST_F(ShardUnitSpec, BroadcastsMainServerMessagesWithoutTargetClients) {
    start_shard();
    auto& a = join("game:shard-1");
    auto& b = join("game:shard-1");
    room_.wait_frames("shard.clientConnected", 2);
    room_.send(0, R"({"type":"announcement"})");
    EXPECT_EQ(a.wait_frames(1), std::vector<std::string>{R"({"type":"announcement"})"});
    EXPECT_EQ(b.wait_frames(1), std::vector<std::string>{R"({"type":"announcement"})"});
}

// catalogue 7.3 shard-unit.spec: "logs malformed main server messages". Ours logs a warning,
// drops the frame (no client gets it) and keeps serving.
TEST_F(ShardUnitSpec, LogsMalformedMainServerMessages) {
    start_shard();
    auto& a = join("game:shard-1");
    room_.wait_frames("shard.clientConnected", 1);
    room_.send(0, "not-json");
    shard_->wait_log("shard game:shard-1: malformed frame from the room server");
    expect_serving(a, room_, 0);  // the client's first frame is the next one, not "not-json"
}

// catalogue 7.3 shard-unit.spec: "updates world stats on the shard world and records the
// reported connection count". The shard id names the world; the report goes to that world with
// the shard secret. (Ours also reports 0 when the shard starts, before its first client.)
TEST_F(ShardUnitSpec, UpdatesWorldStatsOnTheShardWorld) {
    start_shard();
    join("game:world-eu:shard-1");
    auto report = reports(
        1, "world-eu", R"({"shardId":"game:world-eu:shard-1","worldId":"world-eu","connections":1})"
    )[0];
    EXPECT_EQ(report.method, "POST");
    EXPECT_EQ(report.headers["x-access-shard"], secret);
    EXPECT_EQ(report.headers["content-type"], "application/json");
    EXPECT_EQ(room_.wait_link().headers["x-shard-world-id"], "world-eu");
}

// catalogue 7.3 shard-unit.spec: "reports failed world stat updates". The logged reason is the
// `error` of the World's JSON answer, else its body; the shard keeps serving.
TEST_F(ShardUnitSpec, ReportsFailedWorldStatUpdates) {
    world_.answer(403, R"({"error":"denied"})");
    start_shard();
    auto& a = join("game:shard-1");
    shard_->wait_log("Failed to update World stats: 403 - denied");
    room_.wait_frames("shard.clientConnected", 1);
    expect_serving(a, room_, 0);

    world_.answer(503, "busy");
    join("game:shard-1");  // a new count: another report
    shard_->wait_log("Failed to update World stats: 503 - busy");
}

// catalogue 7.3 shard-unit.spec: "returns false when world stat updates throw". Ours: a World
// that cannot be reached is logged and the shard keeps serving.
TEST_F(ShardUnitSpec, KeepsServingWhenTheWorldIsUnreachable) {
    start_shard({"--world=" + offline_.url()});
    auto& a = join("game:shard-1");
    shard_->wait_log("shard game:shard-1: the world is unreachable");
    room_.wait_frames("shard.clientConnected", 1);
    expect_serving(a, room_, 0);
    join("game:shard-1");
    room_.wait_frames("shard.clientConnected", 2);
}

// catalogue 7.3 shard-unit.spec: "forwards non-GET HTTP requests with shard headers". Ours
// forwards the part after the shard id to /parties/main/<room> (the original forwarded its own
// path, which no route matched). The client address is the first x-forwarded-for entry, else
// the peer's.
TEST_F(ShardUnitSpec, ForwardsNonGetHttpRequestsWithShardHeaders) {
    room_.answer(202, "accepted");
    start_shard();
    auto res = to_shard(
        http::verb::post,
        "/parties/shard/game:shard-1/api/action?x=1",
        "payload",
        {{"x-forwarded-for", "203.0.113.10"}}
    );
    EXPECT_EQ(res.result_int(), 202);
    EXPECT_EQ(res.body(), "accepted");
    EXPECT_EQ(res["x-answered-by"], "fake");

    auto call = room_.wait_requests(
        1,
        [](const http_call& c) { return c.target == "/parties/main/game/api/action?x=1"; },
        "the forwarded request"
    )[0];
    EXPECT_EQ(call.method, "POST");
    EXPECT_EQ(call.body, "payload");
    EXPECT_EQ(call.headers["x-shard-id"], "game:shard-1");
    EXPECT_EQ(call.headers["x-shard-world-id"], "world-default");
    EXPECT_EQ(call.headers["x-forwarded-by-shard"], "true");
    EXPECT_EQ(call.headers["x-access-shard"], secret);
    EXPECT_EQ(call.headers["x-original-client-ip"], "203.0.113.10");

    to_shard(
        http::verb::post,
        "/parties/shard/game:shard-1/api/list",
        "",
        {{"x-forwarded-for", " 198.51.100.7 , 10.0.0.1"}}
    );
    to_shard(http::verb::post, "/parties/shard/game:shard-1/api/direct");
    auto ip = [&](const std::string& target) {
        auto forwarded = room_.wait_requests(
            1, [&](const http_call& c) { return c.target == target; }, target
        )[0];
        return forwarded.headers["x-original-client-ip"];
    };
    EXPECT_EQ(ip("/parties/main/game/api/list"), "198.51.100.7");
    EXPECT_EQ(ip("/parties/main/game/api/direct"), "127.0.0.1");
}

// catalogue 7.3 shard-unit.spec: "forces world stats updates for heartbeat calls even when counts
// are unchanged" and "runs stat updates from alarms". Ours: every --stats-interval the shard
// reports, whether its count changed or not. A shard with no client (created by an HTTP request)
// reports 0 at start and then from its timer only.
TEST_F(ShardUnitSpec, HeartbeatsFromTheTimerEvenWhenCountsAreUnchanged) {
    start_shard({"--stats-interval=50"});
    to_shard(http::verb::get, "/parties/shard/game:shard-1/count");
    auto beats = reports(
        4,
        "world-default",
        R"({"shardId":"game:shard-1","worldId":"world-default","connections":0})"
    );
    for (auto& beat : beats) {
        EXPECT_EQ(beat.method, "POST");
        EXPECT_EQ(beat.headers["x-access-shard"], secret);
    }
}

// catalogue 7.3 shard-unit.spec: "returns an error response when request forwarding fails"
TEST_F(ShardUnitSpec, ReturnsAnErrorResponseWhenRequestForwardingFails) {
    start_shard({"--upstream=" + offline_.url()});
    auto res = to_shard(http::verb::post, "/parties/shard/game:shard-1/api/action", "payload");
    EXPECT_EQ(res.result_int(), 500);
    EXPECT_EQ(res.body(), R"({"error":"Error forwarding request"})");
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_TRUE(shard_->running());
}

// ---------------------------------------------------------------- 7.4 shard.spec

// catalogue 7.4 shard.spec: "forward client messages to mainServerStub". Ours adds the socket's
// clientId.
TEST_F(ShardSpec, ForwardClientMessagesToTheMainServer) {
    start_shard();
    auto& a = join("game:shard-1", "?id=player-1");
    auto connected = room_.wait_frames("shard.clientConnected", 1)[0];
    a.send(R"({"type":"test-message","data":"hello"})");
    auto message = room_.wait_frames("shard.clientMessage", 1)[0];
    EXPECT_EQ(text_of(message.at("privateId")), "player-1");
    EXPECT_EQ(text_of(message.at("clientId")), text_of(connected.at("clientId")));
    EXPECT_EQ(message.at("payload"), json::parse(R"({"type":"test-message","data":"hello"})"));
}

// catalogue 7.4 shard.spec: "keep multiple shard clients for the same private id" (the
// connection set is the shard's client count in /signe/stats). A target that is a private id
// reaches every socket of that session, as in the original; one that is a client id (what our
// room server sends) reaches that socket only. Ours reports each socket that closes with its
// clientId (the original reported only the last socket of a private id): our room server holds
// one virtual connection per socket.
TEST_F(ShardSpec, KeepMultipleShardClientsForTheSamePrivateId) {
    start_shard();
    auto& a = join("game:shard-1", "?id=same-session");
    auto a_id = text_of(room_.wait_frames("shard.clientConnected", 1)[0].at("clientId"));
    auto& b = join("game:shard-1", "?id=same-session");
    auto b_connected = room_.wait_frames("shard.clientConnected", 2)[1];
    auto b_id = text_of(b_connected.at("clientId"));
    EXPECT_EQ(text_of(b_connected.at("privateId")), "same-session");
    EXPECT_NE(a_id, b_id);

    EXPECT_EQ(shard_clients("game:shard-1"), 2);

    room_.send(0, R"({"targetClientId":"same-session","data":"hello"})");
    room_.send(0, signe::to_text(json::object{{"targetClientId", b_id}, {"data", "only-b"}}));
    room_.send(0, R"({"targetClientId":"same-session","data":"both"})");
    EXPECT_EQ(a.wait_frames(2), (std::vector<std::string>{"hello", "both"}));
    EXPECT_EQ(b.wait_frames(3), (std::vector<std::string>{"hello", "only-b", "both"}));

    a.close();
    auto gone = room_.wait_frames("shard.clientDisconnected", 1)[0];
    EXPECT_EQ(text_of(gone.at("clientId")), a_id);
    EXPECT_EQ(text_of(gone.at("privateId")), "same-session");
    EXPECT_EQ(shard_clients("game:shard-1"), 1);
    room_.send(0, R"({"targetClientId":"same-session","data":"still"})");
    EXPECT_EQ(b.wait_frames(4).back(), "still");

    b.close();
    EXPECT_EQ(text_of(room_.wait_frames("shard.clientDisconnected", 2)[1].at("clientId")), b_id);
    EXPECT_EQ(shard_clients("game:shard-1"), 0);
}

// catalogue 7.4 shard.spec: "correctly handle HTTP requests through shard to main server", with
// a real room server behind the shard.
TEST_F(ShardSpec, HandleHttpRequestsThroughTheShardToTheMainServer) {
    room_server rooms;
    start_shard({"--upstream=" + rooms.url()});
    auto res = to_shard(http::verb::get, "/parties/shard/game:shard-1/count");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(json::parse(res.body()), json::parse(R"({"count":0})"));
}

// catalogue 7.4 shard.spec: "reject spoofed shard HTTP requests without the shard secret" (a wrong
// secret too).
TEST_F(ShardSpec, RejectSpoofedShardHttpRequestsWithoutTheShardSecret) {
    room_server rooms;
    header_map spoofed{{"x-shard-id", "game:shard-1"}, {"x-forwarded-by-shard", "true"}};
    auto res = http_request(rooms.port(), http::verb::get, "/parties/main/game/count", "", spoofed);
    EXPECT_EQ(res.result_int(), 401);
    EXPECT_EQ(json::parse(res.body()), json::parse(R"({"error":"Invalid shard credentials"})"));
    spoofed["x-access-shard"] = "guess";
    res = http_request(rooms.port(), http::verb::get, "/parties/main/game/count", "", spoofed);
    EXPECT_EQ(res.result_int(), 401);
    spoofed["x-access-shard"] = secret;
    res = http_request(rooms.port(), http::verb::get, "/parties/main/game/count", "", spoofed);
    EXPECT_EQ(res.result_int(), 200);
}

}  // namespace

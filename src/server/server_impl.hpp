#pragma once

// Private parts of the server shared by the listener and the sessions.

#include "core/room_core.hpp"
#include "server/forward.hpp"
#include "server/http_client.hpp"
#include "server/placement_service.hpp"

#include <signe/server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace signe {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using strand = net::strand<net::io_context::executor_type>;
using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

// Room timers on the room's strand, with wall-clock time.
class asio_clock final : public detail::room_clock {
public:
    explicit asio_clock(strand executor) : executor_(std::move(executor)) {}
    ~asio_clock() override;

    std::int64_t now_ms() const override;
    std::uint64_t set_timer(std::chrono::milliseconds delay, std::function<void()> fn) override;
    void cancel_timer(std::uint64_t id) override;
    void cancel_all();
    // Cancels every timer and ignores new ones: a room closing at shutdown still handles its
    // clients leaving, and the session-expiry timers that sets must not keep the process alive.
    void stop();

private:
    strand executor_;
    std::uint64_t last_id_ = 0;
    std::map<std::uint64_t, std::shared_ptr<net::steady_timer>> timers_;
    bool stopped_ = false;
    // False once stopped: a timer that expired just before stop() may still run its handler,
    // after an unloaded room (and this clock) are gone.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// One room: its strand, clock and runtime. Everything inside runs on `executor`.
struct room_host : std::enable_shared_from_this<room_host> {
    room_host(
        server::impl& server,
        std::string map_key,
        const detail::room_definition& def,
        room_info info,
        strand exec,
        detail::room_limits limits,
        detail::room_links links
    )
        : srv(server),
          key(std::move(map_key)),
          executor(exec),
          clock(exec),
          core(def, std::move(info), clock, limits, std::move(links)),
          idle_timer(exec),
          write_timer(exec) {}

    // Runs `fn` on the room's strand, starting the room first if this is its first task.
    void post(std::function<void(detail::room_core&)> fn);
    // Builds the room instance on first use; call on `executor`.
    void ensure_started();
    // After a socket left or a request was served: a room left with no socket starts counting
    // towards its unloading (server_limits::room_idle_timeout). On `executor`.
    void touched();
    // Runs `write` once server_limits::write_delay has passed, with every other write deferred
    // meanwhile (one timer per room, not per socket). On `executor`.
    void defer_write(std::function<void()> write);

    server::impl& srv;
    std::string key;  // in server::impl::rooms
    strand executor;
    asio_clock clock;
    detail::room_core core;
    net::steady_timer idle_timer;
    bool idle_armed = false;
    net::steady_timer write_timer;
    std::vector<std::function<void()>> deferred_writes;
    bool started = false;
    bool closing = false;  // shutting down or unloaded: accepts nothing new
};

// Where a /parties URL points.
struct room_address {
    std::string party;
    std::string room_id;
    std::string rest;  // what follows the room id, with its leading '/'
};

// Parses /parties/<party>/<room>[/rest] and /party/<room>[/rest]; nullopt for anything else.
std::optional<room_address> parse_room_path(std::string_view path);

class http_session;

namespace detail {
struct server_access {
    static server::impl& of(server& s) { return *s.impl_; }
};
}  // namespace detail

struct server::impl {
    impl(server_config cfg, net::io_context* external);

    // Finds or creates the room; nullptr when no room type matches the id.
    std::shared_ptr<room_host> find_room(const std::string& party, const std::string& room_id);
    // With placement: the key to claim before serving this room path ("<party>/<room>"), or
    // nullopt when the room already runs here, is not a room of this server, or there is no
    // placement.
    std::optional<std::string> placement_key(std::string_view target);
    // Starts placement (listen() calls it once the port is known); stops it after the last flush.
    void start_placement();
    // A room this process held was taken over elsewhere: its clients go, and so does the room.
    void room_moved(const std::string& key);
    // Unloads the room if it is still idle and nobody holds it: its state is in storage and the
    // next request loads it again. On the room's strand; false when it stays.
    bool unload_if_idle(const std::shared_ptr<room_host>& host);
    strand strand_for(std::size_t worker);
    std::size_t worker_for(const std::string& key) const;

    void accept();
    void begin_stop();

    server_config config;
    std::vector<std::unique_ptr<net::io_context>> owned;
    std::vector<net::io_context*> workers;
    std::vector<std::optional<net::executor_work_guard<net::io_context::executor_type>>> guards;
    std::vector<std::thread> threads;
    bool embedded = false;

    std::vector<detail::room_definition> definitions;
    std::unique_ptr<detail::storage_service> storage;
    detail::room_links links_for(strand executor);
    std::mutex rooms_mutex;  // the registry only; rooms themselves never lock
    std::map<std::string, std::shared_ptr<room_host>> rooms;
    std::unique_ptr<detail::placement_service> placement;

    std::optional<tcp::acceptor> acceptor;
    std::optional<net::signal_set> signals;
    std::size_t next_worker = 0;
    std::atomic<bool> stopping{false};
    // Stops the workers if sockets are still closing after the grace period.
    std::thread watchdog;
    std::mutex watchdog_mutex;
    std::condition_variable watchdog_wake;
    bool workers_done = false;
    std::uint16_t bound_port = 0;

    std::mutex sessions_mutex;  // live HTTP sessions, closed at shutdown
    std::set<std::weak_ptr<http_session>, std::owner_less<std::weak_ptr<http_session>>>
        http_sessions;

    std::mutex forwarded_mutex;  // connections handed to other servers, closed at shutdown
    std::vector<std::weak_ptr<forwarded_connection>> forwarded;

    std::atomic<std::uint64_t> connections_open{0};
    std::atomic<std::uint64_t> connections_refused{0};
    std::atomic<std::uint64_t> slow_readers_closed{0};
    std::atomic<std::uint64_t> rooms_unloaded{0};
    std::atomic<std::uint64_t> oversized_frames{0};
};

// Hands an upgrade request to its room (the socket moves to the room's strand). False when no
// room of this server matches; the socket is then untouched.
bool upgrade_to_room(server::impl& srv, tcp::socket& socket, http_request req);

// Answers a request for a room path; `respond` runs on the room's strand. False when the path
// is not a room path (the caller serves it or answers 404).
bool answer_room_request(
    server::impl& srv,
    http_request req,
    const std::string& remote_address,
    std::function<void(http_response)> respond
);

// Shards (shard_link.cpp): an upgrade carrying x-shard-id is a shard's upstream socket, accepted
// only with x-access-shard equal to the server's shard secret.
bool is_shard_upgrade(const http_request& req);
bool shard_credentials_ok(const server::impl& srv, const http_request& req);
bool start_shard_link(
    server::impl& srv, const std::shared_ptr<room_host>& host, tcp::socket& socket, http_request req
);

// Starts serving one accepted TCP connection (HTTP, maybe upgraded to WebSocket).
void start_http_session(server::impl& srv, tcp::socket socket);
// Closes an idle or busy HTTP session (shutdown).
void close_http_session(const std::shared_ptr<http_session>& session);

}  // namespace signe

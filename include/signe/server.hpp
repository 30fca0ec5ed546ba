#pragma once

// The server: HTTP and WebSocket on one port, rooms created lazily on first use, each room pinned
// to one worker thread for its whole life.
//
//     int main() {
//         signe::server srv{signe::config_from_env()};
//         srv.add_room<counter_room>();
//         return srv.run_until_signal();  // SIGINT/SIGTERM: sockets closed with 1001, clean exit
//     }
//
// URLs: ws://host/parties/<party>/<room-id>?id=<session>, HTTP /parties/<party>/<room-id>/<route>,
// and /party/<room-id> (party "main"), which is what PartySocket uses when no party is given.

#include <signe/room.hpp>
#include <signe/storage.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace signe {

namespace detail {
struct server_access;
}

// Every bound is named and has a default; all are per process unless stated.
struct server_limits {
    std::size_t max_frame_bytes = 64 * 1024;   // incoming WebSocket message; over it: close 1009
    std::size_t max_body_bytes = 1024 * 1024;  // HTTP request body; over it: 413
    std::size_t max_header_bytes = 16 * 1024;  // HTTP request head; over it: 431
    std::size_t max_send_queue_bytes =
        4 * 1024 * 1024;                    // per socket; a reader this far behind is closed
    std::size_t max_connections = 100'000;  // sockets (HTTP and WebSocket); over it: refused
    std::size_t max_queued_frames = 1024;   // frames a socket may send before its initial sync
    // Messages per socket: a burst of `message_burst`, then this many per second; a socket that
    // sends more is closed with 1008 "Too many messages". 0: no limit.
    double max_messages_per_second = 200;
    std::size_t message_burst = 400;
    std::chrono::seconds handshake_timeout{10};  // HTTP request head and WebSocket handshake
    std::chrono::seconds http_idle_timeout{30};  // keep-alive connection with no request
    // A room with no socket, no timer of its own and nothing in flight for this long is written
    // to storage and unloaded; the next request loads it again (docs/rooms.md). 0: never.
    std::chrono::milliseconds room_idle_timeout{60'000};
    // A socket that wrote less than this ago waits for the rest of it before writing again, so
    // that the frames queued meanwhile leave in one system call (Nagle's rule, by time). A socket
    // that receives little is written at once. Under steady traffic it cuts the server's CPU per
    // delivery by 2.5x for at most this much latency (docs/performance.md). 0: never wait.
    std::chrono::microseconds write_delay{1000};
};

struct server_config {
    std::string address = "0.0.0.0";
    std::uint16_t port = 3000;  // 0: any free port (see listen())
    unsigned threads = 0;       // worker threads; 0: one per core
    std::string static_dir;     // files served for paths outside /parties; empty: none
    server_limits limits;
    std::chrono::milliseconds shutdown_grace{3000};  // how long stop() waits for sockets to close
    // Where rooms keep their state and sessions; nullptr: in memory (lost at exit).
    std::shared_ptr<storage_backend> storage;
    // Shared by the processes of one deployment: required on POST .../session-transfer.
    std::string transfer_secret;
    // Base URL of another process serving the rooms this one does not ("http://host:3001"):
    // session transfers to such rooms go there over HTTP.
    std::string remote_rooms_url;
    // Shards present it in x-access-shard on their upstream sockets and forwarded requests;
    // empty: no shard is accepted.
    std::string shard_secret;
    // Room placement across the room servers of a deployment (docs/scaling.md): "redis://..."
    // makes each room live on exactly one of the servers sharing that Redis; a request for a room
    // another server holds is handed to it. Empty: every room is served here.
    std::string placement_url;
    // How the other servers reach this one ("host:port"); empty: 127.0.0.1:<bound port>.
    std::string advertise;
    // A server silent this long (killed, cut off) loses its rooms to the next server asked.
    std::chrono::milliseconds placement_lease{10'000};
};

// Reads PORT, SIGNE_ADDRESS, SIGNE_THREADS, SIGNE_STATIC_DIR, SIGNE_MAX_FRAME_BYTES,
// SIGNE_MAX_SEND_QUEUE_BYTES, SIGNE_MAX_CONNECTIONS, SIGNE_MAX_MESSAGES_PER_SECOND,
// SIGNE_MESSAGE_BURST, SIGNE_WRITE_DELAY_US, SIGNE_ROOM_IDLE_MS, SIGNE_STORAGE ("memory",
// "sqlite:<path>"), SIGNE_TRANSFER_SECRET, SIGNE_REMOTE_ROOMS, SHARD_SECRET, SIGNE_PLACEMENT,
// SIGNE_ADVERTISE and SIGNE_PLACEMENT_LEASE_MS over the given defaults.
server_config config_from_env(server_config defaults = {});
// config_from_env, then the command line: --port=N, --address=A, --threads=N, --storage=SPEC,
// --static=DIR, --transfer-secret=S, --remote-rooms=URL, --shard-secret=S, --room-idle-ms=N,
// --placement=URL,
// --advertise=HOST:PORT, --placement-lease-ms=N. Throws
// std::invalid_argument on an unknown or malformed flag.
server_config config_from_args(int argc, char** argv, server_config defaults = {});

struct server_stats {
    std::uint64_t connections_open = 0;
    std::uint64_t connections_refused = 0;  // over max_connections
    std::uint64_t slow_readers_closed = 0;
    std::uint64_t oversized_frames = 0;
    std::uint64_t rooms = 0;           // loaded now
    std::uint64_t rooms_unloaded = 0;  // idle rooms unloaded so far
};

class server {
public:
    explicit server(server_config config = {});
    // Embedded: runs on the caller's io_context (which the caller runs) instead of own threads.
    server(boost::asio::io_context& ioc, server_config config = {});
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    ~server();

    // Registers a room type. Room ids are matched against path patterns in registration order.
    template <room_type R>
    server& add_room() {
        return add_room(define_room<R>());
    }
    server& add_room(detail::room_definition def);

    // Binds and starts accepting; returns the bound port (useful with port 0).
    std::uint16_t listen();
    // Runs the worker threads until stop() (not in embedded mode: run the io_context instead).
    void run();
    // Graceful stop: refuse new sockets, close every socket with 1001, return from run().
    // Safe from any thread and from signal-handling code paths of the server itself.
    void stop();
    // listen(), print the address, run until SIGINT or SIGTERM; returns the process exit code.
    int run_until_signal();

    std::uint16_t port() const;
    server_stats stats() const;

    struct impl;

private:
    friend struct detail::server_access;
    std::unique_ptr<impl> impl_;
};

}  // namespace signe

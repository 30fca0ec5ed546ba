#pragma once

// signe::client: the C++ counterpart of @signe/sync's `connectionRoom`. It connects to a room,
// keeps a local mirror of the room's state that applies every sync packet exactly as the JS
// client's `load(root, packet, true)` does, sends actions with `emit`, hands custom frames to
// `on` handlers, and reconnects with the same session id (so the same `pId`) after any loss.
//
//     signe::client room{{.host = "127.0.0.1:3000", .room = "game-1", .id = "my-session"}};
//     room.on("pong", [](const signe::json::value& v) { std::cout << v << "\n"; });
//     room.connect();
//     room.wait_ready(std::chrono::seconds(5));
//     room.emit("move", {{"x", 10}, {"y", 20}});
//     room.wait_until([&](const signe::json::value& s) { return has_moved(s, room.pid()); });
//
// Threading. The client runs on its executor: a thread of its own (first constructor), or the
// caller's io_context (second constructor), which may be run by several threads (the client
// uses a strand). Every handler (`on`, `on_ready`, `on_disconnect`) runs on that executor, one
// at a time, in frame order. Every member function may be called from any thread, except
// `mirror()` (executor only, e.g. inside a handler) and the blocking `wait_*` functions (never
// on the executor: they would wait for themselves). Destroy a client that runs on your
// io_context from a thread running it, or once it has stopped; no handler runs after the
// destructor has started.

#include <signe/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace signe {

// Applies one sync packet to `mirror` as the JS client's load(mirror, packet, true) does:
// - non-null, non-array objects are descended into; every other value (number, string, bool,
//   null, array) is a leaf written at its dotted path, creating missing objects on the way;
//   so `{}` changes nothing and `{"users":{}}` clears nothing;
// - a leaf loosely equal to "$delete" ("$delete" or ["$delete"]) removes the key; inside an
//   array it leaves a hole (null) and keeps the length;
// - inside an array, numeric keys address elements (a gap fills with null); other keys land on
//   properties JSON cannot show, so they change nothing visible; the one difference from JS:
//   a hole is a null here, so a path through it stops where the JS client would create {};
// - keys are visited in JavaScript's order: integer keys ascending, then the others.
// Returns false when a leaf's path runs through a number, string, bool or null: there the JS
// client throws and abandons the rest of the packet, and so does this function (the leaves
// applied before stay applied).
bool apply_packet(json::value& mirror, const json::value& packet);

struct client_options {
    // "127.0.0.1:3000" or "localhost:3000"; a leading ws://, http:// and a trailing '/' are
    // ignored. Plain WebSocket only (no TLS).
    std::string host;
    std::string party = "main";  // empty: PartySocket's /party/<room> form
    std::string room;
    // The session key, sent as both `_pk` (what PartySocket sends) and `id` (what the original
    // Node server reads). Empty: a random one, kept for every reconnect of this client.
    std::string id;
    // Extra query parameters, after `_pk` and `id`, in this order (e.g. {"name", "Sam"}).
    std::vector<std::pair<std::string, std::string>> query;
    // Connect through a World (the JS connectionWorld): before each attempt, ask
    // `POST /parties/world/<world>/connect {"roomId": room, "autoCreate": auto_create}` on `host`
    // which shard serves the room, then open `/parties/shard/<url>` there. Empty: connect to
    // the room directly. (The World id is the whole room id: "world-default".)
    std::string world;
    bool auto_create = true;

    // Reconnect after any loss the client did not ask for, with the same session id. Delays
    // grow from `reconnect_min_delay` by `reconnect_growth` per failed attempt up to
    // `reconnect_max_delay`; each is randomised between half and all of it so that many clients
    // dropped together do not come back together. A successful join resets the growth.
    bool reconnect = true;
    std::chrono::milliseconds reconnect_min_delay{500};
    std::chrono::milliseconds reconnect_max_delay{10'000};
    double reconnect_growth = 1.5;

    std::chrono::milliseconds connect_timeout{4'000};  // resolve + TCP connect + upgrade
    // Silence for this long (a ping is sent halfway) counts as a lost connection; 0: never.
    std::chrono::milliseconds idle_timeout{30'000};
    std::size_t max_frame_bytes = 16 * 1024 * 1024;  // larger incoming frames end the connection
    // Emits made while not joined wait (sent after the next initial sync); beyond this many the
    // oldest are dropped and counted in stats().emits_dropped.
    std::size_t max_queued_emits = 1024;
    // Rebuild the mirror from each initial sync. The JS client merges a reconnect's snapshot
    // into its old state, so keys deleted while it was away stay; false does the same.
    bool reset_mirror_on_resync = true;
};

enum class client_status {
    idle,          // connect() not called yet
    connecting,    // resolving, connecting, upgrading, or waiting for the initial sync
    ready,         // joined: the initial sync has been applied
    reconnecting,  // lost; waiting for the next attempt
    closed,        // close() was called (or reconnect is off and the connection ended)
};

struct client_stats {
    std::uint64_t frames_received = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t sync_packets = 0;
    std::uint64_t partial_packets = 0;   // apply_packet stopped early (the JS client throws)
    std::uint64_t malformed_frames = 0;  // not JSON, or not an object
    std::uint64_t frames_sent = 0;
    std::uint64_t emits_dropped = 0;  // over max_queued_emits while not joined
    std::uint64_t connect_attempts = 0;
    std::uint64_t joins = 0;           // initial syncs received (1 + successful reconnects)
    std::uint64_t world_refusals = 0;  // a World answered without a shard
};

class client {
public:
    using handler = std::function<void(const json::value& value)>;
    using handler_id = std::uint64_t;

    // Runs on a thread of its own, started here and joined by the destructor.
    explicit client(client_options options);
    // Runs on `ioc`, which the caller runs.
    client(boost::asio::io_context& ioc, client_options options);
    client(const client&) = delete;
    client& operator=(const client&) = delete;
    // Closes the connection (with a close handshake bounded to one second) and, with its own
    // thread, joins it.
    ~client();

    // Starts connecting; returns at once. Reconnects after losses until close().
    void connect();
    // Closes for good (code 1000): no reconnect. Queued emits are dropped.
    void close();

    // Sends {"action": action, "value": value} (the JS client's emit). Before the client has
    // joined, the frame waits for the initial sync, as the original server drops frames that
    // arrive before it.
    void emit(std::string_view action, json::value value);
    // Sends {"action": action} with no value (JS `emit(action)`).
    void emit(std::string_view action);

    // Calls `fn(frame.value)` for every frame whose "type" is `type` (null when the frame has
    // no value). "sync" handlers run after the packet has been applied to the mirror.
    handler_id on(std::string type, handler fn);
    // Removes one handler (unlike the JS client's off, this works).
    void off(handler_id id);
    // Removes every handler of `type`.
    void off(std::string_view type);
    // After each initial sync (the first join and every reconnect), with the mirror applied.
    handler_id on_ready(std::function<void()> fn);
    // When a connection ends, with its close code (1006 when it ended without a close frame).
    handler_id on_disconnect(std::function<void(int code, const std::string& reason)> fn);

    // The public id from the last initial sync; "" before the first.
    std::string pid() const;
    // A copy of the mirror.
    json::value state() const;
    // The mirror itself: only on the client's executor (inside handlers or post()ed work).
    const json::value& mirror() const;
    client_status status() const;
    client_stats stats() const;
    const client_options& options() const;
    // The request target, e.g. "/parties/main/game-1?_pk=s1&id=s1&name=Sam" (through a World:
    // "/parties/shard/<url>?..." once the World has answered).
    std::string target() const;
    // Through a World: the shard it named last ("" before, or without a World).
    std::string shard_id() const;

    // Blocks until `pred(mirror)` holds (checked now and after every frame, under the mirror's
    // lock), or the timeout passes; returns whether it holds. Not on the client's executor.
    bool wait_until(
        const std::function<bool(const json::value&)>& pred, std::chrono::milliseconds timeout
    );
    // Blocks until the client has joined (status ready) at least `joins` times in total.
    bool wait_ready(std::chrono::milliseconds timeout, std::uint64_t joins = 1);
    // Blocks until status() is `status`.
    bool wait_status(client_status status, std::chrono::milliseconds timeout);

    // Runs `fn` on the client's executor.
    void post(std::function<void()> fn);

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace signe

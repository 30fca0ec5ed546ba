#pragma once

// The room runtime: one room instance with its sessions, connections and sync engine. It is
// transport-independent (the server, the test harness and later shards drive it) and
// single-threaded: every call happens on the room's executor, so nothing here takes a lock.

#include "core/pending_changes.hpp"
#include "core/storage_service.hpp"

#include <signe/connection.hpp>
#include <signe/room.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace signe::detail {

// Time and timers for one room: real in the server, manual in tests. Timer callbacks run on the
// room's executor; a cancelled or destroyed timer never calls back.
class room_clock {
public:
    virtual ~room_clock() = default;
    virtual std::int64_t now_ms() const = 0;
    virtual std::uint64_t set_timer(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
    virtual void cancel_timer(std::uint64_t id) = 0;
};

// What went wrong with client input, for operators (malformed frames are dropped, as the
// original does, but never silently for the operator).
struct room_counters {
    std::uint64_t frames_in = 0;
    std::uint64_t malformed_frames = 0;
    std::uint64_t unknown_actions = 0;
    std::uint64_t invalid_payloads = 0;
    std::uint64_t guard_refusals = 0;
    std::uint64_t rate_limited = 0;  // sockets closed for sending too many messages
    std::uint64_t handler_errors = 0;
    std::uint64_t frames_out = 0;
    std::uint64_t sync_packets = 0;
};

struct room_limits {
    std::size_t max_queued_frames = 1024;   // frames a socket may send while its join is pending
    std::size_t compact_after_keys = 1000;  // incremental state keys written before a compaction
    // Messages a socket may send: `message_burst` at once, refilled at this rate. A socket over
    // it is closed (1008 "Too many messages"). 0: no limit.
    double max_messages_per_second = 0;
    std::size_t message_burst = 0;
};

class room_core;

// What a room needs from the process around it: its storage, and a way to reach other rooms.
struct room_links {
    storage_service* storage = nullptr;  // nullptr: nothing is persisted
    storage_service::poster post;        // runs a completion on this room's executor
    // Runs `fn` on the executor of another room of this process; false when no room type here
    // matches the id.
    std::function<bool(
        const std::string& party, const std::string& room_id, std::function<void(room_core&)> fn
    )>
        post_to_room;
    // Sends a transfer to a room in another process: (room id, body, done(token or nullopt)).
    std::function<void(
        const std::string& room_id,
        json::value body,
        std::function<void(std::optional<std::string>)> done
    )>
        remote_transfer;
    std::string transfer_secret;  // required on POST /session-transfer over HTTP; empty: refused
};

class room_core final : public room_runtime, private change_sink {
public:
    room_core(
        const room_definition& def,
        room_info info,
        room_clock& clock,
        room_limits limits = {},
        room_links links = {}
    );
    ~room_core();
    room_core(const room_core&) = delete;
    room_core& operator=(const room_core&) = delete;

    // Builds the room instance, loads its storage and runs on_start. Call once, before anything
    // else; what arrives before the load completes waits for it.
    void start();
    // Writes every pending change now (shutdown), whatever the throttle.
    void flush_storage_now();
    // Expires every disconnected session past its expiry (all disconnected ones when `force`)
    // and repairs the public-id index (the original's runGarbageCollector with -1 when forced).
    void run_garbage_collector(bool force);
    // The target side of a session transfer: creates the session and user; `done` gets the
    // HTTP-shaped answer (200 {"transferToken"} or an error).
    void accept_transfer(const json::value& body, std::function<void(response)> done);

    // A socket arrives: guards, session, user, on_join, initial sync.
    void join(const connection_ptr& conn);
    // A text frame from a socket.
    void message(const connection_ptr& conn, std::string_view text);
    // A socket closed (the transport has already stopped sending to it).
    void leave(const connection_ptr& conn);
    // An HTTP request for this room; `done` receives the response (maybe later, after an async
    // guard), on the room's executor.
    void http(request req, std::function<void(response)> done);
    // Runs `fn` as one turn of the room (its changes are sent at the end), catching exceptions.
    void run_turn(const std::function<void()>& fn);
    // Closes every socket (server shutdown) and cancels the room's own timers.
    void close_all(int code, std::string_view reason);

    void* instance() { return instance_; }
    const room_counters& counters() const { return counters_; }
    std::size_t connection_count() const { return connections_.size(); }
    // Nothing would be lost by dropping this room now and loading it from storage later: no
    // socket, no timer of its code, no transfer token waiting, no storage call or deferred
    // guard in flight, nothing left to write (see unwritten()). Session expiry is not in the
    // way: it is stored and armed again by the next load.
    bool idle();
    // Changes not yet handed to storage (flush_storage_now() hands them over).
    bool unwritten() const;
    // The user of a connection (nullptr when none).
    void* user_of(const connection& conn);
    // Every session, for tests and tools: private id -> public id, connected.
    struct session_view {
        std::string public_id;
        bool connected;
        std::int64_t created;
        std::int64_t disconnected_at;
    };
    std::optional<session_view> session(std::string_view private_id) const;
    // Forgets a session (the original's deleteSession): a later connect with this private id
    // starts a new user. Its user, if any, stays until removed by the room.
    bool delete_session(std::string_view private_id);

    // room_runtime (what room_base offers to room code).
    const room_info& info() const override { return info_; }
    void send(connection& to, const json::value& frame) override;
    void broadcast(const json::value& frame, const connection* except) override;
    void apply_sync() override;
    void set_auto_sync(bool on) override;
    bool auto_sync() const override { return auto_sync_; }
    std::int64_t now_ms() const override { return clock_.now_ms(); }
    std::uint64_t set_timer(std::chrono::milliseconds delay, std::function<void()> fn) override;
    void cancel_timer(std::uint64_t id) override;
    std::vector<connection*> connections() const override;
    void storage_get(std::string key, std::function<void(std::optional<json::value>)> done)
        override;
    void storage_list(
        std::string prefix,
        std::function<void(std::vector<std::pair<std::string, json::value>>)> done
    ) override;
    void storage_put(std::string key, json::value value) override;
    void storage_delete(std::string key) override;
    void transfer_session(
        connection& conn,
        std::string target_room,
        std::function<void(std::optional<std::string>)> done
    ) override;
    const json::value* session_state(const connection& conn) const override;

private:
    struct session_record {
        std::string public_id;
        std::int64_t created = 0;
        bool connected = true;
        std::int64_t disconnected_at = 0;
        int live_sockets = 0;
        std::optional<std::uint64_t> expiry_timer;
        json::value state;  // attached by a transfer
    };

    struct transfer_record {
        std::string private_id;
        std::string public_id;
        std::int64_t created = 0;
    };

    void record(change c) override;

    // Persistence (room_storage.cpp).
    void finish_start(bool loaded, storage_entries entries);
    void restore_from(storage_entries entries);
    void restore_sessions(const storage_entries& entries);
    void remove_orphan_users();
    void when_ready(std::function<void()> fn);
    void store_key(std::string key, std::optional<json::value> value);
    void store_session(const std::string& private_id);
    void store_index(const std::string& public_id);
    json::value index_entry(const std::string& public_id) const;
    void schedule_storage();
    void flush_storage();
    write_batch compaction_batch();
    std::optional<std::string> claim_transfer(const request_info& req);
    void forget_expired_transfers();
    json::value transfer_body(const connection& conn);
    // Guards, in order; `done(allowed, reply)` runs once the verdict is known.
    using guard_step = std::function<decision()>;
    void run_guards(
        std::vector<guard_step> steps,
        std::function<void(bool, const std::optional<response>&)> done
    );

    void admit(const connection_ptr& conn);
    std::string new_public_id() const;
    std::size_t online_sessions() const;
    void process(const connection_ptr& conn, const std::string& text);
    void dispatch(
        const connection_ptr& conn, std::string action, json::value value, bool has_value
    );
    void run_action(
        const connection_ptr& conn,
        const action_entry& entry,
        std::string action,
        json::value value,
        bool has_value
    );
    void drain_inbox(const connection_ptr& conn);
    // Takes one message from the socket's allowance (room_limits::max_messages_per_second).
    bool within_rate(connection& conn);
    void end_turn();
    void expire_session(const std::string& private_id);
    void arm_expiry(const std::string& private_id, session_record& s);

    void flush();
    void deliver(const json::value& frame, const std::vector<connection*>& to);
    void send_initial_sync(connection& conn);
    void send_waiting_initial_syncs();
    void flush_before_custom_frame();
    std::vector<connection*> synced_connections() const;
    void on_throttle_window_end();
    void route_http(request& req, std::function<void(response)>& done);
    void transfer_endpoint(request& req, std::function<void(response)>& done);

    const room_definition& def_;
    room_info info_;
    room_clock& clock_;
    room_limits limits_;
    std::unique_ptr<room_object> object_;
    void* instance_ = nullptr;

    std::vector<connection_ptr> connections_;
    std::unordered_map<std::string, session_record> sessions_;  // by private id
    // public id -> its sessions' private ids, kept with sessions_ so joins never scan them all.
    std::unordered_map<std::string, std::set<std::string>> sessions_of_;
    session_record& put_session(const std::string& private_id, std::string public_id);
    void erase_session(std::unordered_map<std::string, session_record>::iterator it);
    pending_changes pending_;
    bool auto_sync_ = true;
    bool throttle_window_open_ = false;
    std::vector<std::uint64_t> room_timers_;  // timers room code set, cancelled at shutdown
    // Storage calls, transfers and deferred guards whose answer has not come back: their
    // callbacks point at this room, which must live until they arrive.
    std::size_t in_flight_ = 0;
    // links_.post for one call's answer, counted in in_flight_ until it has run.
    std::function<void(std::function<void()>)> counted_post();
    room_counters counters_;

    room_links links_;
    storage_key storage_key_;
    bool ready_ = false;        // storage loaded, on_start done
    bool load_failed_ = false;  // storage unreadable: the room refuses traffic
    std::vector<std::function<void()>> waiting_for_load_;
    pending_changes stored_;                                        // state paths to write
    std::map<std::string, std::optional<json::value>> key_writes_;  // other keys; nullopt: delete
    bool compaction_due_ = false;
    bool store_flush_at_end_of_turn_ = false;
    std::optional<std::uint64_t> store_timer_;
    std::size_t state_keys_since_compaction_ = 0;
    std::unordered_map<std::string, transfer_record> transfers_;  // by token
    std::int64_t last_transfer_gc_ = 0;
};

}  // namespace signe::detail

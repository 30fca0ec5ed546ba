#pragma once

// signe::testing: a room in-process, with clients, received frames, HTTP requests and a manual
// clock (the original's testRoom). No sockets, no threads, no sleeps: every call returns after
// the room has handled it, and time moves only with advance().
//
//     signe::testing::room_harness<counter_room> h;
//     auto& alice = h.connect("alice");
//     alice.send("increment", {{"amount", 2}});
//     EXPECT_EQ(h.room().count.get(), 2);
//     EXPECT_EQ(alice.last_frame().at("value").at("count"), 2);

#include <signe/connection.hpp>
#include <signe/room.hpp>
#include <signe/storage.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signe::testing {

class harness_base;

// A client socket connected to the harness's room.
class test_client {
public:
    test_client(const test_client&) = delete;
    test_client& operator=(const test_client&) = delete;
    ~test_client();

    const std::string& private_id() const;
    const std::string& public_id() const;  // the pId of its initial sync ("" when refused)
    connection& conn();

    // Sends {"action": action, "value": value}; returns once the room has handled it.
    void send(std::string_view action, const json::value& value);
    // Sends {"action": action} with no value.
    void send(std::string_view action);
    // Sends raw text, e.g. malformed JSON.
    void send_raw(std::string_view text);

    // Every frame received, in order, parsed.
    const std::vector<json::value>& frames() const;
    const std::vector<std::string>& raw_frames() const;
    // The frames whose "type" is `type`.
    std::vector<json::value> frames_of_type(std::string_view type) const;
    const json::value& last_frame() const;
    // Forgets the frames received so far.
    void clear();

    void close();
    bool closed() const;
    int close_code() const;
    const std::string& close_reason() const;

private:
    friend class harness_base;
    struct state;
    explicit test_client(std::shared_ptr<state> s);
    std::shared_ptr<state> state_;
};

struct client_options {
    std::vector<std::pair<std::string, std::string>> query{};    // extra query parameters
    std::vector<std::pair<std::string, std::string>> headers{};  // upgrade request headers
    bool id_as_pk = false;  // send the private id as `_pk` (as PartySocket does) instead of `id`
};

struct session_info {
    std::string public_id;
    bool connected = false;
    std::int64_t created = 0;
    std::int64_t disconnected_at = 0;
};

struct counters {
    std::uint64_t frames_in = 0;
    std::uint64_t malformed_frames = 0;
    std::uint64_t unknown_actions = 0;
    std::uint64_t invalid_payloads = 0;
    std::uint64_t guard_refusals = 0;
    std::uint64_t handler_errors = 0;
};

class harness_base {
public:
    harness_base(
        detail::room_definition def,
        std::string room_id,
        std::string party,
        std::shared_ptr<storage_backend> storage
    );
    harness_base(const harness_base&) = delete;
    harness_base& operator=(const harness_base&) = delete;
    ~harness_base();

    // Connects a client with this private id ("" for a random one) and runs the whole join:
    // guards, session, on_join and the initial sync.
    test_client& connect(std::string private_id = "", client_options options = {});

    // An HTTP request to a route of the room: `path` is what follows /parties/<party>/<room>.
    response request(
        verb method,
        std::string path,
        std::string body = "",
        std::vector<std::pair<std::string, std::string>> headers = {}
    );

    // Runs `fn` as one room turn, like a handler: the changes it makes go out when it returns.
    void act(const std::function<void()>& fn);

    // Moves the manual clock forward, running every timer that falls due, in order.
    void advance(std::chrono::milliseconds by);
    std::int64_t now_ms() const;

    std::optional<session_info> session(std::string_view private_id) const;

    // The room's storage (memory by default; pass another backend to the constructor).
    storage_backend& storage();
    // Writes every pending change now, whatever throttle_storage says.
    void flush_storage();
    // A restart: pending writes are flushed, every client is dropped (it sees no close, as with
    // a process exit) and a new room instance loads from storage. Clients connect again.
    void restart();
    // A crash: like restart() but without flushing pending writes.
    void crash();
    // The original's runGarbageCollector(): every disconnected session expires now.
    void run_garbage_collector();
    // Lets this room transfer sessions to `other` (and back): both behave as rooms of one process.
    void link(harness_base& other);
    // Forgets a session (the original's deleteSession); false when there was none.
    bool delete_session(std::string_view private_id);
    counters stats() const;
    std::size_t connection_count() const;
    const room_info& info() const;

protected:
    void* instance();
    void* user_of(test_client& client);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// A harness for room type R. The room id defaults to the path pattern with each `{param}`
// replaced by "1" ("game-{id}" becomes "game-1").
template <room_type R>
class room_harness : public harness_base {
public:
    explicit room_harness(
        std::string room_id = "",
        std::string party = "main",
        std::shared_ptr<storage_backend> storage = std::make_shared<memory_storage>()
    )
        : harness_base(define_room<R>(), std::move(room_id), std::move(party), std::move(storage)) {
    }

    R& room() { return *static_cast<R*>(instance()); }
    // Changes room state from test code as a handler would: `h.act([](R& r) { r.count = 10; })`.
    template <class Fn>
    void act(Fn fn) {
        harness_base::act([this, &fn] { fn(room()); });
    }
    // The server-side user of a client (nullptr when none).
    detail::user_t<R>* user(test_client& client) {
        return static_cast<detail::user_t<R>*>(user_of(client));
    }
};

}  // namespace signe::testing

#pragma once

// The World's registry: room configurations and shards of one world, behind an interface so that
// a deployment of several processes can keep it in a shared store (Redis) instead of memory.
//
// Every member function is one atomic operation on the registry: an implementation over a
// shared store runs each as a single transaction or script, so that several world processes can
// serve the same world id. In particular:
//   - add_shard() never lets a room exceed its maxShards, even when two processes add at once;
//   - reserve_seat() never lets connections + live seats exceed a shard's maxConnections;
//   - heartbeat() extends the shard's lease and, when the reported connections rose, releases as
//     many of the shard's oldest live seats in the same operation (the arrivals consumed them),
//     so an arrived client is not counted twice, as a connection and as a seat;
//   - remove_expired() drops shards whose lease ended (a store with key expiry may drop them by
//     itself).
// Implementations throw registry_unavailable when the store cannot be reached; the World then
// answers 503 with the reason and keeps serving once it is back.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace signe::world {

enum class balancing_strategy { round_robin, least_connections, random };
enum class shard_status { active, maintenance, draining };

std::string_view to_string(balancing_strategy s);
std::string_view to_string(shard_status s);
std::optional<balancing_strategy> parse_strategy(std::string_view text);
std::optional<shard_status> parse_status(std::string_view text);

// A room's configuration (the original's RoomConfig); the key is `name`.
struct room_config {
    std::string name;
    balancing_strategy strategy = balancing_strategy::round_robin;
    bool is_public = true;  // stored only, as in the original
    int max_players_per_shard = 75;
    int min_shards = 1;
    std::optional<int> max_shards;  // nullopt: unlimited
};

// One shard of a room (the original's ShardInfo).
struct shard_info {
    std::string id;  // "<roomId>:<worldId>:<ms>-<n>"
    std::string room_id;
    std::string world_id;
    std::string url;
    int current_connections = 0;  // as last reported by a heartbeat
    int max_connections = 75;
    shard_status status = shard_status::active;
    std::int64_t last_heartbeat = 0;  // epoch milliseconds
    std::int64_t lease_until = 0;     // epoch ms; the shard is dropped once now > lease_until
    int reserved_seats = 0;           // live seat reservations (filled in by reads)

    bool has_free_seat() const { return current_connections + reserved_seats < max_connections; }
    // Can receive a new client: active and not full.
    bool available() const { return status == shard_status::active && has_free_seat(); }
};

// A seat held for a client between /connect and its WebSocket reaching the shard.
struct seat {
    std::string shard_id;
    std::string seat_id;
    std::int64_t expires_at = 0;  // epoch ms
};

struct heartbeat_update {
    int connections = 0;
    std::optional<shard_status> status;  // nullopt: unchanged
    std::int64_t now_ms = 0;             // becomes last_heartbeat
    std::int64_t lease_until = 0;
};

enum class heartbeat_outcome { updated, removed, not_found };
enum class add_outcome { added, duplicate_id, at_limit };

class registry_unavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class registry {
public:
    virtual ~registry() = default;

    // Rooms.
    virtual std::optional<room_config> room(const std::string& name) = 0;
    virtual void put_room(const room_config& config) = 0;  // insert or replace
    virtual std::vector<room_config> rooms() = 0;

    // Shards, in registration order. `reserved_seats` counts the seats still live at `now_ms`.
    virtual std::vector<shard_info> shards(const std::string& room_id, std::int64_t now_ms) = 0;
    virtual std::vector<shard_info> all_shards(std::int64_t now_ms) = 0;
    virtual std::optional<shard_info> shard(const std::string& id, std::int64_t now_ms) = 0;

    // Adds `shard` unless its id is taken or its room already has `max_shards` shards (counting
    // every status).
    virtual add_outcome add_shard(const shard_info& shard, std::optional<int> max_shards) = 0;
    virtual bool remove_shard(const std::string& id) = 0;
    virtual bool set_status(const std::string& id, shard_status status) = 0;

    // Sets the reported connections, the status when given, last_heartbeat and the lease; then
    // removes the shard when it is draining with no connection left.
    // When `connections` is d more than the previously reported value (the value given to
    // add_shard before the first heartbeat), the d oldest seats still live at `now_ms` (reservation
    // order) are released: d clients arrived and each consumed a seat. Fewer seats than d: all
    // go. A report of as many or fewer connections releases nothing. So a heartbeat never makes
    // connections + live seats larger than before, unless connections alone are larger.
    // It is a net count: the shard does not say which clients arrived, so an arrival hidden by a
    // departure in the same report keeps its seat until it lapses (counted twice meanwhile), and
    // a client that arrived without a seat (reconnecting to the url it had) frees someone else's
    // seat, whose client may then take the shard over max_connections (one per such client).
    virtual heartbeat_outcome heartbeat(const std::string& id, const heartbeat_update& update) = 0;

    // Takes a seat on an active shard when connections + live seats < max_connections; nullopt
    // otherwise (full, not active, or unknown). The seat lives `ttl` unless released before, by
    // release_seat or by a heartbeat reporting arrivals.
    virtual std::optional<seat> reserve_seat(
        const std::string& shard_id, std::int64_t now_ms, std::chrono::milliseconds ttl
    ) = 0;
    // The client arrived (or gave up): the seat stops counting. False when it was unknown.
    virtual bool release_seat(const std::string& shard_id, const std::string& seat_id) = 0;

    // The room's round-robin counter before this call; the call increments it.
    virtual std::uint64_t next_round_robin(const std::string& room_id) = 0;

    // Removes every shard whose lease ended (now_ms > lease_until); returns their ids.
    virtual std::vector<std::string> remove_expired(std::int64_t now_ms) = 0;
};

// The registry in this process's memory (thread-safe). The World's default.
class memory_registry final : public registry {
public:
    std::optional<room_config> room(const std::string& name) override;
    void put_room(const room_config& config) override;
    std::vector<room_config> rooms() override;

    std::vector<shard_info> shards(const std::string& room_id, std::int64_t now_ms) override;
    std::vector<shard_info> all_shards(std::int64_t now_ms) override;
    std::optional<shard_info> shard(const std::string& id, std::int64_t now_ms) override;

    add_outcome add_shard(const shard_info& shard, std::optional<int> max_shards) override;
    bool remove_shard(const std::string& id) override;
    bool set_status(const std::string& id, shard_status status) override;
    heartbeat_outcome heartbeat(const std::string& id, const heartbeat_update& update) override;

    std::optional<seat> reserve_seat(
        const std::string& shard_id, std::int64_t now_ms, std::chrono::milliseconds ttl
    ) override;
    bool release_seat(const std::string& shard_id, const std::string& seat_id) override;

    std::uint64_t next_round_robin(const std::string& room_id) override;
    std::vector<std::string> remove_expired(std::int64_t now_ms) override;

private:
    struct entry {
        shard_info info;
        std::vector<seat> seats;  // reservation order: the oldest first
    };
    entry* find(const std::string& id);
    shard_info view(entry& e, std::int64_t now_ms);

    std::mutex mutex_;
    std::vector<room_config> rooms_;  // registration order
    std::vector<entry> shards_;       // registration order
    std::unordered_map<std::string, std::uint64_t> round_robin_;
    std::uint64_t seat_counter_ = 0;
};

}  // namespace signe::world

#pragma once

// The World registry in Redis, shared by every World process that serves the same world id.
//
//     auto reg = std::make_shared<signe::world::redis_registry>(
//         signe::world::redis_registry_options{.connection = {.url = "redis://127.0.0.1:6379"},
//                                              .world_id = "world-default"});
//
// Key layout, with K = "<prefix>:{<world_id>}:" (prefix "signe:world" unless the URL says
// ?prefix=...; the braces are a Redis Cluster hash tag, so one world's keys share a slot):
//
//     K rooms              ZSET  room name -> registration sequence (order of rooms())
//     K room:<name>        HASH  strategy, public, maxPlayersPerShard, minShards, maxShards
//     K shards             ZSET  shard id -> registration sequence (order of all_shards())
//     K room-shards:<room> ZSET  shard id -> registration sequence (order of shards(room))
//     K shard:<id>         HASH  room, world, url, connections, maxConnections, status,
//                                lastHeartbeat, leaseUntil
//     K leases             ZSET  shard id -> lease_until (epoch ms), for remove_expired
//     K seats:<id>         ZSET  seat id -> expires_at (epoch ms); pruned on every read
//     K rr:<room>          STRING round-robin counter (INCR)
//     K seq, K seat-seq    STRING sequences for registration order and seat ids
//
// Every member function is one Lua script (EVALSHA) or one command, so Redis runs it with no
// other client's command in between: reserve_seat checks connections + live seats against
// maxConnections and adds the seat in the same script, add_shard checks the id and maxShards and
// adds in the same script. Times are the caller's (now_ms), not Redis's clock.
//
// A shard whose lease ended is refused by reserve_seat (it is never chosen) until a heartbeat
// renews the lease or remove_expired drops it.
//
// Every redis_error (Redis down, timeout, refused command) is thrown as registry_unavailable;
// the client reconnects by itself at the next call once Redis is back.
//
// Threading: one connection per registry, calls serialised by an internal mutex.

#include <signe/redis.hpp>
#include <signe/world_registry.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace signe::world {

struct redis_registry_options {
    redis_options connection;
    // The world id whose registry this is (part of every key).
    std::string world_id = "world-default";
    // The first part of every key; empty: the URL's ?prefix=..., else "signe:world".
    std::string prefix;
};

class redis_registry final : public registry {
public:
    // Parses the URL (std::invalid_argument when wrong); connects at the first call.
    explicit redis_registry(redis_registry_options options);
    ~redis_registry() override;

    // "<prefix>:{<world_id>}:", the start of every key of this registry.
    const std::string& key_prefix() const { return keys_; }

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
    struct scripts;
    redis_reply run(redis_script& script, std::initializer_list<std::string_view> arguments);

    std::mutex mutex_;
    redis_client client_;
    std::string keys_;
    std::unique_ptr<scripts> scripts_;
};

// A world_options::registry_for over Redis: one redis_registry (and connection) per world id,
// created on first use. Throws std::invalid_argument when the URL is wrong.
std::function<std::shared_ptr<registry>(const std::string& world_id)> redis_registry_for(
    const std::string& url
);

// The registry_for that `spec` names: "redis://..." gives redis_registry_for(spec); "" or
// "memory" gives an empty function (the World's default, memory). Anything else throws
// std::invalid_argument.
std::function<std::shared_ptr<registry>(const std::string& world_id)> registry_for_spec(
    const std::string& spec
);

}  // namespace signe::world

#pragma once

// Redis storage: rooms kept in a Redis server that several processes and machines share.
//
// Layout: one Redis hash per room, `<prefix>:<party>:<room>` (party and room percent-encoded,
// so `signe:main:game-1`), whose fields are the storage keys and whose values are the JSON text
// of the values, as signe::to_text (and JavaScript's JSON.stringify) writes it:
//
//     HGETALL signe:main:game-1
//     1) "state:."                2) "{\"players\":{...}}"
//     3) "session:6f1c..."        4) "{\"publicId\":\"...\",...}"
//
// get is one HGET, list of a whole room one HGETALL, and list by prefix one Lua script that
// filters the room's hash inside Redis; entries are sorted by key (binary order) here.
//
// Atomicity: write and write_many each run one Lua script (EVALSHA) over every room of the call:
// Redis runs it without any other command in between, so no reader ever sees half a batch. The
// script checks every room's key type before it writes anything, so a key that is not a hash
// fails the whole call and changes nothing. How much survives a crash of Redis itself is Redis's
// persistence setting (appendonly yes with appendfsync everysec or always is advised); a script's
// writes reach the append-only file together, and a torn tail is dropped on load.
//
// When Redis is down, calls throw redis_error ("redis: connection refused (127.0.0.1:6379)")
// after at most the connect timeout; the server then logs the failure and each room rewrites its
// whole state at its next write. The next call reconnects by itself.
//
// Threading: one connection; calls are serialised by an internal mutex (the server calls a
// backend only from its storage thread anyway).

#include <signe/redis.hpp>
#include <signe/storage.hpp>

#include <memory>
#include <string>

namespace signe {

struct redis_storage_options {
    redis_options connection;
    // The first part of every room's key; keeps deployments sharing one Redis apart.
    std::string prefix = "signe";
};

class redis_storage final : public storage_backend {
public:
    // Connects (and checks that Redis answers). Throws std::invalid_argument for a bad URL or
    // prefix, redis_error when Redis cannot be reached.
    explicit redis_storage(redis_storage_options options);
    ~redis_storage() override;

    redis_storage(const redis_storage&) = delete;
    redis_storage& operator=(const redis_storage&) = delete;

    std::optional<json::value> get(const storage_key& room, std::string_view key) override;
    storage_entries list(const storage_key& room, std::string_view prefix) override;
    void write(const storage_key& room, const write_batch& batch) override;
    // All batches in one script: atomic together.
    void write_many(const std::vector<std::pair<storage_key, write_batch>>& batches) override;

    // The Redis key of a room's hash: "<prefix>:<party>:<room>", both percent-encoded.
    std::string room_key(const storage_key& room) const;
    const redis_storage_options& options() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// Options from a storage spec "redis://host:port[/db][?prefix=P&connect_timeout_ms=N&
// timeout_ms=N]" (what make_storage accepts). Throws std::invalid_argument.
redis_storage_options redis_storage_options_from_url(std::string_view url);

}  // namespace signe

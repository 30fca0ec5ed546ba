#pragma once

// Storage: a key-value store of JSON values per (namespace, room), where rooms keep their state,
// sessions and transfer tokens. A backend is plain blocking code: the server calls it only from
// its storage thread, one call at a time, so room threads never wait on disk.
//
// Key layout (the original's): "state:." (a full snapshot), "state:<path>" (changes since),
// "session:<privateId>", "session-public:<publicId>", "transfer:<token>", "$room:..." (internal).
// Room code may add its own keys through room_base::storage().

#include <signe/json.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signe {

// Which room a key belongs to: the party (namespace) and the room id.
struct storage_key {
    std::string ns;
    std::string room;

    auto operator<=>(const storage_key&) const = default;
};

// One atomic write for one room: deletions first (prefixes, then keys), then puts.
struct write_batch {
    std::vector<std::string> delete_prefixes;  // every key starting with one of these
    std::vector<std::string> deletes;
    std::vector<std::pair<std::string, json::value>> puts;

    bool empty() const { return delete_prefixes.empty() && deletes.empty() && puts.empty(); }
};

using storage_entries = std::vector<std::pair<std::string, json::value>>;

class storage_backend {
public:
    virtual ~storage_backend() = default;

    virtual std::optional<json::value> get(const storage_key& room, std::string_view key) = 0;
    // Entries whose key starts with `prefix` (all when empty), in ascending binary key order.
    virtual storage_entries list(const storage_key& room, std::string_view prefix) = 0;
    // Applies the batch atomically: after a crash, either all of it is there or none of it.
    virtual void write(const storage_key& room, const write_batch& batch) = 0;
    // Batches of several rooms; backends that can should apply them in one transaction.
    virtual void write_many(const std::vector<std::pair<storage_key, write_batch>>& batches) {
        for (const auto& [room, batch] : batches) {
            write(room, batch);
        }
    }
};

// In-memory storage (the default for tests). Thread-safe: snapshot, restore and clear may be
// called from any thread while the server runs.
class memory_storage final : public storage_backend {
public:
    // room key ("<ns>:<room>", both percent-encoded) -> [[key, value], ...]
    using snapshot_type = std::map<std::string, storage_entries>;

    std::optional<json::value> get(const storage_key& room, std::string_view key) override;
    storage_entries list(const storage_key& room, std::string_view prefix) override;
    void write(const storage_key& room, const write_batch& batch) override;

    // A deep copy of everything (rooms without keys are left out).
    snapshot_type snapshot() const;
    // Replaces everything with a snapshot.
    void restore(const snapshot_type& snapshot);
    void clear();

private:
    mutable std::mutex mutex_;
    std::map<storage_key, std::map<std::string, json::value, std::less<>>> rooms_;
};

// Picks a backend from a spec string: "memory", "sqlite:<path>" or "redis://host:port[/db]"
// (<signe/storage_redis.hpp>; connects at once and throws redis_error when Redis cannot be
// reached). Throws std::invalid_argument with a readable message for anything else.
std::shared_ptr<storage_backend> make_storage(std::string_view spec);

}  // namespace signe

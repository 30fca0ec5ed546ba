#include <signe/http.hpp>
#include <signe/storage.hpp>

namespace signe {
namespace {

std::string room_name(const storage_key& room) {
    return percent_encode(room.ns) + ":" + percent_encode(room.room);
}

storage_key room_from_name(std::string_view name) {
    auto colon = name.find(':');
    return {
        percent_decode(name.substr(0, colon)),
        percent_decode(colon == std::string_view::npos ? "" : name.substr(colon + 1))};
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::optional<json::value> memory_storage::get(const storage_key& room, std::string_view key) {
    std::lock_guard lock(mutex_);
    auto r = rooms_.find(room);
    if (r == rooms_.end()) {
        return std::nullopt;
    }
    auto it = r->second.find(key);
    if (it == r->second.end()) {
        return std::nullopt;
    }
    return it->second;
}

storage_entries memory_storage::list(const storage_key& room, std::string_view prefix) {
    std::lock_guard lock(mutex_);
    storage_entries out;
    auto r = rooms_.find(room);
    if (r == rooms_.end()) {
        return out;
    }
    for (auto it = r->second.lower_bound(prefix);
         it != r->second.end() && starts_with(it->first, prefix);
         ++it) {
        out.emplace_back(it->first, it->second);
    }
    return out;
}

void memory_storage::write(const storage_key& room, const write_batch& batch) {
    std::lock_guard lock(mutex_);
    auto& keys = rooms_[room];
    for (const auto& prefix : batch.delete_prefixes) {
        auto it = keys.lower_bound(prefix);
        while (it != keys.end() && starts_with(it->first, prefix)) {
            it = keys.erase(it);
        }
    }
    for (const auto& key : batch.deletes) {
        if (auto it = keys.find(key); it != keys.end()) {
            keys.erase(it);
        }
    }
    for (const auto& [key, value] : batch.puts) {
        keys.insert_or_assign(key, value);
    }
    if (keys.empty()) {
        rooms_.erase(room);
    }
}

memory_storage::snapshot_type memory_storage::snapshot() const {
    std::lock_guard lock(mutex_);
    snapshot_type out;
    for (const auto& [room, keys] : rooms_) {
        if (keys.empty()) {
            continue;
        }
        auto& entries = out[room_name(room)];
        for (const auto& [key, value] : keys) {
            entries.emplace_back(key, value);  // json::value copies deeply
        }
    }
    return out;
}

void memory_storage::restore(const snapshot_type& snapshot) {
    std::lock_guard lock(mutex_);
    rooms_.clear();
    for (const auto& [name, entries] : snapshot) {
        auto& keys = rooms_[room_from_name(name)];
        for (const auto& [key, value] : entries) {
            keys.insert_or_assign(key, value);
        }
    }
}

void memory_storage::clear() {
    std::lock_guard lock(mutex_);
    rooms_.clear();
}

}  // namespace signe

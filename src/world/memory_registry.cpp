// The World registry in memory: vectors in registration order under one mutex.

#include <signe/world_registry.hpp>

#include <algorithm>

namespace signe::world {

namespace {

// Seats are kept in reservation order (oldest first); a seat counts until its expires_at.
void drop_lapsed(std::vector<seat>& seats, std::int64_t now_ms) {
    std::erase_if(seats, [now_ms](const seat& s) { return s.expires_at <= now_ms; });
}

}  // namespace

std::string_view to_string(balancing_strategy s) {
    switch (s) {
        case balancing_strategy::round_robin:
            return "round-robin";
        case balancing_strategy::least_connections:
            return "least-connections";
        case balancing_strategy::random:
            return "random";
    }
    return "round-robin";
}

std::string_view to_string(shard_status s) {
    switch (s) {
        case shard_status::active:
            return "active";
        case shard_status::maintenance:
            return "maintenance";
        case shard_status::draining:
            return "draining";
    }
    return "active";
}

std::optional<balancing_strategy> parse_strategy(std::string_view text) {
    for (auto s :
         {balancing_strategy::round_robin,
          balancing_strategy::least_connections,
          balancing_strategy::random}) {
        if (to_string(s) == text) {
            return s;
        }
    }
    return std::nullopt;
}

std::optional<shard_status> parse_status(std::string_view text) {
    for (auto s : {shard_status::active, shard_status::maintenance, shard_status::draining}) {
        if (to_string(s) == text) {
            return s;
        }
    }
    return std::nullopt;
}

std::optional<room_config> memory_registry::room(const std::string& name) {
    std::lock_guard lock(mutex_);
    for (const auto& r : rooms_) {
        if (r.name == name) {
            return r;
        }
    }
    return std::nullopt;
}

void memory_registry::put_room(const room_config& config) {
    std::lock_guard lock(mutex_);
    for (auto& r : rooms_) {
        if (r.name == config.name) {
            r = config;
            return;
        }
    }
    rooms_.push_back(config);
}

std::vector<room_config> memory_registry::rooms() {
    std::lock_guard lock(mutex_);
    return rooms_;
}

memory_registry::entry* memory_registry::find(const std::string& id) {
    for (auto& e : shards_) {
        if (e.info.id == id) {
            return &e;
        }
    }
    return nullptr;
}

shard_info memory_registry::view(entry& e, std::int64_t now_ms) {
    drop_lapsed(e.seats, now_ms);
    shard_info out = e.info;
    out.reserved_seats = static_cast<int>(e.seats.size());
    return out;
}

std::vector<shard_info> memory_registry::shards(const std::string& room_id, std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    std::vector<shard_info> out;
    for (auto& e : shards_) {
        if (e.info.room_id == room_id) {
            out.push_back(view(e, now_ms));
        }
    }
    return out;
}

std::vector<shard_info> memory_registry::all_shards(std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    std::vector<shard_info> out;
    for (auto& e : shards_) {
        out.push_back(view(e, now_ms));
    }
    return out;
}

std::optional<shard_info> memory_registry::shard(const std::string& id, std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    entry* e = find(id);
    if (e == nullptr) {
        return std::nullopt;
    }
    return view(*e, now_ms);
}

add_outcome memory_registry::add_shard(const shard_info& shard, std::optional<int> max_shards) {
    std::lock_guard lock(mutex_);
    if (find(shard.id) != nullptr) {
        return add_outcome::duplicate_id;
    }
    if (max_shards) {
        auto count = std::count_if(shards_.begin(), shards_.end(), [&](const entry& e) {
            return e.info.room_id == shard.room_id;
        });
        if (count >= *max_shards) {
            return add_outcome::at_limit;
        }
    }
    entry e;
    e.info = shard;
    e.info.reserved_seats = 0;
    shards_.push_back(std::move(e));
    return add_outcome::added;
}

bool memory_registry::remove_shard(const std::string& id) {
    std::lock_guard lock(mutex_);
    return std::erase_if(shards_, [&](const entry& e) { return e.info.id == id; }) > 0;
}

bool memory_registry::set_status(const std::string& id, shard_status status) {
    std::lock_guard lock(mutex_);
    entry* e = find(id);
    if (e == nullptr) {
        return false;
    }
    e->info.status = status;
    return true;
}

heartbeat_outcome memory_registry::heartbeat(
    const std::string& id, const heartbeat_update& update
) {
    std::lock_guard lock(mutex_);
    entry* e = find(id);
    if (e == nullptr) {
        return heartbeat_outcome::not_found;
    }
    std::int64_t arrived = std::int64_t{update.connections} - e->info.current_connections;
    if (arrived > 0) {
        // The arrivals consumed seats: release the oldest live ones.
        drop_lapsed(e->seats, update.now_ms);
        auto released = std::min(static_cast<std::size_t>(arrived), e->seats.size());
        e->seats.erase(e->seats.begin(), e->seats.begin() + static_cast<std::ptrdiff_t>(released));
    }
    e->info.current_connections = update.connections;
    if (update.status) {
        e->info.status = *update.status;
    }
    e->info.last_heartbeat = update.now_ms;
    e->info.lease_until = update.lease_until;
    if (e->info.status == shard_status::draining && update.connections == 0) {
        std::erase_if(shards_, [&](const entry& x) { return x.info.id == id; });
        return heartbeat_outcome::removed;
    }
    return heartbeat_outcome::updated;
}

std::optional<seat> memory_registry::reserve_seat(
    const std::string& shard_id, std::int64_t now_ms, std::chrono::milliseconds ttl
) {
    std::lock_guard lock(mutex_);
    entry* e = find(shard_id);
    if (e == nullptr) {
        return std::nullopt;
    }
    if (!view(*e, now_ms).available()) {
        return std::nullopt;
    }
    seat s{shard_id, "seat-" + std::to_string(++seat_counter_), now_ms + ttl.count()};
    e->seats.push_back(s);
    return s;
}

bool memory_registry::release_seat(const std::string& shard_id, const std::string& seat_id) {
    std::lock_guard lock(mutex_);
    entry* e = find(shard_id);
    if (e == nullptr) {
        return false;
    }
    return std::erase_if(e->seats, [&](const seat& s) { return s.seat_id == seat_id; }) > 0;
}

std::uint64_t memory_registry::next_round_robin(const std::string& room_id) {
    std::lock_guard lock(mutex_);
    return round_robin_[room_id]++;
}

std::vector<std::string> memory_registry::remove_expired(std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    std::vector<std::string> removed;
    std::erase_if(shards_, [&](const entry& e) {
        if (now_ms > e.info.lease_until) {
            removed.push_back(e.info.id);
            return true;
        }
        return false;
    });
    return removed;
}

}  // namespace signe::world

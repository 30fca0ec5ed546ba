// The World registry in Redis: one Lua script (or one command) per call, so that several World
// processes share a world's rooms, shards, leases and seats (layout in world_redis_registry.hpp).

#include <signe/world_redis_registry.hpp>

#include <map>
#include <stdexcept>

namespace signe::world {

namespace {

// Shared by the scripts: K is ARGV[1], the key prefix. A shard row is
// {id, room, world, url, connections, maxConnections, status, lastHeartbeat, leaseUntil, seats}.
constexpr const char* lua_common = R"lua(
local K = ARGV[1]
local function num(x) return string.format('%.0f', x) end
local function shard_row(id, now)
  local h = redis.call('HMGET', K .. 'shard:' .. id, 'room', 'world', 'url', 'connections',
                       'maxConnections', 'status', 'lastHeartbeat', 'leaseUntil')
  if not h[1] then return nil end
  local seats = K .. 'seats:' .. id
  redis.call('ZREMRANGEBYSCORE', seats, '-inf', now)
  local n = redis.call('ZCARD', seats)
  return {id, h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], n}
end
local function drop_shard(id)
  local room = redis.call('HGET', K .. 'shard:' .. id, 'room')
  if not room then return 0 end
  redis.call('DEL', K .. 'shard:' .. id, K .. 'seats:' .. id)
  redis.call('ZREM', K .. 'shards', id)
  redis.call('ZREM', K .. 'room-shards:' .. room, id)
  redis.call('ZREM', K .. 'leases', id)
  return 1
end
)lua";

std::string script_source(const char* body) {
    return std::string(lua_common) + body;
}

// ARGV: K, name, strategy, public, maxPlayersPerShard, minShards, maxShards ('' = none)
constexpr const char* put_room_lua = R"lua(
local name = ARGV[2]
if not redis.call('ZSCORE', K .. 'rooms', name) then
  redis.call('ZADD', K .. 'rooms', redis.call('INCR', K .. 'seq'), name)
end
local key = K .. 'room:' .. name
redis.call('DEL', key)
redis.call('HSET', key, 'strategy', ARGV[3], 'public', ARGV[4], 'maxPlayersPerShard', ARGV[5],
           'minShards', ARGV[6], 'maxShards', ARGV[7])
return 1
)lua";

// ARGV: K. Rows {name, strategy, public, maxPlayersPerShard, minShards, maxShards}.
constexpr const char* rooms_lua = R"lua(
local out = {}
for _, name in ipairs(redis.call('ZRANGE', K .. 'rooms', 0, -1)) do
  local h = redis.call('HMGET', K .. 'room:' .. name, 'strategy', 'public', 'maxPlayersPerShard',
                       'minShards', 'maxShards')
  if h[1] then
    table.insert(out, {name, h[1], h[2], h[3], h[4], h[5]})
  end
end
return out
)lua";

// ARGV: K, now, room ('' = every room)
constexpr const char* shards_lua = R"lua(
local index = K .. 'shards'
if ARGV[3] ~= '' then index = K .. 'room-shards:' .. ARGV[3] end
local out = {}
for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  local row = shard_row(id, ARGV[2])
  if row then table.insert(out, row) end
end
return out
)lua";

// ARGV: K, now, id. An empty array when unknown.
constexpr const char* shard_lua = R"lua(
return shard_row(ARGV[3], ARGV[2]) or {}
)lua";

// ARGV: K, id, room, world, url, connections, maxConnections, status, lastHeartbeat, leaseUntil,
// maxShards ('' = unlimited)
constexpr const char* add_shard_lua = R"lua(
local id, room = ARGV[2], ARGV[3]
if redis.call('EXISTS', K .. 'shard:' .. id) == 1 then return 'duplicate' end
if ARGV[11] ~= '' and redis.call('ZCARD', K .. 'room-shards:' .. room) >= tonumber(ARGV[11]) then
  return 'limit'
end
local seq = redis.call('INCR', K .. 'seq')
redis.call('HSET', K .. 'shard:' .. id, 'room', room, 'world', ARGV[4], 'url', ARGV[5],
           'connections', ARGV[6], 'maxConnections', ARGV[7], 'status', ARGV[8],
           'lastHeartbeat', ARGV[9], 'leaseUntil', ARGV[10])
redis.call('ZADD', K .. 'shards', seq, id)
redis.call('ZADD', K .. 'room-shards:' .. room, seq, id)
redis.call('ZADD', K .. 'leases', ARGV[10], id)
return 'added'
)lua";

// ARGV: K, id
constexpr const char* remove_shard_lua = R"lua(
return drop_shard(ARGV[2])
)lua";

// ARGV: K, id, status
constexpr const char* set_status_lua = R"lua(
if redis.call('EXISTS', K .. 'shard:' .. ARGV[2]) == 0 then return 0 end
redis.call('HSET', K .. 'shard:' .. ARGV[2], 'status', ARGV[3])
return 1
)lua";

// ARGV: K, id, connections, status ('' = unchanged), now, leaseUntil.
// When connections rose by d since the last report, the d oldest live seats are released: the
// arrivals consumed them. "Oldest" is reservation order, the number in the seat id (seat-<n>,
// from INCR): the scores are expiries, which only follow that order for equal ttls, and equal
// scores would sort "seat-10" before "seat-9".
constexpr const char* heartbeat_lua = R"lua(
local id = ARGV[2]
local key = K .. 'shard:' .. id
if redis.call('EXISTS', key) == 0 then return 'not_found' end
local arrived = tonumber(ARGV[3]) - tonumber(redis.call('HGET', key, 'connections') or 0)
if arrived > 0 then
  local seats = K .. 'seats:' .. id
  redis.call('ZREMRANGEBYSCORE', seats, '-inf', ARGV[5])
  local live = redis.call('ZRANGE', seats, 0, -1)
  if #live <= arrived then
    redis.call('DEL', seats)
  else
    local order = {}
    for i, seat in ipairs(live) do order[i] = {tonumber(string.sub(seat, 6)) or 0, seat} end
    table.sort(order, function(a, b) return a[1] < b[1] end)
    for i = 1, arrived do redis.call('ZREM', seats, order[i][2]) end
  end
end
redis.call('HSET', key, 'connections', ARGV[3], 'lastHeartbeat', ARGV[5], 'leaseUntil', ARGV[6])
if ARGV[4] ~= '' then redis.call('HSET', key, 'status', ARGV[4]) end
redis.call('ZADD', K .. 'leases', ARGV[6], id)
if redis.call('HGET', key, 'status') == 'draining' and tonumber(ARGV[3]) == 0 then
  drop_shard(id)
  return 'removed'
end
return 'updated'
)lua";

// ARGV: K, id, now, ttl. {seatId, expiresAt}, or an empty array when refused.
constexpr const char* reserve_seat_lua = R"lua(
local id, now, ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local row = shard_row(id, ARGV[3])
if not row then return {} end
if row[7] ~= 'active' then return {} end
if now > tonumber(row[9]) then return {} end
if tonumber(row[5]) + row[10] >= tonumber(row[6]) then return {} end
local seat = 'seat-' .. redis.call('INCR', K .. 'seat-seq')
local expires = num(now + ttl)
redis.call('ZADD', K .. 'seats:' .. id, expires, seat)
return {seat, expires}
)lua";

// ARGV: K, now. The ids removed, in registration order.
constexpr const char* remove_expired_lua = R"lua(
local found = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', K .. 'leases', '-inf', '(' .. ARGV[2])) do
  table.insert(found, {id, tonumber(redis.call('ZSCORE', K .. 'shards', id) or 0)})
end
table.sort(found, function(a, b) return a[2] < b[2] end)
local out = {}
for _, f in ipairs(found) do table.insert(out, f[1]) end
for _, id in ipairs(out) do drop_shard(id) end
return out
)lua";

std::string text(const redis_reply& r) {
    if (r.type == redis_reply::kind::integer) {
        return std::to_string(r.integer);
    }
    return r.str;
}

long long number(const redis_reply& r) {
    if (r.type == redis_reply::kind::integer) {
        return r.integer;
    }
    if (r.is_nil() || r.str.empty()) {
        return 0;
    }
    try {
        return std::stoll(r.str);
    } catch (const std::exception&) {
        throw registry_unavailable("redis registry: not a number in the registry: " + r.str);
    }
}

std::string num(std::int64_t v) {
    return std::to_string(v);
}

shard_info shard_from(const redis_reply& row) {
    if (row.type != redis_reply::kind::array || row.elements.size() != 10) {
        throw registry_unavailable("redis registry: unexpected shard row");
    }
    const auto& e = row.elements;
    shard_info s;
    s.id = text(e[0]);
    s.room_id = text(e[1]);
    s.world_id = text(e[2]);
    s.url = text(e[3]);
    s.current_connections = static_cast<int>(number(e[4]));
    s.max_connections = static_cast<int>(number(e[5]));
    s.status = parse_status(text(e[6])).value_or(shard_status::active);
    s.last_heartbeat = number(e[7]);
    s.lease_until = number(e[8]);
    s.reserved_seats = static_cast<int>(number(e[9]));
    return s;
}

std::optional<room_config> room_from(const std::string& name, const std::vector<redis_reply>& h) {
    // h: strategy, public, maxPlayersPerShard, minShards, maxShards
    if (h.size() < 5 || h[0].is_nil()) {
        return std::nullopt;
    }
    room_config c;
    c.name = name;
    c.strategy = parse_strategy(text(h[0])).value_or(balancing_strategy::round_robin);
    c.is_public = text(h[1]) != "0";
    c.max_players_per_shard = static_cast<int>(number(h[2]));
    c.min_shards = static_cast<int>(number(h[3]));
    if (!h[4].is_nil() && !h[4].str.empty()) {
        c.max_shards = static_cast<int>(number(h[4]));
    }
    return c;
}

std::string key_prefix_for(const redis_registry_options& options, const redis_endpoint& endpoint) {
    std::string prefix = options.prefix;
    if (prefix.empty()) {
        prefix = endpoint.param("prefix", "signe:world");
    }
    return prefix + ":{" + options.world_id + "}:";
}

}  // namespace

struct redis_registry::scripts {
    redis_script put_room{script_source(put_room_lua)};
    redis_script rooms{script_source(rooms_lua)};
    redis_script shards{script_source(shards_lua)};
    redis_script shard{script_source(shard_lua)};
    redis_script add_shard{script_source(add_shard_lua)};
    redis_script remove_shard{script_source(remove_shard_lua)};
    redis_script set_status{script_source(set_status_lua)};
    redis_script heartbeat{script_source(heartbeat_lua)};
    redis_script reserve_seat{script_source(reserve_seat_lua)};
    redis_script remove_expired{script_source(remove_expired_lua)};
};

redis_registry::redis_registry(redis_registry_options options)
    : client_(options.connection),
      keys_(key_prefix_for(options, client_.endpoint())),
      scripts_(std::make_unique<scripts>()) {}

redis_registry::~redis_registry() = default;

redis_reply redis_registry::run(
    redis_script& script, std::initializer_list<std::string_view> arguments
) {
    // Called with mutex_ held.
    std::vector<std::string_view> argv;
    argv.reserve(arguments.size() + 1);
    argv.emplace_back(keys_);
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    try {
        return client_.eval(script, {}, redis_client::args(argv.data(), argv.size()));
    } catch (const redis_error& e) {
        throw registry_unavailable(e.what());
    }
}

std::optional<room_config> redis_registry::room(const std::string& name) {
    std::lock_guard lock(mutex_);
    redis_reply r;
    try {
        r = client_.command(
            {"HMGET",
             keys_ + "room:" + name,
             "strategy",
             "public",
             "maxPlayersPerShard",
             "minShards",
             "maxShards"}
        );
    } catch (const redis_error& e) {
        throw registry_unavailable(e.what());
    }
    return room_from(name, r.elements);
}

void redis_registry::put_room(const room_config& c) {
    std::lock_guard lock(mutex_);
    std::string max_players = num(c.max_players_per_shard);
    std::string min_shards = num(c.min_shards);
    std::string max_shards = c.max_shards ? num(*c.max_shards) : std::string();
    run(scripts_->put_room,
        {c.name,
         to_string(c.strategy),
         c.is_public ? "1" : "0",
         max_players,
         min_shards,
         max_shards});
}

std::vector<room_config> redis_registry::rooms() {
    std::lock_guard lock(mutex_);
    auto r = run(scripts_->rooms, {});
    std::vector<room_config> out;
    for (const auto& row : r.elements) {
        if (row.elements.size() != 6) {
            throw registry_unavailable("redis registry: unexpected room row");
        }
        std::vector<redis_reply> fields(row.elements.begin() + 1, row.elements.end());
        if (auto c = room_from(text(row.elements[0]), fields)) {
            out.push_back(std::move(*c));
        }
    }
    return out;
}

std::vector<shard_info> redis_registry::shards(const std::string& room_id, std::int64_t now_ms) {
    if (room_id.empty()) {
        return {};
    }
    std::lock_guard lock(mutex_);
    auto r = run(scripts_->shards, {num(now_ms), room_id});
    std::vector<shard_info> out;
    for (const auto& row : r.elements) {
        out.push_back(shard_from(row));
    }
    return out;
}

std::vector<shard_info> redis_registry::all_shards(std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    auto r = run(scripts_->shards, {num(now_ms), ""});
    std::vector<shard_info> out;
    for (const auto& row : r.elements) {
        out.push_back(shard_from(row));
    }
    return out;
}

std::optional<shard_info> redis_registry::shard(const std::string& id, std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    auto r = run(scripts_->shard, {num(now_ms), id});
    if (r.elements.empty()) {
        return std::nullopt;
    }
    return shard_from(r);
}

add_outcome redis_registry::add_shard(const shard_info& s, std::optional<int> max_shards) {
    std::lock_guard lock(mutex_);
    std::string connections = num(s.current_connections);
    std::string max_connections = num(s.max_connections);
    std::string heartbeat = num(s.last_heartbeat);
    std::string lease = num(s.lease_until);
    std::string limit = max_shards ? num(*max_shards) : std::string();
    auto r =
        run(scripts_->add_shard,
            {s.id,
             s.room_id,
             s.world_id,
             s.url,
             connections,
             max_connections,
             to_string(s.status),
             heartbeat,
             lease,
             limit});
    if (r.str == "duplicate") {
        return add_outcome::duplicate_id;
    }
    if (r.str == "limit") {
        return add_outcome::at_limit;
    }
    return add_outcome::added;
}

bool redis_registry::remove_shard(const std::string& id) {
    std::lock_guard lock(mutex_);
    return run(scripts_->remove_shard, {id}).integer == 1;
}

bool redis_registry::set_status(const std::string& id, shard_status status) {
    std::lock_guard lock(mutex_);
    return run(scripts_->set_status, {id, to_string(status)}).integer == 1;
}

heartbeat_outcome redis_registry::heartbeat(const std::string& id, const heartbeat_update& u) {
    std::lock_guard lock(mutex_);
    std::string connections = num(u.connections);
    std::string now = num(u.now_ms);
    std::string lease = num(u.lease_until);
    std::string_view status = u.status ? to_string(*u.status) : std::string_view();
    auto r = run(scripts_->heartbeat, {id, connections, status, now, lease});
    if (r.str == "not_found") {
        return heartbeat_outcome::not_found;
    }
    if (r.str == "removed") {
        return heartbeat_outcome::removed;
    }
    return heartbeat_outcome::updated;
}

std::optional<seat> redis_registry::reserve_seat(
    const std::string& shard_id, std::int64_t now_ms, std::chrono::milliseconds ttl
) {
    std::lock_guard lock(mutex_);
    std::string now = num(now_ms);
    std::string t = num(ttl.count());
    auto r = run(scripts_->reserve_seat, {shard_id, now, t});
    if (r.elements.size() != 2) {
        return std::nullopt;
    }
    return seat{shard_id, text(r.elements[0]), number(r.elements[1])};
}

bool redis_registry::release_seat(const std::string& shard_id, const std::string& seat_id) {
    std::lock_guard lock(mutex_);
    try {
        return client_.command({"ZREM", keys_ + "seats:" + shard_id, seat_id}).integer > 0;
    } catch (const redis_error& e) {
        throw registry_unavailable(e.what());
    }
}

std::uint64_t redis_registry::next_round_robin(const std::string& room_id) {
    std::lock_guard lock(mutex_);
    try {
        auto r = client_.command({"INCR", keys_ + "rr:" + room_id});
        return static_cast<std::uint64_t>(r.integer - 1);
    } catch (const redis_error& e) {
        throw registry_unavailable(e.what());
    }
}

std::vector<std::string> redis_registry::remove_expired(std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    auto r = run(scripts_->remove_expired, {num(now_ms)});
    std::vector<std::string> out;
    for (const auto& e : r.elements) {
        out.push_back(text(e));
    }
    return out;
}

std::function<std::shared_ptr<registry>(const std::string& world_id)> redis_registry_for(
    const std::string& url
) {
    (void)parse_redis_url(url);  // a wrong URL fails now, not at the first request
    struct registries {
        std::mutex mutex;
        std::map<std::string, std::shared_ptr<registry>> by_world;
    };
    auto shared = std::make_shared<registries>();
    return [shared, url](const std::string& world_id) -> std::shared_ptr<registry> {
        std::lock_guard lock(shared->mutex);
        auto& r = shared->by_world[world_id];
        if (!r) {
            redis_registry_options options;
            options.connection.url = url;
            options.world_id = world_id;
            r = std::make_shared<redis_registry>(std::move(options));
        }
        return r;
    };
}

std::function<std::shared_ptr<registry>(const std::string& world_id)> registry_for_spec(
    const std::string& spec
) {
    if (spec.empty() || spec == "memory") {
        return {};
    }
    if (spec.starts_with("redis://")) {
        return redis_registry_for(spec);
    }
    throw std::invalid_argument(
        "unknown world registry '" + spec + "' (expected memory or redis://host:port)"
    );
}

}  // namespace signe::world

// The World room: shard directory of one world id, over a registry (world_registry.hpp).

#include <openssl/crypto.h>

#include <signe/log.hpp>
#include <signe/payload.hpp>
#include <signe/world.hpp>
#include <signe/world_redis_registry.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>

namespace signe::world {
namespace {

using namespace std::chrono_literals;

// ---- request bodies (validated like the original's zod schemas) ----

constexpr std::string_view strategies[] = {"round-robin", "least-connections", "random"};
constexpr std::string_view statuses[] = {"active", "maintenance", "draining"};

struct register_room_body {
    std::string name;
    std::string balancing_strategy;
    bool is_public = true;
    int max_players_per_shard = 0;
    int min_shards = 0;
    std::optional<int> max_shards;
    static auto fields() {
        return signe::fields(
            field("name", &register_room_body::name).min(1),
            field("balancingStrategy", &register_room_body::balancing_strategy).one_of(strategies),
            field("public", &register_room_body::is_public),
            field("maxPlayersPerShard", &register_room_body::max_players_per_shard).min(1),
            field("minShards", &register_room_body::min_shards).min(0),
            field("maxShards", &register_room_body::max_shards).min(1)
        );
    }
};

struct update_shard_body {
    std::string shard_id;
    std::optional<std::string> world_id;
    int connections = 0;
    std::optional<std::string> status;
    static auto fields() {
        return signe::fields(
            field("shardId", &update_shard_body::shard_id),
            field("worldId", &update_shard_body::world_id),
            field("connections", &update_shard_body::connections).min(0),
            field("status", &update_shard_body::status).one_of(statuses)
        );
    }
};

struct shard_template {
    std::string url_template;
    int max_connections = 0;
    static auto fields() {
        return signe::fields(
            field("urlTemplate", &shard_template::url_template),
            field("maxConnections", &shard_template::max_connections).min(1)
        );
    }
};

struct scale_room_body {
    std::string room_id;
    int target_shard_count = 0;
    std::optional<shard_template> template_;
    static auto fields() {
        return signe::fields(
            field("roomId", &scale_room_body::room_id),
            field("targetShardCount", &scale_room_body::target_shard_count).min(1),
            field("shardTemplate", &scale_room_body::template_)
        );
    }
};

// zod's .optional() refuses null, which our optional<> accepts: report it as zod would.
void refuse_nulls(
    const json::value& body,
    std::initializer_list<std::pair<std::string_view, std::string_view>> optional_fields,
    validation_error& err
) {
    if (!body.is_object()) {
        return;
    }
    for (auto [name, expected] : optional_fields) {
        const json::value* v = body.get_object().if_contains(name);
        if (v != nullptr && v->is_null()) {
            validation_issue issue;
            issue.code = "invalid_type";
            issue.message = "Expected " + std::string(expected) + ", received null";
            issue.path.emplace_back(json::string(name));
            issue.extra = {{"expected", expected}, {"received", "null"}};
            err.issues.push_back(std::move(issue));
        }
    }
}

response error_reply(int status, std::string message, json::object extra = {}) {
    response r;
    r.error(status, message, extra);
    return r;
}

response invalid(std::string_view what, const validation_error& err) {
    response r;
    r.status(400).json(json::object{{"error", what}, {"details", err.to_json()}});
    return r;
}

// Reads a JSON body; an error reply when it is empty or not JSON (the original: 500 for the
// admin endpoints, 400 for /connect; here 400 everywhere).
std::optional<response> read_json(const request& req, json::value& out) {
    bool blank = std::all_of(req.body.begin(), req.body.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    });
    if (blank) {
        return error_reply(400, "Request body is empty");
    }
    boost::system::error_code ec;
    out = json::parse(req.body, ec);
    if (ec) {
        return error_reply(400, "Invalid JSON in request body");
    }
    return std::nullopt;
}

// JavaScript truthiness of a JSON value.
bool truthy(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return false;
        case json::kind::bool_:
            return v.get_bool();
        case json::kind::int64:
            return v.get_int64() != 0;
        case json::kind::uint64:
            return v.get_uint64() != 0;
        case json::kind::double_:
            return v.get_double() != 0 && v.get_double() == v.get_double();
        case json::kind::string:
            return !v.get_string().empty();
        default:
            return true;
    }
}

// A name that would corrupt the registry's dotted storage paths or the shard's
// "<room>:<world>:..." id parsing.
bool bad_room_name(std::string_view name) {
    return name.find('.') != std::string_view::npos || name.find(':') != std::string_view::npos;
}

std::string replace_all(std::string text, std::string_view what, std::string_view with) {
    for (std::size_t at = text.find(what); at != std::string::npos;
         at = text.find(what, at + with.size())) {
        text.replace(at, what.size(), with);
    }
    return text;
}

bool equal_secret(std::string_view given, std::string_view expected) {
    return given.size() == expected.size() &&
           CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

// ---- the registry as admin sockets see it (the original's synced `rooms` and `shards`) ----

// The original's ShardInfo: `shards.<shardId>` = {roomId, worldId, url, currentConnections,
// maxConnections, status, lastHeartbeat}. The key (the original's @id) is not sent.
struct shard_view {
    std::string id;
    synced<std::string> room_id;
    synced<std::string> world_id;
    synced<std::string> url;
    synced<int> current_connections{0};
    synced<int> max_connections{0};
    synced<std::string> status{"active"};
    synced<std::int64_t> last_heartbeat{0};
    static auto fields() {
        return signe::fields(
            field("id", &shard_view::id).key(),
            field("roomId", &shard_view::room_id),
            field("worldId", &shard_view::world_id),
            field("url", &shard_view::url),
            field("currentConnections", &shard_view::current_connections),
            field("maxConnections", &shard_view::max_connections),
            field("status", &shard_view::status),
            field("lastHeartbeat", &shard_view::last_heartbeat)
        );
    }
};

shard_view view_of(const shard_info& s) {
    shard_view v;
    v.id = s.id;
    v.room_id = s.room_id;
    v.world_id = s.world_id;
    v.url = s.url;
    v.current_connections = s.current_connections;
    v.max_connections = s.max_connections;
    v.status = std::string(to_string(s.status));
    v.last_heartbeat = s.last_heartbeat;
    return v;
}

// The original's RoomConfig: `rooms.<name>` = {name, balancingStrategy, public,
// maxPlayersPerShard, minShards, maxShards?}. A room without maxShards leaves the key out, as the
// original's undefined does; so a whole entry (not one field) goes out when a config changes.
json::value view_of(const room_config& r) {
    json::object o{
        {"name", r.name},
        {"balancingStrategy", to_string(r.strategy)},
        {"public", r.is_public},
        {"maxPlayersPerShard", r.max_players_per_shard},
        {"minShards", r.min_shards}};
    if (r.max_shards) {
        o["maxShards"] = *r.max_shards;
    }
    return o;
}

// ---- the room ----

class world_room : public room_base {
public:
    // The registry mirrored for admin sockets. Never persisted: the registry is the store.
    static auto fields() {
        return signe::fields(
            field("rooms", &world_room::rooms_).transient(),
            field("shards", &world_room::shards_).transient()
        );
    }

    static void define(room_spec<world_room>& spec) {
        spec.path("world-{worldId}")
            .throttle_sync(500ms)  // the original's throttleSync: heartbeats coalesce
            .on_start(&world_room::start)
            .join_guard(&world_room::admin_join)
            .on_join(&world_room::admin_joined)
            .http(verb::post, "/connect", &world_room::connect)
            .http(verb::post, "/register-room", &world_room::register_room, {&world_room::admin})
            .http(verb::post, "/update-shard", &world_room::update_shard, {&world_room::admin})
            .http(verb::post, "/scale-room", &world_room::scale_room, {&world_room::admin});
    }

    void configure(std::shared_ptr<const world_options> options) {
        options_ = std::move(options);
        if (options_->random_seed) {
            rng_.seed(*options_->random_seed);
        } else {
            std::random_device rd;
            rng_.seed((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
        }
    }

private:
    // ---- lifecycle ----

    void start() { arm_cleanup(); }

    void arm_cleanup() {
        if (options_->cleanup_every.count() <= 0) {
            return;
        }
        set_timer(options_->cleanup_every, [this] {
            cleanup_inactive_shards();
            arm_cleanup();
        });
    }

    void cleanup_inactive_shards() {
        try {
            for (const auto& id : reg().remove_expired(now_ms())) {
                log(log_level::info, "world " + this->id() + ": removed inactive shard " + id);
            }
        } catch (const registry_unavailable& e) {
            log(log_level::warn, "world " + this->id() + ": cleanup skipped: " + e.what());
            return;
        }
        // Other World processes sharing a Redis registry change it too (their shards' heartbeats,
        // their /connect, their admins): the timer brings those changes to this process's
        // admin sockets, at most one cleanup period late.
        if (watched()) {
            mirror_all();
        }
    }

    // ---- the mirror of the registry (admin sockets) ----
    //
    // `rooms_` and `shards_` hold the registry as the original's synced state. They are kept
    // current only while an admin socket is connected; a joining admin refreshes them first, so
    // its initial sync is the whole registry. Writing an unchanged value records nothing, so only
    // the entries (and shard fields) that changed go out, and removed entries as "$delete".
    // A call that failed with registry_unavailable refreshes nothing (the store is down); the
    // next call or cleanup tick brings what it may have written.

    bool watched() const { return !connections().empty(); }

    void admin_joined(connection&, const request_info&) { mirror_all(); }

    void mirror_all() {
        try {
            std::map<std::string, json::value, std::less<>> rooms;
            for (const auto& r : reg().rooms()) {
                rooms.emplace(r.name, view_of(r));
            }
            std::map<std::string, shard_view, std::less<>> shards;
            for (const auto& s : reg().all_shards(now_ms())) {
                shards.emplace(s.id, view_of(s));
            }
            rooms_.assign(rooms);
            shards_.assign(shards);
        } catch (const registry_unavailable& e) {
            log(log_level::warn, "world " + id() + ": admin state not refreshed: " + e.what());
        }
    }

    // One room's config and shards, after a call that changed them.
    void mirror_room(const std::string& name) {
        if (!watched()) {
            return;
        }
        try {
            if (auto room = reg().room(name)) {
                rooms_.set(name, view_of(*room));
            } else {
                rooms_.erase(name);
            }
            std::vector<shard_info> shards = reg().shards(name, now_ms());
            std::vector<std::string> gone;
            for (const auto& [shard_id, view] : shards_) {
                bool listed = std::any_of(shards.begin(), shards.end(), [&](const auto& s) {
                    return s.id == shard_id;
                });
                if (view.room_id.get() == name && !listed) {
                    gone.push_back(shard_id);
                }
            }
            for (const auto& shard_id : gone) {
                shards_.erase(shard_id);
            }
            for (const auto& s : shards) {
                shards_.set(s.id, view_of(s));
            }
        } catch (const registry_unavailable& e) {
            log(log_level::warn, "world " + id() + ": admin state not refreshed: " + e.what());
        }
    }

    // A heartbeat sets exactly these fields (or removes the shard): no registry read needed.
    void mirror_heartbeat(shard_info shard, const heartbeat_update& update, heartbeat_outcome how) {
        if (!watched()) {
            return;
        }
        if (how != heartbeat_outcome::updated) {
            shards_.erase(shard.id);
            return;
        }
        shard.current_connections = update.connections;
        if (update.status) {
            shard.status = *update.status;
        }
        shard.last_heartbeat = update.now_ms;
        shards_.set(shard.id, view_of(shard));
    }

    registry& reg() {
        if (!registry_) {
            registry_ = options_->registry_for(id());
            if (!registry_) {
                throw registry_unavailable("no registry for world " + id());
            }
        }
        return *registry_;
    }

    std::optional<response> config_error() const {
        if (options_->jwt_secret.empty()) {
            return error_reply(500, "AUTH_JWT_SECRET env variable is not set");
        }
        if (options_->shard_secret.empty()) {
            return error_reply(500, "SHARD_SECRET env variable is not set");
        }
        return std::nullopt;
    }

    // ---- guards ----

    decision admin(request& req) {
        if (auto err = config_error()) {
            return decision(std::move(*err));
        }
        admin_verdict v = check_admin(req, id(), *options_, now_ms() / 1000);
        if (!v.allowed) {
            log(log_level::debug, "world " + id() + ": admin refused: " + v.reason);
        }
        return v.allowed;
    }

    bool admin_join(connection&, const request_info& req) {
        if (config_error()) {
            return false;
        }
        return check_admin(req, id(), *options_, now_ms() / 1000).allowed;
    }

    // ---- shards ----

    std::string new_shard_id(const std::string& room_id) {
        std::uniform_int_distribution<int> suffix(0, 9999);
        return room_id + ":" + id() + ":" + std::to_string(now_ms()) + "-" +
               std::to_string(suffix(rng_));
    }

    // Adds a shard to `room` (never beyond its maxShards); nullopt when the limit is reached.
    std::optional<shard_info> create_shard(
        const room_config& room, const std::optional<shard_template>& tmpl
    ) {
        for (int attempt = 0; attempt < 16; ++attempt) {
            shard_info s;
            s.id = new_shard_id(room.name);
            s.room_id = room.name;
            s.world_id = id();
            std::string url_template = tmpl ? tmpl->url_template : options_->default_url_template;
            s.url =
                replace_all(replace_all(url_template, "{shardId}", s.id), "{roomId}", room.name);
            s.max_connections = tmpl && tmpl->max_connections > 0 ? tmpl->max_connections
                                                                  : room.max_players_per_shard;
            s.status = shard_status::active;
            s.last_heartbeat = now_ms();
            s.lease_until = now_ms() + options_->inactive_after.count();
            switch (reg().add_shard(s, room.max_shards)) {
                case add_outcome::added:
                    return s;
                case add_outcome::at_limit:
                    return std::nullopt;
                case add_outcome::duplicate_id:
                    break;  // same millisecond and suffix: again
            }
        }
        return std::nullopt;
    }

    void top_up(const room_config& room) {
        auto count = static_cast<int>(reg().shards(room.name, now_ms()).size());
        for (; count < room.min_shards; ++count) {
            if (!create_shard(room, std::nullopt)) {
                break;
            }
        }
    }

    const shard_info& pick(
        const room_config& room, const std::vector<const shard_info*>& available
    ) {
        switch (room.strategy) {
            case balancing_strategy::least_connections: {
                const shard_info* best = available.front();
                for (const shard_info* s : available) {
                    if (s->current_connections + s->reserved_seats <
                        best->current_connections + best->reserved_seats) {
                        best = s;
                    }
                }
                return *best;
            }
            case balancing_strategy::random: {
                std::uniform_int_distribution<std::size_t> d(0, available.size() - 1);
                return *available[d(rng_)];
            }
            case balancing_strategy::round_robin:
                break;
        }
        return *available[reg().next_round_robin(room.name) % available.size()];
    }

    static response granted(const shard_info& s) {
        response r;
        r.json(json::object{{"success", true}, {"shardId", s.id}, {"url", s.url}});
        return r;
    }

    // ---- endpoints ----

    response connect(request& req) {
        if (auto err = config_error()) {
            return std::move(*err);
        }
        json::value body;
        if (auto err = read_json(req, body)) {
            return std::move(*err);
        }
        const json::value* room_value =
            body.is_object() ? body.get_object().if_contains("roomId") : nullptr;
        if (room_value == nullptr || !truthy(*room_value)) {
            return error_reply(400, "roomId parameter is required");
        }
        if (!room_value->is_string()) {
            return error_reply(400, "roomId must be a string");
        }
        std::string room_id(room_value->get_string());
        if (bad_room_name(room_id)) {
            return error_reply(400, "roomId must not contain '.' or ':'");
        }
        const json::value* auto_value = body.get_object().if_contains("autoCreate");
        bool auto_create = auto_value == nullptr || truthy(*auto_value);
        // Admins see rooms and shards that /connect creates; a seat alone changes nothing they
        // see (the original has no seats: currentConnections moves with heartbeats only).
        bool created = false;
        try {
            response r = find_shard(room_id, auto_create, created);
            if (created) {
                mirror_room(room_id);
            }
            return r;
        } catch (const registry_unavailable& e) {
            return error_reply(503, std::string("World registry unavailable: ") + e.what());
        }
    }

    response find_shard(const std::string& room_id, bool auto_create, bool& created) {
        std::optional<room_config> room = reg().room(room_id);
        if (!room) {
            if (!auto_create) {
                return error_reply(404, "Room " + room_id + " does not exist");
            }
            room_config fresh;
            fresh.name = room_id;
            reg().put_room(fresh);
            created = true;
            room = fresh;
        }
        // A seat is reserved atomically on the chosen shard; when another world process took the
        // last one in between, choose again.
        for (int attempt = 0; attempt < 4; ++attempt) {
            std::vector<shard_info> shards = reg().shards(room_id, now_ms());
            const shard_info* chosen = nullptr;
            std::optional<shard_info> fresh_shard;
            if (shards.empty()) {
                if (!auto_create) {
                    return error_reply(404, "No shards available for room " + room_id);
                }
                fresh_shard = create_shard(*room, std::nullopt);
                if (!fresh_shard) {
                    continue;  // another process added one meanwhile
                }
                created = true;
                chosen = &*fresh_shard;
            } else {
                std::vector<const shard_info*> available;
                for (const auto& s : shards) {
                    if (s.available()) {
                        available.push_back(&s);
                    }
                }
                if (available.empty()) {
                    bool may_create =
                        auto_create &&
                        (!room->max_shards || static_cast<int>(shards.size()) < *room->max_shards);
                    if (may_create) {
                        fresh_shard = create_shard(*room, std::nullopt);
                    }
                    if (!fresh_shard) {
                        bool any_active =
                            std::any_of(shards.begin(), shards.end(), [](const auto& s) {
                                return s.status == shard_status::active;
                            });
                        return error_reply(
                            404,
                            any_active ? "No shard capacity available for room " + room_id
                                       : "No active shards available for room " + room_id
                        );
                    }
                    created = true;
                    chosen = &*fresh_shard;
                } else {
                    chosen = &pick(*room, available);
                }
            }
            if (reg().reserve_seat(chosen->id, now_ms(), options_->seat_ttl)) {
                return granted(*chosen);
            }
        }
        return error_reply(503, "Could not reserve a seat for room " + room_id + ", try again");
    }

    response register_room(request& req) {
        json::value body;
        if (auto err = read_json(req, body)) {
            return std::move(*err);
        }
        validation_error err;
        refuse_nulls(body, {{"maxShards", "number"}}, err);
        auto parsed = decode<register_room_body>(body, err);
        if (!parsed || !err.empty()) {
            return invalid("Invalid room configuration", err);
        }
        if (parsed->max_shards && parsed->min_shards > *parsed->max_shards) {
            return error_reply(400, "minShards cannot be greater than maxShards");
        }
        if (bad_room_name(parsed->name)) {
            return error_reply(400, "name must not contain '.' or ':'");
        }
        room_config config;
        config.name = parsed->name;
        config.strategy = *parse_strategy(parsed->balancing_strategy);
        config.is_public = parsed->is_public;
        config.max_players_per_shard = parsed->max_players_per_shard;
        config.min_shards = parsed->min_shards;
        config.max_shards = parsed->max_shards;
        try {
            reg().put_room(config);
            top_up(config);
        } catch (const registry_unavailable& e) {
            return error_reply(503, std::string("World registry unavailable: ") + e.what());
        }
        mirror_room(config.name);
        return response{};
    }

    response update_shard(request& req) {
        json::value body;
        if (auto err = read_json(req, body)) {
            return std::move(*err);
        }
        validation_error err;
        refuse_nulls(body, {{"worldId", "string"}, {"status", "string"}}, err);
        auto parsed = decode<update_shard_body>(body, err);
        if (!parsed || !err.empty()) {
            return invalid("Invalid shard stats", err);
        }
        try {
            auto shard = reg().shard(parsed->shard_id, now_ms());
            if (!shard) {
                return error_reply(404, "Shard " + parsed->shard_id + " not found");
            }
            if (parsed->world_id && *parsed->world_id != id()) {
                return error_reply(
                    400,
                    "Shard " + parsed->shard_id + " belongs to world " + *parsed->world_id +
                        ", not " + id()
                );
            }
            heartbeat_update update;
            update.connections = parsed->connections;
            if (parsed->status) {
                update.status = parse_status(*parsed->status);
            }
            update.now_ms = now_ms();
            update.lease_until = now_ms() + options_->inactive_after.count();
            heartbeat_outcome how = reg().heartbeat(parsed->shard_id, update);
            mirror_heartbeat(*shard, update, how);
            if (how == heartbeat_outcome::not_found) {
                return error_reply(404, "Shard " + parsed->shard_id + " not found");
            }
        } catch (const registry_unavailable& e) {
            return error_reply(503, std::string("World registry unavailable: ") + e.what());
        }
        return response{};
    }

    response scale_room(request& req) {
        json::value body;
        if (auto err = read_json(req, body)) {
            return std::move(*err);
        }
        validation_error err;
        refuse_nulls(body, {{"shardTemplate", "object"}}, err);
        auto parsed = decode<scale_room_body>(body, err);
        if (!parsed || !err.empty()) {
            return invalid("Invalid scale room request", err);
        }
        try {
            auto room = reg().room(parsed->room_id);
            if (!room) {
                return error_reply(404, "Room " + parsed->room_id + " does not exist");
            }
            std::vector<shard_info> shards = reg().shards(room->name, now_ms());
            auto current = static_cast<int>(shards.size());
            int target = parsed->target_shard_count;
            if (room->max_shards && target > *room->max_shards) {
                return error_reply(
                    400,
                    "Cannot scale beyond maximum allowed shards (" +
                        std::to_string(*room->max_shards) + ")",
                    {{"roomId", room->name}, {"currentShardCount", current}}
                );
            }
            if (target < current) {
                // Draining shards first, then the emptiest; ties keep registry order.
                std::stable_sort(shards.begin(), shards.end(), [](const auto& a, const auto& b) {
                    bool da = a.status == shard_status::draining;
                    bool db = b.status == shard_status::draining;
                    if (da != db) {
                        return da;
                    }
                    return a.current_connections < b.current_connections;
                });
                for (int i = 0; i < current - target; ++i) {
                    const shard_info& s = shards[static_cast<std::size_t>(i)];
                    reg().set_status(s.id, shard_status::draining);
                    if (s.current_connections == 0) {
                        reg().remove_shard(s.id);
                    }
                }
            } else {
                for (int i = current; i < target; ++i) {
                    if (!create_shard(*room, parsed->template_)) {
                        break;
                    }
                }
            }
            mirror_room(room->name);
        } catch (const registry_unavailable& e) {
            return error_reply(503, std::string("World registry unavailable: ") + e.what());
        }
        return response{};
    }

    synced_map<json::value> rooms_;  // name -> RoomConfig
    synced_map<shard_view> shards_;  // shard id -> ShardInfo
    std::shared_ptr<const world_options> options_;
    std::shared_ptr<registry> registry_;
    std::mt19937_64 rng_;
};

}  // namespace

world_options world_options::from_env(world_options defaults) {
    if (const char* v = std::getenv("AUTH_JWT_SECRET"); v != nullptr && *v != '\0') {
        defaults.jwt_secret = v;
    }
    if (const char* v = std::getenv("SHARD_SECRET"); v != nullptr && *v != '\0') {
        defaults.shard_secret = v;
    }
    // SIGNE_WORLD_REGISTRY: "memory" (the default) or a redis:// URL shared by World processes.
    if (const char* v = std::getenv("SIGNE_WORLD_REGISTRY"); v != nullptr && *v != '\0') {
        if (auto chosen = registry_for_spec(v)) {
            defaults.registry_for = std::move(chosen);
        }
    }
    return defaults;
}

world_options world_options::from_env() {
    return from_env(world_options{});
}

admin_verdict check_admin(
    const request_info& req,
    std::string_view world_id,
    const world_options& options,
    std::int64_t now_s
) {
    if (auto shard = req.header("x-access-shard"); shard && !shard->empty()) {
        if (options.shard_secret.empty()) {
            return {false, "SHARD_SECRET env variable is not set"};
        }
        if (equal_secret(*shard, options.shard_secret)) {
            return {true, ""};
        }
        return {false, "Invalid x-access-shard"};
    }
    std::string token;
    if (auto auth = req.header("authorization")) {
        constexpr std::string_view bearer = "Bearer ";
        if (auth->starts_with(bearer)) {
            std::string_view rest = auth->substr(bearer.size());
            while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) {
                rest.remove_prefix(1);
            }
            while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) {
                rest.remove_suffix(1);
            }
            token = rest;
        } else {
            token = *auth;
        }
    } else if (auto q = req.query_param("world-auth-token")) {
        token = *q;
    }
    if (token.empty()) {
        return {false, "No token"};
    }
    if (options.jwt_secret.empty()) {
        return {false, "AUTH_JWT_SECRET env variable is not set"};
    }
    jwt_auth auth(options.jwt_secret, [now_s] { return now_s; });
    jwt_verification v = auth.verify(token);
    if (!v) {
        return {false, v.error};
    }
    const json::value* worlds = v.payload->if_contains("worlds");
    if (worlds == nullptr || !worlds->is_array()) {
        return {false, "The token has no worlds claim"};
    }
    for (const auto& w : worlds->get_array()) {
        if (w.is_string() && (w.get_string() == "*" || w.get_string() == world_id)) {
            return {true, ""};
        }
    }
    return {false, "The token does not grant world " + std::string(world_id)};
}

signe::detail::room_definition definition(world_options options) {
    if (!options.registry_for) {
        struct registries {
            std::mutex mutex;
            std::map<std::string, std::shared_ptr<registry>> by_world;
        };
        auto shared = std::make_shared<registries>();
        options.registry_for = [shared](const std::string& world_id) -> std::shared_ptr<registry> {
            std::lock_guard lock(shared->mutex);
            auto& r = shared->by_world[world_id];
            if (!r) {
                r = std::make_shared<memory_registry>();
            }
            return r;
        };
    }
    auto opts = std::make_shared<const world_options>(std::move(options));
    signe::detail::room_definition def = define_room<world_room>();
    def.options.path = opts->path;
    auto create = def.create;
    def.create = [create, opts](const room_info& info) {
        auto object = create(info);
        static_cast<world_room*>(object->instance())->configure(opts);
        return object;
    };
    return def;
}

}  // namespace signe::world

#pragma once

// A World room in the test harness (party `world`), with its memory registry in reach, admin
// tokens signed on the harness clock, and JSON helpers.

#include <signe/jwt.hpp>
#include <signe/testing.hpp>
#include <signe/world.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace world_test {

namespace json = signe::json;
using signe::verb;
using signe::world::memory_registry;
using signe::world::shard_info;
using signe::world::world_options;

inline constexpr const char* jwt_secret = "test-secret";
inline constexpr const char* shard_secret = "shard-secret";

inline world_options test_options() {
    world_options o;
    o.jwt_secret = jwt_secret;
    o.shard_secret = shard_secret;
    o.random_seed = 42;
    return o;
}

struct registry_holder {
    std::shared_ptr<memory_registry> registry = std::make_shared<memory_registry>();
};

class world_harness : private registry_holder, public signe::testing::harness_base {
public:
    explicit world_harness(std::string world_id = "world-default", world_options o = test_options())
        : registry_holder(),
          harness_base(
              signe::world::definition(with_registry(std::move(o), registry)),
              std::move(world_id),
              "world",
              std::make_shared<signe::memory_storage>()
          ) {}

    memory_registry& reg() { return *registry; }

    // A JWT signed with the world's secret on the harness clock.
    std::string token(const json::value& worlds, std::string_view secret = jwt_secret) {
        signe::jwt_auth auth(std::string(secret), [this] { return now_ms() / 1000; });
        json::object payload;
        if (!worlds.is_null()) {
            payload["worlds"] = worlds;
        }
        return auth.sign(payload);
    }
    // What world.spec sends: `Authorization: <raw JWT with worlds [this world]>`.
    std::vector<std::pair<std::string, std::string>> admin() {
        return {{"authorization", token(json::array{json::string(info().id)})}};
    }

    signe::response post(
        const std::string& path,
        const json::value& body,
        std::vector<std::pair<std::string, std::string>> headers = {}
    ) {
        return request(verb::post, path, json::serialize(body), std::move(headers));
    }
    signe::response admin_post(const std::string& path, const json::value& body) {
        return post(path, body, admin());
    }

    signe::response register_room(
        const std::string& name,
        int max_players,
        int min_shards,
        std::optional<int> max_shards = std::nullopt,
        const std::string& strategy = "round-robin"
    ) {
        json::object body{
            {"name", name},
            {"balancingStrategy", strategy},
            {"public", true},
            {"maxPlayersPerShard", max_players},
            {"minShards", min_shards}};
        if (max_shards) {
            body["maxShards"] = *max_shards;
        }
        return admin_post("/register-room", body);
    }
    signe::response update_shard(
        const std::string& shard_id, int connections, const std::string& status = ""
    ) {
        json::object body{{"shardId", shard_id}, {"connections", connections}};
        if (!status.empty()) {
            body["status"] = status;
        }
        return admin_post("/update-shard", body);
    }
    signe::response connect_to(const std::string& room, std::optional<bool> auto_create = {}) {
        json::object body{{"roomId", room}};
        if (auto_create) {
            body["autoCreate"] = *auto_create;
        }
        return post("/connect", body);
    }
    std::vector<shard_info> shards(const std::string& room) { return reg().shards(room, now_ms()); }

private:
    static world_options with_registry(world_options o, std::shared_ptr<memory_registry> r) {
        o.registry_for = [r](const std::string&) { return r; };
        return o;
    }
};

inline json::value body_of(const signe::response& r) {
    return json::parse(r.body_text());
}
inline std::string error_of(const signe::response& r) {
    json::value b = body_of(r);
    if (!b.is_object() || !b.as_object().contains("error")) {
        return "";
    }
    return std::string(b.at("error").as_string());
}
inline std::string shard_of(const signe::response& r) {
    return std::string(body_of(r).at("shardId").as_string());
}

}  // namespace world_test

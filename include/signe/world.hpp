#pragma once

// The World: the directory a client asks for a shard of a room (the original's WorldRoom), as a
// room type `world-{worldId}` that any signe::server can serve. Mount it under the party `world`:
//
//     signe::server srv{signe::config_from_args(argc, argv)};
//     srv.add_room(signe::world::definition());   // secrets from AUTH_JWT_SECRET, SHARD_SECRET
//
//     POST /parties/world/world-default/connect        {"roomId":"game","autoCreate":true}
//       -> {"success":true,"shardId":"game:world-default:1795343947607-6701","url":"..."}
//     POST /parties/world/world-default/register-room  (admin) room configuration
//     POST /parties/world/world-default/update-shard   (admin) shard heartbeat / status
//     POST /parties/world/world-default/scale-room     (admin) shard count of a room
//
// Admins are shards presenting `x-access-shard: <SHARD_SECRET>`, or holders of a JWT (HS256,
// AUTH_JWT_SECRET) whose `worlds` claim lists "*" or the world id, sent as
// `Authorization: Bearer <jwt>` (or the raw token) or `?world-auth-token=<jwt>`.
// Each world id is its own room with its own registry (see world_registry.hpp).

#include <signe/http.hpp>
#include <signe/jwt.hpp>
#include <signe/room.hpp>
#include <signe/world_registry.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace signe::world {

struct world_options {
    std::string jwt_secret;    // AUTH_JWT_SECRET: verifies admin tokens
    std::string shard_secret;  // SHARD_SECRET: shards (and any holder) are admins
    // A shard with no heartbeat for longer than this is removed (checked every cleanup_every).
    std::chrono::milliseconds inactive_after = std::chrono::minutes(5);
    std::chrono::milliseconds cleanup_every = std::chrono::seconds(60);
    // How long a seat taken by /connect counts against a shard's capacity unless released.
    std::chrono::milliseconds seat_ttl = std::chrono::seconds(10);
    // The url of a shard created without a template ("{shardId}" and "{roomId}" are replaced).
    std::string default_url_template = "{shardId}";
    // The room id pattern; the world id is the whole room id ("world-default").
    std::string path = "world-{worldId}";
    // The registry of a world id. Default: one memory_registry per world id for the process.
    std::function<std::shared_ptr<registry>(const std::string& world_id)> registry_for;
    // Seeds the random strategy and shard id suffixes (tests); nullopt: from the system.
    std::optional<std::uint64_t> random_seed;

    // `defaults` with jwt_secret from AUTH_JWT_SECRET and shard_secret from SHARD_SECRET when
    // those are set.
    static world_options from_env(world_options defaults);
    static world_options from_env();
};

// Why a request may or may not manage a world (the original's guardManageWorld).
struct admin_verdict {
    bool allowed = false;
    std::string reason;  // why not, for logs
};

// `x-access-shard` equal to the shard secret (a wrong one is refused without looking at tokens);
// else the JWT from `Authorization` ("Bearer <t>" or the raw token) or, without that header,
// `?world-auth-token=`, whose `worlds` array lists "*" or `world_id`. `now_s`: epoch seconds.
admin_verdict check_admin(
    const request_info& req,
    std::string_view world_id,
    const world_options& options,
    std::int64_t now_s
);

// The world room type, ready for server::add_room or a test harness.
signe::detail::room_definition definition(world_options options = world_options::from_env());

}  // namespace signe::world

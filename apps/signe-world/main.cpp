// signe-world: the World of a deployment. Serves /parties/world/<worldId>/{connect,
// register-room,update-shard,scale-room} for any world id matching world-{worldId}.
//
//     AUTH_JWT_SECRET=... SHARD_SECRET=... signe-world --port=3100
//
// Flags: the server's (--port, --address, --threads, ...) plus
//   --shard-timeout=SECONDS or --shard-timeout-ms=MS  a shard silent this long is removed
//                                                     (default 300 s)
//   --cleanup-every=SECONDS or --cleanup-every-ms=MS  how often silent shards are looked for
//                                                     (default 60 s; 0 = never)
//   --seat-ttl=MS                                     how long a seat taken by /connect counts
//                                                     unless released (default 10000)
//   --registry=memory|redis://host:port[/db][?prefix=...]  where rooms, shards and seats live
//       (default $SIGNE_WORLD_REGISTRY, else memory: several World processes serving one world
//       id need the same Redis).
// The seconds and milliseconds forms set the same value; the last one given wins.

#include <signe/server.hpp>
#include <signe/world.hpp>
#include <signe/world_redis_registry.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

long long number_flag(std::string_view arg, std::string_view name) {
    std::string text(arg.substr(name.size()));
    std::size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used != text.size() || v < 0) {
        throw std::invalid_argument("bad value in " + std::string(arg));
    }
    return v;
}

}  // namespace

int main(int argc, char** argv) try {
    signe::world::world_options world = signe::world::world_options::from_env();
    std::vector<char*> server_args{argv[0]};
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg.starts_with("--shard-timeout=")) {
            world.inactive_after = std::chrono::seconds(number_flag(arg, "--shard-timeout="));
        } else if (arg.starts_with("--shard-timeout-ms=")) {
            world.inactive_after =
                std::chrono::milliseconds(number_flag(arg, "--shard-timeout-ms="));
        } else if (arg.starts_with("--cleanup-every=")) {
            world.cleanup_every = std::chrono::seconds(number_flag(arg, "--cleanup-every="));
        } else if (arg.starts_with("--cleanup-every-ms=")) {
            world.cleanup_every =
                std::chrono::milliseconds(number_flag(arg, "--cleanup-every-ms="));
        } else if (arg.starts_with("--registry=")) {
            world.registry_for =
                signe::world::registry_for_spec(std::string(arg.substr(sizeof("--registry=") - 1)));
        } else if (arg.starts_with("--seat-ttl=")) {
            world.seat_ttl = std::chrono::milliseconds(number_flag(arg, "--seat-ttl="));
        } else {
            server_args.push_back(argv[i]);
        }
    }
    if (world.jwt_secret.empty()) {
        std::fprintf(stderr, "signe-world: AUTH_JWT_SECRET env variable is not set\n");
        return 2;
    }
    if (world.shard_secret.empty()) {
        std::fprintf(stderr, "signe-world: SHARD_SECRET env variable is not set\n");
        return 2;
    }
    signe::server_config config =
        signe::config_from_args(static_cast<int>(server_args.size()), server_args.data());
    signe::server server{config};
    server.add_room(signe::world::definition(std::move(world)));
    return server.run_until_signal();
} catch (const std::exception& e) {
    std::fprintf(stderr, "signe-world: %s\n", e.what());
    return 2;
}

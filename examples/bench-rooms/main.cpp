// The benchmark server of bench/compare-node.sh: exactly the two rooms the Node version runs
// (bench/peer/server.mjs), on $PORT (default 3000). The rooms are in rooms.hpp.
//
//     PORT=3000 SIGNE_THREADS=1 ./signe-bench-rooms

#include "rooms.hpp"

#include <signe/server.hpp>

int main() {
    signe::server server{signe::config_from_env()};
    server.add_room<signe::bench_rooms::counter_room>();
    server.add_room<signe::bench_rooms::game_room>();
    return server.run_until_signal();
}

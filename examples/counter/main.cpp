// The seed's CounterRoom: a synced `count`, an `increment` action with an optional amount, and
// `GET /count`. Any room id is a counter: ws://localhost:3000/parties/main/demo
//
//     PORT=3000 ./signe-example-counter
//     curl localhost:3000/parties/main/demo/count     ->  {"count":0}

#include <signe/server.hpp>

#include <cstdio>
#include <optional>

namespace {

struct increment_msg {
    std::optional<double> amount;
    static auto fields() { return signe::fields(signe::field("amount", &increment_msg::amount)); }
};

class counter_room {
public:
    signe::synced<double> count{0};
    static auto fields() { return signe::fields(signe::field("count", &counter_room::count)); }

    static void define(signe::room_spec<counter_room>& spec) {
        spec.path("{roomId}")
            .action("increment", &counter_room::increment)
            .http(signe::verb::get, "/count", &counter_room::get_count);
    }

    // The value may be absent altogether (`emit("increment")`), hence the optional payload.
    void increment(signe::connection&, const std::optional<increment_msg>& msg) {
        count += msg && msg->amount ? *msg->amount : 1;
    }

    signe::json::value get_count(signe::request&) { return {{"count", count.get()}}; }
};

}  // namespace

int main(int argc, char** argv) try {
    // PORT / --port, SIGNE_STORAGE / --storage=sqlite:counter.sqlite, ...
    signe::server server{signe::config_from_args(argc, argv)};
    server.add_room<counter_room>();
    return server.run_until_signal();
} catch (const std::exception& e) {
    std::fprintf(stderr, "signe-example-counter: %s\n", e.what());
    return 2;
}

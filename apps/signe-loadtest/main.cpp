// signe-loadtest: N WebSocket clients against a room, actions at a rate, for a duration; prints
// a JSON report. See docs/performance.md.
//
//   signe-loadtest --url ws://127.0.0.1:3000/parties/main/game-1 --clients 200 --rate 10
//                  --duration 10 [--server-pid PID] [--out report.json]
//   signe-loadtest --self-test --clients 100 --duration 5     # the generator's own capacity

#include "engine.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using signe::loadtest::run_options;
using signe::loadtest::scenario_kind;

constexpr std::string_view usage =
    R"(usage: signe-loadtest --url ws://HOST:PORT/parties/main/ROOM [options]

  --url URL                room to load; the scenario follows from the room id unless given:
                           game-* -> game, counter -> counter
  --scenario S             game (move {x,y}), counter (increment), idle (connect and hold)
  --clients N              clients (default 10)
  --rate R                 actions per second per client (default 10)
  --ping-rate R            game: ping {t} per second per client (default 0)
  --duration S             seconds of actions, or of holding for idle (default 10)
  --drain S                at most this long after the last action for late updates (default 3)
  --connect-concurrency N  handshakes in flight at once (default 256)
  --connect-timeout S      for the whole connect phase (default 60)
  --server-pid PID         also report that process's CPU time and memory
  --session-prefix P       session ids P-0, P-1, ... (default: random)
  --out FILE               write the report there too
  --self-test              measure the generator alone against an in-process fake server
)";

std::string_view need_value(int& i, int argc, char** argv) {
    if (i + 1 >= argc) {
        throw std::invalid_argument(std::string("missing value after ") + argv[i]);
    }
    return argv[++i];
}

scenario_kind scenario_from_name(std::string_view name) {
    if (name == "game") {
        return scenario_kind::game;
    }
    if (name == "counter") {
        return scenario_kind::counter;
    }
    if (name == "idle") {
        return scenario_kind::idle;
    }
    throw std::invalid_argument("unknown scenario: " + std::string(name));
}

scenario_kind scenario_from_url(const std::string& url) {
    auto slash = url.find_last_of('/', url.find('?'));
    std::string_view room = std::string_view(url).substr(slash + 1);
    room = room.substr(0, room.find('?'));
    return room.starts_with("game-") ? scenario_kind::game : scenario_kind::counter;
}

struct cli {
    run_options run;
    std::string out;
    bool scenario_given = false;
};

cli parse(int argc, char** argv) {
    cli c;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--url") {
            c.run.url = need_value(i, argc, argv);
        } else if (arg == "--scenario") {
            c.run.scenario = scenario_from_name(need_value(i, argc, argv));
            c.scenario_given = true;
        } else if (arg == "--clients") {
            c.run.clients = std::stoul(std::string(need_value(i, argc, argv)));
        } else if (arg == "--rate") {
            c.run.rate = std::stod(std::string(need_value(i, argc, argv)));
        } else if (arg == "--ping-rate") {
            c.run.ping_rate = std::stod(std::string(need_value(i, argc, argv)));
        } else if (arg == "--duration") {
            c.run.duration_s = std::stod(std::string(need_value(i, argc, argv)));
        } else if (arg == "--drain") {
            c.run.drain_s = std::stod(std::string(need_value(i, argc, argv)));
        } else if (arg == "--connect-concurrency") {
            c.run.connect_concurrency = std::stoul(std::string(need_value(i, argc, argv)));
        } else if (arg == "--connect-timeout") {
            c.run.connect_timeout_s = std::stod(std::string(need_value(i, argc, argv)));
        } else if (arg == "--server-pid") {
            c.run.server_pid = std::stoi(std::string(need_value(i, argc, argv)));
        } else if (arg == "--session-prefix") {
            c.run.session_prefix = need_value(i, argc, argv);
        } else if (arg == "--out") {
            c.out = need_value(i, argc, argv);
        } else if (arg == "--self-test") {
            c.run.self_test = true;
        } else if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            std::exit(0);
        } else {
            throw std::invalid_argument("unknown option: " + std::string(arg));
        }
    }
    if (c.run.url.empty() && !c.run.self_test) {
        throw std::invalid_argument("--url is required");
    }
    if (!c.scenario_given && !c.run.self_test) {
        c.run.scenario = scenario_from_url(c.run.url);
    }
    if (c.run.clients == 0 || c.run.connect_concurrency == 0 || c.run.rate < 0 ||
        c.run.duration_s < 0) {
        throw std::invalid_argument("clients and connect concurrency must be positive");
    }
    return c;
}

// Two-space indented JSON, keys in report order.
void pretty(std::ostream& os, const signe::json::value& v, int indent) {
    std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
    if (const auto* obj = v.if_object(); obj && !obj->empty()) {
        os << "{\n";
        bool first = true;
        for (const auto& kv : *obj) {
            os << (first ? "" : ",\n") << pad << "  "
               << signe::to_text(signe::json::string(kv.key())) << ": ";
            pretty(os, kv.value(), indent + 1);
            first = false;
        }
        os << "\n" << pad << "}";
        return;
    }
    os << signe::to_text(v);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        cli c = parse(argc, argv);
        signe::json::value report = signe::loadtest::run(c.run);
        pretty(std::cout, report, 0);
        std::cout << std::endl;
        if (!c.out.empty()) {
            std::ofstream file(c.out);
            pretty(file, report, 0);
            file << "\n";
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "signe-loadtest: " << e.what() << "\n\n" << usage;
        return 2;
    }
}

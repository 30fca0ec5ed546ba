// signe-world-clients: N signe::clients in one room, each placed by a World, on one io_context
// thread, driven by commands on stdin; answers one JSON object per line on stdout. A tool for
// process tests (shards killed while clients are on them), not a ctest of its own.
//
//   signe-world-clients --host=127.0.0.1:PORT --room=game-x [--world=world-default] [--count=N]
//                       [--id-prefix=cpp-] [--reconnect-min-ms=100] [--reconnect-max-ms=1000]
//                       [--start-timeout-ms=20000]
//
// Client i uses the session id <prefix><i>. Once every client has joined once it prints
// {"event":"started"} (or {"event":"error",...} and exits 1 after --start-timeout-ms). Commands:
//   move X                   every client i emits "move" {x: X, y: i}      -> {"event":"moved"}
//   wait-players X N MS      until every client's mirror holds >= N players with x == X
//                            -> {"event":"waited","ok":true,"ms":E}
//                            or {"event":"waited","ok":false,"worst":{"client":i,"seen":k}}
//   wait-open N MS           until >= N clients are joined (initial sync since their last
//                            (re)connect) -> {"event":"open","ok":true,"ms":E}
//                            or {"event":"open","ok":false,"open":k}
//   status                   -> {"event":"status","open":k,"joins":J,"pIds":{"i":"pId",...},
//                               "shards":{"<shardId>":<joined clients on it>,...}}
//   close-on SHARD           closes for good the clients joined on that shard id
//                            -> {"event":"closed","count":k}
//   quit (or end of input)   closes every client, exits 0
// Waits are event-driven (re-checked on the clients' callbacks, bounded by a timer); one wait at
// a time, the start's included. A bad command or a second wait prints
// {"event":"error","message":...}. Other commands are answered at once, even during a wait.

#include <signe/client.hpp>
#include <signe/json.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
using signe::json::object;
using signe::json::value;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

struct settings {
    signe::client_options client;
    int count = 1;
    std::string id_prefix = "cpp-";
    milliseconds start_timeout{20'000};
};

settings parse_args(int argc, char** argv) {
    settings s;
    s.client.world = "world-default";
    s.client.reconnect_min_delay = milliseconds(100);
    s.client.reconnect_max_delay = milliseconds(1000);
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto eq = arg.find('=');
        if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
            throw std::invalid_argument("expected --name=value, got " + arg);
        }
        std::string name = arg.substr(2, eq - 2);
        std::string v = arg.substr(eq + 1);
        if (name == "host") {
            s.client.host = v;
        } else if (name == "room") {
            s.client.room = v;
        } else if (name == "world") {
            s.client.world = v;
        } else if (name == "count") {
            s.count = std::stoi(v);
        } else if (name == "id-prefix") {
            s.id_prefix = v;
        } else if (name == "reconnect-min-ms") {
            s.client.reconnect_min_delay = milliseconds(std::stoll(v));
        } else if (name == "reconnect-max-ms") {
            s.client.reconnect_max_delay = milliseconds(std::stoll(v));
        } else if (name == "start-timeout-ms") {
            s.start_timeout = milliseconds(std::stoll(v));
        } else {
            throw std::invalid_argument("unknown option --" + name);
        }
    }
    if (s.client.host.empty() || s.client.room.empty() || s.count < 1) {
        throw std::invalid_argument("--host, --room and --count >= 1 are required");
    }
    return s;
}

void print(const object& line) {
    std::cout << signe::to_text(line) << std::endl;  // one line each, flushed for the reader
}

void print_error(const std::string& message) {
    print({{"event", "error"}, {"message", message}});
}

const object* players_of(const value& state) {
    const auto* root = state.if_object();
    const auto* players = root != nullptr ? root->if_contains("players") : nullptr;
    return players != nullptr ? players->if_object() : nullptr;
}

bool stands_at(const value* player, double x) {
    const auto* p = player != nullptr ? player->if_object() : nullptr;
    const auto* px = p != nullptr ? p->if_contains("x") : nullptr;
    return px != nullptr && px->is_number() && px->to_number<double>() == x;
}

// Brings `at_x`, the players of `mirror` standing at x, up to date for the players `touched`
// names (those of a sync packet: a recount after each packet would cost players x clients).
void recount(std::set<std::string>& at_x, const value& mirror, const object* touched, double x) {
    if (touched == nullptr) {
        return;
    }
    const object* players = players_of(mirror);
    for (const auto& kv : *touched) {
        std::string id(kv.key());
        if (stands_at(players != nullptr ? players->if_contains(id) : nullptr, x)) {
            at_x.insert(std::move(id));
        } else {
            at_x.erase(id);
        }
    }
}

void recount_all(std::set<std::string>& at_x, const value& mirror, double x) {
    at_x.clear();
    recount(at_x, mirror, players_of(mirror), x);
}

struct member {
    std::unique_ptr<signe::client> client;
    bool open = false;           // joined since its latest (re)connect
    std::uint64_t joins = 0;     // initial syncs received
    std::set<std::string> at_x;  // players at the pending wait-players' x, in its mirror
    std::size_t seen() const { return at_x.size(); }
};

// A pending wait: done() is re-checked after every client event; at the deadline, failed().
struct pending_wait {
    std::function<bool()> done;
    std::function<object()> succeeded;
    std::function<object()> failed;
    net::steady_timer deadline;
};

class driver {
public:
    driver(net::io_context& ioc, settings s) : ioc_(ioc), settings_(std::move(s)) {
        for (int i = 0; i < settings_.count; ++i) {
            members_.emplace_back().client = make_client(i);
        }
    }

    void start() {
        for (auto& m : members_) {
            m.client->connect();
        }
        wait(
            [this] {
                return std::ranges::all_of(members_, [](const member& m) { return m.joins > 0; });
            },
            settings_.start_timeout,
            [] {
                return object{{"event", "started"}};
            },
            [this] {
                quit(1);  // the error line is printed first: the clients close asynchronously
                return object{
                    {"event", "error"},
                    {"message", "not every client joined in time"},
                    {"open", open_count()}};
            }
        );
    }

    // One line of stdin (on the io_context thread).
    void command(const std::string& line) {
        std::istringstream in(line);
        std::string verb;
        in >> verb;
        double x = 0;
        std::size_t n = 0;
        std::int64_t ms = 0;
        if (verb == "move" && in >> x && at_end(in)) {
            move(x);
        } else if (verb == "wait-players" && in >> x >> n >> ms && at_end(in)) {
            wait_players(x, n, milliseconds(ms));
        } else if (verb == "wait-open" && in >> n >> ms && at_end(in)) {
            wait_open(n, milliseconds(ms));
        } else if (verb == "status" && at_end(in)) {
            print(status());
        } else if (std::string shard; verb == "close-on" && in >> shard && at_end(in)) {
            close_on(shard);
        } else if (verb == "quit" && at_end(in)) {
            quit(0);
        } else if (!verb.empty()) {
            print_error("unreadable command: " + line);
        }
    }

    void quit(int code) {
        exit_code_ = code;
        waiting_.reset();
        for (auto& m : members_) {
            m.client->close();
        }
        on_quit();
    }

    std::function<void()> on_quit;  // set by main: stop reading, let the io_context finish
    int exit_code() const { return exit_code_; }

private:
    std::unique_ptr<signe::client> make_client(int i) {
        auto options = settings_.client;
        options.id = settings_.id_prefix + std::to_string(i);
        auto c = std::make_unique<signe::client>(ioc_, options);
        auto& self = *c;
        auto index = static_cast<std::size_t>(i);
        c->on_ready([this, index, &self] {
            auto& m = members_[index];
            m.open = true;
            ++m.joins;
            if (players_x_) {
                recount_all(m.at_x, self.mirror(), *players_x_);  // a resync rebuilt the mirror
            }
            check_wait();
        });
        c->on_disconnect([this, index](int, const std::string&) {
            members_[index].open = false;
            check_wait();
        });
        c->on("sync", [this, index, &self](const value& packet) {
            if (players_x_) {
                recount(members_[index].at_x, self.mirror(), players_of(packet), *players_x_);
            }
            check_wait();
        });
        return c;
    }

    static bool at_end(std::istringstream& in) {
        std::string rest;
        return !(in >> rest);
    }

    void move(double x) {
        for (std::size_t i = 0; i < members_.size(); ++i) {
            members_[i].client->emit("move", object{{"x", x}, {"y", i}});
        }
        print({{"event", "moved"}});
    }

    void wait_players(double x, std::size_t n, milliseconds timeout) {
        if (waiting_) {
            print_error("a wait is already pending");
            return;
        }
        players_x_ = x;
        for (auto& m : members_) {
            recount_all(m.at_x, m.client->state(), x);
        }
        auto started = steady::now();
        wait(
            [this, n] {
                return std::ranges::all_of(members_, [n](const member& m) {
                    return m.seen() >= n;
                });
            },
            timeout,
            [started] {
                return object{{"event", "waited"}, {"ok", true}, {"ms", elapsed(started)}};
            },
            [this] {
                auto worst = std::ranges::min_element(members_, {}, &member::seen);
                return object{
                    {"event", "waited"},
                    {"ok", false},
                    {"worst", {{"client", worst - members_.begin()}, {"seen", worst->seen()}}}};
            }
        );
    }

    void wait_open(std::size_t n, milliseconds timeout) {
        if (waiting_) {
            print_error("a wait is already pending");
            return;
        }
        auto started = steady::now();
        wait(
            [this, n] { return open_count() >= n; },
            timeout,
            [started] {
                return object{{"event", "open"}, {"ok", true}, {"ms", elapsed(started)}};
            },
            [this] {
                return object{{"event", "open"}, {"ok", false}, {"open", open_count()}};
            }
        );
    }

    // Closes for good the clients now joined on `shard` (a shard being drained empties).
    void close_on(const std::string& shard) {
        std::size_t closed = 0;
        for (auto& m : members_) {
            if (m.open && m.client->shard_id() == shard) {
                m.client->close();
                m.open = false;
                ++closed;
            }
        }
        print({{"event", "closed"}, {"count", closed}});
    }

    object status() const {
        object pids;
        object shards;
        std::uint64_t joins = 0;
        for (std::size_t i = 0; i < members_.size(); ++i) {
            const auto& c = *members_[i].client;
            joins += members_[i].joins;
            if (auto pid = c.pid(); !pid.empty()) {
                pids[std::to_string(i)] = pid;
            }
            if (members_[i].open) {
                auto& on_shard = shards[c.shard_id()];
                on_shard = on_shard.is_null() ? 1 : on_shard.as_int64() + 1;
            }
        }
        return {
            {"event", "status"},
            {"open", open_count()},
            {"joins", joins},
            {"pIds", std::move(pids)},
            {"shards", std::move(shards)}};
    }

    void wait(
        std::function<bool()> done,
        milliseconds timeout,
        std::function<object()> succeeded,
        std::function<object()> failed
    ) {
        waiting_.reset(new pending_wait{
            std::move(done), std::move(succeeded), std::move(failed), net::steady_timer(ioc_)});
        waiting_->deadline.expires_after(timeout);
        waiting_->deadline.async_wait([this](boost::system::error_code ec) {
            if (!ec) {  // a wait that ended before its deadline took its timer with it
                print(take_wait()->failed());
            }
        });
        check_wait();
    }

    // After every client event (the event's own counts are up to date): is the wait over?
    void check_wait() {
        if (waiting_ && waiting_->done()) {
            print(take_wait()->succeeded());
        }
    }

    std::unique_ptr<pending_wait> take_wait() {
        players_x_.reset();
        return std::move(waiting_);
    }

    static std::int64_t elapsed(steady::time_point since) {
        return std::chrono::duration_cast<milliseconds>(steady::now() - since).count();
    }

    std::size_t open_count() const {
        return static_cast<std::size_t>(std::ranges::count_if(members_, &member::open));
    }

    net::io_context& ioc_;
    settings settings_;
    std::vector<member> members_;
    std::unique_ptr<pending_wait> waiting_;
    std::optional<double> players_x_;  // while a wait-players is pending
    int exit_code_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    settings s;
    try {
        s = parse_args(argc, argv);
    } catch (const std::exception& e) {
        print_error(e.what());
        return 2;
    }
    net::io_context ioc;
    auto work = std::make_optional(net::make_work_guard(ioc));
    driver d(ioc, std::move(s));
    d.on_quit = [&] { work.reset(); };

    // Commands arrive on a reader thread and are handled on the io_context's thread.
    std::atomic<bool> reader_done{false};
    std::thread([&] {
        std::string line;
        while (std::getline(std::cin, line) && line != "quit") {
            net::post(ioc, [&d, line] { d.command(line); });
        }
        net::post(ioc, [&d] { d.quit(0); });
        reader_done = true;
    }).detach();

    d.start();
    ioc.run();  // returns once quit has closed every client
    if (!reader_done) {
        // Quit without "quit" (start timeout): the reader may still be blocked on stdin and
        // would post to the io_context once it is gone. Leave without tearing anything down.
        std::cout.flush();
        std::_Exit(d.exit_code());
    }
    return d.exit_code();
}

#include "engine.hpp"

#include "fake_server.hpp"
#include "frame_scanner.hpp"
#include "histogram.hpp"
#include "proc_stats.hpp"
#include "ws_frames.hpp"
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace signe::loadtest {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using error_code = boost::system::error_code;

constexpr std::size_t receive_buffer_bytes = 256 * 1024;
constexpr int reads_per_wakeup = 4;  // then let other sockets run
constexpr auto tick_period = std::chrono::milliseconds(1);
constexpr double saturated_busy_ratio = 0.9;
constexpr double saturated_core_ratio = 0.95;
constexpr std::uint64_t saturated_send_lag_us = 5000;

struct target_url {
    std::string host;
    std::string port;
    std::string host_header;
    std::string path;   // "/parties/main/game-1"
    std::string query;  // extra query parameters, without '?'
};

target_url parse_url(const std::string& text) {
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed || parsed->scheme() != "ws") {
        throw std::invalid_argument("--url must be ws://host:port/path, got " + text);
    }
    target_url out;
    out.host = std::string(parsed->host());
    out.port = parsed->has_port() ? std::string(parsed->port()) : "80";
    out.host_header = std::string(parsed->encoded_host_and_port());
    out.path = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
    out.query = parsed->has_query() ? std::string(parsed->encoded_query()) : "";
    return out;
}

std::string random_prefix() {
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::string out = "lt";
    for (int i = 0; i < 6; ++i) {
        out.push_back(alphabet[rd() % (sizeof alphabet - 1)]);
    }
    return out;
}

// Public ids to sender indices, for the lookup done on every leaf: ids of up to 8 bytes (both
// servers use 8) are packed into an integer and found in an open-addressing table; longer ones
// go through a string map.
class pid_table {
public:
    void insert(std::string_view pid, std::size_t index) {
        if (pid.size() > 8) {
            long_ids_[std::string(pid)] = index;
            return;
        }
        if ((used_ + 1) * 2 > slots_.size()) {
            grow();
        }
        place(pack(pid), index);
    }

    std::optional<std::size_t> find(std::string_view pid) const {
        if (pid.size() > 8) {
            auto it = long_ids_.find(std::string(pid));
            return it == long_ids_.end() ? std::nullopt : std::optional<std::size_t>(it->second);
        }
        if (slots_.empty()) {
            return std::nullopt;
        }
        std::uint64_t key = pack(pid);
        for (std::size_t i = slot_of(key);; i = (i + 1) & (slots_.size() - 1)) {
            if (slots_[i].key == key) {
                return slots_[i].index;
            }
            if (slots_[i].key == 0) {
                return std::nullopt;
            }
        }
    }

private:
    struct slot {
        std::uint64_t key = 0;  // 0: empty (no id packs to 0)
        std::size_t index = 0;
    };

    static std::uint64_t pack(std::string_view pid) {
        std::uint64_t key = 0;
        std::memcpy(&key, pid.data(), pid.size());
        return key ^ (static_cast<std::uint64_t>(pid.size()) << 59);
    }
    std::size_t slot_of(std::uint64_t key) const {
        return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & (slots_.size() - 1);
    }
    void place(std::uint64_t key, std::size_t index) {
        std::size_t i = slot_of(key);
        while (slots_[i].key != 0 && slots_[i].key != key) {
            i = (i + 1) & (slots_.size() - 1);
        }
        used_ += slots_[i].key == 0 ? 1 : 0;
        slots_[i] = {key, index};
    }
    void grow() {
        std::vector<slot> old = std::move(slots_);
        slots_.assign(std::max<std::size_t>(64, old.size() * 2), slot{});
        used_ = 0;
        for (const auto& s : old) {
            if (s.key != 0) {
                place(s.key, s.index);
            }
        }
    }

    std::vector<slot> slots_;
    std::size_t used_ = 0;
    std::unordered_map<std::string, std::size_t> long_ids_;
};

struct player_view {
    double x = std::numeric_limits<double>::quiet_NaN();
    double y = std::numeric_limits<double>::quiet_NaN();
};

struct client_conn {
    explicit client_conn(net::io_context& ioc) : socket(ioc) {}

    enum class phase { pending, connecting, upgrading, joining, ready, closed };

    tcp::socket socket;
    std::size_t index = 0;
    std::string session;
    phase state = phase::pending;
    std::string carry;    // an incomplete frame (or HTTP answer) from the last read
    std::string message;  // fragments of a message in progress
    opcode message_op = opcode::text;
    bool in_message = false;
    std::string out;  // bytes the socket has not taken yet
    bool write_armed = false;
    std::int64_t t_start = 0;
    std::int64_t t_open = 0;
    std::int64_t t_ready = 0;
    std::string pid;

    // Mirror of what the scenario measures. Game: each generator client's x/y, by index.
    std::vector<player_view> players;
    std::vector<std::uint32_t> last_delivered;  // by sender index: the last move counted
    double count = 0;                           // counter scenario
    double counted = 0;                         // the count already accounted for

    // Sending.
    std::int64_t next_send = 0;
    std::int64_t next_ping = 0;
    std::uint32_t seq = 0;
    std::vector<std::int64_t> send_times;  // by move number (1-based)
};

using phase = client_conn::phase;

// Numbers that travel through JSON as exact integers.
bool is_whole(double v) {
    return std::isfinite(v) && std::trunc(v) == v;
}

class engine final : private leaf_visitor {
public:
    explicit engine(const run_options& options) : options_(options) {
        url_ = parse_url(options.url);
        if (options_.session_prefix.empty()) {
            options_.session_prefix = random_prefix();
        }
        rx_.resize(receive_buffer_bytes);
    }

    json::value run() {
        tcp::resolver resolver(ioc_);
        endpoints_ = resolver.resolve(url_.host, url_.port);
        if (options_.server_pid > 0) {
            server_before_ = sample_process(options_.server_pid);
        }
        epoch_ = steady::now();
        for (std::size_t i = 0; i < options_.clients; ++i) {
            auto c = std::make_unique<client_conn>(ioc_);
            c->index = i;
            c->session = options_.session_prefix + "-" + std::to_string(i);
            conns_.push_back(std::move(c));
        }
        connect_deadline_ = now_us() + seconds_to_us(options_.connect_timeout_s);
        start_connects();
        tick_timer_.expires_after(tick_period);
        arm_tick();
        ioc_.run();
        return report();
    }

private:
    // ---- time ---------------------------------------------------------------------------

    std::int64_t now_us() const {
        return std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - epoch_)
            .count();
    }
    static std::int64_t seconds_to_us(double s) { return static_cast<std::int64_t>(s * 1e6); }

    // ---- connecting ---------------------------------------------------------------------

    void start_connects() {
        while (in_flight_ < options_.connect_concurrency && next_to_connect_ < conns_.size()) {
            open(*conns_[next_to_connect_++]);
        }
    }

    void open(client_conn& c) {
        ++in_flight_;
        c.state = phase::connecting;
        c.t_start = now_us();
        if (first_start_ < 0) {
            first_start_ = c.t_start;
        }
        net::async_connect(c.socket, endpoints_, [this, &c](error_code ec, const tcp::endpoint&) {
            if (ec) {
                ++errors_.connect;
                return give_up(c);
            }
            error_code ignored;
            c.socket.set_option(tcp::no_delay(true), ignored);
            c.socket.non_blocking(true, ignored);
            c.state = phase::upgrading;
            c.out += upgrade_request(c);
            flush(c);
            arm_read(c);
        });
    }

    std::string upgrade_request(const client_conn& c) const {
        std::string target = url_.path + "?_pk=" + c.session + "&id=" + c.session;
        if (!url_.query.empty()) {
            target += "&" + url_.query;
        }
        // A fixed key: the generator does not check Sec-WebSocket-Accept (it checks the 101).
        return "GET " + target + " HTTP/1.1\r\nHost: " + url_.host_header +
               "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               "User-Agent: signe-loadtest\r\n\r\n";
    }

    // The handshake ended (joined, or failed): let the next one start.
    void handshake_done() {
        --in_flight_;
        start_connects();
    }

    void give_up(client_conn& c) {
        bool was_handshaking = c.state != phase::ready && c.state != phase::closed;
        bool was_ready = c.state == phase::ready;
        c.state = phase::closed;
        error_code ignored;
        c.socket.close(ignored);
        if (was_ready) {
            --ready_count_;
            if (phase_ != run_phase::connecting) {
                ++errors_.closed;
            }
        }
        if (was_handshaking) {
            ++failed_count_;
            handshake_done();
        }
    }

    // ---- reading ------------------------------------------------------------------------

    void arm_read(client_conn& c) {
        c.socket.async_wait(tcp::socket::wait_read, [this, &c](error_code ec) {
            if (c.state == phase::closed) {
                return;
            }
            if (ec) {
                return give_up(c);
            }
            on_readable(c);
        });
    }

    void on_readable(client_conn& c) {
        for (int i = 0; i < reads_per_wakeup && c.state != phase::closed; ++i) {
            std::size_t carried = c.carry.size();
            if (carried + 4096 > rx_.size()) {
                rx_.resize(std::max(rx_.size() * 2, carried + receive_buffer_bytes));
            }
            std::memcpy(rx_.data(), c.carry.data(), carried);
            error_code ec;
            std::size_t n =
                c.socket.read_some(net::buffer(rx_.data() + carried, rx_.size() - carried), ec);
            if (ec == net::error::would_block || ec == net::error::try_again) {
                break;
            }
            if (ec) {
                return give_up(c);
            }
            bytes_received_ += n;
            c.carry.clear();
            consume(c, std::string_view(rx_.data(), carried + n));
            if (n < rx_.size() - carried) {
                break;  // drained
            }
        }
        if (c.state != phase::closed) {
            arm_read(c);
        }
    }

    void consume(client_conn& c, std::string_view data) {
        frame_time_ = now_us();
        if (c.state == phase::upgrading && !finish_upgrade(c, data)) {
            return;
        }
        while (!data.empty() && c.state != phase::closed) {
            frame_view f;
            std::size_t used = 0;
            auto status = parse_frame(data, f, used, options_.max_frame_bytes);
            if (status == parse_status::incomplete) {
                break;
            }
            if (status == parse_status::bad) {
                ++errors_.protocol;
                return give_up(c);
            }
            on_frame(c, f);
            data.remove_prefix(used);
        }
        if (c.state != phase::closed) {
            c.carry.assign(data);
        }
    }

    // Reads the HTTP answer; true with `data` past it once the socket is a WebSocket.
    bool finish_upgrade(client_conn& c, std::string_view& data) {
        std::size_t end = data.find("\r\n\r\n");
        if (end == std::string_view::npos) {
            if (data.size() > 16 * 1024) {
                ++errors_.upgrade;
                give_up(c);
            } else {
                c.carry.assign(data);
            }
            return false;
        }
        http::response_parser<http::empty_body> parser;
        parser.skip(true);  // a 101 has no body
        error_code ec;
        parser.put(net::buffer(data.data(), end + 4), ec);
        if (ec || !parser.is_header_done() ||
            parser.get().result() != http::status::switching_protocols) {
            ++errors_.upgrade;
            give_up(c);
            return false;
        }
        data.remove_prefix(end + 4);
        c.state = phase::joining;
        c.t_open = now_us();
        connect_us_.record(static_cast<std::uint64_t>(c.t_open - c.t_start));
        return true;
    }

    void on_frame(client_conn& c, const frame_view& f) {
        switch (f.op) {
            case opcode::text:
            case opcode::binary:
                if (c.in_message) {
                    ++errors_.protocol;  // a new message inside a fragmented one
                    return give_up(c);
                }
                if (!f.fin) {
                    c.in_message = true;
                    c.message_op = f.op;
                    c.message.assign(f.payload);
                    return;
                }
                return on_message(c, f.payload);
            case opcode::continuation:
                if (!c.in_message) {
                    ++errors_.protocol;
                    return give_up(c);
                }
                c.message.append(f.payload);
                if (f.fin) {
                    c.in_message = false;
                    std::string whole = std::move(c.message);
                    on_message(c, whole);
                }
                return;
            case opcode::ping:
                return send_frame(c, opcode::pong, f.payload);
            case opcode::pong:
                return;
            case opcode::close:
                ++errors_.closed_by_server;
                return give_up(c);
        }
    }

    // ---- messages: the scenario's mirror --------------------------------------------------

    void on_message(client_conn& c, std::string_view text) {
        ++frames_received_;
        if (phase_ == run_phase::acting) {
            ++frames_in_window_;
        }
        if (phase_ == run_phase::acting || phase_ == run_phase::draining) {
            ++frames_measured_;
        }
        current_ = &c;
        frame_type_ = frame_type::other;
        touched_.clear();
        if (!scanner_.scan(text, *this)) {
            ++errors_.malformed_frames;
            return;
        }
        if (frame_type_ == frame_type::sync) {
            after_sync(c);
        }
    }

    enum class frame_type { other, sync, pong };

    void on_type(std::string_view type) override {
        frame_type_ = type == "sync"   ? frame_type::sync
                      : type == "pong" ? frame_type::pong
                                       : frame_type::other;
    }

    void on_leaf(std::span<const std::string_view> path, const leaf& value) override {
        client_conn& c = *current_;
        if (frame_type_ == frame_type::pong) {
            if (path.size() == 1 && path[0] == "t" && value.what == leaf::kind::number) {
                ping_us_.record(static_cast<std::uint64_t>(
                    std::max<double>(0, static_cast<double>(frame_time_) - value.number)
                ));
            }
            return;
        }
        if (frame_type_ != frame_type::sync) {
            return;
        }
        if (path.size() == 1 && path[0] == "pId" && value.what == leaf::kind::string) {
            c.pid.assign(value.text);
        } else if (path.size() == 1 && path[0] == "count" && value.what == leaf::kind::number) {
            c.count = value.number;
        } else if (path.size() == 3 && path[0] == "players" && value.what == leaf::kind::number) {
            set_coordinate(c, path[1], path[2], value.number);
        } else if (path.size() == 2 && path[0] == "players" && value.what == leaf::kind::string && value.text == delete_token) {
            if (auto sender = sender_of(path[1])) {
                c.players[*sender] = player_view{};
            }
        }
    }

    // nullopt for an id that is not one of ours (or not joined yet).
    std::optional<std::size_t> sender_of(std::string_view pid) const {
        return sender_by_pid_.find(pid);
    }

    void set_coordinate(client_conn& c, std::string_view pid, std::string_view axis, double v) {
        auto sender = sender_of(pid);
        if (!sender || c.players.empty()) {
            return;
        }
        if (axis == "x") {
            c.players[*sender].x = v;
        } else if (axis == "y") {
            c.players[*sender].y = v;
        } else {
            return;
        }
        if (std::find(touched_.begin(), touched_.end(), *sender) == touched_.end()) {
            touched_.push_back(*sender);
        }
    }

    void after_sync(client_conn& c) {
        if (c.state == phase::joining) {
            joined(c);
            return;
        }
        if (options_.scenario == scenario_kind::game) {
            for (std::size_t sender : touched_) {
                check_move_delivered(c, sender);
            }
        } else if (options_.scenario == scenario_kind::counter) {
            check_increments_delivered(c);
        }
    }

    void joined(client_conn& c) {
        c.state = phase::ready;
        c.t_ready = now_us();
        ready_us_.record(static_cast<std::uint64_t>(c.t_ready - c.t_start));
        last_ready_ = c.t_ready;
        ++ready_count_;
        if (options_.scenario == scenario_kind::game) {
            c.players.assign(options_.clients, player_view{});
            c.last_delivered.assign(options_.clients, 0);
            if (!c.pid.empty()) {
                sender_by_pid_.insert(c.pid, c.index);
            }
        }
        c.counted = c.count;
        handshake_done();
    }

    // A move counts as delivered when this client's mirror shows it: x and y of the sender
    // are the move number and the send time of one move sent, newer than the last counted.
    void check_move_delivered(client_conn& c, std::size_t sender) {
        if (sender == c.index) {
            return;  // every *other* client must see it
        }
        const player_view& p = c.players[sender];
        const auto& sent = conns_[sender]->send_times;
        if (!is_whole(p.x) || p.x < 1 || p.x > static_cast<double>(sent.size())) {
            return;
        }
        auto move = static_cast<std::uint32_t>(p.x);
        if (static_cast<double>(sent[move - 1]) != p.y || move <= c.last_delivered[sender]) {
            return;
        }
        c.last_delivered[sender] = move;
        record_delivery(sent[move - 1]);
    }

    // The k-th increment sent is taken to be the k-th the server applied (see
    // docs/performance.md); a count of base + k shows increments 1..k.
    void check_increments_delivered(client_conn& c) {
        if (!is_whole(c.count) || c.count <= c.counted) {
            c.counted = std::max(c.counted, c.count);
            return;
        }
        auto from = static_cast<std::int64_t>(c.counted - counter_base_);
        auto to = static_cast<std::int64_t>(c.count - counter_base_);
        c.counted = c.count;
        auto sent = static_cast<std::int64_t>(increment_times_.size());
        for (std::int64_t k = std::max<std::int64_t>(from, 0); k < std::min(to, sent); ++k) {
            record_delivery(increment_times_[static_cast<std::size_t>(k)]);
        }
    }

    void record_delivery(std::int64_t sent_at) {
        ++delivered_;
        if (frame_time_ <= action_end_) {
            ++delivered_in_window_;
        }
        fanout_us_.record(
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, frame_time_ - sent_at))
        );
    }

    // ---- writing ------------------------------------------------------------------------

    std::uint32_t next_mask() {
        mask_state_ ^= mask_state_ << 13;
        mask_state_ ^= mask_state_ >> 7;
        mask_state_ ^= mask_state_ << 17;
        return static_cast<std::uint32_t>(mask_state_);
    }

    void send_frame(client_conn& c, opcode op, std::string_view payload) {
        append_masked_frame(c.out, op, payload, next_mask());
        flush(c);
    }

    void flush(client_conn& c) {
        if (c.write_armed || c.out.empty() || c.state == phase::closed) {
            return;
        }
        error_code ec;
        std::size_t n = c.socket.write_some(net::buffer(c.out), ec);
        if (ec && ec != net::error::would_block && ec != net::error::try_again) {
            return give_up(c);
        }
        c.out.erase(0, n);
        if (c.out.empty()) {
            return;
        }
        c.write_armed = true;
        c.socket.async_wait(tcp::socket::wait_write, [this, &c](error_code wec) {
            c.write_armed = false;
            if (wec) {
                return give_up(c);
            }
            flush(c);
        });
    }

    // ---- the clock: phases and sends ----------------------------------------------------

    enum class run_phase { connecting, acting, draining, done };

    void arm_tick() {
        tick_timer_.async_wait([this](error_code ec) {
            if (ec) {
                return;
            }
            tick();
            if (phase_ == run_phase::done) {
                finish();
                return;
            }
            tick_timer_.expires_at(tick_timer_.expiry() + tick_period);
            arm_tick();
        });
    }

    void tick() {
        std::int64_t now = now_us();
        switch (phase_) {
            case run_phase::connecting:
                if (ready_count_ + failed_count_ >= conns_.size() || now >= connect_deadline_) {
                    begin_action(now);
                }
                return;
            case run_phase::acting:
                if (now >= action_end_) {
                    phase_ = run_phase::draining;
                    drain_end_ = now + seconds_to_us(options_.drain_s);
                    return;
                }
                send_due(now);
                return;
            case run_phase::draining:
                if (delivered_ >= expected_ || now >= drain_end_) {
                    phase_ = run_phase::done;
                }
                return;
            case run_phase::done:
                return;
        }
    }

    void begin_action(std::int64_t now) {
        connect_phase_end_ = now;
        if (options_.server_pid > 0) {
            server_connected_ = sample_process(options_.server_pid);
        }
        phase_ = run_phase::acting;
        action_start_ = now;
        action_end_ = now + seconds_to_us(options_.duration_s);
        cpu_start_ = thread_cpu_seconds();
        machine_start_ = machine_process_seconds();
        self_start_ = sample_process(static_cast<int>(getpid()));
        if (pinned_cpu_ >= 0) {
            core_start_ = sample_cpu(pinned_cpu_);
        }
        if (options_.scenario == scenario_kind::counter) {
            for (const auto& c : conns_) {
                if (c->state == phase::ready) {
                    counter_base_ = std::max(counter_base_, c->count);
                }
            }
        }
        if (options_.rate > 0 && options_.scenario != scenario_kind::idle && !options_.self_test) {
            auto period = static_cast<std::int64_t>(1e6 / options_.rate);
            std::size_t n = conns_.size();
            for (std::size_t i = 0; i < n; ++i) {
                // Spread the clients evenly over one period, so the load is smooth.
                conns_[i]->next_send =
                    now + period * static_cast<std::int64_t>(i) / static_cast<std::int64_t>(n);
            }
            send_period_ = period;
        }
        if (options_.ping_rate > 0 && options_.scenario == scenario_kind::game &&
            !options_.self_test) {
            ping_period_ = static_cast<std::int64_t>(1e6 / options_.ping_rate);
            std::size_t n = conns_.size();
            for (std::size_t i = 0; i < n; ++i) {
                conns_[i]->next_ping = now + ping_period_ * static_cast<std::int64_t>(i) /
                                                 static_cast<std::int64_t>(n);
            }
        }
        if (options_.self_test && fake_) {
            fake_->start_flood();
        }
    }

    void send_due(std::int64_t now) {
        if (send_period_ == 0 && ping_period_ == 0) {
            return;
        }
        for (auto& cp : conns_) {
            client_conn& c = *cp;
            while (send_period_ > 0 && c.state == phase::ready && c.next_send <= now) {
                send_lag_us_.record(static_cast<std::uint64_t>(now - c.next_send));
                send_action(c, now);
                c.next_send += send_period_;
            }
            while (ping_period_ > 0 && c.state == phase::ready && c.next_ping <= now) {
                payload_ = R"({"action":"ping","value":{"t":)" + std::to_string(now) + "}}";
                send_frame(c, opcode::text, payload_);
                c.next_ping += ping_period_;
            }
        }
    }

    void send_action(client_conn& c, std::int64_t now) {
        payload_.clear();
        if (options_.scenario == scenario_kind::game) {
            c.send_times.push_back(now);
            ++c.seq;
            payload_ = R"({"action":"move","value":{"x":)" + std::to_string(c.seq) + R"(,"y":)" +
                       std::to_string(now) + "}}";
            expected_ += ready_count_ - 1;
        } else {
            increment_times_.push_back(now);
            payload_ = R"({"action":"increment","value":{"amount":1}})";
            expected_ += ready_count_;
        }
        ++actions_sent_;
        send_frame(c, opcode::text, payload_);
    }

    void finish() {
        cpu_end_ = thread_cpu_seconds();
        machine_end_ = machine_process_seconds();
        self_end_ = sample_process(static_cast<int>(getpid()));
        if (pinned_cpu_ >= 0) {
            core_end_ = sample_cpu(pinned_cpu_);
        }
        finish_time_ = now_us();
        if (options_.server_pid > 0) {
            server_after_ = sample_process(options_.server_pid);
        }
        if (fake_) {
            fake_->stop();
        }
        for (auto& c : conns_) {
            error_code ignored;
            c->socket.close(ignored);
            c->state = phase::closed;
        }
        ioc_.stop();
    }

    // ---- the report ---------------------------------------------------------------------

    static json::object millis(const histogram& h) {
        auto ms = [](std::uint64_t us) {
            return std::round(static_cast<double>(us) / 10.0) / 100.0;
        };
        return json::object{
            {"p50", ms(h.percentile(0.50))},
            {"p99", ms(h.percentile(0.99))},
            {"max", ms(h.max())},
            {"samples", h.count()}};
    }

    json::value report() const {
        double window_s = static_cast<double>(action_end_ - action_start_) / 1e6;
        double busy_wall_s = static_cast<double>(finish_time_ - action_start_) / 1e6;
        double cpu_s = cpu_end_ - cpu_start_;
        double busy = busy_wall_s > 0 ? cpu_s / busy_wall_s : 0;
        // Pinned to one core, the core's own load counts too: the kernel's receive work for our
        // sockets (softirq) is not charged to this thread.
        double core_busy = -1;
        if (core_start_ && core_end_ && core_end_->total > core_start_->total) {
            core_busy = static_cast<double>(core_end_->busy - core_start_->busy) /
                        static_cast<double>(core_end_->total - core_start_->total);
        }
        bool saturated = busy >= saturated_busy_ratio || core_busy >= saturated_core_ratio ||
                         send_lag_us_.percentile(0.99) > saturated_send_lag_us;

        json::object out;
        out["scenario"] = options_.scenario == scenario_kind::game      ? "game"
                          : options_.scenario == scenario_kind::counter ? "counter"
                                                                        : "idle";
        out["url"] = options_.url;
        out["clients"] = options_.clients;
        out["rate_per_client"] = options_.rate;
        out["duration_s"] = window_s;
        out["clients_connected"] = ready_count_;
        out["connect_ms"] = millis(connect_us_);
        out["ready_ms"] = millis(ready_us_);
        out["connect_all_ms"] =
            last_ready_ >= first_start_ && first_start_ >= 0
                ? std::round(static_cast<double>(last_ready_ - first_start_) / 10.0) / 100.0
                : 0.0;
        out["actions_sent"] = actions_sent_;
        out["updates_expected"] = expected_;
        out["updates_delivered"] = delivered_;
        out["delivered_ratio"] =
            expected_ > 0 ? static_cast<double>(delivered_) / static_cast<double>(expected_) : 1.0;
        out["delivered_per_s"] =
            window_s > 0 ? static_cast<double>(delivered_in_window_) / window_s : 0.0;
        out["fanout_ms"] = millis(fanout_us_);
        if (ping_us_.count() > 0) {
            out["ping_rtt_ms"] = millis(ping_us_);
        }
        out["frames_received"] = frames_received_;
        out["frames_per_s"] =
            window_s > 0 ? static_cast<double>(frames_in_window_) / window_s : 0.0;
        out["bytes_received"] = bytes_received_;
        out["errors"] = json::object{
            {"connect", errors_.connect},
            {"upgrade", errors_.upgrade},
            {"closed", errors_.closed},
            {"closed_by_server", errors_.closed_by_server},
            {"protocol", errors_.protocol},
            {"malformed_frames", errors_.malformed_frames}};
        out["generator"] = json::object{
            {"cpu_s", cpu_s},
            {"busy_ratio", std::round(busy * 1000) / 1000},
            {"core", pinned_cpu_},
            {"core_busy_ratio",
             core_busy < 0 ? json::value(nullptr)
                           : json::value(std::round(core_busy * 1000) / 1000)},
            {"frames_per_cpu_s",
             cpu_s > 0 ? std::round(static_cast<double>(frames_measured_) / cpu_s) : 0.0},
            {"send_lag_ms", millis(send_lag_us_)},
            {"saturated", saturated}};
        if (options_.server_pid > 0) {
            out["server"] = server_report();
        }
        out["background_cpu_s"] = background_cpu();
        return out;
    }

    // CPU time that neither the generator nor the server used while measuring: other programs
    // on the machine, which disturb the figures (null when unknown).
    json::value background_cpu() const {
        if (!machine_start_ || !machine_end_ || !self_start_ || !self_end_) {
            return nullptr;
        }
        double others = (*machine_end_ - *machine_start_) -
                        (self_end_->tick_seconds - self_start_->tick_seconds);
        if (options_.server_pid > 0) {
            if (!server_connected_ || !server_after_) {
                return nullptr;
            }
            others -= server_after_->tick_seconds - server_connected_->tick_seconds;
        }
        return std::round(std::max(0.0, others) * 100) / 100;
    }

    json::value server_report() const {
        json::object s;
        s["pid"] = options_.server_pid;
        if (server_before_) {
            s["rss_kb_before"] = server_before_->rss_kb;
        }
        if (server_connected_) {
            s["rss_kb_connected"] = server_connected_->rss_kb;
            if (server_before_ && ready_count_ > 0) {
                double per_conn = (static_cast<double>(server_connected_->rss_kb) -
                                   static_cast<double>(server_before_->rss_kb)) *
                                  1024.0 / static_cast<double>(ready_count_);
                s["bytes_per_connection"] = std::round(per_conn);
            }
        }
        if (server_after_) {
            s["rss_kb_after"] = server_after_->rss_kb;
            s["peak_rss_kb"] = server_after_->peak_kb;
        }
        if (server_connected_ && server_after_) {
            double cpu = server_after_->cpu_seconds - server_connected_->cpu_seconds;
            s["cpu_s"] = cpu;
            if (delivered_ > 0) {
                s["cpu_s_per_million_delivered"] = cpu * 1e6 / static_cast<double>(delivered_);
            }
        }
        if (server_before_ && server_connected_) {
            s["connect_cpu_s"] = server_connected_->cpu_seconds - server_before_->cpu_seconds;
        }
        return s;
    }

public:
    void attach_fake_server(fake_server* fake) { fake_ = fake; }

private:
    struct error_counts {
        std::uint64_t connect = 0;
        std::uint64_t upgrade = 0;
        std::uint64_t closed = 0;
        std::uint64_t closed_by_server = 0;
        std::uint64_t protocol = 0;
        std::uint64_t malformed_frames = 0;
    };

    run_options options_;
    target_url url_;
    net::io_context ioc_{1};
    tcp::resolver::results_type endpoints_;
    net::steady_timer tick_timer_{ioc_};
    steady::time_point epoch_;
    std::vector<std::unique_ptr<client_conn>> conns_;
    std::vector<char> rx_;
    frame_scanner scanner_;
    std::string payload_;
    std::uint64_t mask_state_ = 0x9E3779B97F4A7C15ull;
    fake_server* fake_ = nullptr;

    // Connect phase.
    std::size_t next_to_connect_ = 0;
    std::size_t in_flight_ = 0;
    std::size_t ready_count_ = 0;
    std::size_t failed_count_ = 0;
    std::int64_t first_start_ = -1;
    std::int64_t last_ready_ = 0;
    std::int64_t connect_deadline_ = 0;
    std::int64_t connect_phase_end_ = 0;

    // Action phase.
    run_phase phase_ = run_phase::connecting;
    std::int64_t action_start_ = 0;
    std::int64_t action_end_ = std::numeric_limits<std::int64_t>::max();
    std::int64_t drain_end_ = 0;
    std::int64_t finish_time_ = 0;
    std::int64_t send_period_ = 0;
    std::int64_t ping_period_ = 0;
    double cpu_start_ = 0;
    double cpu_end_ = 0;
    int pinned_cpu_ = pinned_cpu();
    std::optional<cpu_times> core_start_;
    std::optional<cpu_times> core_end_;
    std::optional<double> machine_start_;
    std::optional<double> machine_end_;
    std::optional<process_sample> self_start_;
    std::optional<process_sample> self_end_;

    // The frame being scanned.
    client_conn* current_ = nullptr;
    frame_type frame_type_ = frame_type::other;
    std::int64_t frame_time_ = 0;
    std::vector<std::size_t> touched_;

    pid_table sender_by_pid_;
    double counter_base_ = 0;
    std::vector<std::int64_t> increment_times_;

    std::uint64_t actions_sent_ = 0;
    std::uint64_t expected_ = 0;
    std::uint64_t delivered_ = 0;
    std::uint64_t delivered_in_window_ = 0;
    std::uint64_t frames_received_ = 0;
    std::uint64_t frames_in_window_ = 0;
    std::uint64_t frames_measured_ = 0;  // while acting or draining, for frames per CPU second
    std::uint64_t bytes_received_ = 0;
    error_counts errors_;
    histogram connect_us_;
    histogram ready_us_;
    histogram fanout_us_;
    histogram send_lag_us_;
    histogram ping_us_;

    std::optional<process_sample> server_before_;
    std::optional<process_sample> server_connected_;
    std::optional<process_sample> server_after_;
};

}  // namespace

json::value run(const run_options& options) {
    if (!options.self_test) {
        engine e(options);
        return e.run();
    }
    fake_server fake(options.clients);
    run_options local = options;
    local.url = "ws://127.0.0.1:" + std::to_string(fake.port()) + "/parties/main/game-1";
    local.scenario = scenario_kind::game;
    local.rate = 0;
    local.drain_s = 0;
    engine e(local);
    e.attach_fake_server(&fake);
    json::value report = e.run();
    report.as_object()["self_test"] = true;
    return report;
}

}  // namespace signe::loadtest

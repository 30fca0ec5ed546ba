// signe::client on Beast: one WebSocket per connection attempt, a strand for everything the
// client does, a mirror behind a mutex so other threads can copy it or wait on it.

#include <signe/client.hpp>
#include <signe/connection.hpp>
#include <signe/http.hpp>
#include <signe/log.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>

namespace signe {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

constexpr std::chrono::seconds close_grace{1};
constexpr int abnormal_closure = 1006;

struct endpoint_parts {
    std::string host_header;  // "127.0.0.1:3000"
    std::string name;         // "127.0.0.1"
    std::string port;         // "3000"
};

endpoint_parts parse_host(std::string host) {
    for (std::string_view secure : {"wss://", "https://"}) {
        if (host.starts_with(secure)) {
            throw std::invalid_argument("signe::client: TLS (wss://) is not supported: " + host);
        }
    }
    for (std::string_view scheme : {"ws://", "http://"}) {
        if (host.starts_with(scheme)) {
            host.erase(0, scheme.size());
        }
    }
    while (!host.empty() && host.back() == '/') {
        host.pop_back();
    }
    if (host.empty()) {
        throw std::invalid_argument("signe::client: options.host is empty");
    }
    endpoint_parts out{host, host, "80"};
    std::size_t colon = host.rfind(':');
    std::size_t bracket = host.rfind(']');
    if (host.front() == '[' && bracket != std::string::npos) {
        out.name = host.substr(1, bracket - 1);  // [::1]:3000
        if (colon != std::string::npos && colon > bracket) {
            out.port = host.substr(colon + 1);
        }
    } else if (colon != std::string::npos) {
        out.name = host.substr(0, colon);
        out.port = host.substr(colon + 1);
    }
    return out;
}

std::string make_target(const client_options& o, const std::string& session) {
    std::string t = o.party.empty()
                        ? "/party/" + percent_encode(o.room)
                        : "/parties/" + percent_encode(o.party) + "/" + percent_encode(o.room);
    t += "?_pk=" + percent_encode(session) + "&id=" + percent_encode(session);
    for (const auto& [name, value] : o.query) {
        t += "&" + percent_encode(name) + "=" + percent_encode(value);
    }
    return t;
}

void log_handler_error(std::string_view where) {
    log(log_level::error,
        "signe::client: a " + std::string(where) +
            " handler threw: " + exception_message(std::current_exception()));
}

// Handlers, copied on write so dispatch reads them without holding a lock.
struct handler_table {
    struct typed {
        client::handler_id id;
        std::string type;
        client::handler fn;
    };
    std::vector<typed> frames;
    std::vector<std::pair<client::handler_id, std::function<void()>>> ready;
    std::vector<std::pair<client::handler_id, std::function<void(int, const std::string&)>>>
        disconnect;
};

using ws_stream = websocket::stream<beast::tcp_stream>;

// One question to a World: which shard serves this room (the JS connectionWorld's
// getOptimalShard).
struct world_exchange {
    explicit world_exchange(const net::any_io_executor& ex) : stream(ex) {}
    beast::tcp_stream stream;
    beast::http::request<beast::http::string_body> request;
    beast::http::response<beast::http::string_body> response;
    beast::flat_buffer buffer;
};

}  // namespace

struct client::impl : std::enable_shared_from_this<impl> {
    impl(net::io_context* external, client_options opts)
        : options(std::move(opts)),
          own(external == nullptr ? std::make_unique<net::io_context>(1) : nullptr),
          ioc(external != nullptr ? *external : *own),
          exec(net::make_strand(ioc)),
          resolver(exec),
          attempt_timer(exec),
          retry_timer(exec),
          close_timer(exec),
          endpoint(parse_host(options.host)),
          session(options.id.empty() ? random_id(16) : options.id),
          target(make_target(options, session)),
          jitter(std::random_device{}()) {}

    // ---- lifecycle (all on the strand) ----------------------------------------------------

    void start() {
        stopped = false;
        if (!current && status_now() != client_status::reconnecting) {
            attempt();
        }
    }

    void attempt() {
        ++counters.connect_attempts;
        set_status(client_status::connecting);
        auto ws = std::make_shared<ws_stream>(exec);
        current = ws;
        joined_socket = false;
        attempt_timer.expires_after(options.connect_timeout);
        attempt_timer.async_wait([self = shared_from_this(), ws](beast::error_code ec) {
            if (!ec && self->current == ws && !self->open) {
                self->resolver.cancel();
                if (auto ask = self->world_ask.lock()) {
                    ask->stream.close();
                }
                beast::get_lowest_layer(*ws).close();  // the pending step fails and retries
            }
        });
        resolver.async_resolve(
            endpoint.name,
            endpoint.port,
            [self = shared_from_this(), ws](beast::error_code ec, tcp::resolver::results_type r) {
                if (self->current != ws) {
                    return;
                }
                if (ec) {
                    return self->lost(ws, ec);
                }
                if (self->options.world.empty()) {
                    return self->open_socket(ws, r);
                }
                self->ask_world(ws, r);
            }
        );
    }

    void open_socket(const std::shared_ptr<ws_stream>& ws, const tcp::resolver::results_type& r) {
        beast::get_lowest_layer(*ws).async_connect(
            r,
            [self = shared_from_this(), ws](beast::error_code ec, const tcp::endpoint&) {
                self->on_connected(ws, ec);
            }
        );
    }

    // connectionWorld: POST /parties/world/<world>/connect {"roomId","autoCreate"} on a
    // connection of its own, then the room through the shard the World names. Asked again on
    // every attempt, so clients of a shard that died are placed on another.
    void ask_world(const std::shared_ptr<ws_stream>& ws, const tcp::resolver::results_type& r) {
        auto ask = std::make_shared<world_exchange>(exec);
        world_ask = ask;
        ask->request = {
            beast::http::verb::post,
            "/parties/world/" + percent_encode(options.world) + "/connect",
            11};
        ask->request.set(beast::http::field::host, endpoint.host_header);
        ask->request.set(beast::http::field::content_type, "application/json");
        ask->request.set(beast::http::field::user_agent, "signe-client");
        ask->request.body() =
            to_text(json::object{{"roomId", options.room}, {"autoCreate", options.auto_create}});
        ask->request.prepare_payload();
        auto self = shared_from_this();
        ask->stream.async_connect(
            r,
            [self, ws, ask, r](beast::error_code ec, const tcp::endpoint&) {
                if (self->current != ws) {
                    return;
                }
                if (ec) {
                    return self->lost(ws, ec);
                }
                beast::http::async_write(
                    ask->stream,
                    ask->request,
                    [self, ws, ask, r](beast::error_code wec, std::size_t) {
                        if (self->current != ws) {
                            return;
                        }
                        if (wec) {
                            return self->lost(ws, wec);
                        }
                        beast::http::async_read(
                            ask->stream,
                            ask->buffer,
                            ask->response,
                            [self, ws, ask, r](beast::error_code rec, std::size_t) {
                                if (self->current != ws) {
                                    return;
                                }
                                beast::error_code ignored;
                                ask->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                                ask->stream.close();
                                if (rec) {
                                    return self->lost(ws, rec);
                                }
                                if (!self->take_shard(ask->response)) {
                                    return self->lost(
                                        ws,
                                        beast::error_code(
                                            boost::system::errc::connection_refused,
                                            boost::system::generic_category()
                                        )
                                    );
                                }
                                self->open_socket(ws, r);
                            }
                        );
                    }
                );
            }
        );
    }

    // The World's answer: {"url", "shardId"} (200), or {"error"} with a 4xx/5xx.
    bool take_shard(const beast::http::response<beast::http::string_body>& res) {
        boost::system::error_code ec;
        json::value body = json::parse(res.body(), ec);
        const json::object* obj = ec ? nullptr : body.if_object();
        const json::value* url = obj ? obj->if_contains("url") : nullptr;
        const json::value* shard = obj ? obj->if_contains("shardId") : nullptr;
        if (res.result() != beast::http::status::ok || url == nullptr || !url->is_string()) {
            const json::value* error = obj ? obj->if_contains("error") : nullptr;
            ++counters.world_refusals;
            log(log_level::warn,
                "signe::client: the World answered " + std::to_string(res.result_int()) +
                    (error != nullptr && error->is_string() ? " " + std::string(error->get_string())
                                                            : std::string()));
            return false;
        }
        client_options shard_room = options;
        shard_room.party = "shard";
        shard_room.room = std::string(url->get_string());
        std::lock_guard lock(state_mutex);
        target = make_target(shard_room, session);
        shard_id = shard != nullptr && shard->is_string() ? std::string(shard->get_string())
                                                          : std::string();
        return true;
    }

    void on_connected(const std::shared_ptr<ws_stream>& ws, beast::error_code ec) {
        if (current != ws) {
            return;
        }
        if (ec) {
            return lost(ws, ec);
        }
        beast::error_code ignored;
        beast::get_lowest_layer(*ws).socket().set_option(tcp::no_delay(true), ignored);
        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = options.connect_timeout;
        timeouts.idle_timeout =
            options.idle_timeout.count() > 0
                ? std::chrono::duration_cast<std::chrono::nanoseconds>(options.idle_timeout)
                : websocket::stream_base::none();
        timeouts.keep_alive_pings = options.idle_timeout.count() > 0;
        ws->set_option(timeouts);
        ws->set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
            req.set(beast::http::field::user_agent, "signe-client");
        }));
        ws->read_message_max(options.max_frame_bytes);
        ws->text(true);
        ws->async_handshake(
            endpoint.host_header,
            current_target(),
            [self = shared_from_this(), ws](beast::error_code hec) {
                if (self->current != ws) {
                    return;
                }
                if (hec) {
                    return self->lost(ws, hec);
                }
                self->open = true;
                self->attempt_timer.cancel();
                if (self->stopped) {
                    return self->close_socket();
                }
                self->read(ws);
            }
        );
    }

    void read(const std::shared_ptr<ws_stream>& ws) {
        ws->async_read(
            read_buffer,
            [self = shared_from_this(), ws](beast::error_code ec, std::size_t) {
                if (self->current != ws) {
                    return;
                }
                if (ec) {
                    return self->lost(ws, ec);
                }
                self->on_frame(beast::buffers_to_string(self->read_buffer.data()));
                self->read_buffer.consume(self->read_buffer.size());
                if (self->current == ws) {
                    self->read(ws);
                }
            }
        );
    }

    // The connection (or the attempt) ended: tell the handlers, then come back unless closed.
    void lost(const std::shared_ptr<ws_stream>& ws, beast::error_code ec) {
        int code = abnormal_closure;
        std::string reason = ec.message();
        if (ec == websocket::error::closed) {
            code = ws->reason().code;
            reason = std::string(ws->reason().reason.c_str());
        }
        bool was_open = open;
        current.reset();
        open = false;
        read_buffer.consume(read_buffer.size());
        attempt_timer.cancel();
        close_timer.cancel();
        requeue_unsent();
        beast::error_code ignored;
        beast::get_lowest_layer(*ws).socket().close(ignored);
        bool again = options.reconnect && !stopped;
        set_status(again ? client_status::reconnecting : client_status::closed);
        if (was_open) {
            for (const auto& [id, fn] : table()->disconnect) {
                call([&] { fn(code, reason); }, "on_disconnect");
            }
        }
        if (again) {
            schedule_retry();
        }
    }

    void schedule_retry() {
        double base = static_cast<double>(options.reconnect_min_delay.count()) *
                      std::pow(options.reconnect_growth, static_cast<double>(failures));
        base = std::min(base, static_cast<double>(options.reconnect_max_delay.count()));
        ++failures;
        double delay = std::uniform_real_distribution<double>(base / 2, base)(jitter);
        retry_timer.expires_after(std::chrono::microseconds(static_cast<std::int64_t>(delay * 1000))
        );
        retry_timer.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec && !self->stopped && !self->current) {
                self->attempt();
            }
        });
    }

    void shutdown() {
        if (stopped) {
            return;  // close() then the destructor: one close handshake only (Beast allows one)
        }
        stopped = true;
        retry_timer.cancel();
        held.clear();
        drop_unsent();
        if (!current) {
            set_status(client_status::closed);
            return;
        }
        if (!open) {
            resolver.cancel();
            if (auto ask = world_ask.lock()) {
                ask->stream.close();
            }
            beast::error_code ignored;
            beast::get_lowest_layer(*current).socket().close(ignored);
            return;  // the pending step fails and lost() finishes
        }
        close_socket();
    }

    // A close handshake, forced shut if the server does not answer within the grace period.
    void close_socket() {
        auto ws = current;
        close_timer.expires_after(close_grace);
        close_timer.async_wait([ws](beast::error_code ec) {
            if (!ec) {
                beast::get_lowest_layer(*ws).close();
            }
        });
        ws->async_close(
            websocket::close_code::normal,
            [self = shared_from_this(), ws](beast::error_code) { self->close_timer.cancel(); }
        );
    }

    // ---- frames -------------------------------------------------------------------------

    void on_frame(const std::string& text) {
        ++counters.frames_received;
        counters.bytes_received += text.size();
        boost::system::error_code ec;
        json::value frame = json::parse(text, ec);
        const json::object* obj = ec ? nullptr : frame.if_object();
        if (obj == nullptr) {
            ++counters.malformed_frames;
            return;
        }
        const json::value* type = obj->if_contains("type");
        if (type == nullptr || !type->is_string()) {
            return;  // the JS client ignores frames without a type
        }
        static const json::value null_value;
        const json::value* value = obj->if_contains("value");
        const json::value& payload = value != nullptr ? *value : null_value;
        std::string_view kind = type->get_string();
        if (kind == "sync") {
            apply_sync(payload);
        }
        for (const auto& h : table()->frames) {
            if (h.type == kind) {
                call([&] { h.fn(payload); }, "frame");
            }
        }
    }

    void apply_sync(const json::value& packet) {
        bool initial = !joined_socket;
        {
            std::lock_guard lock(state_mutex);
            if (initial && options.reset_mirror_on_resync) {
                mirror = json::object{};
            }
            if (!apply_packet(mirror, packet)) {
                ++counters.partial_packets;
            }
            if (initial) {
                if (const auto* p =
                        packet.is_object() ? packet.get_object().if_contains("pId") : nullptr;
                    p != nullptr && p->is_string()) {
                    pid = std::string(p->get_string());
                }
                status = client_status::ready;
                ++joins;
            }
        }
        ++counters.sync_packets;
        state_changed.notify_all();
        if (initial) {
            joined_socket = true;
            failures = 0;
            ++counters.joins;
            while (!held.empty()) {
                writes.push_back(std::move(held.front()));
                held.pop_front();
            }
            write_next();
            for (const auto& [id, fn] : table()->ready) {
                call(fn, "on_ready");
            }
        }
    }

    // ---- sending ------------------------------------------------------------------------

    void send(std::string text) {
        if (stopped && status_now() != client_status::idle) {
            return;  // closed: nothing more goes out
        }
        if (!joined_socket || !current) {
            if (held.size() >= options.max_queued_emits) {
                held.pop_front();
                ++counters.emits_dropped;
            }
            held.push_back(std::move(text));
            return;
        }
        writes.push_back(std::move(text));
        write_next();
    }

    void write_next() {
        if (writing || writes.empty() || !current || !open) {
            return;
        }
        writing = true;
        auto ws = current;
        ws->async_write(
            net::buffer(writes.front()),
            [self = shared_from_this(), ws](beast::error_code ec, std::size_t) {
                if (self->current != ws) {
                    return;  // that connection is gone; requeue_unsent() took care of the rest
                }
                self->writing = false;
                if (ec || self->writes.empty()) {
                    return;  // the read side reports a loss; close() already dropped the rest
                }
                self->writes.pop_front();
                ++self->counters.frames_sent;
                self->write_next();
            }
        );
    }

    // Forgets what has not been handed to the socket yet (the frame being written stays until
    // its completion).
    void drop_unsent() {
        std::size_t keep = writing && !writes.empty() ? 1 : 0;
        writes.resize(keep);
    }

    // Frames not yet handed to the socket wait for the next join; one being written is lost,
    // as with the JS client.
    void requeue_unsent() {
        if (writing && !writes.empty()) {
            writes.pop_front();
        }
        writing = false;
        while (!writes.empty()) {
            held.push_front(std::move(writes.back()));
            writes.pop_back();
        }
        while (held.size() > options.max_queued_emits) {
            held.pop_front();
            ++counters.emits_dropped;
        }
    }

    // ---- helpers ------------------------------------------------------------------------

    std::shared_ptr<const handler_table> table() const {
        std::lock_guard lock(handlers_mutex);
        return handlers;
    }

    template <class Edit>
    void edit_handlers(Edit&& edit) {
        std::lock_guard lock(handlers_mutex);
        auto copy = std::make_shared<handler_table>(*handlers);
        edit(*copy);
        handlers = std::move(copy);
    }

    template <class Fn>
    void call(const Fn& fn, std::string_view where) {
        if (detached) {
            return;
        }
        try {
            fn();
        } catch (...) {
            log_handler_error(where);
        }
    }

    void set_status(client_status s) {
        {
            std::lock_guard lock(state_mutex);
            status = s;
        }
        state_changed.notify_all();
    }

    client_status status_now() const {
        std::lock_guard lock(state_mutex);
        return status;
    }

    template <class Fn>
    void dispatch(Fn fn) {
        net::post(exec, [self = shared_from_this(), fn = std::move(fn)]() mutable { fn(*self); });
    }

    bool on_executor() const { return exec.running_in_this_thread(); }

    std::string current_target() const {
        std::lock_guard lock(state_mutex);
        return target;
    }

    client_options options;
    std::unique_ptr<net::io_context> own;
    net::io_context& ioc;
    net::strand<net::io_context::executor_type> exec;
    tcp::resolver resolver;
    net::steady_timer attempt_timer;
    net::steady_timer retry_timer;
    net::steady_timer close_timer;
    endpoint_parts endpoint;
    std::string session;
    std::string target;    // under state_mutex: a World may change it before each attempt
    std::string shard_id;  // under state_mutex
    std::weak_ptr<world_exchange> world_ask;
    std::minstd_rand jitter;

    std::shared_ptr<ws_stream> current;  // the live connection or attempt
    bool open = false;                   // `current` finished its handshake
    bool joined_socket = false;          // `current` received its initial sync
    bool stopped = false;                // close() was called (connect() clears it)
    unsigned failures = 0;               // attempts since the last join (backoff growth)
    beast::flat_buffer read_buffer;
    std::deque<std::string> writes;  // handed to this connection, in order
    std::deque<std::string> held;    // waiting for the next join
    bool writing = false;

    mutable std::mutex state_mutex;
    std::condition_variable state_changed;
    json::value mirror = json::object{};
    std::string pid;
    client_status status = client_status::idle;
    std::uint64_t joins = 0;

    mutable std::mutex handlers_mutex;
    std::shared_ptr<const handler_table> handlers = std::make_shared<handler_table>();
    std::atomic<handler_id> last_handler{0};
    std::atomic<bool> detached{false};

    struct atomic_stats {
        std::atomic<std::uint64_t> frames_received{0};
        std::atomic<std::uint64_t> bytes_received{0};
        std::atomic<std::uint64_t> sync_packets{0};
        std::atomic<std::uint64_t> partial_packets{0};
        std::atomic<std::uint64_t> malformed_frames{0};
        std::atomic<std::uint64_t> frames_sent{0};
        std::atomic<std::uint64_t> emits_dropped{0};
        std::atomic<std::uint64_t> connect_attempts{0};
        std::atomic<std::uint64_t> joins{0};
        std::atomic<std::uint64_t> world_refusals{0};
    } counters;

    std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
    std::thread thread;
};

client::client(client_options options)
    : impl_(std::make_shared<impl>(nullptr, std::move(options))) {
    impl_->guard.emplace(net::make_work_guard(*impl_->own));
    impl_->thread = std::thread([ioc = impl_->own.get()] { ioc->run(); });
}

client::client(net::io_context& ioc, client_options options)
    : impl_(std::make_shared<impl>(&ioc, std::move(options))) {}

client::~client() {
    impl_->detached = true;
    impl_->dispatch([](impl& self) { self.shutdown(); });
    if (impl_->thread.joinable()) {
        impl_->guard.reset();
        impl_->thread.join();
    }
}

void client::connect() {
    impl_->dispatch([](impl& self) { self.start(); });
}

void client::close() {
    impl_->dispatch([](impl& self) { self.shutdown(); });
}

void client::emit(std::string_view action, json::value value) {
    json::object frame;
    frame["action"] = action;
    frame["value"] = std::move(value);
    impl_->dispatch([text = to_text(frame)](impl& self) mutable { self.send(std::move(text)); });
}

void client::emit(std::string_view action) {
    json::object frame;
    frame["action"] = action;
    impl_->dispatch([text = to_text(frame)](impl& self) mutable { self.send(std::move(text)); });
}

client::handler_id client::on(std::string type, handler fn) {
    handler_id id = ++impl_->last_handler;
    impl_->edit_handlers([&](handler_table& t) {
        t.frames.push_back({id, std::move(type), std::move(fn)});
    });
    return id;
}

void client::off(handler_id id) {
    impl_->edit_handlers([id](handler_table& t) {
        std::erase_if(t.frames, [id](const auto& h) { return h.id == id; });
        std::erase_if(t.ready, [id](const auto& h) { return h.first == id; });
        std::erase_if(t.disconnect, [id](const auto& h) { return h.first == id; });
    });
}

void client::off(std::string_view type) {
    impl_->edit_handlers([type](handler_table& t) {
        std::erase_if(t.frames, [type](const auto& h) { return h.type == type; });
    });
}

client::handler_id client::on_ready(std::function<void()> fn) {
    handler_id id = ++impl_->last_handler;
    impl_->edit_handlers([&](handler_table& t) { t.ready.emplace_back(id, std::move(fn)); });
    return id;
}

client::handler_id client::on_disconnect(std::function<void(int, const std::string&)> fn) {
    handler_id id = ++impl_->last_handler;
    impl_->edit_handlers([&](handler_table& t) { t.disconnect.emplace_back(id, std::move(fn)); });
    return id;
}

std::string client::pid() const {
    std::lock_guard lock(impl_->state_mutex);
    return impl_->pid;
}

json::value client::state() const {
    std::lock_guard lock(impl_->state_mutex);
    return impl_->mirror;
}

const json::value& client::mirror() const {
    return impl_->mirror;
}

client_status client::status() const {
    return impl_->status_now();
}

client_stats client::stats() const {
    const auto& c = impl_->counters;
    client_stats s;
    s.frames_received = c.frames_received;
    s.bytes_received = c.bytes_received;
    s.sync_packets = c.sync_packets;
    s.partial_packets = c.partial_packets;
    s.malformed_frames = c.malformed_frames;
    s.frames_sent = c.frames_sent;
    s.emits_dropped = c.emits_dropped;
    s.connect_attempts = c.connect_attempts;
    s.joins = c.joins;
    s.world_refusals = c.world_refusals;
    return s;
}

const client_options& client::options() const {
    return impl_->options;
}

std::string client::target() const {
    return impl_->current_target();
}

std::string client::shard_id() const {
    std::lock_guard lock(impl_->state_mutex);
    return impl_->shard_id;
}

bool client::wait_until(
    const std::function<bool(const json::value&)>& pred, std::chrono::milliseconds timeout
) {
    if (impl_->on_executor()) {
        throw std::logic_error("signe::client::wait_until called on the client's own executor");
    }
    std::unique_lock lock(impl_->state_mutex);
    return impl_->state_changed.wait_for(lock, timeout, [&] { return pred(impl_->mirror); });
}

bool client::wait_ready(std::chrono::milliseconds timeout, std::uint64_t joins) {
    if (impl_->on_executor()) {
        throw std::logic_error("signe::client::wait_ready called on the client's own executor");
    }
    std::unique_lock lock(impl_->state_mutex);
    return impl_->state_changed.wait_for(lock, timeout, [&] {
        return impl_->joins >= joins && impl_->status == client_status::ready;
    });
}

bool client::wait_status(client_status status, std::chrono::milliseconds timeout) {
    if (impl_->on_executor()) {
        throw std::logic_error("signe::client::wait_status called on the client's own executor");
    }
    std::unique_lock lock(impl_->state_mutex);
    return impl_->state_changed.wait_for(lock, timeout, [&] { return impl_->status == status; });
}

void client::post(std::function<void()> fn) {
    impl_->dispatch([fn = std::move(fn)](impl& self) { self.call(fn, "post"); });
}

}  // namespace signe

#include "server/server_impl.hpp"

#include <signe/log.hpp>
#include <signe/server.hpp>

#include <boost/asio/post.hpp>

#include <cstdlib>
#include <functional>
#include <iostream>

namespace signe {

// ---------------------------------------------------------------------------------------------
// Room timers

asio_clock::~asio_clock() {
    cancel_all();
}

std::int64_t asio_clock::now_ms() const {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::uint64_t asio_clock::set_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
    std::uint64_t id = ++last_id_;
    if (stopped_) {
        return id;  // never fires: the server is stopping
    }
    auto timer = std::make_shared<net::steady_timer>(executor_, delay);
    timers_.emplace(id, timer);
    timer->async_wait(
        [this, id, timer, alive = alive_, fn = std::move(fn)](boost::system::error_code ec) {
            if (ec || !*alive) {
                return;  // cancelled or stopped: the clock (and maybe its room) may be gone
            }
            timers_.erase(id);
            fn();
        }
    );
    return id;
}

void asio_clock::cancel_timer(std::uint64_t id) {
    if (auto it = timers_.find(id); it != timers_.end()) {
        it->second->cancel();
        timers_.erase(it);
    }
}

void asio_clock::cancel_all() {
    for (auto& [id, timer] : timers_) {
        timer->cancel();
    }
    timers_.clear();
}

void asio_clock::stop() {
    stopped_ = true;
    *alive_ = false;
    cancel_all();
}

void room_host::post(std::function<void(detail::room_core&)> fn) {
    // The task holds the room: an idle room is unloaded only when nothing does.
    net::post(executor, [self = shared_from_this(), fn = std::move(fn)] {
        self->ensure_started();
        fn(self->core);
        self->touched();
    });
}

void room_host::defer_write(std::function<void()> write) {
    deferred_writes.push_back(std::move(write));
    if (deferred_writes.size() > 1) {
        return;  // the timer is set
    }
    write_timer.expires_after(srv.config.limits.write_delay);
    write_timer.async_wait([self = shared_from_this()](boost::system::error_code) {
        auto writes = std::move(self->deferred_writes);
        self->deferred_writes.clear();
        for (auto& deferred : writes) {
            deferred();
        }
    });
}

void room_host::touched() {
    auto timeout = srv.config.limits.room_idle_timeout;
    if (timeout.count() <= 0 || idle_armed || closing || srv.stopping ||
        core.connection_count() != 0) {
        return;
    }
    idle_armed = true;
    idle_timer.expires_after(timeout);
    idle_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        self->idle_armed = false;
        if (ec || self->closing || self->core.connection_count() != 0) {
            return;  // a socket came: its leave arms the timer again
        }
        if (!self->srv.unload_if_idle(self)) {
            self->touched();
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Paths

std::optional<room_address> parse_room_path(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t start = 0;
    while (start < path.size()) {
        std::size_t slash = path.find('/', start);
        std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        if (end > start) {
            segments.push_back(path.substr(start, end - start));
        }
        start = end + 1;
    }
    room_address out;
    std::size_t used = 0;
    if (segments.size() >= 3 && segments[0] == "parties") {
        out.party = percent_decode(segments[1]);
        out.room_id = percent_decode(segments[2]);
        used = 3;
    } else if (segments.size() >= 2 && segments[0] == "party") {
        out.party = "main";
        out.room_id = percent_decode(segments[1]);
        used = 2;
    } else {
        return std::nullopt;
    }
    if (out.party.empty() || out.room_id.empty()) {
        return std::nullopt;
    }
    for (std::size_t i = used; i < segments.size(); ++i) {
        out.rest += '/';
        out.rest += segments[i];
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Server

server::impl::impl(server_config cfg, net::io_context* external) : config(std::move(cfg)) {
    if (!config.storage) {
        config.storage = std::make_shared<memory_storage>();
    }
    storage = std::make_unique<detail::storage_service>(config.storage, false);
    if (external != nullptr) {
        embedded = true;
        workers.push_back(external);
        return;
    }
    unsigned n =
        config.threads != 0 ? config.threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) {
        owned.push_back(std::make_unique<net::io_context>(1));
        workers.push_back(owned.back().get());
        guards.emplace_back(net::make_work_guard(*owned.back()));
    }
}

strand server::impl::strand_for(std::size_t worker) {
    return net::make_strand(workers[worker]->get_executor());
}

std::size_t server::impl::worker_for(const std::string& key) const {
    return std::hash<std::string>{}(key) % workers.size();
}

std::shared_ptr<room_host> server::impl::find_room(
    const std::string& party, const std::string& room_id
) {
    std::string key = party + '\n' + room_id;
    std::lock_guard lock(rooms_mutex);
    if (auto it = rooms.find(key); it != rooms.end()) {
        return it->second;
    }
    for (const auto& def : definitions) {
        room_info info{party, room_id, name_values{}};
        if (def.matches(room_id, info.params)) {
            strand executor = strand_for(worker_for(key));
            auto host = std::make_shared<room_host>(
                *this,
                key,
                def,
                std::move(info),
                executor,
                detail::room_limits{
                    .max_queued_frames = config.limits.max_queued_frames,
                    .max_messages_per_second = config.limits.max_messages_per_second,
                    .message_burst = config.limits.message_burst},
                links_for(executor)
            );
            rooms.emplace(key, host);
            net::post(executor, [host] { host->touched(); });  // a room nobody ends up using
            return host;
        }
    }
    return nullptr;
}

std::optional<std::string> server::impl::placement_key(std::string_view target) {
    if (!placement) {
        return std::nullopt;
    }
    auto address = parse_room_path(target.substr(0, target.find('?')));
    if (!address) {
        return std::nullopt;
    }
    std::lock_guard lock(rooms_mutex);
    if (rooms.contains(address->party + '\n' + address->room_id)) {
        return std::nullopt;
    }
    for (const auto& def : definitions) {
        name_values params;
        if (def.matches(address->room_id, params)) {
            return address->party + '/' + address->room_id;
        }
    }
    return std::nullopt;
}

void server::impl::start_placement() {
    if (config.placement_url.empty()) {
        return;
    }
    placement_options options;
    options.url = config.placement_url;
    options.group = "rooms";
    options.address =
        config.advertise.empty() ? "127.0.0.1:" + std::to_string(bound_port) : config.advertise;
    options.lease = config.placement_lease;
    placement = std::make_unique<detail::placement_service>(options, [this](std::string key) {
        room_moved(key);
    });
    log(log_level::info,
        "placement: rooms held in " + config.placement_url + ", reachable at " + options.address);
}

void server::impl::room_moved(const std::string& key) {
    auto slash = key.find('/');
    std::string map_key = key.substr(0, slash) + '\n' + key.substr(slash + 1);
    std::shared_ptr<room_host> host;
    {
        std::lock_guard lock(rooms_mutex);
        if (auto it = rooms.find(map_key); it != rooms.end()) {
            host = it->second;
            rooms.erase(it);
        }
    }
    if (host) {
        net::post(host->executor, [host] {
            host->closing = true;
            host->core.close_all(1012, "Room moved to another server");
            host->clock.stop();
        });
    }
}

bool server::impl::unload_if_idle(const std::shared_ptr<room_host>& host) {
    if (host->core.unwritten()) {
        host->core.flush_storage_now();  // the next check finds it written
        return false;
    }
    if (!host->core.idle()) {
        return false;
    }
    {
        std::lock_guard lock(rooms_mutex);
        auto it = rooms.find(host->key);
        // Held only by the registry and by the caller: no socket, no queued task, and nobody
        // can take it while the registry is locked.
        if (it == rooms.end() || it->second != host || host.use_count() > 2) {
            return false;
        }
        rooms.erase(it);
    }
    host->closing = true;
    host->clock.stop();
    ++rooms_unloaded;
    if (placement) {
        auto newline = host->key.find('\n');
        placement->release(host->key.substr(0, newline) + '/' + host->key.substr(newline + 1));
    }
    log(log_level::debug, "room " + host->core.info().id + " unloaded after being idle");
    return true;
}

// How a room reaches storage and other rooms. Rooms of this process are reached by posting to
// their strand; rooms elsewhere over HTTP with the deployment's secret.
detail::room_links server::impl::links_for(strand executor) {
    detail::room_links links;
    links.storage = storage.get();
    links.post = [executor](std::function<void()> fn) { net::post(executor, std::move(fn)); };
    links.post_to_room = [this](
                             const std::string& party,
                             const std::string& room_id,
                             std::function<void(detail::room_core&)> fn
                         ) {
        auto host = find_room(party, room_id);
        if (!host) {
            return false;
        }
        host->post(std::move(fn));
        return true;
    };
    links.transfer_secret = config.transfer_secret;
    if (!config.remote_rooms_url.empty()) {
        links.remote_transfer = [this, executor](
                                    const std::string& room_id,
                                    json::value body,
                                    std::function<void(std::optional<std::string>)> done
                                ) {
            std::string url =
                config.remote_rooms_url + "/parties/main/" + room_id + "/session-transfer";
            http_post_json(
                executor,
                url,
                to_text(body),
                {{"x-signe-transfer-secret", config.transfer_secret}},
                [done](int status, std::string text) {
                    std::optional<std::string> token;
                    boost::system::error_code ec;
                    auto parsed = json::parse(text, ec);
                    if (status == 200 && !ec && parsed.is_object() &&
                        parsed.as_object().contains("transferToken") &&
                        parsed.at("transferToken").is_string()) {
                        token = std::string(parsed.at("transferToken").as_string());
                    } else {
                        log(log_level::warn,
                            "remote session transfer answered " + std::to_string(status) + ": " +
                                text.substr(0, 200));
                    }
                    done(token);
                }
            );
        };
    }
    return links;
}

void server::impl::accept() {
    // Each accepted socket lands on the next worker; WebSockets later move to their room's.
    net::io_context& target = *workers[next_worker++ % workers.size()];
    acceptor->async_accept(target, [this](boost::system::error_code ec, tcp::socket socket) {
        if (ec) {
            if (ec == net::error::operation_aborted || stopping) {
                return;
            }
            log(log_level::warn, "accept failed: " + ec.message());
        } else if (connections_open.load() >= config.limits.max_connections) {
            ++connections_refused;
            boost::system::error_code ignored;
            socket.close(ignored);
        } else {
            start_http_session(*this, std::move(socket));
        }
        if (!stopping) {
            accept();
        }
    });
}

void server::impl::begin_stop() {
    if (stopping.exchange(true)) {
        return;
    }
    net::post(workers[0]->get_executor(), [this] {
        boost::system::error_code ignored;
        if (acceptor) {
            acceptor->close(ignored);
        }
        if (signals) {
            signals->cancel(ignored);
        }
    });
    std::vector<std::shared_ptr<room_host>> hosts;
    {
        std::lock_guard lock(rooms_mutex);
        for (auto& [key, host] : rooms) {
            hosts.push_back(host);
        }
    }
    for (auto& host : hosts) {
        net::post(host->executor, [host] {
            host->closing = true;
            host->core.close_all(close_code::going_away, "Server shutting down");
            host->core.flush_storage_now();  // before the timers go: nothing pending is lost
            host->clock.stop();
            host->idle_timer.cancel();
        });
    }
    std::vector<std::shared_ptr<http_session>> live;
    {
        std::lock_guard lock(sessions_mutex);
        for (auto& weak : http_sessions) {
            if (auto s = weak.lock()) {
                live.push_back(s);
            }
        }
    }
    for (auto& s : live) {
        close_http_session(s);
    }
    {
        std::lock_guard lock(forwarded_mutex);
        for (auto& weak : forwarded) {
            if (auto link = weak.lock()) {
                link->close();
            }
        }
    }
    // Let the workers finish their close handshakes, then stop them whatever is left.
    for (auto& guard : guards) {
        guard.reset();
    }
    if (!embedded) {
        // A thread, not a timer: a pending timer would keep the workers busy for the whole grace.
        watchdog = std::thread([this] {
            std::unique_lock lock(watchdog_mutex);
            if (!watchdog_wake.wait_for(lock, config.shutdown_grace, [this] {
                    return workers_done;
                })) {
                log(log_level::warn,
                    "sockets still open after the shutdown grace period; stopping anyway");
                for (auto* w : workers) {
                    w->stop();
                }
            }
        });
    }
}

server::server(server_config config) : impl_(std::make_unique<impl>(std::move(config), nullptr)) {}

server::server(net::io_context& ioc, server_config config)
    : impl_(std::make_unique<impl>(std::move(config), &ioc)) {}

server::~server() {
    impl_->storage->drain();
    {
        std::lock_guard lock(impl_->watchdog_mutex);
        impl_->workers_done = true;
    }
    impl_->watchdog_wake.notify_all();
    if (impl_->watchdog.joinable()) {
        impl_->watchdog.join();
    }
    impl_->storage->drain();  // every batch the rooms queued is on disk before run() returns
    if (impl_->placement) {
        impl_->placement->stop();
    }
}

server& server::add_room(detail::room_definition def) {
    std::lock_guard lock(impl_->rooms_mutex);
    impl_->definitions.push_back(std::move(def));
    return *this;
}

std::uint16_t server::listen() {
    auto address = net::ip::make_address(impl_->config.address);
    tcp::endpoint endpoint(address, impl_->config.port);
    impl_->acceptor.emplace(*impl_->workers[0]);
    impl_->acceptor->open(endpoint.protocol());
    impl_->acceptor->set_option(net::socket_base::reuse_address(true));
    impl_->acceptor->bind(endpoint);
    impl_->acceptor->listen(net::socket_base::max_listen_connections);
    impl_->bound_port = impl_->acceptor->local_endpoint().port();
    impl_->start_placement();
    impl_->accept();
    return impl_->bound_port;
}

void server::run() {
    if (impl_->embedded) {
        throw std::logic_error("server::run: an embedded server runs on the caller's io_context");
    }
    for (std::size_t i = 1; i < impl_->workers.size(); ++i) {
        impl_->threads.emplace_back([w = impl_->workers[i]] { w->run(); });
    }
    impl_->workers[0]->run();
    for (auto& t : impl_->threads) {
        t.join();
    }
    impl_->threads.clear();
    {
        std::lock_guard lock(impl_->watchdog_mutex);
        impl_->workers_done = true;
    }
    impl_->watchdog_wake.notify_all();
    if (impl_->watchdog.joinable()) {
        impl_->watchdog.join();
    }
    impl_->storage->drain();  // every batch the rooms queued is on disk before run() returns
    if (impl_->placement) {
        impl_->placement->stop();  // only now may another server load these rooms
    }
}

void server::stop() {
    impl_->begin_stop();
}

int server::run_until_signal() {
    try {
        listen();
    } catch (const std::exception& e) {
        log(log_level::error,
            std::string("cannot listen on ") + impl_->config.address + ":" +
                std::to_string(impl_->config.port) + ": " + e.what());
        return 1;
    }
    impl_->signals.emplace(*impl_->workers[0], SIGINT, SIGTERM);
    impl_->signals->async_wait([this](boost::system::error_code ec, int sig) {
        if (!ec) {
            log(log_level::info,
                std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                    ", shutting down");
            stop();
        }
    });
    std::cout << "signe listening on http://" << impl_->config.address << ":" << impl_->bound_port
              << std::endl;
    run();
    log(log_level::info, "stopped");
    return 0;
}

std::uint16_t server::port() const {
    return impl_->bound_port;
}

server_stats server::stats() const {
    server_stats s;
    s.connections_open = impl_->connections_open.load();
    s.connections_refused = impl_->connections_refused.load();
    s.slow_readers_closed = impl_->slow_readers_closed.load();
    s.oversized_frames = impl_->oversized_frames.load();
    s.rooms_unloaded = impl_->rooms_unloaded.load();
    std::lock_guard lock(impl_->rooms_mutex);
    s.rooms = impl_->rooms.size();
    return s;
}

server_config config_from_env(server_config defaults) {
    if (const char* v = std::getenv("PORT"); v != nullptr && *v != '\0') {
        defaults.port = static_cast<std::uint16_t>(std::stoul(v));
    }
    if (const char* v = std::getenv("SIGNE_ADDRESS"); v != nullptr && *v != '\0') {
        defaults.address = v;
    }
    if (const char* v = std::getenv("SIGNE_THREADS"); v != nullptr && *v != '\0') {
        defaults.threads = static_cast<unsigned>(std::stoul(v));
    }
    if (const char* v = std::getenv("SIGNE_STATIC_DIR"); v != nullptr && *v != '\0') {
        defaults.static_dir = v;
    }
    if (const char* v = std::getenv("SIGNE_MAX_FRAME_BYTES"); v != nullptr && *v != '\0') {
        defaults.limits.max_frame_bytes = std::stoul(v);
    }
    if (const char* v = std::getenv("SIGNE_MAX_SEND_QUEUE_BYTES"); v != nullptr && *v != '\0') {
        defaults.limits.max_send_queue_bytes = std::stoul(v);
    }
    if (const char* v = std::getenv("SIGNE_MAX_CONNECTIONS"); v != nullptr && *v != '\0') {
        defaults.limits.max_connections = std::stoul(v);
    }
    if (const char* v = std::getenv("SIGNE_MAX_MESSAGES_PER_SECOND"); v != nullptr && *v != '\0') {
        defaults.limits.max_messages_per_second = std::stod(v);
    }
    if (const char* v = std::getenv("SIGNE_MESSAGE_BURST"); v != nullptr && *v != '\0') {
        defaults.limits.message_burst = std::stoul(v);
    }
    if (const char* v = std::getenv("SIGNE_WRITE_DELAY_US"); v != nullptr && *v != '\0') {
        defaults.limits.write_delay = std::chrono::microseconds(std::stoll(v));
    }
    if (const char* v = std::getenv("SIGNE_ROOM_IDLE_MS"); v != nullptr && *v != '\0') {
        defaults.limits.room_idle_timeout = std::chrono::milliseconds(std::stoll(v));
    }
    if (const char* v = std::getenv("SIGNE_STORAGE"); v != nullptr && *v != '\0') {
        defaults.storage = make_storage(v);
    }
    if (const char* v = std::getenv("SIGNE_TRANSFER_SECRET"); v != nullptr && *v != '\0') {
        defaults.transfer_secret = v;
    }
    if (const char* v = std::getenv("SIGNE_REMOTE_ROOMS"); v != nullptr && *v != '\0') {
        defaults.remote_rooms_url = v;
    }
    if (const char* v = std::getenv("SHARD_SECRET"); v != nullptr && *v != '\0') {
        defaults.shard_secret = v;
    }
    if (const char* v = std::getenv("SIGNE_PLACEMENT"); v != nullptr && *v != '\0') {
        defaults.placement_url = v;
    }
    if (const char* v = std::getenv("SIGNE_ADVERTISE"); v != nullptr && *v != '\0') {
        defaults.advertise = v;
    }
    if (const char* v = std::getenv("SIGNE_PLACEMENT_LEASE_MS"); v != nullptr && *v != '\0') {
        defaults.placement_lease = std::chrono::milliseconds(std::stoll(v));
    }
    return defaults;
}

server_config config_from_args(int argc, char** argv, server_config defaults) {
    server_config config = config_from_env(std::move(defaults));
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto eq = arg.find('=');
        std::string_view name = arg.substr(0, eq);
        std::string value(eq == std::string_view::npos ? std::string_view{} : arg.substr(eq + 1));
        if (eq == std::string_view::npos || value.empty()) {
            throw std::invalid_argument("expected --name=value, got '" + std::string(arg) + "'");
        }
        if (name == "--port") {
            config.port = static_cast<std::uint16_t>(std::stoul(value));
        } else if (name == "--address") {
            config.address = value;
        } else if (name == "--threads") {
            config.threads = static_cast<unsigned>(std::stoul(value));
        } else if (name == "--storage") {
            config.storage = make_storage(value);
        } else if (name == "--static") {
            config.static_dir = value;
        } else if (name == "--transfer-secret") {
            config.transfer_secret = value;
        } else if (name == "--remote-rooms") {
            config.remote_rooms_url = value;
        } else if (name == "--shard-secret") {
            config.shard_secret = value;
        } else if (name == "--room-idle-ms") {
            config.limits.room_idle_timeout = std::chrono::milliseconds(std::stoll(value));
        } else if (name == "--placement") {
            config.placement_url = value;
        } else if (name == "--advertise") {
            config.advertise = value;
        } else if (name == "--placement-lease-ms") {
            config.placement_lease = std::chrono::milliseconds(std::stoll(value));
        } else {
            throw std::invalid_argument(
                "unknown flag '" + std::string(name) +
                "' (known: --port, --address, --threads, --storage, --static, --transfer-secret, "
                "--remote-rooms, --shard-secret, --room-idle-ms, --placement, --advertise, "
                "--placement-lease-ms)"
            );
        }
    }
    return config;
}

}  // namespace signe

// signe-shard: a shard process. Clients connect to it as to a room server
// (ws://shard/parties/shard/<shardId>, what connectionWorld opens); it forwards them to the
// room's main server over one upstream socket per shard room, and reports its connections to
// its world.
//
//     SHARD_SECRET=... signe-shard --port=4001 --upstream=http://127.0.0.1:3003
//         --world=http://127.0.0.1:3002 --stats-interval=5000   (one command line)
//
// The shard id names the main room and the world: "<roomId>:<worldId>:<suffix>" (the World's
// ids), or just "<roomId>" (world from WORLD_ID, else "world-default").

#include "server/forward.hpp"
#include "server/http_client.hpp"
#include "server/placement_service.hpp"

#include <signe/http.hpp>
#include <signe/json.hpp>
#include <signe/log.hpp>
#include <signe/placement.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = signe::json;
using tcp = net::ip::tcp;
using signe::log;
using signe::log_level;

struct shard_config {
    std::uint16_t port = 4000;
    std::string address = "0.0.0.0";
    // Room servers to link to when placement does not name one (tried in turn).
    std::vector<std::pair<std::string, std::string>> upstreams{{"127.0.0.1", "3000"}};
    // Placement (docs/scaling.md): each shard id is served by one shard process, and rooms are
    // looked up in the room servers' placement. Empty: this process serves every shard id.
    std::string placement_url;
    std::string advertise;  // how other shard processes reach this one; empty: 127.0.0.1:<port>
    std::chrono::milliseconds placement_lease{10'000};
    std::string world_host;
    std::string world_port;
    std::string secret;
    std::chrono::milliseconds stats_interval{30000};
    // How long the place of a client that dropped is kept for its return (see
    // counted_connections()).
    std::chrono::milliseconds reconnect_grace{10'000};
    std::size_t max_frame_bytes = 64 * 1024;
    std::size_t max_queue_bytes = 4 * 1024 * 1024;
};

std::string random_token(std::size_t n) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(alphabet[rng() % alphabet.size()]);
    }
    return out;
}

// What a refusing World said: the `error` of its JSON body, else the body.
std::string error_text(const std::string& body) {
    boost::system::error_code ec;
    json::value parsed = json::parse(body, ec);
    const json::object* o = ec ? nullptr : parsed.if_object();
    const json::value* error = o != nullptr ? o->if_contains("error") : nullptr;
    return error != nullptr && error->is_string() ? std::string(error->get_string()) : body;
}

// A queue of text frames for one WebSocket, at most one write in flight (Beast's rule).
template <class Stream>
class frame_writer {
public:
    explicit frame_writer(Stream& ws, std::size_t limit) : ws_(ws), limit_(limit) {}

    // False when the peer is too far behind (the caller closes it).
    bool push(std::shared_ptr<const std::string> frame, std::shared_ptr<void> keep_alive) {
        if (bytes_ + frame->size() > limit_) {
            return false;
        }
        bytes_ += frame->size();
        queue_.push_back(std::move(frame));
        next(std::move(keep_alive));
        return true;
    }

private:
    void next(std::shared_ptr<void> keep_alive) {
        if (writing_ || queue_.empty()) {
            return;
        }
        writing_ = true;
        ws_.text(true);
        ws_.async_write(
            net::buffer(*queue_.front()),
            [this, keep_alive](beast::error_code ec, std::size_t) {
                writing_ = false;
                bytes_ -= queue_.front()->size();
                queue_.pop_front();
                if (ec) {
                    queue_.clear();
                    bytes_ = 0;
                    return;
                }
                next(keep_alive);
            }
        );
    }

    Stream& ws_;
    std::size_t limit_;
    std::deque<std::shared_ptr<const std::string>> queue_;
    std::size_t bytes_ = 0;
    bool writing_ = false;
};

class shard_room;

// One client socket of this shard.
class client_socket : public std::enable_shared_from_this<client_socket> {
public:
    client_socket(tcp::socket socket, const shard_config& config)
        : ws_(std::move(socket)), writer_(ws_, config.max_queue_bytes), config_(config) {}

    void start(
        http::request<http::string_body> req,
        std::shared_ptr<shard_room> room,
        std::string private_id
    );
    void send(std::shared_ptr<const std::string> frame) {
        if (open_ && !writer_.push(std::move(frame), shared_from_this())) {
            log(log_level::warn, "closing a client that does not keep up");
            close(1013, "Too slow");
        }
    }
    void close(int code, std::string_view reason) {
        if (!open_) {
            return;
        }
        open_ = false;
        ws_.async_close(
            websocket::close_reason(static_cast<websocket::close_code>(code), reason),
            [self = shared_from_this()](beast::error_code) {}
        );
    }
    const std::string& client_id() const { return client_id_; }
    const std::string& private_id() const { return private_id_; }

private:
    void read();

    websocket::stream<beast::tcp_stream> ws_;
    frame_writer<websocket::stream<beast::tcp_stream>> writer_;
    const shard_config& config_;
    beast::flat_buffer buffer_;
    std::shared_ptr<shard_room> room_;
    std::string client_id_ = random_token(12);
    std::string private_id_;
    bool open_ = false;
};

// One room as this shard serves it: its clients, its upstream socket, its stats.
class shard_room : public std::enable_shared_from_this<shard_room> {
public:
    // Finds the room server to link to: done(host, port), on this room's io_context.
    using locator = std::function<
        void(const std::string& room, std::function<void(std::string, std::string)> done)>;

    shard_room(
        net::io_context& ioc,
        const shard_config& config,
        std::string shard_id,
        locator locate,
        std::function<void()> forgotten
    )
        : ioc_(ioc),
          config_(config),
          shard_id_(std::move(shard_id)),
          locate_(std::move(locate)),
          forgotten_(std::move(forgotten)),
          stats_timer_(ioc) {
        auto first = shard_id_.find(':');
        main_room_ = shard_id_.substr(0, first);
        auto second =
            first == std::string::npos ? std::string::npos : shard_id_.find(':', first + 1);
        if (second != std::string::npos) {
            world_id_ = shard_id_.substr(first + 1, second - first - 1);
        } else if (const char* w = std::getenv("WORLD_ID"); w != nullptr && *w != '\0') {
            world_id_ = w;
        } else {
            world_id_ = "world-default";
        }
    }

    void start() {
        connect_upstream();
        if (!adopted_) {
            report_stats(true);  // an adopted shard first reports with its first returning client
        }
        if (config_.stats_interval.count() > 0) {
            arm_stats();
        }
    }

    void client_joined(
        const std::shared_ptr<client_socket>& client, const http::request<http::string_body>& req
    ) {
        if (!upstream_open_ && !connecting_) {
            connect_upstream();  // the room server came back: link again
        }
        clients_[client->client_id()] = client;
        away_.erase(client->private_id());
        peak_clients_ = std::max(peak_clients_, clients_.size());
        json::object headers;
        for (const auto& field : req) {
            std::string name(field.name_string());
            for (auto& c : name) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            headers[name] = std::string(field.value());
        }
        upstream_send(json::object{
            {"type", "shard.clientConnected"},
            {"privateId", client->private_id()},
            {"clientId", client->client_id()},
            {"requestInfo",
             {{"headers", headers}, {"url", std::string(req.target())}, {"method", "GET"}}}});
        report_stats();
    }

    const std::string& main_room() const { return main_room_; }
    std::size_t clients() const { return clients_.size(); }
    std::size_t peak_clients() const { return peak_clients_; }
    void stop() { stats_timer_.cancel(); }

    // This process took the shard over from a shard process that died. Its clients come back to
    // it (PartySocket reconnects to the same URL) without asking the World for a seat, so the
    // World must give it no newcomers: it is reported draining, serves its returning clients and
    // goes away once they have left.
    void adopt() { adopted_ = true; }
    bool adopted() const { return adopted_; }
    const std::string& world_id() const { return world_id_; }

    void client_message(const client_socket& client, const std::string& text) {
        boost::system::error_code ec;
        json::value payload = json::parse(text, ec);
        if (ec) {
            return;  // not JSON: the room would drop it anyway
        }
        upstream_send(json::object{
            {"type", "shard.clientMessage"},
            {"privateId", client.private_id()},
            {"clientId", client.client_id()},
            {"payload", std::move(payload)}});
    }

    void client_left(const client_socket& client, bool may_return) {
        if (clients_.erase(client.client_id()) == 0) {
            return;
        }
        bool other_socket = std::ranges::any_of(clients_, [&](const auto& entry) {
            return entry.second->private_id() == client.private_id();
        });
        if (may_return && !other_socket && config_.reconnect_grace.count() > 0) {
            away_[client.private_id()] = std::chrono::steady_clock::now() + config_.reconnect_grace;
        }
        upstream_send(json::object{
            {"type", "shard.clientDisconnected"},
            {"privateId", client.private_id()},
            {"clientId", client.client_id()}});
        report_stats();
    }

private:
    void connect_upstream() {
        connecting_ = true;
        waiting_.clear();  // frames of clients that have left with the previous link
        locate_(main_room_, [self = shared_from_this()](std::string host, std::string port) {
            self->connect_upstream_to(std::move(host), std::move(port));
        });
    }

    void connect_upstream_to(std::string upstream_host, std::string upstream_port) {
        upstream_host_ = upstream_host + ":" + upstream_port;
        upstream_ = std::make_unique<websocket::stream<beast::tcp_stream>>(ioc_);
        writer_ = std::make_unique<frame_writer<websocket::stream<beast::tcp_stream>>>(
            *upstream_, config_.max_queue_bytes * 16
        );
        upstream_->read_message_max(config_.max_frame_bytes * 16);
        auto resolver = std::make_shared<tcp::resolver>(ioc_);
        resolver->async_resolve(
            upstream_host,
            upstream_port,
            [self = shared_from_this(),
             resolver](beast::error_code ec, tcp::resolver::results_type results) {
                if (ec) {
                    return self->upstream_lost("cannot resolve the room server");
                }
                beast::get_lowest_layer(*self->upstream_)
                    .async_connect(results, [self](beast::error_code cec, const tcp::endpoint&) {
                        if (cec) {
                            return self->upstream_lost("cannot reach the room server");
                        }
                        self->upstream_->set_option(
                            websocket::stream_base::decorator([self](websocket::request_type& req) {
                                req.set("x-shard-id", self->shard_id_);
                                req.set("x-shard-world-id", self->world_id_);
                                req.set("x-access-shard", self->config_.secret);
                            })
                        );
                        self->upstream_->async_handshake(
                            self->upstream_host_,
                            "/parties/main/" + self->main_room_,
                            [self](beast::error_code hec) {
                                if (hec) {
                                    return self->upstream_lost(
                                        "the room server refused the shard (" + hec.message() + ")"
                                    );
                                }
                                self->upstream_open_ = true;
                                self->connecting_ = false;
                                for (auto& frame : self->waiting_) {
                                    self->writer_->push(std::move(frame), self);
                                }
                                self->waiting_.clear();
                                self->read_upstream();
                            }
                        );
                    });
            }
        );
    }

    void read_upstream() {
        upstream_->async_read(
            upstream_buffer_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (ec) {
                    return self->upstream_lost("the room server closed the link");
                }
                std::string text = beast::buffers_to_string(self->upstream_buffer_.data());
                self->upstream_buffer_.consume(self->upstream_buffer_.size());
                self->from_upstream(text);
                self->read_upstream();
            }
        );
    }

    void from_upstream(const std::string& text) {
        boost::system::error_code ec;
        json::value frame = json::parse(text, ec);
        const json::object* o = ec ? nullptr : frame.if_object();
        if (o == nullptr) {
            log(log_level::warn, "shard " + shard_id_ + ": malformed frame from the room server");
            return;
        }
        if (const auto* target = o->if_contains("targetClientId");
            target != nullptr && target->is_string()) {
            const auto* data = o->if_contains("data");
            if (data == nullptr || !data->is_string()) {
                return;
            }
            auto out = std::make_shared<const std::string>(data->get_string());
            std::string id(target->get_string());
            // Our room server targets one socket by its client id; the original's targets a
            // private id, meaning every socket of that session.
            if (auto it = clients_.find(id); it != clients_.end()) {
                return it->second->send(out);
            }
            for (auto& [cid, client] : clients_) {
                if (client->private_id() == id) {
                    client->send(out);
                }
            }
            return;
        }
        if (const auto* type = o->if_contains("type");
            type != nullptr && type->is_string() && type->get_string() == "shard.closeClient") {
            std::string id = o->contains("clientId") ? std::string(o->at("clientId").as_string())
                                                     : std::string(o->at("privateId").as_string());
            for (auto& [cid, client] : clients_) {
                if (cid == id || client->private_id() == id) {
                    client->close(1008, "Closed by the room");
                }
            }
            return;
        }
        auto shared = std::make_shared<const std::string>(text);  // a broadcast: every client here
        for (auto& [id, client] : clients_) {
            client->send(shared);
        }
    }

    // Without its room server a shard cannot serve anyone: its clients are closed (1011) and
    // reconnect, through their world, to a shard that works.
    void upstream_lost(const std::string& why) {
        log(log_level::warn, "shard " + shard_id_ + ": " + why);
        upstream_open_ = false;
        connecting_ = false;
        auto clients = clients_;
        for (auto& [id, client] : clients) {
            client->close(1011, "Room server unavailable");
        }
    }

    void upstream_send(const json::value& frame) {
        auto text = std::make_shared<const std::string>(signe::to_text(frame));
        if (!upstream_open_) {
            waiting_.push_back(std::move(text));
            return;
        }
        writer_->push(std::move(text), shared_from_this());
    }

    void arm_stats() {
        stats_timer_.expires_after(config_.stats_interval);
        stats_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec) {
                return;
            }
            self->report_stats(true);
            self->arm_stats();
        });
    }

    // POST /update-shard to the world: {shardId, worldId, connections}, when the count changed
    // (or on the periodic heartbeat).
    // The connections this shard counts: its clients, plus those that left less than
    // reconnect_grace ago. A client that drops comes back to the same shard URL without asking
    // the World (PartySocket reconnects by itself), so its place is kept for it meanwhile instead
    // of being handed to a newcomer.
    std::size_t counted_connections() {
        auto now = std::chrono::steady_clock::now();
        std::erase_if(away_, [now](const auto& entry) { return entry.second <= now; });
        return clients_.size() + away_.size();
    }

    // POST /update-shard {shardId, worldId, connections[, status]} to the world when the count
    // changed (or on the periodic heartbeat). One report at a time per shard: the World counts
    // arrivals from the difference between two reports, so they must reach it in order.
    void report_stats(bool force = false) {
        auto connections = counted_connections();
        if (config_.world_host.empty() || (!force && connections == last_reported_)) {
            return;
        }
        if (reporting_) {
            report_again_ = true;
            return;
        }
        reporting_ = true;
        last_reported_ = connections;
        json::object stats{
            {"shardId", shard_id_}, {"worldId", world_id_}, {"connections", connections}};
        if (adopted_) {
            stats["status"] = "draining";
        }
        signe::http_post_json(
            ioc_.get_executor(),
            "http://" + config_.world_host + ":" + config_.world_port + "/parties/world/" +
                world_id_ + "/update-shard",
            signe::to_text(stats),
            {{"x-access-shard", config_.secret}},
            [self = shared_from_this()](int status, std::string body) {
                self->reported(status, body);
            }
        );
    }

    void reported(int status, const std::string& body) {
        reporting_ = false;
        if (status == 404 && clients_.empty()) {
            // Drained and removed by the World (or never known): nothing left to serve here.
            log(log_level::info, "shard " + shard_id_ + ": removed by its world, closing it");
            return forgotten_();
        }
        if (status == 0) {
            log(log_level::warn, "shard " + shard_id_ + ": the world is unreachable");
        } else if (status < 200 || status >= 300) {
            log(log_level::warn,
                "shard " + shard_id_ + ": Failed to update World stats: " + std::to_string(status) +
                    " - " + error_text(body));
        }
        if (report_again_) {
            report_again_ = false;
            report_stats();
        }
    }

    net::io_context& ioc_;
    const shard_config& config_;
    std::string shard_id_;
    locator locate_;
    std::function<void()> forgotten_;
    std::string main_room_;
    std::string world_id_;
    std::string upstream_host_;  // host:port of the room server linked to
    std::size_t peak_clients_ = 0;
    std::map<std::string, std::chrono::steady_clock::time_point> away_;  // private id -> until
    bool adopted_ = false;
    bool reporting_ = false;     // an update-shard is on its way
    bool report_again_ = false;  // the count changed meanwhile
    std::unique_ptr<websocket::stream<beast::tcp_stream>> upstream_;
    std::unique_ptr<frame_writer<websocket::stream<beast::tcp_stream>>> writer_;
    beast::flat_buffer upstream_buffer_;
    bool upstream_open_ = false;
    bool connecting_ = false;
    std::vector<std::shared_ptr<const std::string>> waiting_;
    std::map<std::string, std::shared_ptr<client_socket>> clients_;
    net::steady_timer stats_timer_;
    std::size_t last_reported_ = static_cast<std::size_t>(-1);
};

void client_socket::start(
    http::request<http::string_body> req, std::shared_ptr<shard_room> room, std::string private_id
) {
    room_ = std::move(room);
    private_id_ = std::move(private_id);
    ws_.read_message_max(config_.max_frame_bytes);
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    auto shared_req = std::make_shared<http::request<http::string_body>>(std::move(req));
    ws_.async_accept(*shared_req, [self = shared_from_this(), shared_req](beast::error_code ec) {
        if (ec) {
            return;
        }
        self->open_ = true;
        self->room_->client_joined(self, *shared_req);
        self->read();
    });
}

void client_socket::read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) {
            self->open_ = false;
            // A client that said goodbye (1000) is not coming back; any other loss may.
            bool goodbye = ec == websocket::error::closed &&
                           self->ws_.reason().code == websocket::close_code::normal;
            self->room_->client_left(*self, !goodbye);
            return;
        }
        std::string text = beast::buffers_to_string(self->buffer_.data());
        self->buffer_.consume(self->buffer_.size());
        self->room_->client_message(*self, text);
        self->read();
    });
}

// Accepts connections: /parties/shard/<shardId> WebSockets, and HTTP forwarded to the room.
class shard_server {
public:
    shard_server(net::io_context& ioc, shard_config config)
        : ioc_(ioc),
          config_(std::move(config)),
          acceptor_(ioc, tcp::endpoint(net::ip::make_address(config_.address), config_.port)) {}

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    void start() {
        if (!config_.placement_url.empty()) {
            start_placement();
        }
        accept();
    }

    void stop() {
        beast::error_code ignored;
        acceptor_.close(ignored);
        for (auto& [id, room] : rooms_) {
            room->stop();
        }
        if (hosting_) {
            hosting_->stop();  // leave: this process's shard ids are free for the others at once
        }
    }

private:
    // This process joins the "shards" group (each shard id served by one process) and reads the
    // "rooms" group to find the room server holding each room.
    void start_placement() {
        signe::placement_options options;
        options.url = config_.placement_url;
        options.group = "shards";
        options.address =
            config_.advertise.empty() ? "127.0.0.1:" + std::to_string(port()) : config_.advertise;
        options.lease = config_.placement_lease;
        auto rooms_options = options;
        rooms_options.group = "rooms";
        rooms_view_ = std::make_shared<signe::placement>(rooms_options);
        hosting_ = std::make_unique<signe::detail::placement_service>(options, [](std::string id) {
            log(log_level::error, "shard " + id + " was taken over by another shard process");
        });
        log(log_level::info,
            "placement: shards held in " + config_.placement_url + ", reachable at " +
                options.address);
    }

    // The room server for a room: its holder in placement, else the one every process would
    // pick for it, else the configured upstreams in turn.
    void locate(const std::string& room, std::function<void(std::string, std::string)> done) {
        auto fallback = config_.upstreams[next_upstream_++ % config_.upstreams.size()];
        if (!hosting_) {
            return done(fallback.first, fallback.second);
        }
        hosting_->run([this, room, done, fallback](signe::placement&) {
            std::pair<std::string, std::string> target = fallback;
            try {
                auto holder = rooms_view_->holder("main/" + room);
                if (!holder) {
                    holder = signe::pick_member(rooms_view_->members(), "main/" + room);
                }
                if (holder) {
                    auto colon = holder->address.rfind(':');
                    target = {holder->address.substr(0, colon), holder->address.substr(colon + 1)};
                }
            } catch (const std::exception& e) {
                log(log_level::warn, "placement: cannot look room " + room + " up: " + e.what());
            }
            net::post(ioc_, [done, target] { done(target.first, target.second); });
        });
    }

    void accept() {
        acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec) {
                return;
            }
            serve(std::move(socket));
            accept();
        });
    }

    struct pending {
        beast::tcp_stream stream;
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
    };

    void serve(tcp::socket socket) {
        auto p = std::make_shared<pending>(pending{beast::tcp_stream(std::move(socket)), {}, {}});
        p->stream.expires_after(std::chrono::seconds(10));
        http::async_read(
            p->stream,
            p->buffer,
            p->req,
            [this, p](beast::error_code ec, std::size_t) {
                if (ec) {
                    return;
                }
                route(p);
            }
        );
    }

    void route(const std::shared_ptr<pending>& p) {
        std::string target(p->req.target());
        std::string path = target.substr(0, target.find('?'));
        std::vector<std::string> parts;
        for (std::size_t start = 1; start <= path.size();) {
            auto slash = path.find('/', start);
            auto end = slash == std::string::npos ? path.size() : slash;
            if (end > start) {
                parts.push_back(signe::percent_decode(path.substr(start, end - start)));
            }
            start = end + 1;
        }
        if (parts.size() >= 3 && parts[0] == "parties" && parts[1] == "world" &&
            !config_.world_host.empty() && !websocket::is_upgrade(p->req)) {
            // A gateway for connectionWorld, which asks the world on the host it then connects to.
            return forward(p, config_.world_host, config_.world_port, target, false);
        }
        if (parts.size() == 2 && parts[0] == "signe" && parts[1] == "stats") {
            return reply(p, http::status::ok, stats(), "application/json");
        }
        if (parts.size() < 3 || parts[0] != "parties" || parts[1] != "shard") {
            return reply(p, http::status::not_found, "Not Found");
        }
        if (hosting_ && !rooms_.contains(parts[2])) {
            return place(p, std::move(parts), std::move(target));
        }
        serve_shard(p, parts, target);
    }

    // A shard id this process does not serve yet: claim it, or hand the connection to the shard
    // process that serves it.
    void place(
        const std::shared_ptr<pending>& p, std::vector<std::string> parts, std::string target
    ) {
        hosting_->resolve(
            parts[2],
            [this, p, parts, target](signe::detail::placement_service::answer a) {
                net::post(ioc_, [this, p, parts, target, a] {
                    using where = signe::detail::placement_service::answer::where;
                    if (a.at == where::here) {
                        return serve_shard(p, parts, target, a.taken_over);
                    }
                    if (a.at == where::unavailable ||
                        p->req.find("x-signe-forwarded") != p->req.end()) {
                        return reply(
                            p,
                            http::status::service_unavailable,
                            signe::to_text(json::object{
                                {"error",
                                 a.at == where::unavailable
                                     ? "Shard placement unavailable: " + a.error
                                     : "Shard placement is changing, try again"}}),
                            "application/json"
                        );
                    }
                    p->req.set("x-signe-forwarded", "1");
                    p->stream.expires_never();
                    signe::forward_connection(
                        p->stream.release_socket(),
                        std::move(p->req),
                        beast::buffers_to_string(p->buffer.data()),
                        a.address,
                        "Shard unreachable"
                    );
                });
            }
        );
    }

    void serve_shard(
        const std::shared_ptr<pending>& p,
        const std::vector<std::string>& parts,
        const std::string& target,
        bool adopted = false
    ) {
        auto room = room_for(parts[2], adopted);
        if (websocket::is_upgrade(p->req)) {
            p->stream.expires_never();
            auto query = signe::parse_query(
                target.find('?') == std::string::npos
                    ? ""
                    : std::string_view(target).substr(target.find('?') + 1)
            );
            std::string private_id;
            for (const char* key : {"id", "_pk"}) {
                if (auto v = query.get(key); v && private_id.empty()) {
                    private_id = std::string(*v);
                }
            }
            if (private_id.empty()) {
                private_id = random_token(16);
            }
            auto client = std::make_shared<client_socket>(p->stream.release_socket(), config_);
            client->start(std::move(p->req), room, private_id);
            return;
        }
        // HTTP for the room: only the part after the shard id goes to /parties/main/<room> (the
        // original forwarded its own full path, which no route matched).
        std::string rest;
        for (std::size_t i = 3; i < parts.size(); ++i) {
            rest += "/" + parts[i];
        }
        auto q = target.find('?');
        std::string upstream_target = "/parties/main/" + room->main_room() + rest +
                                      (q == std::string::npos ? "" : target.substr(q));
        p->req.set("x-shard-id", parts[2]);
        p->req.set("x-shard-world-id", room->world_id());
        p->req.set("x-forwarded-by-shard", "true");
        p->req.set("x-access-shard", config_.secret);
        p->req.set("x-original-client-ip", client_ip(*p));
        locate(room->main_room(), [this, p, upstream_target](std::string host, std::string port) {
            forward(p, host, port, upstream_target, true);
        });
    }

    // The client's address: the first x-forwarded-for entry (a balancer's), else the peer's.
    static std::string client_ip(pending& p) {
        if (auto it = p.req.find("x-forwarded-for"); it != p.req.end()) {
            std::string_view first = it->value();
            first = first.substr(0, first.find(','));
            while (!first.empty() && first.front() == ' ') {
                first.remove_prefix(1);
            }
            while (!first.empty() && first.back() == ' ') {
                first.remove_suffix(1);
            }
            if (!first.empty()) {
                return std::string(first);
            }
        }
        beast::error_code ec;
        auto remote = p.stream.socket().remote_endpoint(ec);
        return ec ? std::string("unknown") : remote.address().to_string();
    }

    // GET /signe/stats: the shard ids served here, their clients and the most they ever had.
    std::string stats() const {
        json::object shards;
        for (const auto& [id, room] : rooms_) {
            shards[id] = json::object{
                {"clients", room->clients()},
                {"peak", room->peak_clients()},
                {"adopted", room->adopted()}};
        }
        return signe::to_text(json::object{{"shards", std::move(shards)}});
    }

    // Sends the request on to host:port at `target` and copies the answer back.
    void forward(
        const std::shared_ptr<pending>& p,
        const std::string& host,
        const std::string& port,
        std::string target,
        bool to_room
    ) {
        struct hop {
            tcp::resolver resolver;
            beast::tcp_stream stream;
            http::request<http::string_body> req;
            http::response<http::string_body> res;
            beast::flat_buffer buffer;
        };
        auto h = std::make_shared<hop>(hop{
            tcp::resolver(ioc_), beast::tcp_stream(ioc_), std::move(p->req), {}, {}});
        h->req.target(target);
        h->req.set(http::field::host, host + ":" + port);
        h->req.keep_alive(false);
        h->req.prepare_payload();
        auto fail = [this, p, to_room] {
            auto res = std::make_shared<http::response<http::string_body>>(
                http::status::internal_server_error, 11
            );
            res->set(http::field::content_type, "application/json");
            res->body() = to_room ? R"({"error":"Error forwarding request"})"
                                  : R"({"error":"World unavailable"})";
            send(p, res);
        };
        h->resolver.async_resolve(
            host,
            port,
            [this, p, h, fail](beast::error_code ec, tcp::resolver::results_type r) {
                if (ec) {
                    return fail();
                }
                h->stream.expires_after(std::chrono::seconds(10));
                h->stream.async_connect(
                    r,
                    [this, p, h, fail](beast::error_code cec, const tcp::endpoint&) {
                        if (cec) {
                            return fail();
                        }
                        http::async_write(
                            h->stream,
                            h->req,
                            [this, p, h, fail](beast::error_code wec, std::size_t) {
                                if (wec) {
                                    return fail();
                                }
                                http::async_read(
                                    h->stream,
                                    h->buffer,
                                    h->res,
                                    [this, p, h, fail](beast::error_code rec, std::size_t) {
                                        if (rec) {
                                            return fail();
                                        }
                                        h->res.keep_alive(false);
                                        send(
                                            p,
                                            std::make_shared<http::response<http::string_body>>(
                                                std::move(h->res)
                                            )
                                        );
                                    }
                                );
                            }
                        );
                    }
                );
            }
        );
    }

    void send(
        const std::shared_ptr<pending>& p,
        const std::shared_ptr<http::response<http::string_body>>& res
    ) {
        res->prepare_payload();
        http::async_write(p->stream, *res, [p, res](beast::error_code, std::size_t) {
            beast::error_code ignored;
            p->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        });
    }

    void reply(
        const std::shared_ptr<pending>& p,
        http::status status,
        std::string body,
        const char* content_type = "text/plain"
    ) {
        auto res = std::make_shared<http::response<http::string_body>>(status, p->req.version());
        res->set(http::field::content_type, content_type);
        res->body() = std::move(body);
        res->keep_alive(false);
        res->prepare_payload();
        http::async_write(p->stream, *res, [p, res](beast::error_code, std::size_t) {
            beast::error_code ignored;
            p->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        });
    }

    std::shared_ptr<shard_room> room_for(const std::string& shard_id, bool adopted) {
        auto it = rooms_.find(shard_id);
        if (it != rooms_.end()) {
            return it->second;
        }
        auto room = std::make_shared<shard_room>(
            ioc_,
            config_,
            shard_id,
            [this](
                const std::string& main_room, std::function<void(std::string, std::string)> done
            ) { locate(main_room, std::move(done)); },
            [this, shard_id] { forget(shard_id); }
        );
        if (adopted) {
            log(log_level::info,
                "shard " + shard_id + ": taken over from a shard process that died");
            room->adopt();
        }
        rooms_.emplace(shard_id, room);
        room->start();
        return room;
    }

    // The World no longer knows this shard and nobody is on it: stop serving it here.
    void forget(const std::string& shard_id) {
        auto it = rooms_.find(shard_id);
        if (it == rooms_.end() || it->second->clients() != 0) {
            return;
        }
        it->second->stop();
        rooms_.erase(it);
        if (hosting_) {
            hosting_->release(shard_id);
        }
    }

    net::io_context& ioc_;
    shard_config config_;
    tcp::acceptor acceptor_;
    std::map<std::string, std::shared_ptr<shard_room>> rooms_;
    std::size_t next_upstream_ = 0;
    std::unique_ptr<signe::detail::placement_service> hosting_;
    std::shared_ptr<signe::placement> rooms_view_;  // used on hosting_'s thread only
};

// "http://host:port" -> host, port.
std::pair<std::string, std::string> host_port(const std::string& url, const char* flag) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed || parsed->host().empty()) {
        throw std::invalid_argument(
            std::string(flag) + ": expected http://host:port, got '" + url + "'"
        );
    }
    return {std::string(parsed->host()), parsed->has_port() ? std::string(parsed->port()) : "80"};
}

shard_config read_config(int argc, char** argv) {
    shard_config c;
    if (const char* v = std::getenv("PORT"); v != nullptr && *v != '\0') {
        c.port = static_cast<std::uint16_t>(std::stoul(v));
    }
    if (const char* v = std::getenv("SHARD_SECRET"); v != nullptr) {
        c.secret = v;
    }
    std::string upstream = std::getenv("SIGNE_UPSTREAM") != nullptr ? std::getenv("SIGNE_UPSTREAM")
                                                                    : "http://127.0.0.1:3000";
    std::string world = std::getenv("SIGNE_WORLD") != nullptr ? std::getenv("SIGNE_WORLD") : "";
    if (const char* v = std::getenv("SIGNE_PLACEMENT"); v != nullptr) {
        c.placement_url = v;
    }
    if (const char* v = std::getenv("SIGNE_ADVERTISE"); v != nullptr) {
        c.advertise = v;
    }
    if (const char* v = std::getenv("SIGNE_PLACEMENT_LEASE_MS"); v != nullptr && *v != '\0') {
        c.placement_lease = std::chrono::milliseconds(std::stoll(v));
    }
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto eq = arg.find('=');
        std::string name(arg.substr(0, eq));
        std::string value(eq == std::string_view::npos ? "" : arg.substr(eq + 1));
        if (name == "--port") {
            c.port = static_cast<std::uint16_t>(std::stoul(value));
        } else if (name == "--address") {
            c.address = value;
        } else if (name == "--upstream") {
            upstream = value;
        } else if (name == "--world") {
            world = value;
        } else if (name == "--stats-interval") {
            c.stats_interval = std::chrono::milliseconds(std::stoll(value));
        } else if (name == "--reconnect-grace-ms") {
            c.reconnect_grace = std::chrono::milliseconds(std::stoll(value));
        } else if (name == "--placement") {
            c.placement_url = value;
        } else if (name == "--advertise") {
            c.advertise = value;
        } else if (name == "--placement-lease-ms") {
            c.placement_lease = std::chrono::milliseconds(std::stoll(value));
        } else {
            throw std::invalid_argument(
                "unknown flag '" + name +
                "' (known: --port, --address, --upstream, --world, --stats-interval, "
                "--reconnect-grace-ms, --placement, "
                "--advertise, --placement-lease-ms)"
            );
        }
    }
    if (c.secret.empty()) {
        throw std::invalid_argument(
            "SHARD_SECRET is not set: the room server accepts only shards that present it"
        );
    }
    c.upstreams.clear();
    for (std::size_t start = 0; start <= upstream.size();) {
        auto comma = upstream.find(',', start);
        auto end = comma == std::string::npos ? upstream.size() : comma;
        if (end > start) {
            c.upstreams.push_back(host_port(upstream.substr(start, end - start), "--upstream"));
        }
        start = end + 1;
    }
    if (c.upstreams.empty()) {
        throw std::invalid_argument("--upstream: no room server given");
    }
    if (!world.empty()) {
        std::tie(c.world_host, c.world_port) = host_port(world, "--world");
    }
    return c;
}

}  // namespace

int main(int argc, char** argv) try {
    shard_config config = read_config(argc, argv);
    net::io_context ioc;
    shard_server server(ioc, config);
    server.start();
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) {
        server.stop();
        ioc.stop();
    });
    std::cout << "signe-shard listening on http://" << config.address << ":" << server.port()
              << std::endl;
    ioc.run();
    return 0;
} catch (const std::exception& e) {
    std::cerr << "signe-shard: " << e.what() << std::endl;
    return 2;
}

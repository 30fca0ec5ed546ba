// The room server's side of a shard: one upstream WebSocket per (shard, room) carries the
// traffic of every client connected to that shard. Each client becomes a virtual connection of
// the room, so guards, sessions, users and per-user interception work exactly as for direct
// clients; frames to a client go back targeted at it.
//
// Frames from the shard: {"type":"shard.clientConnected","privateId","clientId","requestInfo"},
// {"type":"shard.clientMessage","privateId","clientId","payload"},
// {"type":"shard.clientDisconnected","privateId","clientId"}. To the shard:
// {"targetClientId","data"} and {"type":"shard.closeClient","privateId","clientId"}. The original
// has no clientId (one virtual connection per privateId); without it, the privateId stands in.

#include "server/server_impl.hpp"

#include <signe/log.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <unordered_map>

namespace signe {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

// A shard carries many clients: its queue and frames may be far larger than one client's.
constexpr std::size_t link_queue_factor = 16;

std::string string_field(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The upgrade request a client sent to the shard, as the shard reported it.
request_info client_request(const json::value* info) {
    request_info out;
    const json::object* o = info != nullptr ? info->if_object() : nullptr;
    if (o == nullptr) {
        return out;
    }
    std::string url = string_field(*o, "url");
    // The shard reports a full URL or a target; keep the path and query.
    if (auto scheme = url.find("://"); scheme != std::string::npos) {
        auto slash = url.find('/', scheme + 3);
        url = slash == std::string::npos ? "/" : url.substr(slash);
    }
    out.target = url;
    auto q = url.find('?');
    out.path = url.substr(0, q);
    if (q != std::string::npos) {
        out.query = parse_query(std::string_view(url).substr(q + 1));
    }
    if (const auto* headers = o->if_contains("headers");
        headers != nullptr && headers->is_object()) {
        for (const auto& [name, value] : headers->get_object()) {
            if (value.is_string()) {
                out.headers.add(std::string(name), std::string(value.get_string()));
            }
        }
    }
    if (auto forwarded = out.header("x-forwarded-for")) {
        out.remote_address = std::string(*forwarded);
    }
    return out;
}

}  // namespace

class shard_link;

// One client behind a shard, as the room sees it.
class shard_client final : public connection {
public:
    shard_client(
        std::weak_ptr<shard_link> link,
        std::string client_id,
        std::string private_id,
        request_info info
    )
        : connection(client_id, std::move(info)),
          link_(std::move(link)),
          client_id_(std::move(client_id)) {
        set_private_id(std::move(private_id));
    }

    void send_text(frame_ptr frame) override;
    void close(int code, std::string_view reason) override;
    bool is_open() const override { return open_; }
    void mark_closed() { open_ = false; }
    const std::string& client_id() const { return client_id_; }

private:
    std::weak_ptr<shard_link> link_;
    std::string client_id_;
    bool open_ = true;
};

class shard_link final : public std::enable_shared_from_this<shard_link> {
public:
    shard_link(
        server::impl& srv, std::shared_ptr<room_host> host, tcp::socket socket, std::string shard_id
    )
        : srv_(srv),
          host_(std::move(host)),
          ws_(std::move(socket)),
          shard_id_(std::move(shard_id)) {}

    void start(http_request req) {
        auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
        timeouts.handshake_timeout = srv_.config.limits.handshake_timeout;
        ws_.set_option(timeouts);
        ws_.read_message_max(srv_.config.limits.max_frame_bytes * link_queue_factor);
        ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
            if (ec) {
                return;
            }
            self->open_ = true;
            log(log_level::info,
                "shard " + self->shard_id_ + " linked to room " + self->host_->core.info().id);
            self->host_->ensure_started();
            self->read();
        });
    }

    void send_targeted(const std::string& client_id, const frame_ptr& frame) {
        json::object envelope{{"targetClientId", client_id}, {"data", *frame}};
        queue(std::make_shared<const std::string>(to_text(envelope)));
    }

    void close_client(const std::shared_ptr<shard_client>& client) {
        queue(std::make_shared<const std::string>(to_text(json::object{
            {"type", "shard.closeClient"},
            {"privateId", client->private_id()},
            {"clientId", client->client_id()}})));
        client->mark_closed();
        clients_.erase(client->client_id());
        host_->core.leave(client);
        host_->touched();
    }

    std::shared_ptr<shard_client> find(const std::string& client_id) {
        auto it = clients_.find(client_id);
        return it == clients_.end() ? nullptr : it->second;
    }

private:
    void read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                self->lost();
                return;
            }
            std::string text = beast::buffers_to_string(self->buffer_.data());
            self->buffer_.consume(self->buffer_.size());
            self->dispatch(text);
            self->read();
        });
    }

    void dispatch(const std::string& text) {
        boost::system::error_code ec;
        json::value frame = parse_json(text, ec);
        const json::object* o = ec ? nullptr : frame.if_object();
        if (o == nullptr) {
            log(log_level::warn, "shard " + shard_id_ + ": dropped a malformed frame");
            return;
        }
        std::string type = string_field(*o, "type");
        std::string private_id = string_field(*o, "privateId");
        std::string client_id = string_field(*o, "clientId");
        if (client_id.empty()) {
            client_id = private_id;  // the original's shards address clients by private id
        }
        if (type == "shard.clientConnected") {
            connected(client_id, private_id, o->if_contains("requestInfo"));
        } else if (type == "shard.clientMessage") {
            message(client_id, o->if_contains("payload"));
        } else if (type == "shard.clientDisconnected") {
            disconnected(client_id);
        } else {
            log(log_level::debug, "shard " + shard_id_ + ": unknown frame type '" + type + "'");
        }
    }

    void connected(
        const std::string& client_id, const std::string& private_id, const json::value* info
    ) {
        if (client_id.empty() || clients_.contains(client_id)) {
            return;
        }
        auto client = std::make_shared<shard_client>(
            weak_from_this(), client_id, private_id, client_request(info)
        );
        clients_.emplace(client_id, client);
        host_->core.join(client);
    }

    void message(const std::string& client_id, const json::value* payload) {
        auto client = find(client_id);
        if (!client || payload == nullptr) {
            return;
        }
        host_->core.message(client, to_text(*payload));
    }

    void disconnected(const std::string& client_id) {
        auto client = find(client_id);
        if (!client) {
            return;
        }
        client->mark_closed();
        clients_.erase(client_id);
        host_->core.leave(client);
        host_->touched();
    }

    // The shard went away: every client behind it left.
    void lost() {
        open_ = false;
        auto clients = std::move(clients_);
        clients_.clear();
        for (auto& [id, client] : clients) {
            client->mark_closed();
            host_->core.leave(client);
        }
        host_->touched();
        log(log_level::info, "shard " + shard_id_ + " unlinked from room " + host_->core.info().id);
    }

    void queue(frame_ptr frame) {
        if (!open_) {
            return;
        }
        if (queued_bytes_ + frame->size() >
            srv_.config.limits.max_send_queue_bytes * link_queue_factor) {
            ++srv_.slow_readers_closed;
            log(log_level::warn, "closing shard " + shard_id_ + ": it does not keep up");
            beast::error_code ignored;
            beast::get_lowest_layer(ws_).socket().close(ignored);
            open_ = false;
            return;
        }
        queued_bytes_ += frame->size();
        queue_.push_back(std::move(frame));
        write_next();
    }

    void write_next() {
        if (writing_ || queue_.empty()) {
            return;
        }
        writing_ = true;
        ws_.text(true);
        ws_.async_write(
            net::buffer(*queue_.front()),
            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                self->writing_ = false;
                self->queued_bytes_ -= self->queue_.front()->size();
                self->queue_.pop_front();
                if (ec) {
                    self->queue_.clear();
                    self->queued_bytes_ = 0;
                    return;  // the read side notices and cleans up
                }
                self->write_next();
            }
        );
    }

    server::impl& srv_;
    std::shared_ptr<room_host> host_;
    websocket::stream<beast::tcp_stream> ws_;
    std::string shard_id_;
    beast::flat_buffer buffer_;
    std::deque<frame_ptr> queue_;
    std::size_t queued_bytes_ = 0;
    bool writing_ = false;
    bool open_ = false;
    std::unordered_map<std::string, std::shared_ptr<shard_client>> clients_;
};

void shard_client::send_text(frame_ptr frame) {
    if (auto link = link_.lock(); link && open_) {
        link->send_targeted(client_id_, frame);
    }
}

void shard_client::close(int, std::string_view) {
    if (!open_) {
        return;
    }
    if (auto link = link_.lock()) {
        if (auto self = link->find(client_id_)) {
            link->close_client(self);
            return;
        }
    }
    open_ = false;
}

bool is_shard_upgrade(const http_request& req) {
    return req.find("x-shard-id") != req.end();
}

bool shard_credentials_ok(const server::impl& srv, const http_request& req) {
    auto it = req.find("x-access-shard");
    return !srv.config.shard_secret.empty() && it != req.end() &&
           it->value() == srv.config.shard_secret;
}

bool start_shard_link(
    server::impl& srv, const std::shared_ptr<room_host>& host, tcp::socket& socket, http_request req
) {
    std::string shard_id(req["x-shard-id"]);
    auto protocol = socket.local_endpoint().protocol();
    tcp::socket moved(host->executor, protocol, socket.release());
    auto link = std::make_shared<shard_link>(srv, host, std::move(moved), std::move(shard_id));
    net::dispatch(host->executor, [link, req = std::move(req)]() mutable {
        link->start(std::move(req));
    });
    return true;
}

}  // namespace signe

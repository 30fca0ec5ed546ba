// The transport: one HTTP session per TCP connection, upgraded to a WebSocket session that
// lives on its room's strand. Every read has a size limit and a timeout; every socket has a
// bounded send queue.

#include "server/forward.hpp"
#include "server/server_impl.hpp"

#include <signe/embed.hpp>
#include <signe/log.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <fstream>
#include <memory>
#include <span>
#include <sstream>

namespace signe {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

request_info make_request_info(const http_request& req, std::string remote_address) {
    request_info info;
    std::string_view target = req.target();
    info.target = std::string(target);
    std::size_t q = target.find('?');
    info.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) {
        info.query = parse_query(target.substr(q + 1));
    }
    for (const auto& field : req) {
        info.headers.add(std::string(field.name_string()), std::string(field.value()));
    }
    info.remote_address = std::move(remote_address);
    return info;
}

std::string remote_of(const tcp::socket& socket) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    return ec ? std::string() : remote.address().to_string();
}

http_response to_http(const response& res, unsigned version, bool keep_alive) {
    http_response out{static_cast<http::status>(res.status_code()), version};
    out.set(http::field::server, "signe");
    out.set(http::field::content_type, res.content_type());
    for (const auto& [name, value] : res.headers().items()) {
        out.set(name, value);
    }
    out.body() = res.body_text();
    out.keep_alive(keep_alive);
    out.prepare_payload();
    return out;
}

http_response plain(http::status status, std::string body, unsigned version, bool keep_alive) {
    http_response out{status, version};
    out.set(http::field::server, "signe");
    out.set(http::field::content_type, "text/plain");
    out.body() = std::move(body);
    out.keep_alive(keep_alive);
    out.prepare_payload();
    return out;
}

http_response json_error(http::status status, const std::string& message, unsigned version) {
    http_response out{status, version};
    out.set(http::field::server, "signe");
    out.set(http::field::content_type, "application/json");
    out.set(http::field::access_control_allow_origin, "*");
    out.body() = to_text(json::object{{"error", message}});
    out.keep_alive(false);
    out.prepare_payload();
    return out;
}

std::string_view mime_type(std::string_view path) {
    auto dot = path.rfind('.');
    std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot);
    if (ext == ".html" || ext == ".htm") {
        return "text/html; charset=utf-8";
    }
    if (ext == ".js" || ext == ".mjs") {
        return "text/javascript; charset=utf-8";
    }
    if (ext == ".css") {
        return "text/css; charset=utf-8";
    }
    if (ext == ".json" || ext == ".map") {
        return "application/json";
    }
    if (ext == ".png") {
        return "image/png";
    }
    if (ext == ".svg") {
        return "image/svg+xml";
    }
    if (ext == ".ico") {
        return "image/x-icon";
    }
    return "application/octet-stream";
}

// Small demo assets only: the file is read in one go on the worker thread.
std::optional<http_response> static_file(
    const std::string& root, std::string_view path, unsigned version, bool keep_alive, bool head
) {
    if (root.empty() || path.find("..") != std::string_view::npos) {
        return std::nullopt;
    }
    std::string file = root + std::string(path);
    if (!path.empty() && path.back() == '/') {
        file += "index.html";
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream content;
    content << in.rdbuf();
    http_response out{http::status::ok, version};
    out.set(http::field::server, "signe");
    out.set(http::field::content_type, mime_type(file));
    out.set(http::field::cache_control, "no-cache");
    out.body() = head ? std::string() : content.str();
    out.keep_alive(keep_alive);
    out.prepare_payload();
    if (head) {
        out.content_length(content.str().size());
    }
    return out;
}

// The TCP stream under a session's WebSocket. The session writes its text frames itself, many
// per system call (one write per frame was the server's bottleneck: docs/performance.md);
// Beast still writes the handshake answer, pongs and close frames through async_write_some.
// Every write is written whole before the next one starts, so the two never interleave.
class frame_stream {
public:
    using executor_type = beast::tcp_stream::executor_type;

    explicit frame_stream(tcp::socket socket) : next_(std::move(socket)) {}

    executor_type get_executor() noexcept { return next_.get_executor(); }
    beast::tcp_stream& next_layer() noexcept { return next_; }
    const beast::tcp_stream& next_layer() const noexcept { return next_; }

    template <class MutableBuffers, class Handler>
    auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
        return next_.async_read_some(buffers, std::forward<Handler>(handler));
    }

    // Beast's writes: all of `buffers`, once the write in progress (if any) is done.
    template <class ConstBuffers, class Handler>
    auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
        return net::async_initiate<Handler, void(beast::error_code, std::size_t)>(
            [this](auto h, const ConstBuffers& b) { write_whole(b, std::move(h)); },
            handler,
            buffers
        );
    }

    // The session's batches, under the same rule.
    template <class Handler>
    void async_write_all(std::span<const net::const_buffer> buffers, Handler handler) {
        write_whole(buffers, std::move(handler));
    }

private:
    struct waiting {
        virtual ~waiting() = default;
        virtual void start() = 0;
    };
    template <class Fn>
    struct waiting_fn final : waiting {
        explicit waiting_fn(Fn f) : fn(std::move(f)) {}
        void start() override { fn(); }
        Fn fn;
    };

    template <class ConstBuffers, class Handler>
    void write_whole(const ConstBuffers& buffers, Handler handler) {
        auto start = [this, buffers, handler = std::move(handler)]() mutable {
            net::async_write(
                next_.socket(),
                buffers,
                [this, handler = std::move(handler)](beast::error_code ec, std::size_t n) mutable {
                    start_next();
                    auto ex = net::get_associated_executor(handler, next_.get_executor());
                    net::dispatch(ex, beast::bind_front_handler(std::move(handler), ec, n));
                }
            );
        };
        if (writing_) {
            waiting_.push_back(std::make_unique<waiting_fn<decltype(start)>>(std::move(start)));
            return;
        }
        writing_ = true;
        start();
    }

    void start_next() {
        writing_ = false;
        if (!waiting_.empty()) {
            auto next = std::move(waiting_.front());
            waiting_.erase(waiting_.begin());
            writing_ = true;
            next->start();
        }
    }

    beast::tcp_stream next_;
    bool writing_ = false;
    std::vector<std::unique_ptr<waiting>>
        waiting_;  // rarely more than one; empty allocates nothing
};

// Closing the WebSocket closes the TCP stream underneath (found by Beast through ADL).
template <class Handler>
void async_teardown(beast::role_type role, frame_stream& stream, Handler&& handler) {
    using websocket::async_teardown;
    async_teardown(role, stream.next_layer(), std::forward<Handler>(handler));
}

// The frames waiting for a socket, oldest first. Unlike std::deque, it allocates nothing until
// the first frame (idle sockets never get one) and gives its memory back once drained.
class frame_queue {
public:
    bool empty() const { return head_ == items_.size(); }
    const frame_ptr& front() const { return items_[head_]; }
    auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
    auto end() const { return items_.end(); }
    void push_back(frame_ptr frame) { items_.push_back(std::move(frame)); }
    void pop_front() {
        items_[head_++].reset();
        if (head_ == items_.size()) {
            clear();
        } else if (head_ >= 64 && head_ * 2 > items_.size()) {
            items_.erase(items_.begin(), begin());  // keep a long-busy queue from growing
            head_ = 0;
        }
    }
    void clear() {
        if (items_.capacity() > 64) {
            std::vector<frame_ptr>().swap(items_);
        } else {
            items_.clear();
        }
        head_ = 0;
    }

private:
    std::vector<frame_ptr> items_;
    std::size_t head_ = 0;
};

// Queued frames as one write: headers and small payloads copied together, large payloads
// referenced where they are (the frame encoded once for the whole room).
struct frame_batch {
    static constexpr std::size_t copy_below = 1024;
    static constexpr std::size_t max_bytes = 256 * 1024;
    static constexpr std::size_t max_buffers = 64;  // what Asio passes to one sendmsg

    std::string bytes;
    std::vector<net::const_buffer> buffers;
    std::size_t frames = 0;
};

void append_text_frame_header(std::string& out, std::size_t size) {
    out.push_back(static_cast<char>(0x81));  // FIN, text: one unfragmented message
    if (size < 126) {
        out.push_back(static_cast<char>(size));
    } else if (size <= 0xFFFF) {
        out.push_back(static_cast<char>(126));
        out.push_back(static_cast<char>(size >> 8));
        out.push_back(static_cast<char>(size & 0xFF));
    } else {
        out.push_back(static_cast<char>(127));
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((static_cast<std::uint64_t>(size) >> shift) & 0xFF));
        }
    }
}

std::unique_ptr<frame_batch> take_batch(const frame_queue& queue) {
    struct piece {
        const char* external;  // nullptr: a range of batch->bytes
        std::size_t offset;
        std::size_t size;
    };
    auto batch = std::make_unique<frame_batch>();
    std::vector<piece> pieces;
    std::size_t run_start = 0;
    std::size_t payload = 0;
    auto end_run = [&] {
        if (batch->bytes.size() > run_start) {
            pieces.push_back({nullptr, run_start, batch->bytes.size() - run_start});
        }
        run_start = batch->bytes.size();
    };
    for (const auto& frame : queue) {
        if (batch->frames > 0 && (payload + frame->size() > frame_batch::max_bytes ||
                                  pieces.size() + 3 > frame_batch::max_buffers)) {
            break;
        }
        append_text_frame_header(batch->bytes, frame->size());
        if (frame->size() < frame_batch::copy_below) {
            batch->bytes.append(*frame);
        } else {
            end_run();
            pieces.push_back({frame->data(), 0, frame->size()});
        }
        payload += frame->size();
        ++batch->frames;
    }
    end_run();
    for (const auto& p : pieces) {
        const char* data = p.external != nullptr ? p.external : batch->bytes.data() + p.offset;
        batch->buffers.emplace_back(data, p.size);
    }
    return batch;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// WebSocket

class ws_session final : public connection, public std::enable_shared_from_this<ws_session> {
public:
    ws_session(
        server::impl& srv, std::shared_ptr<room_host> host, tcp::socket socket, request_info info
    )
        : connection(random_id(10), std::move(info)),
          srv_(srv),
          host_(std::move(host)),
          ws_(std::move(socket)) {
        ++srv_.connections_open;
    }
    ~ws_session() override { --srv_.connections_open; }

    void start(http_request req) {
        beast::error_code ignored;  // frames go out as soon as they are written, not after an ACK
        beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
        websocket::stream_base::timeout timeouts =
            websocket::stream_base::timeout::suggested(beast::role_type::server);
        timeouts.handshake_timeout = srv_.config.limits.handshake_timeout;
        ws_.set_option(timeouts);
        ws_.read_message_max(srv_.config.limits.max_frame_bytes);
        ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
            res.set(http::field::server, "signe");
        }));
        ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
            if (ec) {
                return;  // handshake failed; the socket goes with this session
            }
            self->open_ = true;
            if (self->host_->closing) {
                self->close(close_code::going_away, "Server shutting down");
            } else {
                self->host_->ensure_started();
                self->host_->core.join(self);
            }
            self->read();
        });
    }

    void send_text(frame_ptr frame) override {
        if (!open_ || closing_) {
            return;
        }
        if (queued_bytes_ + frame->size() > srv_.config.limits.max_send_queue_bytes) {
            // A reader this far behind would hold memory and delay nobody but itself: drop it.
            ++srv_.slow_readers_closed;
            log(log_level::warn,
                "closing slow reader " + id() + " (" + std::to_string(queued_bytes_) +
                    " bytes queued)");
            abort();
            return;
        }
        queued_bytes_ += frame->size();
        queue_.push_back(std::move(frame));
        note_frame_interval();
        schedule_write();
    }

    void close(int code, std::string_view reason) override {
        if (!open_ || closing_) {
            return;
        }
        closing_ = true;
        close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
        if (!writing_ && !write_scheduled_) {
            do_close();  // else the frames already queued go first, then the close
        }
    }

    bool is_open() const override { return open_ && !closing_; }

private:
    void read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->on_read(ec);
        });
    }

    void on_read(beast::error_code ec) {
        if (ec) {
            if (ec == websocket::error::message_too_big) {
                ++srv_.oversized_frames;
                log(log_level::debug,
                    "closing " + id() + ": frame over " +
                        std::to_string(srv_.config.limits.max_frame_bytes) + " bytes");
            }
            finish();
            return;
        }
        std::string text =
            beast::buffers_to_string(buffer_.data());  // binary frames are read as text, like Node
        buffer_.consume(buffer_.size());
        host_->core.message(shared_from_this(), text);
        read();
    }

    // The socket's mean time between frames (moving average, 1/8 weight to the newest).
    void note_frame_interval() {
        auto now = std::chrono::steady_clock::now();
        if (last_frame_ != std::chrono::steady_clock::time_point{}) {
            double gap = std::chrono::duration<double, std::micro>(now - last_frame_).count();
            frame_gap_us_ += (gap - frame_gap_us_) / 8;
        }
        last_frame_ = now;
    }

    // The write starts once the room's strand has run what is already waiting on it (other
    // clients' messages, arrived in the same poll). A socket that receives at least one frame
    // per server_limits::write_delay on average, and wrote less than that delay ago, waits for
    // the rest of it (Nagle's rule, by time): the frames queued meanwhile leave in one system
    // call instead of one each. A socket that receives less is written at once.
    void schedule_write() {
        if (writing_ || write_scheduled_) {
            return;
        }
        write_scheduled_ = true;
        auto write = [self = shared_from_this()] {
            self->write_scheduled_ = false;
            self->write_next();
        };
        auto delay = srv_.config.limits.write_delay;
        bool busy = frame_gap_us_ <= static_cast<double>(delay.count());
        if (busy && std::chrono::steady_clock::now() - last_write_ < delay) {
            host_->defer_write(std::move(write));
        } else {
            net::post(ws_.get_executor(), std::move(write));
        }
    }

    // Everything queued (up to a batch) goes out in one write.
    void write_next() {
        if (writing_ || close_started_) {
            return;
        }
        if (queue_.empty()) {
            if (closing_) {
                do_close();  // a scheduled write found nothing left: the close can go now
            }
            return;
        }
        writing_ = true;
        last_write_ = std::chrono::steady_clock::now();
        auto batch = take_batch(queue_);
        const frame_batch* sending = batch.get();
        ws_.next_layer().async_write_all(
            sending->buffers,
            [self = shared_from_this(),
             batch = std::move(batch)](beast::error_code ec, std::size_t) {
                self->writing_ = false;
                for (std::size_t i = 0; i < batch->frames; ++i) {
                    self->queued_bytes_ -= self->queue_.front()->size();
                    self->queue_.pop_front();
                }
                if (ec || self->finished_) {
                    self->abort();
                    self->queue_.clear();
                    self->queued_bytes_ = 0;
                    return;
                }
                if (self->closing_ && self->queue_.empty()) {
                    self->do_close();
                } else {
                    self->write_next();
                }
            }
        );
    }

    // The close frame, once: nothing is written after it (Beast allows one close at a time).
    void do_close() {
        if (close_started_) {
            return;
        }
        close_started_ = true;
        ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code) {});
    }

    // Drops the connection without a close handshake; the pending read then ends it.
    void abort() {
        closing_ = true;
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

    void finish() {
        if (finished_) {
            return;
        }
        finished_ = true;
        open_ = false;
        if (!writing_) {
            queue_.clear(
            );  // an in-flight write still owns the front frames: they clear on completion
            queued_bytes_ = 0;
        }
        host_->core.leave(shared_from_this());
        host_->touched();
    }

    server::impl& srv_;
    std::shared_ptr<room_host> host_;
    websocket::stream<frame_stream> ws_;
    beast::flat_buffer buffer_;
    frame_queue queue_;
    std::size_t queued_bytes_ = 0;
    bool writing_ = false;
    bool write_scheduled_ = false;
    bool close_started_ = false;
    std::chrono::steady_clock::time_point last_write_{};
    std::chrono::steady_clock::time_point last_frame_{};
    double frame_gap_us_ = 1e9;  // no traffic yet: never busy
    bool open_ = false;
    bool closing_ = false;
    bool finished_ = false;
    websocket::close_reason close_reason_;
};

void room_host::ensure_started() {
    if (!started) {
        started = true;
        core.start();
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

class http_session final : public std::enable_shared_from_this<http_session> {
public:
    http_session(server::impl& srv, tcp::socket socket) : srv_(srv), stream_(std::move(socket)) {
        ++srv_.connections_open;
    }
    ~http_session() { --srv_.connections_open; }

    void start() {
        {
            std::lock_guard lock(srv_.sessions_mutex);
            srv_.http_sessions.insert(weak_from_this());
        }
        if (srv_.stopping) {
            // Accepted while the server was stopping, after it closed the sessions it knew of
            // (a client reconnecting at once, as PartySocket does): close it now rather than
            // keep the shutdown waiting for its handshake timeout.
            forget();
            beast::error_code ignored;
            stream_.socket().close(ignored);
            return;
        }
        read(srv_.config.limits.handshake_timeout);
    }

    void shutdown() {
        net::post(stream_.get_executor(), [self = shared_from_this()] {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
            self->stream_.close();
        });
    }

private:
    void forget() {
        std::lock_guard lock(srv_.sessions_mutex);
        srv_.http_sessions.erase(weak_from_this());
    }

    void read(std::chrono::seconds timeout) {
        parser_.emplace();
        parser_->body_limit(srv_.config.limits.max_body_bytes);
        parser_->header_limit(static_cast<std::uint32_t>(srv_.config.limits.max_header_bytes));
        stream_.expires_after(timeout);
        http::async_read(
            stream_,
            buffer_,
            *parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); }
        );
    }

    void on_read(beast::error_code ec) {
        if (ec == http::error::body_limit) {
            write(plain(http::status::payload_too_large, "Payload Too Large", 11, false));
            return;
        }
        if (ec == http::error::header_limit) {
            write(plain(
                http::status::request_header_fields_too_large,
                "Request Header Fields Too Large",
                11,
                false
            ));
            return;
        }
        if (ec) {
            forget();
            beast::error_code ignored;
            stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
            return;
        }
        http_request req = parser_->release();
        if (auto key = srv_.placement_key(req.target())) {
            return place(std::move(req), std::move(*key));
        }
        serve(std::move(req));
    }

    void serve(http_request req) {
        if (websocket::is_upgrade(req)) {
            upgrade(std::move(req));
        } else {
            handle(std::move(req));
        }
    }

    // A room that does not run here yet: claim it, or hand the connection to the server that
    // holds it.
    void place(http_request req, std::string key) {
        auto shared = std::make_shared<http_request>(std::move(req));
        srv_.placement->resolve(
            std::move(key),
            [self = shared_from_this(), shared](detail::placement_service::answer a) {
                net::post(self->stream_.get_executor(), [self, shared, a = std::move(a)] {
                    self->placed(std::move(*shared), a);
                });
            }
        );
    }

    void placed(http_request req, const detail::placement_service::answer& a) {
        using where = detail::placement_service::answer::where;
        if (a.at == where::here) {
            return serve(std::move(req));
        }
        if (a.at == where::unavailable || req.find(forwarded_header) != req.end()) {
            // Redis is down, or two servers disagree (a lease just ended): the client retries.
            version_ = req.version();
            keep_alive_ = false;
            std::string why = a.at == where::unavailable
                                  ? "Room placement unavailable: " + a.error
                                  : std::string("Room placement is changing, try again");
            write(json_error(http::status::service_unavailable, why, version_));
            return;
        }
        forget();
        req.set(forwarded_header, "1");
        std::string already_read = beast::buffers_to_string(buffer_.data());
        auto link = forward_connection(
            stream_.release_socket(),
            std::move(req),
            std::move(already_read),
            a.address,
            "Room server unreachable"
        );
        std::lock_guard lock(srv_.forwarded_mutex);
        std::erase_if(srv_.forwarded, [](const auto& weak) { return weak.expired(); });
        srv_.forwarded.push_back(link);
    }

    static constexpr std::string_view forwarded_header = "x-signe-forwarded";

    void upgrade(http_request req) {
        forget();
        if (buffer_.size() != 0 || srv_.stopping || !upgrade_to_room(srv_, stream_.socket(), req)) {
            // Not a room (or bytes pipelined after the upgrade request, which no client sends).
            write(plain(http::status::not_found, "Not Found", req.version(), false));
        }
    }

    void handle(http_request req) {
        version_ = req.version();
        keep_alive_ = req.keep_alive();
        bool get = req.method() == http::verb::get || req.method() == http::verb::head;
        bool head = req.method() == http::verb::head;
        std::string path(req.target().substr(0, req.target().find('?')));
        auto respond = [self = shared_from_this()](http_response res) {
            net::post(self->stream_.get_executor(), [self, res = std::move(res)]() mutable {
                res.version(self->version_);
                res.keep_alive(self->keep_alive_);
                self->write(std::move(res));
            });
        };
        if (answer_room_request(
                srv_, std::move(req), remote_of(stream_.socket()), std::move(respond)
            )) {
            return;
        }
        auto file =
            get ? static_file(
                      srv_.config.static_dir, percent_decode(path), version_, keep_alive_, head
                  )
                : std::nullopt;
        write(
            file ? std::move(*file)
                 : plain(http::status::not_found, "Not Found", version_, keep_alive_)
        );
    }

    void write(http_response res) {
        auto shared = std::make_shared<http_response>(std::move(res));
        bool keep = shared->keep_alive() && !srv_.stopping;
        http::async_write(
            stream_,
            *shared,
            [self = shared_from_this(), shared, keep](beast::error_code ec, std::size_t) {
                if (ec || !keep) {
                    self->forget();
                    beast::error_code ignored;
                    self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                    if (!ec) {
                        self->drain();
                    }
                    return;
                }
                self->read(self->srv_.config.limits.http_idle_timeout);
            }
        );
    }

    // After an early answer (413, 431), read and discard what the client is still sending, so
    // it can finish writing and read the answer instead of failing on a reset connection.
    void drain() {
        drain_buffer_.resize(16 * 1024);
        stream_.expires_after(std::chrono::seconds(2));
        stream_.async_read_some(
            net::buffer(drain_buffer_),
            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                self->drained_ += n;
                if (!ec && self->drained_ < 4 * self->srv_.config.limits.max_body_bytes) {
                    self->drain();
                }
            }
        );
    }

    server::impl& srv_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    unsigned version_ = 11;
    bool keep_alive_ = true;
    std::vector<char> drain_buffer_;
    std::size_t drained_ = 0;
};

bool upgrade_to_room(server::impl& srv, tcp::socket& socket, http_request req) {
    request_info info = make_request_info(req, remote_of(socket));
    auto address = parse_room_path(info.path);
    auto host = address ? srv.find_room(address->party, address->room_id) : nullptr;
    if (!host) {
        return false;
    }
    if (is_shard_upgrade(req)) {
        return shard_credentials_ok(srv, req) &&
               start_shard_link(srv, host, socket, std::move(req));
    }
    // Move the socket onto its room's strand: from now on this connection lives there.
    auto protocol = socket.local_endpoint().protocol();
    tcp::socket moved(host->executor, protocol, socket.release());
    auto session = std::make_shared<ws_session>(srv, host, std::move(moved), std::move(info));
    net::dispatch(host->executor, [session, req = std::move(req)]() mutable {
        session->start(std::move(req));
    });
    return true;
}

bool answer_room_request(
    server::impl& srv,
    http_request req,
    const std::string& remote_address,
    std::function<void(http_response)> respond
) {
    request_info info = make_request_info(req, remote_address);
    auto address = parse_room_path(info.path);
    if (!address) {
        return false;
    }
    unsigned version = req.version();
    bool keep_alive = req.keep_alive();
    if (req.find("x-forwarded-by-shard") != req.end() && !shard_credentials_ok(srv, req)) {
        response res;
        res.unauthorized("Invalid shard credentials");
        apply_cors(res);
        respond(to_http(res, version, keep_alive));
        return true;
    }
    auto host = srv.find_room(address->party, address->room_id);
    if (!host) {
        response res;
        if (req.method() != http::verb::options) {
            res.not_found();  // OPTIONS is answered for any room id, as the original does
        }
        apply_cors(res);
        respond(to_http(res, version, keep_alive));
        return true;
    }
    signe::request room_req;
    static_cast<request_info&>(room_req) = std::move(info);
    room_req.method = verb_from_string(req.method_string());
    room_req.route_path = address->rest.empty() ? "/" : address->rest;
    room_req.body = std::move(req.body());
    host->post([room_req = std::move(room_req), respond = std::move(respond), version, keep_alive](
                   detail::room_core& core
               ) mutable {
        core.http(std::move(room_req), [respond, version, keep_alive](response res) {
            respond(to_http(res, version, keep_alive));
        });
    });
    return true;
}

void start_http_session(server::impl& srv, tcp::socket socket) {
    std::make_shared<http_session>(srv, std::move(socket))->start();
}

void accept_connection(server& srv, tcp::socket socket) {
    auto& impl = detail::server_access::of(srv);
    start_http_session(
        impl,
        tcp::socket(
            impl.workers[0]->get_executor(), socket.local_endpoint().protocol(), socket.release()
        )
    );
}

bool accept_websocket(server& srv, tcp::socket& socket, const beast_request& req) {
    return upgrade_to_room(detail::server_access::of(srv), socket, req);
}

bool handle_request(
    server& srv,
    const beast_request& req,
    const std::string& remote_address,
    std::function<void(beast_response)> respond
) {
    return answer_room_request(
        detail::server_access::of(srv), req, remote_address, std::move(respond)
    );
}

void close_http_session(const std::shared_ptr<http_session>& session) {
    session->shutdown();
}

}  // namespace signe

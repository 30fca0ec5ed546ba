#include "server/forward.hpp"

#include <signe/json.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <memory>
#include <sstream>

namespace signe {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto connect_timeout = std::chrono::seconds(5);

// Copies one direction; when it ends (EOF or error) both sockets close.
struct pipe_half {
    tcp::socket& from;
    tcp::socket& to;
    std::array<char, 16 * 1024> buffer{};
};

struct link final : forwarded_connection, std::enable_shared_from_this<link> {
    link(tcp::socket c, http::request<http::string_body> r, std::string extra, std::string why)
        : client(std::move(c)),
          upstream(client.get_executor()),
          resolver(client.get_executor()),
          timer(client.get_executor()),
          request(std::move(r)),
          already_read(std::move(extra)),
          unreachable(std::move(why)) {}

    void start(const std::string& address) {
        auto colon = address.rfind(':');
        if (colon == std::string::npos) {
            return fail();
        }
        timer.expires_after(connect_timeout);
        timer.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec) {
                beast::error_code ignored;
                self->upstream.close(ignored);  // the connect below ends with an error
            }
        });
        resolver.async_resolve(
            address.substr(0, colon),
            address.substr(colon + 1),
            [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
                if (ec) {
                    return self->fail();
                }
                net::async_connect(
                    self->upstream,
                    results,
                    [self](beast::error_code cec, const tcp::endpoint&) {
                        self->timer.cancel();
                        if (cec) {
                            return self->fail();
                        }
                        self->send_request();
                    }
                );
            }
        );
    }

    void send_request() {
        upstream.set_option(tcp::no_delay(true));
        auto head = std::make_shared<std::string>();
        {
            std::ostringstream out;
            out << request;
            *head = out.str() + already_read;
        }
        net::async_write(
            upstream,
            net::buffer(*head),
            [self = shared_from_this(), head](beast::error_code ec, std::size_t) {
                if (ec) {
                    return self->close_now();
                }
                self->copy(self->to_upstream);
                self->copy(self->to_client);
            }
        );
    }

    void copy(pipe_half& half) {
        half.from.async_read_some(
            net::buffer(half.buffer),
            [self = shared_from_this(), &half](beast::error_code ec, std::size_t n) {
                if (ec) {
                    return self->close_now();
                }
                net::async_write(
                    half.to,
                    net::buffer(half.buffer.data(), n),
                    [self, &half](beast::error_code wec, std::size_t) {
                        if (wec) {
                            return self->close_now();
                        }
                        self->copy(half);
                    }
                );
            }
        );
    }

    void close() override {
        net::post(client.get_executor(), [self = shared_from_this()] { self->close_now(); });
    }

    void close_now() {
        beast::error_code ignored;
        client.shutdown(tcp::socket::shutdown_both, ignored);
        client.close(ignored);
        upstream.close(ignored);
    }

    void fail() { answer_and_close(std::move(client), 503, unreachable, request.version()); }

    tcp::socket client;
    tcp::socket upstream;
    tcp::resolver resolver;
    net::steady_timer timer;
    http::request<http::string_body> request;
    std::string already_read;
    std::string unreachable;
    pipe_half to_upstream{client, upstream};
    pipe_half to_client{upstream, client};
};

}  // namespace

std::shared_ptr<forwarded_connection> forward_connection(
    tcp::socket client,
    http::request<http::string_body> request,
    std::string already_read,
    const std::string& address,
    std::string unreachable_message
) {
    auto l = std::make_shared<link>(
        std::move(client),
        std::move(request),
        std::move(already_read),
        std::move(unreachable_message)
    );
    l->start(address);
    return l;
}

void answer_and_close(
    tcp::socket client, unsigned status, const std::string& message, unsigned version
) {
    struct answer {
        tcp::socket socket;
        http::response<http::string_body> res;
    };
    auto a = std::make_shared<answer>(answer{std::move(client), {}});
    a->res.result(status);
    a->res.version(version);
    a->res.set(http::field::content_type, "application/json");
    a->res.set(http::field::access_control_allow_origin, "*");
    a->res.keep_alive(false);
    a->res.body() = to_text(json::object{{"error", message}});
    a->res.prepare_payload();
    http::async_write(a->socket, a->res, [a](beast::error_code, std::size_t) {
        beast::error_code ignored;
        a->socket.shutdown(tcp::socket::shutdown_send, ignored);
    });
}

}  // namespace signe

// A small HTTP client for room-to-room calls across processes (session transfers).

#include "server/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

namespace signe {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto call_timeout = std::chrono::seconds(5);

struct post_call : std::enable_shared_from_this<post_call> {
    post_call(net::any_io_executor ex, std::function<void(int, std::string)> cb)
        : resolver(ex), stream(ex), done(std::move(cb)) {}

    void start(const std::string& host, const std::string& port) {
        resolver.async_resolve(
            host,
            port,
            [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
                if (ec) {
                    return self->fail();
                }
                self->stream.expires_after(call_timeout);
                self->stream.async_connect(
                    results,
                    [self](beast::error_code cec, const tcp::endpoint&) {
                        if (cec) {
                            return self->fail();
                        }
                        self->write();
                    }
                );
            }
        );
    }

    void write() {
        http::async_write(
            stream,
            request,
            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (ec) {
                    return self->fail();
                }
                http::async_read(
                    self->stream,
                    self->buffer,
                    self->reply,
                    [self](beast::error_code rec, std::size_t) {
                        if (rec) {
                            return self->fail();
                        }
                        beast::error_code ignored;
                        self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                        self->done(self->reply.result_int(), std::move(self->reply.body()));
                    }
                );
            }
        );
    }

    void fail() { done(0, "no answer"); }

    tcp::resolver resolver;
    beast::tcp_stream stream;
    http::request<http::string_body> request;
    http::response<http::string_body> reply;
    beast::flat_buffer buffer;
    std::function<void(int, std::string)> done;
};

}  // namespace

void http_post_json(
    net::any_io_executor executor,
    const std::string& url,
    std::string body,
    std::vector<std::pair<std::string, std::string>> headers,
    std::function<void(int status, std::string body)> done
) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed || parsed->scheme() != "http" || parsed->host().empty()) {
        net::post(executor, [done] { done(0, "unsupported URL (http://host[:port] expected)"); });
        return;
    }
    auto call = std::make_shared<post_call>(executor, std::move(done));
    std::string host(parsed->host());
    std::string port = parsed->has_port() ? std::string(parsed->port()) : "80";
    std::string target(parsed->encoded_path());
    call->request =
        http::request<http::string_body>{http::verb::post, target.empty() ? "/" : target, 11};
    call->request.set(http::field::host, host + ":" + port);
    call->request.set(http::field::content_type, "application/json");
    for (auto& [name, value] : headers) {
        call->request.set(name, value);
    }
    call->request.body() = std::move(body);
    call->request.prepare_payload();
    call->start(host, port);
}

}  // namespace signe

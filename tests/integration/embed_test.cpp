// The server embedded in a program's own io_context and Beast code: the program accepts and
// reads requests itself, hands room traffic to signe, and keeps everything else ("next").

#include <gtest/gtest.h>

#include <signe/embed.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <memory>
#include <optional>
#include <thread>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

class tally_room {
public:
    signe::synced<int> count{0};
    static auto fields() { return signe::fields(signe::field("count", &tally_room::count)); }
    static void define(signe::room_spec<tally_room>& spec) {
        spec.path("tally")
            .action("add", &tally_room::add)
            .http(signe::verb::get, "/count", &tally_room::get_count);
    }
    void add(const signe::json::value&) { ++count; }
    signe::json::value get_count(signe::request&) { return {{"count", count.get()}}; }
};

// The host program: its own acceptor and HTTP reading; rooms are delegated to signe.
class host_program {
public:
    host_program()
        : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)), rooms_(ioc_) {
        rooms_.add_room<tally_room>();
        accept();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~host_program() {
        ioc_.stop();
        thread_.join();
    }
    unsigned short port() const { return acceptor_.local_endpoint().port(); }

private:
    struct conn {
        tcp::socket socket;
        beast::flat_buffer buffer;
        signe::beast_request req;
    };

    void accept() {
        acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (!ec) {
                auto c = std::make_shared<conn>(conn{std::move(socket), {}, {}});
                http::async_read(
                    c->socket,
                    c->buffer,
                    c->req,
                    [this, c](beast::error_code rec, std::size_t) {
                        if (!rec) {
                            dispatch(c);
                        }
                    }
                );
            }
            accept();
        });
    }

    void dispatch(const std::shared_ptr<conn>& c) {
        if (websocket::is_upgrade(c->req)) {
            ASSERT_TRUE(signe::accept_websocket(rooms_, c->socket, c->req));
            return;
        }
        auto reply = [c](signe::beast_response res) {
            auto shared = std::make_shared<signe::beast_response>(std::move(res));
            shared->keep_alive(false);
            http::async_write(c->socket, *shared, [c, shared](beast::error_code, std::size_t) {});
        };
        if (!signe::handle_request(rooms_, c->req, "127.0.0.1", reply)) {
            signe::beast_response next{http::status::ok, 11};
            next.set(http::field::content_type, "text/plain");
            next.body() = "from next";
            next.prepare_payload();
            reply(std::move(next));
        }
    }

    net::io_context ioc_;
    tcp::acceptor acceptor_;
    signe::server rooms_;
    std::thread thread_;
};

http::response<http::string_body> get(unsigned short port, const std::string& target) {
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res;
}

signe::json::value read_frame(websocket::stream<tcp::socket>& ws) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    return signe::json::parse(beast::buffers_to_string(buffer.data()));
}

TEST(embed, room_http_is_answered_and_other_paths_go_to_next) {
    host_program host;
    auto count = get(host.port(), "/parties/main/tally/count");
    EXPECT_EQ(count.result_int(), 200);
    EXPECT_EQ(count.body(), R"({"count":0})");
    EXPECT_EQ(count[http::field::access_control_allow_origin], "*");

    auto other = get(host.port(), "/elsewhere");
    EXPECT_EQ(other.body(), "from next");
}

TEST(embed, websocket_handed_over_gets_initial_sync_and_deltas) {
    host_program host;
    net::io_context ioc;
    websocket::stream<tcp::socket> ws(ioc);
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), host.port()));
    ws.handshake("127.0.0.1", "/parties/main/tally?id=embedded");
    auto first = read_frame(ws);
    EXPECT_EQ(first.at("type"), "sync");
    EXPECT_TRUE(first.at("value").as_object().contains("pId"));
    ws.write(net::buffer(std::string(R"({"action":"add"})")));
    auto delta = read_frame(ws);
    EXPECT_EQ(signe::to_text(delta), R"({"type":"sync","value":{"count":1}})");
    EXPECT_EQ(get(host.port(), "/parties/main/tally/count").body(), R"({"count":1})");
    ws.close(websocket::close_code::normal);
}

}  // namespace

namespace {

TEST(embed, server_listening_on_the_callers_io_context) {
    net::io_context ioc;
    signe::server_config config;
    config.address = "127.0.0.1";
    config.port = 0;
    signe::server rooms{ioc, config};
    rooms.add_room<tally_room>();
    auto port = rooms.listen();
    std::thread runner([&] { ioc.run(); });
    EXPECT_EQ(get(port, "/parties/main/tally/count").body(), R"({"count":0})");
    EXPECT_EQ(get(port, "/party/tally/count").body(), R"({"count":0})")
        << "/party/<room> is party main";
    rooms.stop();
    runner.join();  // stop() closed the acceptor: run() returns once nothing is left
}

}  // namespace

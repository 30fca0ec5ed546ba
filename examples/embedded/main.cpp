// signe inside your own Beast server: your program accepts connections and reads requests, hands
// room traffic (WebSocket upgrades and /parties/... requests) to signe, and answers everything
// else itself. Everything runs on your io_context.
//
//     PORT=3000 ./signe-example-embedded
//     curl localhost:3000/hello                        ->  hello from the host program
//     curl localhost:3000/parties/main/visits/count    ->  {"count":0}

#include <signe/embed.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class visits_room {
public:
    signe::synced<int> count{0};
    static auto fields() { return signe::fields(signe::field("count", &visits_room::count)); }
    static void define(signe::room_spec<visits_room>& spec) {
        spec.path("visits")
            .action("visit", &visits_room::visit)
            .http(signe::verb::get, "/count", &visits_room::get_count);
    }
    void visit(const signe::json::value&) { ++count; }
    signe::json::value get_count(signe::request&) { return {{"count", count.get()}}; }
};

// One connection of the host program: read a request, then either hand it to signe or answer.
struct host_connection : std::enable_shared_from_this<host_connection> {
    host_connection(tcp::socket s, signe::server& r) : socket(std::move(s)), rooms(r) {}

    void start() {
        http::async_read(
            socket,
            buffer,
            req,
            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (!ec) {
                    self->dispatch();
                }
            }
        );
    }

    void dispatch() {
        if (beast::websocket::is_upgrade(req)) {
            if (!signe::accept_websocket(rooms, socket, req)) {
                reply(not_found());
            }
            return;
        }
        auto self = shared_from_this();
        std::string remote = socket.remote_endpoint().address().to_string();
        if (signe::handle_request(rooms, req, remote, [self](signe::beast_response res) {
                self->reply(std::move(res));
            })) {
            return;
        }
        signe::beast_response res{http::status::ok, req.version()};  // "next": the host's own page
        res.set(http::field::content_type, "text/plain");
        res.body() = "hello from the host program\n";
        reply(std::move(res));
    }

    signe::beast_response not_found() {
        signe::beast_response res{http::status::not_found, req.version()};
        res.body() = "Not Found";
        return res;
    }

    void reply(signe::beast_response res) {
        auto shared = std::make_shared<signe::beast_response>(std::move(res));
        shared->keep_alive(false);
        shared->prepare_payload();
        http::async_write(
            socket,
            *shared,
            [self = shared_from_this(), shared](beast::error_code, std::size_t) {
                beast::error_code ignored;
                self->socket.shutdown(tcp::socket::shutdown_send, ignored);
            }
        );
    }

    tcp::socket socket;
    signe::server& rooms;
    beast::flat_buffer buffer;
    signe::beast_request req;
};

void accept(tcp::acceptor& acceptor, signe::server& rooms) {
    acceptor.async_accept([&acceptor, &rooms](beast::error_code ec, tcp::socket socket) {
        if (ec) {
            return;
        }
        std::make_shared<host_connection>(std::move(socket), rooms)->start();
        accept(acceptor, rooms);
    });
}

}  // namespace

int main(int argc, char** argv) try {
    // PORT / --port and SIGNE_STORAGE / --storage as every signe program; the host listens itself.
    signe::server_config config = signe::config_from_args(argc, argv);
    auto port = config.port;
    net::io_context ioc;
    signe::server rooms{ioc, config};
    rooms.add_room<visits_room>();
    tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    accept(acceptor, rooms);
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) {
        acceptor.close();
        rooms.stop();  // closes room sockets with 1001; run() returns when nothing is left
    });
    std::cout << "signe listening on http://127.0.0.1:" << acceptor.local_endpoint().port()
              << std::endl;
    ioc.run();
    return 0;
} catch (const std::exception& e) {
    std::cerr << "signe-example-embedded: " << e.what() << std::endl;
    return 2;
}

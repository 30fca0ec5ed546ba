#pragma once

// Embedding the server in your own Asio/Beast program (the Node adapter's handleUpgrade,
// acceptWebSocket and handleNodeRequest-with-next). Build the server on your io_context:
//
//     boost::asio::io_context ioc;
//     signe::server rooms{ioc};
//     rooms.add_room<game_room>();
//     // in your HTTP session, after reading `req`:
//     if (boost::beast::websocket::is_upgrade(req)) {
//         if (!signe::accept_websocket(rooms, socket, req)) { /* not a room: yours */ }
//     } else if (!signe::handle_request(rooms, req, remote_ip, [&](auto res) { /* write res */ }))
//     {
//         /* not a room path: next() */
//     }
//
// All callbacks run on the room's strand of your io_context.

#include <signe/server.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <string>

namespace signe {

using beast_request = boost::beast::http::request<boost::beast::http::string_body>;
using beast_response = boost::beast::http::response<boost::beast::http::string_body>;

// Serves a whole accepted connection: reads its requests, upgrades WebSockets, answers HTTP.
void accept_connection(server& srv, boost::asio::ip::tcp::socket socket);

// Takes an accepted socket whose upgrade request you have read. Returns false, leaving the
// socket with you, when the request is not for a room of this server. Bytes read past the
// request must not exist (a conforming client waits for the 101 answer).
bool accept_websocket(server& srv, boost::asio::ip::tcp::socket& socket, const beast_request& req);

// Answers an HTTP request for a room (`respond` is called once, maybe later). Returns false
// without calling `respond` when the path is not /parties/... or /party/...: pass it on.
bool handle_request(
    server& srv,
    const beast_request& req,
    const std::string& remote_address,
    std::function<void(beast_response)> respond
);

}  // namespace signe

#pragma once

// Hands a client's connection to another process: the request that was read is sent on, then
// bytes are copied both ways until either side closes. Used when the room (or shard) a client
// asks for lives in another process: a WebSocket keeps going through this pipe, an HTTP
// connection too (later requests on it go to the same process).

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory>
#include <string>

namespace signe {

// A connection handed over; close() ends it (the server's shutdown does).
class forwarded_connection {
public:
    virtual ~forwarded_connection() = default;
    virtual void close() = 0;
};

// `address` is "host:port". `already_read` holds bytes the client sent after the request (sent
// on after it). When the other process cannot be reached the client gets 503 with
// {"error": "<unreachable_message>"} and the connection closes.
std::shared_ptr<forwarded_connection> forward_connection(
    boost::asio::ip::tcp::socket client,
    boost::beast::http::request<boost::beast::http::string_body> request,
    std::string already_read,
    const std::string& address,
    std::string unreachable_message
);

// Answers `status` with {"error": message} and closes the connection.
void answer_and_close(
    boost::asio::ip::tcp::socket client,
    unsigned status,
    const std::string& message,
    unsigned version
);

}  // namespace signe

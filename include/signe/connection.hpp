#pragma once

// One client socket as room code sees it. The transport (a WebSocket, a test client, a shard's
// virtual client) implements sending and closing; the room fills in the session identity.
//
// Threading: call only from the room's executor.

#include <signe/http.hpp>
#include <signe/json.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace signe {

namespace detail {
class room_core;
}

// A shared, immutable frame: one encoding queued to every recipient.
using frame_ptr = std::shared_ptr<const std::string>;

// WebSocket close codes used by the server.
namespace close_code {
inline constexpr int normal = 1000;
inline constexpr int going_away = 1001;        // server shutting down
inline constexpr int policy_violation = 1008;  // guard refusal, bad path
inline constexpr int too_big = 1009;           // frame over the size limit
inline constexpr int internal_error = 1011;    // the room could not start the connection
inline constexpr int try_again_later = 1013;   // room full, slow reader
}  // namespace close_code

class connection {
public:
    explicit connection(std::string id, request_info request);
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    virtual ~connection();

    // Unique per socket; new for every socket.
    const std::string& id() const { return id_; }
    // The secret session key: the `id` query parameter, else `_pk`, else a random id.
    const std::string& private_id() const { return private_id_; }
    // The user's public key (the `pId` the client receives); empty until the room accepts it.
    const std::string& public_id() const { return public_id_; }
    // The upgrade request: URL, query parameters and headers.
    const request_info& request() const { return request_; }

    // Sends already encoded text; the transport keeps a reference, not a copy. Room code sends
    // with room_base::send, which also runs the room's interceptor.
    virtual void send_text(frame_ptr frame) = 0;
    // Closes the socket with a WebSocket close code and reason.
    virtual void close(int code, std::string_view reason) = 0;
    virtual bool is_open() const = 0;

protected:
    // Transports that take the private id from elsewhere (a shard) may set it before joining.
    void set_private_id(std::string id) { private_id_ = std::move(id); }

private:
    friend class detail::room_core;

    std::string id_;
    std::string private_id_;
    std::string public_id_;
    request_info request_;

    // Room bookkeeping (touched only by the room).
    bool joined_ = false;
    bool awaiting_initial_sync_ = false;
    bool processing_ = false;
    std::vector<std::string> inbox_;
    double allowance_ = 0;            // messages it may still send now
    std::int64_t allowance_at_ = -1;  // when allowance_ was last refilled (ms); -1: never
};

using connection_ptr = std::shared_ptr<connection>;

// Private id of a connection from its query: `id` (trimmed, non-empty), else `_pk` (what
// PartySocket and `connectionRoom({id})` send), else empty.
std::string session_id_from_query(const name_values& query);

// A random identifier of `length` characters from [A-Za-z0-9], from the system's CSPRNG.
std::string random_id(std::size_t length);

}  // namespace signe

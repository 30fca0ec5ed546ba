#pragma once

// The WebSocket framing the load generator needs (RFC 6455 §5), without a stream object per
// connection: server frames are parsed in place from a shared receive buffer, client frames are
// appended masked to a send buffer. Beast's websocket::stream reads about 1.4 million small
// frames per second on one core in our measurement (docs/performance.md); this reads several
// times that, which the generator needs to never be the bottleneck.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace signe::loadtest {

enum class opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

struct frame_view {
    opcode op = opcode::text;
    bool fin = true;
    std::string_view payload;
};

enum class parse_status { ok, incomplete, bad };

// Parses the frame at the start of `data`, a frame sent by a server (never masked). On `ok`,
// `consumed` is the frame's size. `bad`: masked, reserved bits set, unknown opcode, a control
// frame over 125 bytes or fragmented, or a payload over `max_payload`.
parse_status parse_frame(
    std::string_view data, frame_view& out, std::size_t& consumed, std::size_t max_payload
);

// Appends a client frame (FIN set) masked with `mask`, as RFC 6455 requires of clients.
void append_masked_frame(std::string& out, opcode op, std::string_view payload, std::uint32_t mask);

// Appends an unmasked server frame (FIN set); used by the self-test's fake server.
void append_server_frame(std::string& out, opcode op, std::string_view payload);

}  // namespace signe::loadtest

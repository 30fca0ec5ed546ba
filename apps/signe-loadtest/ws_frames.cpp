#include "ws_frames.hpp"

#include <cstring>

namespace signe::loadtest {
namespace {

constexpr std::uint8_t fin_bit = 0x80;
constexpr std::uint8_t reserved_bits = 0x70;
constexpr std::uint8_t mask_bit = 0x80;
constexpr std::size_t max_control_payload = 125;

bool known(std::uint8_t op) {
    return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

void append_length(std::string& out, std::uint8_t first, std::uint8_t mask, std::size_t n) {
    out.push_back(static_cast<char>(first));
    if (n < 126) {
        out.push_back(static_cast<char>(mask | n));
    } else if (n <= 0xFFFF) {
        out.push_back(static_cast<char>(mask | 126));
        out.push_back(static_cast<char>(n >> 8));
        out.push_back(static_cast<char>(n & 0xFF));
    } else {
        out.push_back(static_cast<char>(mask | 127));
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xFF));
        }
    }
}

}  // namespace

parse_status parse_frame(
    std::string_view data, frame_view& out, std::size_t& consumed, std::size_t max_payload
) {
    if (data.size() < 2) {
        return parse_status::incomplete;
    }
    auto b0 = static_cast<std::uint8_t>(data[0]);
    auto b1 = static_cast<std::uint8_t>(data[1]);
    std::uint8_t op = b0 & 0x0F;
    if ((b0 & reserved_bits) != 0 || (b1 & mask_bit) != 0 || !known(op)) {
        return parse_status::bad;
    }
    std::size_t header = 2;
    std::uint64_t length = b1 & 0x7F;
    if (length == 126) {
        header = 4;
        if (data.size() < header) {
            return parse_status::incomplete;
        }
        length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(data[2])) << 8) |
                 static_cast<std::uint8_t>(data[3]);
    } else if (length == 127) {
        header = 10;
        if (data.size() < header) {
            return parse_status::incomplete;
        }
        length = 0;
        for (std::size_t i = 2; i < 10; ++i) {
            length = (length << 8) | static_cast<std::uint8_t>(data[i]);
        }
    }
    bool fin = (b0 & fin_bit) != 0;
    bool control = op >= 0x8;
    if (length > max_payload || (control && (length > max_control_payload || !fin))) {
        return parse_status::bad;
    }
    if (data.size() - header < length) {
        return parse_status::incomplete;
    }
    out.op = static_cast<opcode>(op);
    out.fin = fin;
    out.payload = data.substr(header, static_cast<std::size_t>(length));
    consumed = header + static_cast<std::size_t>(length);
    return parse_status::ok;
}

void append_masked_frame(
    std::string& out, opcode op, std::string_view payload, std::uint32_t mask
) {
    append_length(out, fin_bit | static_cast<std::uint8_t>(op), mask_bit, payload.size());
    char key[4];
    std::memcpy(key, &mask, sizeof key);
    out.append(key, sizeof key);
    std::size_t start = out.size();
    out.append(payload);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        out[start + i] = static_cast<char>(out[start + i] ^ key[i & 3]);
    }
}

void append_server_frame(std::string& out, opcode op, std::string_view payload) {
    append_length(out, fin_bit | static_cast<std::uint8_t>(op), 0, payload.size());
    out.append(payload);
}

}  // namespace signe::loadtest

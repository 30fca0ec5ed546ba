#include "storage/json_read.hpp"

#include <signe/json.hpp>

#include <charconv>
#include <cmath>

namespace signe {
namespace {

void append_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            case '\b':
                out.append("\\b");
                break;
            case '\f':
                out.append("\\f");
                break;
            default:
                if (u < 0x20) {
                    out.append("\\u00");
                    out.push_back(hex[u >> 4]);
                    out.push_back(hex[u & 0xF]);
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

// Numbers as JavaScript's Number#toString writes them: the shortest digits that round-trip, in
// plain notation for 1e-7 <= |d| < 1e21 and as "1e+21" / "1.5e-7" outside.
void append_double(std::string& out, double d) {
    if (!std::isfinite(d)) {
        out.append("null");  // as JSON.stringify does
        return;
    }
    if (d == 0) {
        out.push_back('0');  // -0 too
        return;
    }
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));  // "-1.2345e+02"
    bool negative = sci.front() == '-';
    if (negative) {
        sci.remove_prefix(1);
    }
    auto e = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e)) {
        if (c != '.') {
            digits.push_back(c);
        }
    }
    int exponent = std::stoi(std::string(sci.substr(e + 1)));
    if (negative) {
        out.push_back('-');
    }
    int n = static_cast<int>(digits.size());
    if (exponent >= 21 || exponent <= -7) {
        out.push_back(digits[0]);
        if (n > 1) {
            out.push_back('.');
            out.append(digits, 1);
        }
        out.push_back('e');
        out.push_back(exponent < 0 ? '-' : '+');
        out.append(std::to_string(exponent < 0 ? -exponent : exponent));
    } else if (exponent >= n - 1) {
        out.append(digits).append(static_cast<std::size_t>(exponent - (n - 1)), '0');
    } else if (exponent >= 0) {
        out.append(digits, 0, static_cast<std::size_t>(exponent + 1)).push_back('.');
        out.append(digits, static_cast<std::size_t>(exponent + 1));
    } else {
        out.append("0.").append(static_cast<std::size_t>(-exponent - 1), '0').append(digits);
    }
}

}  // namespace

void append_text(std::string& out, const json::value& value) {
    switch (value.kind()) {
        case json::kind::null:
            out.append("null");
            return;
        case json::kind::bool_:
            out.append(value.get_bool() ? "true" : "false");
            return;
        case json::kind::int64: {
            char buf[24];
            auto r = std::to_chars(buf, buf + sizeof buf, value.get_int64());
            out.append(buf, r.ptr);
            return;
        }
        case json::kind::uint64: {
            char buf[24];
            auto r = std::to_chars(buf, buf + sizeof buf, value.get_uint64());
            out.append(buf, r.ptr);
            return;
        }
        case json::kind::double_:
            append_double(out, value.get_double());
            return;
        case json::kind::string:
            append_string(out, value.get_string());
            return;
        case json::kind::array: {
            out.push_back('[');
            bool first = true;
            for (const auto& item : value.get_array()) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                append_text(out, item);
            }
            out.push_back(']');
            return;
        }
        case json::kind::object: {
            out.push_back('{');
            bool first = true;
            for (const auto& [key, item] : value.get_object()) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                append_string(out, key);
                out.push_back(':');
                append_text(out, item);
            }
            out.push_back('}');
            return;
        }
    }
}

std::string to_text(const json::value& value) {
    std::string out;
    out.reserve(64);
    append_text(out, value);
    return out;
}

json::value parse_json(std::string_view text, boost::system::error_code& ec) {
    return detail::parse_json_exact(text, ec);
}

}  // namespace signe

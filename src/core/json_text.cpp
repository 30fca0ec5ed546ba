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

void append_double(std::string& out, double d) {
    if (!std::isfinite(d)) {
        out.append("null");  // as JSON.stringify does
        return;
    }
    char buf[32];
    std::to_chars_result r{};
    if (std::trunc(d) == d && std::fabs(d) < 9007199254740992.0) {
        r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(d));
    } else {
        r = std::to_chars(buf, buf + sizeof buf, d);
    }
    out.append(buf, r.ptr);
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

}  // namespace signe

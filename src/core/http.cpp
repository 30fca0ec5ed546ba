#include <signe/http.hpp>
#include <signe/log.hpp>

#include <algorithm>
#include <cctype>
#include <exception>

namespace signe {

std::string_view to_string(verb v) {
    switch (v) {
        case verb::get:
            return "GET";
        case verb::head:
            return "HEAD";
        case verb::post:
            return "POST";
        case verb::put:
            return "PUT";
        case verb::patch:
            return "PATCH";
        case verb::del:
            return "DELETE";
        case verb::options:
            return "OPTIONS";
        case verb::other:
            break;
    }
    return "OTHER";
}

verb verb_from_string(std::string_view method) {
    for (verb v :
         {verb::get, verb::head, verb::post, verb::put, verb::patch, verb::del, verb::options}) {
        if (to_string(v) == method) {
            return v;
        }
    }
    return verb::other;
}

bool name_values::matches(std::string_view a, std::string_view b) const {
    if (!case_insensitive_) {
        return a == b;
    }
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

void name_values::set(std::string name, std::string value) {
    std::erase_if(items_, [&](const auto& item) { return matches(item.first, name); });
    items_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string_view> name_values::get(std::string_view name) const {
    for (const auto& [k, v] : items_) {
        if (matches(k, name)) {
            return std::string_view(v);
        }
    }
    return std::nullopt;
}

response& response::header(std::string name, std::string value) {
    headers_.set(std::move(name), std::move(value));
    return *this;
}

response& response::set_headers(const std::vector<std::pair<std::string, std::string>>& headers) {
    for (const auto& [k, v] : headers) {
        header(k, v);
    }
    return *this;
}

response& response::json(const boost::json::value& value) {
    content_type_ = "application/json";
    body_text_ = to_text(value);
    body_value_ = value;
    return *this;
}

response& response::send() {
    body_text_ = to_text(body_value_ ? *body_value_ : boost::json::value(boost::json::object{}));
    return *this;
}

response& response::send(const boost::json::value& value) {
    body_value_ = value;
    return send();
}

response& response::text(std::string body) {
    content_type_ = "text/plain";
    body_text_ = std::move(body);
    body_value_.reset();
    return *this;
}

response& response::redirect(std::string url, int code) {
    status_ = code;
    header("Location", std::move(url));
    return send();
}

response& response::success(const boost::json::value& value) {
    status_ = 200;
    return json(value);
}

response& response::error(int code, std::string_view message, const boost::json::object& extra) {
    boost::json::object body{{"error", message}};
    for (const auto& [k, v] : extra) {
        body[k] = v;
    }
    status_ = code;
    return json(body);
}

response& response::bad_request(std::string_view message, const boost::json::object& details) {
    return error(400, message, details);
}
response& response::unauthorized(std::string_view message) {
    return error(401, message);
}
response& response::not_permitted(std::string_view message) {
    return error(403, message);
}
response& response::not_found(std::string_view message) {
    return error(404, message);
}
response& response::server_error(std::string_view message) {
    return error(500, message);
}

void response::finish() {
    if (finished_) {
        return;
    }
    finished_ = true;
    for (auto& fn : interceptors_) {
        try {
            fn(*this);
        } catch (const std::exception& e) {
            log(log_level::error, std::string("Error in interceptor: ") + e.what());
        } catch (...) {
            log(log_level::error, "Error in interceptor");
        }
    }
}

void apply_cors(response& res, const cors_options& options) {
    res.header("Access-Control-Allow-Origin", options.origin);
    res.header("Access-Control-Allow-Methods", options.methods);
    res.header("Access-Control-Allow-Headers", options.allowed_headers);
    res.header("Access-Control-Max-Age", std::to_string(options.max_age));
    if (!options.exposed_headers.empty()) {
        res.header("Access-Control-Expose-Headers", options.exposed_headers);
    }
    if (options.credentials) {
        res.header("Access-Control-Allow-Credentials", "true");
    }
}

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::string decode_component(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%' && i + 2 < text.size()) {
            int hi = hex_value(text[i + 1]);
            int lo = hex_value(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
    return out;
}
}  // namespace

std::string percent_decode(std::string_view text) {
    return decode_component(text, false);
}

std::string percent_encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
                          (u >= '0' && u <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0xF]);
        }
    }
    return out;
}

name_values parse_query(std::string_view query) {
    name_values out(false);
    std::size_t start = 0;
    while (start < query.size()) {
        std::size_t amp = query.find('&', start);
        std::string_view pair = query.substr(
            start, amp == std::string_view::npos ? std::string_view::npos : amp - start
        );
        if (!pair.empty()) {
            std::size_t eq = pair.find('=');
            std::string_view name = pair.substr(0, eq);
            std::string_view value =
                eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
            out.add(decode_component(name, true), decode_component(value, true));
        }
        if (amp == std::string_view::npos) {
            break;
        }
        start = amp + 1;
    }
    return out;
}

}  // namespace signe

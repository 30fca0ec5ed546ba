#pragma once

// HTTP requests and responses as room code sees them (the original's `@Request` routes and its
// ServerResponse helper). Transport-independent: the server fills these from Beast messages.

#include <signe/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signe {

enum class verb { get, head, post, put, patch, del, options, other };

std::string_view to_string(verb v);
verb verb_from_string(std::string_view method);

// Ordered name/value pairs with case-insensitive lookup for headers and exact lookup for query
// parameters. Repeated names keep every value; `get` returns the first.
class name_values {
public:
    name_values() = default;
    explicit name_values(bool case_insensitive) : case_insensitive_(case_insensitive) {}

    void add(std::string name, std::string value) {
        items_.emplace_back(std::move(name), std::move(value));
    }
    void set(std::string name, std::string value);
    std::optional<std::string_view> get(std::string_view name) const;
    bool contains(std::string_view name) const { return get(name).has_value(); }
    const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

private:
    bool matches(std::string_view a, std::string_view b) const;

    bool case_insensitive_ = false;
    std::vector<std::pair<std::string, std::string>> items_;
};

// What every request carries: the target, its decoded query and its headers. A WebSocket
// connection keeps the one of its upgrade request, so guards and hooks can read `?name=Sam`.
struct request_info {
    std::string target;  // path and query as received: "/parties/main/game-1?id=s1&name=Sam"
    std::string path;    // decoded path without the query
    name_values query{false};
    name_values headers{true};
    std::string remote_address;

    std::optional<std::string_view> query_param(std::string_view name) const {
        return query.get(name);
    }
    std::optional<std::string_view> header(std::string_view name) const {
        return headers.get(name);
    }
};

// An HTTP request routed to a room.
struct request : request_info {
    verb method = verb::get;
    std::string route_path;     // the part after /parties/<party>/<room>, e.g. "/users/42"
    name_values params{false};  // `:name` segments of the matched route
    std::string body;

    std::string_view param(std::string_view name) const { return params.get(name).value_or(""); }
};

// An HTTP response. Chainable like the original's ServerResponse:
//
//     return signe::response{}.status(201).header("X-Trace", id).json({{"ok", true}});
//     return signe::response{}.not_found("User not found");
//
// Interceptors added with `use` run, in order, when the server sends the response; one that
// throws is logged and skipped.
class response {
public:
    using interceptor = std::function<void(response&)>;

    response() = default;

    // Chainable setters.
    response& status(int code) {
        status_ = code;
        return *this;
    }
    response& header(std::string name, std::string value);
    response& set_headers(const std::vector<std::pair<std::string, std::string>>& headers);
    response& body(boost::json::value value) {
        body_value_ = std::move(value);
        return *this;
    }
    response& use(interceptor fn) {
        interceptors_.push_back(std::move(fn));
        return *this;
    }

    // Terminal helpers: they fill status, body and content type.
    response& json(const boost::json::value& value);
    response& send();  // the current body (default `{}`)
    response& send(const boost::json::value& value);
    response& text(std::string body);
    response& redirect(std::string url, int code = 302);
    response& success(const boost::json::value& value = boost::json::object{});
    response& bad_request(std::string_view message, const boost::json::object& details = {});
    response& unauthorized(std::string_view message = "Unauthorized");
    response& not_permitted(std::string_view message = "Not permitted");
    response& not_found(std::string_view message = "Not found");
    response& server_error(std::string_view message = "Internal Server Error");

    // An error reply `{"error": message}` with any status.
    response& error(int code, std::string_view message, const boost::json::object& extra = {});

    int status_code() const { return status_; }
    const std::string& body_text() const { return body_text_; }
    const std::string& content_type() const { return content_type_; }
    std::optional<std::string_view> header_value(std::string_view name) const {
        return headers_.get(name);
    }
    const name_values& headers() const { return headers_; }

    // Runs the interceptors once; the server calls this before writing.
    void finish();

private:
    int status_ = 200;
    std::string content_type_ = "application/json";
    std::string body_text_ = "{}";
    std::optional<boost::json::value> body_value_;
    name_values headers_{true};
    std::vector<interceptor> interceptors_;
    bool finished_ = false;
};

// CORS headers the original puts on every response it builds.
struct cors_options {
    std::string origin = "*";
    std::string methods = "GET, POST, PUT, DELETE, PATCH, OPTIONS";
    std::string allowed_headers = "Content-Type, Authorization, X-Requested-With";
    std::string exposed_headers;  // empty: not sent
    bool credentials = false;
    int max_age = 86400;
};

void apply_cors(response& res, const cors_options& options = {});

// Splits and percent-decodes a query string ("a=1&b=x%20y").
name_values parse_query(std::string_view query);
std::string percent_decode(std::string_view text);
// Percent-encodes everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - _ . ~): what
// encodeURIComponent leaves alone, narrowed to the set every decoder agrees on.
std::string percent_encode(std::string_view text);

}  // namespace signe

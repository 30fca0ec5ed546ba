#include <signe/payload.hpp>

#include <cmath>
#include <sstream>

namespace signe {

std::string_view json_type_name(const json::value* j) {
    if (j == nullptr) {
        return "undefined";
    }
    switch (j->kind()) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return "boolean";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return "number";
        case json::kind::string:
            return "string";
        case json::kind::array:
            return "array";
        case json::kind::object:
            return "object";
    }
    return "unknown";
}

json::value validation_error::to_json() const {
    json::array list;
    for (const auto& issue : issues) {
        json::object o{{"code", issue.code}};
        for (const auto& [k, v] : issue.extra) {
            o[k] = v;
        }
        o["path"] = issue.path;
        o["message"] = issue.message;
        list.push_back(std::move(o));
    }
    return json::object{{"issues", std::move(list)}, {"name", "ZodError"}};
}

std::string validation_error::summary() const {
    std::string out;
    for (const auto& issue : issues) {
        if (!out.empty()) {
            out += "; ";
        }
        std::string path;
        for (const auto& p : issue.path) {
            if (!path.empty()) {
                path += '.';
            }
            path += p.is_string() ? std::string(p.get_string()) : to_text(p);
        }
        out += (path.empty() ? std::string("(value)") : path) + ": " + issue.message;
    }
    return out;
}

namespace detail {

void add_issue(
    validation_error& err,
    const json::array& path,
    std::string code,
    std::string message,
    json::object extra
) {
    err.issues.push_back(validation_issue{
        std::move(code), std::move(message), path, std::move(extra)});
}

void add_type_issue(
    validation_error& err,
    const json::array& path,
    std::string_view expected,
    const json::value* got
) {
    std::string_view received = json_type_name(got);
    std::string message = got == nullptr ? "Required"
                                         : "Expected " + std::string(expected) + ", received " +
                                               std::string(received);
    add_issue(
        err,
        path,
        "invalid_type",
        std::move(message),
        {{"expected", expected}, {"received", received}}
    );
}

namespace {
std::string format_bound(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}
}  // namespace

void add_bound_issue(
    validation_error& err,
    const json::array& path,
    bool too_small,
    double bound,
    std::string_view kind
) {
    std::string b = format_bound(bound);
    std::string message;
    if (kind == "string") {
        message = too_small ? "String must contain at least " + b + " character(s)"
                            : "String must contain at most " + b + " character(s)";
    } else if (kind == "array") {
        message = too_small ? "Array must contain at least " + b + " element(s)"
                            : "Array must contain at most " + b + " element(s)";
    } else {
        message = too_small ? "Number must be greater than or equal to " + b
                            : "Number must be less than or equal to " + b;
    }
    json::object extra{{"type", kind}, {"inclusive", true}, {"exact", false}};
    extra[too_small ? "minimum" : "maximum"] = bound;
    add_issue(err, path, too_small ? "too_small" : "too_big", std::move(message), std::move(extra));
}

void add_enum_issue(
    validation_error& err,
    const json::array& path,
    std::span<const std::string_view> choices,
    std::string_view got
) {
    json::array options;
    std::string list;
    for (auto c : choices) {
        options.emplace_back(c);
        list += (list.empty() ? "'" : " | '") + std::string(c) + "'";
    }
    add_issue(
        err,
        path,
        "invalid_enum_value",
        "Invalid enum value. Expected " + list + ", received '" + std::string(got) + "'",
        {{"options", std::move(options)}, {"received", got}}
    );
}

}  // namespace detail
}  // namespace signe

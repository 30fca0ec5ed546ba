#include "frame_scanner.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <array>
#include <vector>

namespace signe::loadtest {
namespace {

constexpr std::size_t max_path = 32;

using error_code = boost::system::error_code;

void walk(const json::value& node, std::vector<std::string_view>& path, leaf_visitor& visitor) {
    if (const auto* obj = node.if_object()) {
        for (const auto& kv : *obj) {
            path.push_back(kv.key());
            walk(kv.value(), path, visitor);
            path.pop_back();
        }
        return;
    }
    leaf l;
    if (node.is_number()) {
        l.what = leaf::kind::number;
        l.number = node.to_number<double>();
    } else if (node.is_string()) {
        l.what = leaf::kind::string;
        l.text = node.get_string();
    } else if (node.is_bool()) {
        l.what = leaf::kind::boolean;
        l.boolean = node.get_bool();
    } else if (node.is_array()) {
        l.what = leaf::kind::array;
    }
    if (!path.empty()) {
        visitor.on_leaf(path, l);
    }
}

}  // namespace

void visit_leaves(const json::value& value, leaf_visitor& visitor) {
    std::vector<std::string_view> path;
    walk(value, path, visitor);
}

// SAX handler. Depth 1 is the frame object; "value"'s own object is depth 2, and the key at
// depth d is path element d - 2.
struct frame_scanner::sax {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    enum class root_key { none, type, value, other };

    leaf_visitor* visitor = nullptr;
    std::size_t depth = 0;
    std::size_t skip = 0;  // > 0: inside a subtree that is ignored (an array leaf, another key)
    root_key current = root_key::none;
    bool have_type = false;
    bool value_first = false;  // "value" before "type": the caller falls back to a full parse
    std::array<std::string, max_path> keys;
    std::array<std::string_view, max_path> path;
    std::string key_parts;
    std::string string_parts;

    void reset(leaf_visitor& v) {
        visitor = &v;
        depth = 0;
        skip = 0;
        current = root_key::none;
        have_type = false;
        value_first = false;
    }

    bool in_value_object() const { return current == root_key::value && depth >= 2; }

    void emit(const leaf& l) {
        std::size_t n = depth - 1;
        for (std::size_t i = 0; i < n; ++i) {
            path[i] = keys[i];
        }
        visitor->on_leaf(std::span<const std::string_view>(path.data(), n), l);
    }

    bool scalar(const leaf& l) {
        if (skip == 0 && in_value_object()) {
            emit(l);
        }
        return true;
    }

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }

    bool on_object_begin(error_code& ec) {
        if (skip > 0) {
            ++skip;
            return true;
        }
        if (depth == 1 && current != root_key::value) {
            skip = 1;  // an object under a key other than "value"
            return true;
        }
        if (depth + 1 >= max_path) {
            ec = boost::json::error::too_deep;
            return false;
        }
        ++depth;
        return true;
    }
    bool on_object_end(std::size_t, error_code&) {
        if (skip > 0) {
            --skip;
        } else {
            --depth;
        }
        return true;
    }
    bool on_array_begin(error_code& ec) {
        if (skip > 0) {
            ++skip;
            return true;
        }
        if (depth == 0) {
            ec = boost::json::error::syntax;  // a frame is an object
            return false;
        }
        if (in_value_object()) {
            leaf l;
            l.what = leaf::kind::array;
            emit(l);
        }
        skip = 1;
        return true;
    }
    bool on_array_end(std::size_t, error_code&) {
        --skip;
        return true;
    }
    bool on_key_part(std::string_view s, std::size_t, error_code&) {
        key_parts.append(s);
        return true;
    }
    bool on_key(std::string_view s, std::size_t, error_code& ec) {
        std::string_view key = s;
        if (!key_parts.empty()) {
            key_parts.append(s);
            key = key_parts;
        }
        if (skip == 0) {
            if (depth == 1) {
                if (key == "type") {
                    current = root_key::type;
                } else if (key == "value") {
                    current = root_key::value;
                    if (!have_type) {
                        value_first = true;
                        ec = boost::json::error::extra_data;  // stop here: caller falls back
                        key_parts.clear();
                        return false;
                    }
                } else {
                    current = root_key::other;
                }
            } else if (in_value_object()) {
                keys[depth - 2].assign(key);
            }
        }
        key_parts.clear();
        return true;
    }
    bool on_string_part(std::string_view s, std::size_t, error_code&) {
        string_parts.append(s);
        return true;
    }
    bool on_string(std::string_view s, std::size_t, error_code&) {
        std::string_view text = s;
        if (!string_parts.empty()) {
            string_parts.append(s);
            text = string_parts;
        }
        if (skip == 0 && depth == 1 && current == root_key::type && !have_type) {
            have_type = true;
            visitor->on_type(text);
        } else {
            leaf l;
            l.what = leaf::kind::string;
            l.text = text;
            scalar(l);
        }
        string_parts.clear();
        return true;
    }
    bool on_number_part(std::string_view, error_code&) { return true; }
    bool on_int64(std::int64_t i, std::string_view, error_code&) {
        return number(static_cast<double>(i));
    }
    bool on_uint64(std::uint64_t u, std::string_view, error_code&) {
        return number(static_cast<double>(u));
    }
    bool on_double(double d, std::string_view, error_code&) { return number(d); }
    bool number(double d) {
        leaf l;
        l.what = leaf::kind::number;
        l.number = d;
        return scalar(l);
    }
    bool on_bool(bool b, error_code&) {
        leaf l;
        l.what = leaf::kind::boolean;
        l.boolean = b;
        return scalar(l);
    }
    bool on_null(error_code&) { return scalar(leaf{}); }
    bool on_comment_part(std::string_view, error_code&) { return true; }
    bool on_comment(std::string_view, error_code&) { return true; }
};

namespace {

// Strings are not checked for valid UTF-8: the generator only compares keys and ids.
boost::json::parse_options scanner_options() {
    boost::json::parse_options opts;
    opts.allow_invalid_utf8 = true;
    return opts;
}

}  // namespace

struct frame_scanner::parser {
    boost::json::basic_parser<sax> p{scanner_options()};
};

frame_scanner::frame_scanner() : parser_(std::make_unique<parser>()) {}
frame_scanner::~frame_scanner() = default;

bool frame_scanner::scan(std::string_view text, leaf_visitor& visitor) {
    auto& p = parser_->p;
    p.reset();
    p.handler().reset(visitor);
    error_code ec;
    p.write_some(false, text.data(), text.size(), ec);
    if (!ec) {
        return p.handler().have_type;
    }
    if (!p.handler().value_first) {
        return false;
    }
    // Rare: "value" before "type". Parse the whole frame and walk it.
    json::value frame = json::parse(text, ec);
    const json::object* obj = ec ? nullptr : frame.if_object();
    const json::value* type = obj ? obj->if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string()) {
        return false;
    }
    visitor.on_type(type->get_string());
    if (const auto* value = obj->if_contains("value")) {
        visit_leaves(*value, visitor);
    }
    return true;
}

}  // namespace signe::loadtest

#include "json_read.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <charconv>
#include <string>

namespace signe::detail {
namespace {

// Builds the value as json::parser does, but takes doubles from their text with
// std::from_chars, which rounds correctly.
struct exact_handler {
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    json::value_stack stack;
    std::string number;  // the start of a number whose text arrived in parts

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) { return true; }
    bool on_object_end(std::size_t n, boost::system::error_code&) {
        stack.push_object(n);
        return true;
    }
    bool on_array_begin(boost::system::error_code&) { return true; }
    bool on_array_end(std::size_t n, boost::system::error_code&) {
        stack.push_array(n);
        return true;
    }
    bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
        stack.push_chars(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, boost::system::error_code&) {
        stack.push_key(s);
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) {
        stack.push_chars(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, boost::system::error_code&) {
        stack.push_string(s);
        return true;
    }
    bool on_number_part(json::string_view s, boost::system::error_code&) {
        number.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, json::string_view, boost::system::error_code&) {
        number.clear();
        stack.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, json::string_view, boost::system::error_code&) {
        number.clear();
        stack.push_uint64(u);
        return true;
    }
    bool on_double(double d, json::string_view s, boost::system::error_code&) {
        std::string_view text(s.data(), s.size());
        if (!number.empty()) {
            number.append(text);
            text = number;
        }
        double exact = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), exact);
        if (error == std::errc() && end == text.data() + text.size()) {
            d = exact;
        }
        number.clear();
        stack.push_double(d);
        return true;
    }
    bool on_bool(bool b, boost::system::error_code&) {
        stack.push_bool(b);
        return true;
    }
    bool on_null(boost::system::error_code&) {
        stack.push_null();
        return true;
    }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }
};

}  // namespace

json::value parse_json_exact(std::string_view text, boost::system::error_code& ec) {
    json::parse_options options;
    options.max_depth = 1024;
    json::basic_parser<exact_handler> parser(options);
    parser.handler().stack.reset();
    auto used = parser.write_some(false, text.data(), text.size(), ec);
    if (!ec && used != text.size()) {
        ec = json::error::extra_data;
    }
    if (ec) {
        return nullptr;
    }
    return parser.handler().stack.release();
}

}  // namespace signe::detail

#pragma once

// JSON values used across the public API. Boost.JSON is linked as a compiled library, so this
// header stays cheap to include.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

namespace signe {

namespace json = boost::json;

// The literal the wire protocol uses for a removed key.
inline constexpr std::string_view delete_token = "$delete";

}  // namespace signe

namespace signe {

// JSON text as JavaScript's JSON.stringify writes it: whole numbers without an exponent ("3",
// not "3E0"), other numbers in their shortest round-trip form. Used for every frame and body.
std::string to_text(const json::value& value);
void append_text(std::string& out, const json::value& value);

// JSON text read as JavaScript's JSON.parse reads it: every number correctly rounded (Boost.JSON
// 1.81's parser may be one unit in the last place off for about one double in eight that
// JSON.stringify writes) and nesting up to 1024 levels. Used for every frame and body.
json::value parse_json(std::string_view text, boost::system::error_code& ec);

}  // namespace signe

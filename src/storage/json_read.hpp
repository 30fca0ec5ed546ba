#pragma once

// Reads JSON text into a json::value with every number correctly rounded, as JavaScript's
// JSON.parse reads it. Boost.JSON 1.81's own json::parse may be one unit in the last place off
// for numbers with more than about 16 significant digits or a large exponent (about one in eight
// random doubles written by JSON.stringify, e.g. 49.300000000000004), which would change values
// the Node provider wrote. Nesting is limited to 1024 levels instead of Boost's default 32.

#include <signe/json.hpp>

#include <string_view>

namespace signe::detail {

json::value parse_json_exact(std::string_view text, boost::system::error_code& ec);

}  // namespace signe::detail

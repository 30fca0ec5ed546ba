#pragma once

// Minimal leveled logging to stderr. The level comes from SIGNE_LOG (error, warn, info, debug;
// default info) or from set_log_level. Thread-safe: each line is written with one call.

#include <exception>
#include <string>
#include <string_view>

namespace signe {

enum class log_level { error = 0, warn = 1, info = 2, debug = 3 };

void set_log_level(log_level level);
bool log_enabled(log_level level);
void log(log_level level, std::string_view message);

// What an exception says (its what()), or `unknown` when it is not a std::exception. For logging
// what a caught exception was: exception_message(std::current_exception()) in a catch block.
std::string exception_message(
    const std::exception_ptr& e, std::string_view unknown = "unknown exception"
);

}  // namespace signe

#pragma once

// Minimal leveled logging to stderr. The level comes from SIGNE_LOG (error, warn, info, debug;
// default info) or from set_log_level. Thread-safe: each line is written with one call.

#include <string_view>

namespace signe {

enum class log_level { error = 0, warn = 1, info = 2, debug = 3 };

void set_log_level(log_level level);
bool log_enabled(log_level level);
void log(log_level level, std::string_view message);

}  // namespace signe

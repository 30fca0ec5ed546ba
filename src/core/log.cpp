#include <signe/log.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

namespace signe {
namespace {

log_level level_from_env() {
    const char* env = std::getenv("SIGNE_LOG");
    if (env == nullptr) {
        return log_level::info;
    }
    std::string_view v(env);
    if (v == "error") {
        return log_level::error;
    }
    if (v == "warn") {
        return log_level::warn;
    }
    if (v == "debug") {
        return log_level::debug;
    }
    return log_level::info;
}

std::atomic<int>& current_level() {
    static std::atomic<int> level{static_cast<int>(level_from_env())};
    return level;
}

const char* level_name(log_level level) {
    switch (level) {
        case log_level::error:
            return "error";
        case log_level::warn:
            return "warn";
        case log_level::info:
            return "info";
        case log_level::debug:
            return "debug";
    }
    return "?";
}

}  // namespace

void set_log_level(log_level level) {
    current_level().store(static_cast<int>(level));
}

bool log_enabled(log_level level) {
    return static_cast<int>(level) <= current_level().load(std::memory_order_relaxed);
}

void log(log_level level, std::string_view message) {
    if (!log_enabled(level)) {
        return;
    }
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    std::string line;
    line.reserve(message.size() + 32);
    line.append(stamp)
        .append(" [")
        .append(level_name(level))
        .append("] ")
        .append(message)
        .push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string exception_message(const std::exception_ptr& e, std::string_view unknown) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return std::string(unknown);
    }
}

}  // namespace signe

#pragma once

// Placement calls off the I/O threads: one thread of its own runs every Redis call of a
// process's placement (claims, lookups, heartbeats), so sockets and rooms never wait on Redis.

#include <signe/placement.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace signe::detail {

class placement_service {
public:
    // Where a key lives, as claim() answered.
    struct answer {
        enum class where { here, elsewhere, unavailable } at = where::unavailable;
        std::string address;      // elsewhere: the holder's "host:port"
        std::string error;        // unavailable: why ("redis: connection refused (...)")
        bool taken_over = false;  // here: taken from a holder that died
    };

    // `on_lost(key)` runs on the service thread when a key this process holds was taken over
    // while it could not reach Redis.
    placement_service(placement_options options, std::function<void(std::string)> on_lost);
    ~placement_service();
    placement_service(const placement_service&) = delete;
    placement_service& operator=(const placement_service&) = delete;

    const placement_options& options() const { return placement_.options(); }

    // Claims `key` (the holder stays the holder); `done` runs on the service thread.
    void resolve(std::string key, std::function<void(answer)> done);
    // Runs `job` on the service thread with the placement (for lookups that claim nothing).
    // Redis errors thrown by `job` are logged.
    void run(std::function<void(placement&)> job);
    // Gives `key` up (the room or shard is gone from this process).
    void release(std::string key);
    // Leaves the group (its keys are free at once) and ends the thread. Idempotent.
    void stop();

private:
    void loop();
    void beat();

    placement placement_;
    std::function<void(std::string)> on_lost_;
    std::set<std::string> held_;  // service thread only
    bool redis_trouble_ = false;  // service thread only: log an outage once, and its end
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace signe::detail

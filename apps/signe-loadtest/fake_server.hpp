#pragma once

// The self-test's server: accepts the generator's clients on 127.0.0.1, answers their upgrade,
// sends each an initial sync with its pId, then (on start_flood) writes game move frames to
// every client as fast as the generator reads them, in 64 KB writes from its own thread. It
// measures the generator's capacity, free of any real server's limits.

#include <atomic>
#include <cstdint>
#include <thread>

namespace signe::loadtest {

class fake_server {
public:
    explicit fake_server(std::size_t clients);
    ~fake_server();
    fake_server(const fake_server&) = delete;
    fake_server& operator=(const fake_server&) = delete;

    std::uint16_t port() const { return port_; }
    void start_flood() { flooding_ = true; }
    void stop() { stopping_ = true; }

private:
    void serve();

    std::size_t clients_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> flooding_{false};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace signe::loadtest

#include "server/placement_service.hpp"

#include <signe/log.hpp>
#include <signe/redis.hpp>

namespace signe::detail {

placement_service::placement_service(
    placement_options options, std::function<void(std::string)> on_lost
)
    : placement_(std::move(options)), on_lost_(std::move(on_lost)) {
    thread_ = std::thread([this] { loop(); });
}

placement_service::~placement_service() {
    stop();
}

void placement_service::resolve(std::string key, std::function<void(answer)> done) {
    run([this, key = std::move(key), done = std::move(done)](placement& p) {
        answer a;
        try {
            auto holder = p.claim(key);
            if (holder.is(p.self_id())) {
                held_.insert(key);
                a.at = answer::where::here;
                a.taken_over = holder.taken_over;
            } else {
                a.at = answer::where::elsewhere;
                a.address = holder.address;
            }
        } catch (const std::exception& e) {
            a.error = e.what();
        }
        done(std::move(a));
    });
}

void placement_service::run(std::function<void(placement&)> job) {
    std::lock_guard lock(mutex_);
    if (stopping_) {
        return;
    }
    jobs_.push_back([this, job = std::move(job)] {
        try {
            job(placement_);
        } catch (const std::exception& e) {
            log(log_level::warn, std::string("placement: ") + e.what());
        }
    });
    wake_.notify_one();
}

void placement_service::release(std::string key) {
    run([this, key = std::move(key)](placement& p) {
        held_.erase(key);
        p.release(key);
    });
}

void placement_service::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
        wake_.notify_one();
    }
    thread_.join();
}

// Jobs in order; a heartbeat every third of a lease, and at the end a clean leave.
void placement_service::loop() {
    auto period = placement_.options().lease / 3;
    auto next_beat = std::chrono::steady_clock::now();
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait_until(lock, next_beat, [this] { return stopping_ || !jobs_.empty(); });
            if (!jobs_.empty()) {
                job = std::move(jobs_.front());
                jobs_.pop_front();
            } else if (stopping_) {
                break;
            }
        }
        if (job) {
            job();
        }
        if (std::chrono::steady_clock::now() >= next_beat) {
            beat();
            next_beat = std::chrono::steady_clock::now() + period;
        }
    }
    try {
        placement_.leave();
    } catch (const std::exception& e) {
        log(log_level::warn, std::string("placement: could not leave: ") + e.what());
    }
}

// Renews this process's lease and checks that nobody took its keys while it was cut off.
void placement_service::beat() {
    try {
        std::vector<std::string> lost;
        if (held_.empty()) {
            placement_.heartbeat();
        } else {
            lost = placement_.lost({held_.begin(), held_.end()});
        }
        if (redis_trouble_) {
            log(log_level::info, "placement: Redis reachable again");
            redis_trouble_ = false;
        }
        for (auto& key : lost) {
            held_.erase(key);
            log(log_level::error,
                "placement: " + key + " was taken over by another process while this one could " +
                    "not reach Redis; closing it here");
            on_lost_(key);
        }
    } catch (const std::exception& e) {
        if (!redis_trouble_) {
            log(log_level::warn,
                std::string("placement: heartbeat failed (rooms keep running, new rooms cannot "
                            "be placed): "
                ) + e.what());
            redis_trouble_ = true;
        }
    }
}

}  // namespace signe::detail

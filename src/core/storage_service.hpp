#pragma once

// Runs storage backend calls off the room threads. Rooms queue work and receive the results on
// their own executor (through the `poster` they pass). Consecutive writes of any rooms are handed
// to the backend together (write_many), so one transaction carries many rooms' batches.
//
// In inline mode (the test harness) every call runs at once on the caller's thread.

#include <signe/storage.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace signe::detail {

class storage_service {
public:
    using poster = std::function<void(std::function<void()>)>;

    storage_service(std::shared_ptr<storage_backend> backend, bool run_inline);
    storage_service(const storage_service&) = delete;
    storage_service& operator=(const storage_service&) = delete;
    ~storage_service();

    // Every entry of one room (what a room reads when it starts).
    void load(storage_key room, poster post, std::function<void(bool ok, storage_entries)> done);
    void get(
        storage_key room,
        std::string key,
        poster post,
        std::function<void(std::optional<json::value>)> done
    );
    void list(
        storage_key room, std::string prefix, poster post, std::function<void(storage_entries)> done
    );
    // `done(ok)` runs on the room's executor once the batch is on disk (or failed).
    void write(storage_key room, write_batch batch, poster post, std::function<void(bool ok)> done);

    // Blocks until everything queued so far has run (shutdown: every pending write is written).
    void drain();

    std::shared_ptr<storage_backend> backend() const { return backend_; }

private:
    struct task {
        bool is_write = false;
        storage_key room;
        write_batch batch;
        poster post;
        std::function<void(bool)> written;
        std::function<void()> run;  // reads
    };

    void submit(task t);
    void worker();
    void run_writes(std::vector<task>& writes);

    std::shared_ptr<storage_backend> backend_;
    bool inline_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::deque<task> queue_;
    bool busy_ = false;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace signe::detail

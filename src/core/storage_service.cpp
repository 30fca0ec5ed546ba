#include "core/storage_service.hpp"

#include <signe/log.hpp>

#include <exception>

namespace signe::detail {

storage_service::storage_service(std::shared_ptr<storage_backend> backend, bool run_inline)
    : backend_(std::move(backend)), inline_(run_inline) {
    if (!inline_) {
        thread_ = std::thread([this] { worker(); });
    }
}

storage_service::~storage_service() {
    if (inline_) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void storage_service::load(
    storage_key room, poster post, std::function<void(bool, storage_entries)> done
) {
    task t;
    t.run = [this, room, post, done = std::move(done)] {
        storage_entries entries;
        bool ok = true;
        try {
            entries = backend_->list(room, "");
        } catch (...) {
            ok = false;
            log(log_level::error,
                "storage: loading " + room.ns + "/" + room.room +
                    " failed: " + exception_message(std::current_exception(), "unknown error"));
        }
        post([done, ok, entries = std::move(entries)]() mutable { done(ok, std::move(entries)); });
    };
    submit(std::move(t));
}

void storage_service::get(
    storage_key room,
    std::string key,
    poster post,
    std::function<void(std::optional<json::value>)> done
) {
    task t;
    t.run = [this, room, key, post, done = std::move(done)] {
        std::optional<json::value> value;
        try {
            value = backend_->get(room, key);
        } catch (...) {
            log(log_level::error,
                "storage: get " + key +
                    " failed: " + exception_message(std::current_exception(), "unknown error"));
        }
        post([done, value = std::move(value)]() mutable { done(std::move(value)); });
    };
    submit(std::move(t));
}

void storage_service::list(
    storage_key room, std::string prefix, poster post, std::function<void(storage_entries)> done
) {
    task t;
    t.run = [this, room, prefix, post, done = std::move(done)] {
        storage_entries entries;
        try {
            entries = backend_->list(room, prefix);
        } catch (...) {
            log(log_level::error,
                "storage: list " + prefix +
                    " failed: " + exception_message(std::current_exception(), "unknown error"));
        }
        post([done, entries = std::move(entries)]() mutable { done(std::move(entries)); });
    };
    submit(std::move(t));
}

void storage_service::write(
    storage_key room, write_batch batch, poster post, std::function<void(bool)> done
) {
    task t;
    t.is_write = true;
    t.room = std::move(room);
    t.batch = std::move(batch);
    t.post = std::move(post);
    t.written = std::move(done);
    submit(std::move(t));
}

void storage_service::submit(task t) {
    if (inline_) {
        if (t.is_write) {
            std::vector<task> one;
            one.push_back(std::move(t));
            run_writes(one);
        } else {
            t.run();
        }
        return;
    }
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(t));
    }
    wake_.notify_one();
}

void storage_service::drain() {
    if (inline_) {
        return;
    }
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void storage_service::worker() {
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) {
            return;
        }
        // Take either one read, or every write queued before the next read.
        std::vector<task> writes;
        std::optional<task> read;
        if (!queue_.front().is_write) {
            read = std::move(queue_.front());
            queue_.pop_front();
        } else {
            while (!queue_.empty() && queue_.front().is_write) {
                writes.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        busy_ = true;
        lock.unlock();
        if (read) {
            read->run();
        } else {
            run_writes(writes);
        }
        lock.lock();
        busy_ = false;
        if (queue_.empty()) {
            idle_.notify_all();
        }
    }
}

void storage_service::run_writes(std::vector<task>& writes) {
    std::vector<std::pair<storage_key, write_batch>> batches;
    batches.reserve(writes.size());
    for (auto& w : writes) {
        batches.emplace_back(w.room, std::move(w.batch));
    }
    bool ok = true;
    try {
        backend_->write_many(batches);
    } catch (...) {
        ok = false;
        log(log_level::error,
            "storage: writing " + std::to_string(batches.size()) + " batch(es) failed: " +
                exception_message(std::current_exception(), "unknown error"));
    }
    for (auto& w : writes) {
        if (w.written) {
            w.post([done = std::move(w.written), ok] { done(ok); });
        }
    }
}

}  // namespace signe::detail

// State writes per second to SQLite: what batching buys. Each "change" is one state key written
// (an upsert of "state:users.<id>.x" or ".y" with a number, as a moving player produces), so
// items_per_second is changes per second.
//
//   one_write_per_change        one write() (one transaction) per change
//   ..._synchronous_full        the same with synchronous FULL (an fsync per commit)
//   batched/N                   N changes of one room per write() (one transaction)
//   batched_10_rooms/N          N changes spread over 10 rooms, one write_many() (one transaction)
//   memory/N                    the same batches into memory_storage, for scale
//
// The database lives in a fresh directory under $TMPDIR (/tmp by default), on disk, with the
// defaults: WAL, synchronous NORMAL, busy_timeout 5000 ms.

#include <benchmark/benchmark.h>

#include <signe/storage.hpp>
#include <signe/storage_sqlite.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace signe;

class scratch {
public:
    scratch() {
        auto pattern = (std::filesystem::temp_directory_path() / "signe-bench-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) {
            std::abort();
        }
        path_ = pattern;
    }
    ~scratch() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    scratch(const scratch&) = delete;
    scratch& operator=(const scratch&) = delete;
    std::string db() const { return (path_ / "bench.sqlite").string(); }

private:
    std::filesystem::path path_;
};

constexpr int players = 100;

// The i-th change of a run: player i % 100 moves along x or y.
std::pair<std::string, json::value> change(std::int64_t i) {
    std::string key =
        "state:users.player" + std::to_string(i % players) + (i % 2 == 0 ? ".x" : ".y");
    return {std::move(key), json::value(static_cast<double>(i % 1000) + 0.5)};
}

void one_write_per_change(benchmark::State& state) {
    scratch dir;
    sqlite_storage storage({.path = dir.db()});
    storage_key room{"main", "arena"};
    std::int64_t i = 0;
    for (auto _ : state) {
        write_batch batch;
        batch.puts.push_back(change(i++));
        storage.write(room, batch);
    }
    state.SetItemsProcessed(i);
}
BENCHMARK(one_write_per_change)->UseRealTime();

// The same with synchronous FULL: an fsync of the WAL at every commit.
void one_write_per_change_synchronous_full(benchmark::State& state) {
    scratch dir;
    sqlite_storage storage({.path = dir.db(), .synchronous = "FULL"});
    storage_key room{"main", "arena"};
    std::int64_t i = 0;
    for (auto _ : state) {
        write_batch batch;
        batch.puts.push_back(change(i++));
        storage.write(room, batch);
    }
    state.SetItemsProcessed(i);
}
BENCHMARK(one_write_per_change_synchronous_full)->UseRealTime();

void batched(benchmark::State& state) {
    scratch dir;
    sqlite_storage storage({.path = dir.db()});
    storage_key room{"main", "arena"};
    const auto n = state.range(0);
    std::int64_t i = 0;
    for (auto _ : state) {
        write_batch batch;
        for (std::int64_t k = 0; k < n; ++k) {
            batch.puts.push_back(change(i++));
        }
        storage.write(room, batch);
    }
    state.SetItemsProcessed(i);
}
BENCHMARK(batched)->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->UseRealTime();

void batched_10_rooms(benchmark::State& state) {
    scratch dir;
    sqlite_storage storage({.path = dir.db()});
    const auto n = state.range(0);
    std::int64_t i = 0;
    for (auto _ : state) {
        std::vector<std::pair<storage_key, write_batch>> batches;
        for (int r = 0; r < 10; ++r) {
            batches.emplace_back(storage_key{"main", "arena-" + std::to_string(r)}, write_batch{});
        }
        for (std::int64_t k = 0; k < n; ++k) {
            batches[static_cast<std::size_t>(k % 10)].second.puts.push_back(change(i++));
        }
        storage.write_many(batches);
    }
    state.SetItemsProcessed(i);
}
BENCHMARK(batched_10_rooms)->Arg(10)->Arg(100)->Arg(1000)->UseRealTime();

void memory(benchmark::State& state) {
    memory_storage storage;
    storage_key room{"main", "arena"};
    const auto n = state.range(0);
    std::int64_t i = 0;
    for (auto _ : state) {
        write_batch batch;
        for (std::int64_t k = 0; k < n; ++k) {
            batch.puts.push_back(change(i++));
        }
        storage.write(room, batch);
    }
    state.SetItemsProcessed(i);
}
BENCHMARK(memory)->Arg(1)->Arg(100)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

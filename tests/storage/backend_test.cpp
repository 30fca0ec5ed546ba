// Behaviour every storage_backend shares, run against memory_storage and sqlite_storage.

#include "storage/backend_contract.hpp"
#include <gtest/gtest.h>

#include <signe/storage.hpp>
#include <signe/storage_sqlite.hpp>

namespace signe::storage_test {
namespace {

struct memory_backend {
    std::unique_ptr<storage_backend> make() { return std::make_unique<memory_storage>(); }
};

struct sqlite_backend {
    temp_dir dir;
    std::unique_ptr<storage_backend> make() {
        return std::make_unique<sqlite_storage>(sqlite_options{.path = dir.file("db.sqlite")});
    }
};

using backends = ::testing::Types<memory_backend, sqlite_backend>;
class backend_names {
public:
    template <class T>
    static std::string GetName(int) {
        return std::is_same_v<T, memory_backend> ? "memory" : "sqlite";
    }
};
}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Local, BackendContract, backends, backend_names);

}  // namespace signe::storage_test

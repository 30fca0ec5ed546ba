#include <signe/storage.hpp>
#include <signe/storage_redis.hpp>
#include <signe/storage_sqlite.hpp>

#include <stdexcept>

namespace signe {

std::shared_ptr<storage_backend> make_storage(std::string_view spec) {
    constexpr std::string_view sqlite_scheme = "sqlite:";
    if (spec == "memory") {
        return std::make_shared<memory_storage>();
    }
    if (spec.starts_with(sqlite_scheme)) {
        auto path = spec.substr(sqlite_scheme.size());
        if (path.empty()) {
            throw std::invalid_argument(
                "Storage \"sqlite:\" needs a database path, for example sqlite:./signe.sqlite"
            );
        }
        return std::make_shared<sqlite_storage>(sqlite_options{.path = std::string(path)});
    }
    if (spec.starts_with("redis://") || spec.starts_with("rediss://")) {
        return std::make_shared<redis_storage>(redis_storage_options_from_url(spec));
    }
    throw std::invalid_argument(
        "Unknown storage \"" + std::string(spec) +
        "\": expected \"memory\" or \"sqlite:<path>\" (for example sqlite:./signe.sqlite), or "
        "\"redis://host:port[/db]\" (for example redis://127.0.0.1:6379)"
    );
}

}  // namespace signe

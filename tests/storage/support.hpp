#pragma once

// Helpers for the storage tests: a scratch directory, a raw SQLite connection (a second client
// of the same file, as another process would be) and short ways to build batches.

#include <sqlite3.h>

#include <signe/storage.hpp>

#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace signe::storage_test {

class temp_dir {
public:
    temp_dir() {
        auto pattern = (std::filesystem::temp_directory_path() / "signe-storage-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    std::string file(std::string_view name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// A plain connection of its own to a database file.
class raw_db {
public:
    explicit raw_db(const std::string& path) {
        if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
            std::string message = sqlite3_errmsg(db_);
            sqlite3_close(db_);
            throw std::runtime_error(message);
        }
    }
    ~raw_db() { sqlite3_close(db_); }
    raw_db(const raw_db&) = delete;
    raw_db& operator=(const raw_db&) = delete;

    void exec(const std::string& sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            std::string text = message != nullptr ? message : "error";
            sqlite3_free(message);
            throw std::runtime_error(text);
        }
    }

    // The first column of every row, as text ("NULL" for null).
    std::vector<std::string> column(const std::string& sql) {
        std::vector<std::string> out;
        sqlite3_stmt* statement = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
            throw std::runtime_error(sqlite3_errmsg(db_));
        }
        int code = 0;
        while ((code = sqlite3_step(statement)) == SQLITE_ROW) {
            const auto* text = sqlite3_column_text(statement, 0);
            out.emplace_back(
                text == nullptr ? "NULL" : reinterpret_cast<const char*>(text),
                static_cast<std::size_t>(sqlite3_column_bytes(statement, 0))
            );
        }
        sqlite3_finalize(statement);
        if (code != SQLITE_DONE) {
            throw std::runtime_error(sqlite3_errmsg(db_));
        }
        return out;
    }

    std::string scalar(const std::string& sql) {
        auto rows = column(sql);
        return rows.empty() ? std::string() : rows.front();
    }

private:
    sqlite3* db_ = nullptr;
};

inline write_batch puts(std::initializer_list<std::pair<std::string, json::value>> entries) {
    write_batch batch;
    for (const auto& entry : entries) {
        batch.puts.push_back(entry);
    }
    return batch;
}

inline std::vector<std::string> keys_of(const storage_entries& entries) {
    std::vector<std::string> keys;
    for (const auto& entry : entries) {
        keys.push_back(entry.first);
    }
    return keys;
}

}  // namespace signe::storage_test

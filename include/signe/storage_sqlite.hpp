#pragma once

// SQLite storage: the embedded default for one process on one machine.
//
// The file layout is the original's (@signe/room/node `createSqliteNodeRoomStorage`), so a
// database written by the Node provider opens here and the other way round:
//
//     CREATE TABLE IF NOT EXISTS signe_room_storage (
//         namespace TEXT NOT NULL, room_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
//         PRIMARY KEY (namespace, room_id, key))
//
// `value` holds the JSON text of the value (as JavaScript's JSON.stringify writes it).
//
// Every write() and write_many() is one transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on
// any error), so a crash leaves either all of a batch or none of it. A busy database is waited
// for (`busy_timeout`), then the whole operation is retried `busy_retries` times with a sleep of
// min(250, 25 * 2^attempt) ms in between: this blocks the calling thread, which is why the server
// calls storage only from its storage thread, never from a room thread.
//
// Threading: one connection, used by one thread at a time. Calls are serialised by an internal
// mutex, so calling from several threads is safe but gains nothing; the server's storage thread
// is the only caller. Other processes (or other sqlite_storage objects) may open the same file
// at the same time: SQLite's file locking and the busy handling above deal with them.
//
// Errors from SQLite throw std::runtime_error carrying SQLite's message; invalid options throw
// std::invalid_argument.

#include <signe/storage.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace signe {

struct sqlite_options {
    // The database file, created when missing. ":memory:" gives a private in-memory database.
    std::string path;
    // Must match ^[A-Za-z_][A-Za-z0-9_]*$ ("Invalid SQLite table name: <name>" otherwise).
    std::string table = "signe_room_storage";
    // How long SQLite itself waits for another connection's lock (PRAGMA busy_timeout).
    // Negative values fall back to the default, as in the original.
    std::chrono::milliseconds busy_timeout{5000};
    // How many more times an operation that still found the database busy is tried.
    int busy_retries = 3;
    // PRAGMA journal_mode: DELETE, TRUNCATE, PERSIST, MEMORY, WAL or OFF (any case).
    std::string journal_mode = "WAL";
    // PRAGMA synchronous: OFF, NORMAL, FULL or EXTRA (any case). With WAL, NORMAL never
    // corrupts the database on a crash; a power loss may drop the last transactions.
    std::string synchronous = "NORMAL";
};

class sqlite_storage final : public storage_backend {
public:
    // Opens (or creates) the database and the table. Throws std::invalid_argument for bad
    // options and std::runtime_error when SQLite fails.
    explicit sqlite_storage(sqlite_options options);
    ~sqlite_storage() override;

    sqlite_storage(const sqlite_storage&) = delete;
    sqlite_storage& operator=(const sqlite_storage&) = delete;

    std::optional<json::value> get(const storage_key& room, std::string_view key) override;
    storage_entries list(const storage_key& room, std::string_view prefix) override;
    void write(const storage_key& room, const write_batch& batch) override;
    // All batches in one transaction.
    void write_many(const std::vector<std::pair<storage_key, write_batch>>& batches) override;

    // The options in force (table name as given, journal mode and synchronous in upper case).
    const sqlite_options& options() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace signe

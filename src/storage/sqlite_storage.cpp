#include "json_read.hpp"
#include <sqlite3.h>

#include <signe/storage_sqlite.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace signe {
namespace {

constexpr std::chrono::milliseconds default_busy_timeout{5000};

bool valid_table_name(std::string_view name) {
    if (name.empty()) {
        return false;
    }
    auto head = static_cast<unsigned char>(name.front());
    if (std::isalpha(head) == 0 && head != '_') {
        return false;
    }
    return std::all_of(name.begin() + 1, name.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return (std::isalnum(u) != 0 && u < 0x80) || c == '_';
    });
}

std::string upper(std::string_view text) {
    std::string out(text);
    for (auto& c : out) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

template <std::size_t N>
bool one_of(const std::string& value, const std::array<std::string_view, N>& allowed) {
    return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

// Decodes the last code point of `text`. Returns its first byte's offset and its value, or
// nothing when the tail is not well-formed UTF-8 (overlong forms and surrogates included).
std::optional<std::pair<std::size_t, char32_t>> last_code_point(std::string_view text) {
    std::size_t start = text.size();
    std::size_t continuation = 0;
    while (start > 0 && continuation <= 3) {
        auto u = static_cast<unsigned char>(text[start - 1]);
        --start;
        if ((u & 0xC0) != 0x80) {
            break;
        }
        ++continuation;
    }
    if (start == text.size()) {
        return std::nullopt;
    }
    auto lead = static_cast<unsigned char>(text[start]);
    std::size_t length = 0;
    char32_t cp = 0;
    if (lead < 0x80) {
        length = 1;
        cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
        length = 2;
        cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3;
        cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4;
        cp = lead & 0x07;
    } else {
        return std::nullopt;
    }
    if (start + length != text.size()) {
        return std::nullopt;
    }
    for (std::size_t i = 1; i < length; ++i) {
        cp = (cp << 6) | (static_cast<unsigned char>(text[start + i]) & 0x3F);
    }
    static constexpr std::array<char32_t, 5> min_for_length{0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return std::nullopt;
    }
    return std::pair{start, cp};
}

// The smallest UTF-8 string greater, in binary order, than every string that starts with
// `prefix`: the prefix with its last code point replaced by the next one (U+10FFFF dropped and
// the one before it increased). Nothing when there is no such string or the prefix's tail is not
// UTF-8; callers then scan without an upper bound. Unlike the original's prefix + "\uffff", this
// also covers keys that continue with a code point above U+FFFF.
std::optional<std::string> prefix_end(std::string_view prefix) {
    while (!prefix.empty()) {
        auto last = last_code_point(prefix);
        if (!last) {
            return std::nullopt;
        }
        auto [start, cp] = *last;
        prefix = prefix.substr(0, start);
        if (cp == 0x10FFFF) {
            continue;
        }
        std::string end(prefix);
        append_utf8(end, cp + 1 == 0xD800 ? char32_t{0xE000} : cp + 1);
        return end;
    }
    return std::nullopt;
}

// An error reported by SQLite, with its result code (to tell busy from fatal).
class sqlite_error : public std::runtime_error {
public:
    sqlite_error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}

    bool busy() const {
        int primary = code_ & 0xFF;
        return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
    }

private:
    int code_;
};

enum statement_id : std::size_t {
    st_begin,
    st_commit,
    st_rollback,
    st_get,
    st_list_all,
    st_list_range,
    st_list_from,
    st_delete_key,
    st_delete_all,
    st_delete_range,
    st_delete_from,
    st_upsert,
    statement_count,
};

// Keys of one room that start with a prefix: ?3 the prefix, ?4 its byte length, ?5 its bytes as
// a blob (the exact test, for keys that are not well-formed UTF-8), ?6 the upper bound.
constexpr std::string_view prefix_match = "key >= ?3 AND substr(CAST(key AS BLOB), 1, ?4) = ?5";

}  // namespace

struct sqlite_storage::impl {
    sqlite_options options;
    std::mutex mutex;
    sqlite3* db = nullptr;
    std::array<sqlite3_stmt*, statement_count> statements{};

    explicit impl(sqlite_options opts) : options(std::move(opts)) {}

    ~impl() {
        for (auto* statement : statements) {
            sqlite3_finalize(statement);
        }
        sqlite3_close_v2(db);
    }

    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    [[noreturn]] void fail(int code, std::string_view what) const {
        std::string message = "sqlite_storage: ";
        message.append(what);
        message.append(": ");
        message.append(db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code));
        throw sqlite_error(code, message);
    }

    void check(int code, std::string_view what) const {
        if (code != SQLITE_OK) {
            fail(code, what);
        }
    }

    // Runs `operation`, trying again while SQLite reports the database busy or locked, at most
    // `busy_retries` more times, sleeping min(250, 25 * 2^attempt) ms in between.
    template <class Operation>
    auto with_retries(Operation&& operation) {
        for (int attempt = 0;; ++attempt) {
            try {
                return operation();
            } catch (const sqlite_error& error) {
                if (!error.busy() || attempt >= options.busy_retries) {
                    throw;
                }
            }
            auto backoff = std::min(250, 25 << std::min(attempt, 4));
            std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
        }
    }

    void exec(const std::string& sql, std::string_view what) {
        char* message = nullptr;
        int code = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
        if (code != SQLITE_OK) {
            std::string text = message != nullptr ? message : sqlite3_errstr(code);
            sqlite3_free(message);
            throw sqlite_error(code, "sqlite_storage: " + std::string(what) + ": " + text);
        }
    }

    void open() {
        int code = sqlite3_open_v2(
            options.path.c_str(),
            &db,
            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
            nullptr
        );
        if (code != SQLITE_OK) {
            fail(code, "open " + options.path);
        }
        sqlite3_extended_result_codes(db, 1);
        check(
            sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count())), "busy_timeout"
        );
        with_retries([&] {
            exec("PRAGMA journal_mode = " + options.journal_mode, "journal_mode");
            exec("PRAGMA synchronous = " + options.synchronous, "synchronous");
            exec(
                "CREATE TABLE IF NOT EXISTS " + options.table +
                    " (namespace TEXT NOT NULL, room_id TEXT NOT NULL, key TEXT NOT NULL, "
                    "value TEXT NOT NULL, PRIMARY KEY (namespace, room_id, key))",
                "create table"
            );
        });
        const std::string& t = options.table;
        const std::string room = " WHERE namespace = ?1 AND room_id = ?2";
        const std::string match = " AND " + std::string(prefix_match);
        const std::string select = "SELECT key, value FROM " + t + room;
        const std::string del = "DELETE FROM " + t + room;
        std::array<std::string, statement_count> sql;
        sql[st_begin] = "BEGIN IMMEDIATE";
        sql[st_commit] = "COMMIT";
        sql[st_rollback] = "ROLLBACK";
        sql[st_get] = "SELECT value FROM " + t + room + " AND key = ?3";
        sql[st_list_all] = select + " ORDER BY key";
        sql[st_list_range] = select + match + " AND key < ?6 ORDER BY key";
        sql[st_list_from] = select + match + " ORDER BY key";
        sql[st_delete_key] = del + " AND key = ?3";
        sql[st_delete_all] = del;
        sql[st_delete_range] = del + match + " AND key < ?6";
        sql[st_delete_from] = del + match;
        sql[st_upsert] = "INSERT INTO " + t +
                         " (namespace, room_id, key, value) VALUES (?1, ?2, ?3, ?4) "
                         "ON CONFLICT(namespace, room_id, key) DO UPDATE SET value = "
                         "excluded.value";
        for (std::size_t i = 0; i < statement_count; ++i) {
            check(
                sqlite3_prepare_v3(
                    db,
                    sql[i].c_str(),
                    static_cast<int>(sql[i].size()),
                    SQLITE_PREPARE_PERSISTENT,
                    &statements[i],
                    nullptr
                ),
                "prepare"
            );
        }
    }

    // One use of a cached statement: bindings in, rows out, reset afterwards.
    class use {
    public:
        use(impl& owner, statement_id id) : owner_(owner), statement_(owner.statements[id]) {}
        ~use() {
            sqlite3_reset(statement_);
            sqlite3_clear_bindings(statement_);
        }
        use(const use&) = delete;
        use& operator=(const use&) = delete;

        use& text(int index, std::string_view value) {
            bind(sqlite3_bind_text64(
                statement_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8
            ));
            return *this;
        }
        use& blob(int index, std::string_view value) {
            bind(sqlite3_bind_blob64(statement_, index, value.data(), value.size(), SQLITE_STATIC));
            return *this;
        }
        use& integer(int index, std::int64_t value) {
            bind(sqlite3_bind_int64(statement_, index, value));
            return *this;
        }
        use& room(const storage_key& key) { return text(1, key.ns).text(2, key.room); }
        // Binds ?3..?6 for a prefix match; the caller chose the statement with or without ?6.
        use& prefix(std::string_view prefix, const std::optional<std::string>& end) {
            text(3, prefix).integer(4, static_cast<std::int64_t>(prefix.size())).blob(5, prefix);
            if (end) {
                text(6, *end);
            }
            return *this;
        }

        // Steps once: true with a row, false when done.
        bool step(std::string_view what) {
            int code = sqlite3_step(statement_);
            if (code == SQLITE_ROW) {
                return true;
            }
            if (code != SQLITE_DONE) {
                owner_.fail(code, what);
            }
            return false;
        }
        void run(std::string_view what) {
            while (step(what)) {
            }
        }

        std::string_view column(int index) const {
            const auto* data = sqlite3_column_text(statement_, index);
            auto size = static_cast<std::size_t>(sqlite3_column_bytes(statement_, index));
            return data == nullptr ? std::string_view{}
                                   : std::string_view(reinterpret_cast<const char*>(data), size);
        }

    private:
        void bind(int code) {
            if (code != SQLITE_OK) {
                owner_.fail(code, "bind");
            }
        }

        impl& owner_;
        sqlite3_stmt* statement_;
    };

    static json::value parse_value(std::string_view key, std::string_view text) {
        boost::system::error_code ec;
        auto value = detail::parse_json_exact(text, ec);
        if (ec) {
            throw std::runtime_error(
                "sqlite_storage: the value of key \"" + std::string(key) +
                "\" is not JSON: " + ec.message()
            );
        }
        return value;
    }

    void apply(const storage_key& room, const write_batch& batch) {
        for (const auto& prefix : batch.delete_prefixes) {
            if (prefix.empty()) {
                use(*this, st_delete_all).room(room).run("write");
                continue;
            }
            auto end = prefix_end(prefix);
            use(*this, end ? st_delete_range : st_delete_from)
                .room(room)
                .prefix(prefix, end)
                .run("write");
        }
        for (const auto& key : batch.deletes) {
            use(*this, st_delete_key).room(room).text(3, key).run("write");
        }
        std::string text;
        for (const auto& [key, value] : batch.puts) {
            text.clear();
            append_text(text, value);
            use(*this, st_upsert).room(room).text(3, key).text(4, text).run("write");
        }
    }

    // Runs `body` in one BEGIN IMMEDIATE ... COMMIT transaction, rolled back when anything
    // fails; the whole transaction is retried while the database is busy.
    template <class Body>
    void transaction(Body&& body) {
        with_retries([&] {
            use(*this, st_begin).run("begin");
            try {
                body();
                use(*this, st_commit).run("commit");
            } catch (...) {
                if (sqlite3_get_autocommit(db) == 0) {
                    // Every statement of the body was reset while unwinding, so this succeeds.
                    sqlite3_step(statements[st_rollback]);
                    sqlite3_reset(statements[st_rollback]);
                }
                throw;
            }
        });
    }
};

sqlite_storage::sqlite_storage(sqlite_options options) {
    if (!valid_table_name(options.table)) {
        throw std::invalid_argument("Invalid SQLite table name: " + options.table);
    }
    static constexpr std::array<std::string_view, 6> journal_modes{
        "DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"};
    auto journal_mode = upper(options.journal_mode);
    if (!one_of(journal_mode, journal_modes)) {
        throw std::invalid_argument("Invalid SQLite journal mode: " + options.journal_mode);
    }
    static constexpr std::array<std::string_view, 4> synchronous_modes{
        "OFF", "NORMAL", "FULL", "EXTRA"};
    auto synchronous = upper(options.synchronous);
    if (!one_of(synchronous, synchronous_modes)) {
        throw std::invalid_argument("Invalid SQLite synchronous mode: " + options.synchronous);
    }
    if (options.path.empty()) {
        throw std::invalid_argument("sqlite_storage needs a database path");
    }
    options.journal_mode = std::move(journal_mode);
    options.synchronous = std::move(synchronous);
    if (options.busy_timeout.count() < 0 ||
        options.busy_timeout.count() > std::numeric_limits<int>::max()) {
        options.busy_timeout = default_busy_timeout;
    }
    options.busy_retries = std::max(options.busy_retries, 0);
    impl_ = std::make_unique<impl>(std::move(options));
    impl_->open();
}

sqlite_storage::~sqlite_storage() = default;

const sqlite_options& sqlite_storage::options() const {
    return impl_->options;
}

std::optional<json::value> sqlite_storage::get(const storage_key& room, std::string_view key) {
    std::lock_guard lock(impl_->mutex);
    return impl_->with_retries([&]() -> std::optional<json::value> {
        impl::use query(*impl_, st_get);
        query.room(room).text(3, key);
        if (!query.step("get")) {
            return std::nullopt;
        }
        return impl::parse_value(key, query.column(0));
    });
}

storage_entries sqlite_storage::list(const storage_key& room, std::string_view prefix) {
    std::lock_guard lock(impl_->mutex);
    return impl_->with_retries([&] {
        storage_entries out;
        auto end = prefix.empty() ? std::nullopt : prefix_end(prefix);
        auto id = prefix.empty() ? st_list_all : end ? st_list_range : st_list_from;
        impl::use query(*impl_, id);
        query.room(room);
        if (!prefix.empty()) {
            query.prefix(prefix, end);
        }
        while (query.step("list")) {
            auto key = query.column(0);
            out.emplace_back(std::string(key), impl::parse_value(key, query.column(1)));
        }
        return out;
    });
}

void sqlite_storage::write(const storage_key& room, const write_batch& batch) {
    if (batch.empty()) {
        return;
    }
    std::lock_guard lock(impl_->mutex);
    impl_->transaction([&] { impl_->apply(room, batch); });
}

void sqlite_storage::write_many(const std::vector<std::pair<storage_key, write_batch>>& batches) {
    bool any = std::any_of(batches.begin(), batches.end(), [](const auto& entry) {
        return !entry.second.empty();
    });
    if (!any) {
        return;
    }
    std::lock_guard lock(impl_->mutex);
    impl_->transaction([&] {
        for (const auto& [room, batch] : batches) {
            impl_->apply(room, batch);
        }
    });
}

}  // namespace signe

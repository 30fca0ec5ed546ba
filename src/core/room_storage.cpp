// A room's persistence: loading its storage at start, writing its changes behind in atomic
// batches, compaction, durable sessions, garbage collection and session transfers.
//
// Key layout (the original's): "state:." is a full snapshot and "state:<path>" the changes
// since; "session:<privateId>", "session-public:<publicId>", "transfer:<token>", "$room:...".

#include "core/room_core.hpp"

#include <signe/log.hpp>

#include <algorithm>
#include <set>

namespace signe::detail {
namespace {

constexpr std::string_view state_prefix = "state:";
constexpr std::string_view state_root = "state:.";
constexpr std::string_view session_prefix = "session:";
constexpr std::string_view index_prefix = "session-public:";
constexpr std::string_view transfer_prefix = "transfer:";
constexpr std::string_view internal_prefix = "$room:";
constexpr std::size_t transfer_token_length = 24;

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

bool contains_delete(const json::value& v) {
    if (v.is_string()) {
        return v.get_string() == delete_token;
    }
    if (v.is_object()) {
        return std::any_of(v.get_object().begin(), v.get_object().end(), [](const auto& kv) {
            return contains_delete(kv.value());
        });
    }
    if (v.is_array()) {
        return std::any_of(v.get_array().begin(), v.get_array().end(), [](const auto& item) {
            return contains_delete(item);
        });
    }
    return false;
}

std::int64_t int_field(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_number() ? v->to_number<std::int64_t>() : 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Start

void room_core::start() {
    object_ = def_.create(info_);
    instance_ = object_->instance();
    if (links_.storage == nullptr) {
        finish_start(true, {});
        return;
    }
    links_.storage->load(storage_key_, counted_post(), [this](bool ok, storage_entries entries) {
        finish_start(ok, std::move(entries));
    });
}

void room_core::finish_start(bool loaded, storage_entries entries) {
    if (!loaded) {
        // Serving an empty room would later overwrite what is on disk: refuse traffic instead.
        load_failed_ = true;
        log(log_level::error,
            "room " + info_.party + "/" + info_.id +
                ": storage could not be read; the room refuses traffic");
    } else {
        try {
            restore_from(std::move(entries));
        } catch (...) {
            load_failed_ = true;
            log(log_level::error,
                "room " + info_.party + "/" + info_.id + ": stored state could not be applied");
        }
    }
    object_->bind(*this);  // bound after loading: restored values are not changes
    if (def_.attach_runtime) {
        def_.attach_runtime(instance_, this);
    }
    if (!load_failed_ && def_.on_start) {
        run_turn([this] { def_.on_start(instance_); });
    }
    ready_ = true;
    end_turn();
    auto waiting = std::move(waiting_for_load_);
    waiting_for_load_.clear();
    for (auto& fn : waiting) {
        fn();
    }
}

void room_core::when_ready(std::function<void()> fn) {
    waiting_for_load_.push_back(std::move(fn));
}

// Builds the stored snapshot ("state:." overlaid with "state:<path>" in key order, so parents
// come before their children), migrates the legacy layout, runs the restore hooks, and applies
// it to the unbound room.
void room_core::restore_from(storage_entries entries) {
    json::value snapshot = json::object{};
    bool has_state = false;
    bool legacy = false;
    std::vector<std::string> legacy_keys;
    for (auto& [key, value] : entries) {
        if (key == state_root) {
            if (value.is_object()) {
                snapshot = value;
            }
            has_state = true;
        }
    }
    for (auto& [key, value] : entries) {
        if (starts_with(key, state_prefix) && key != state_root) {
            write_path(
                snapshot.as_object(), std::string_view(key).substr(state_prefix.size()), value
            );
            has_state = true;
            ++state_keys_since_compaction_;
        }
    }
    if (!has_state) {
        // The legacy layout kept state paths as bare keys. Only keys naming a field of the room
        // are state; anything else belongs to the room's own code and stays.
        json::value fields = object_->stored_state();
        for (auto& [key, value] : entries) {
            std::string_view k = key;
            bool internal = starts_with(k, session_prefix) || starts_with(k, index_prefix) ||
                            starts_with(k, transfer_prefix) || starts_with(k, internal_prefix);
            std::string_view top = k.substr(0, k.find('.'));
            if (!internal && (k == "." || fields.as_object().contains(top))) {
                if (k == ".") {
                    if (value.is_object()) {
                        for (auto& [fk, fv] : value.as_object()) {
                            snapshot.as_object()[fk] = fv;
                        }
                    }
                } else {
                    write_path(snapshot.as_object(), k, value);
                }
                legacy_keys.push_back(key);
                legacy = true;
            }
        }
    }
    if (def_.on_storage_restore) {
        def_.on_storage_restore(instance_, snapshot, legacy);
    }
    if (def_.on_user_storage_restore && def_.has_users && snapshot.is_object()) {
        if (auto* users = snapshot.as_object().if_contains(def_.users_field);
            users != nullptr && users->is_object()) {
            for (auto& [public_id, user] : users->as_object()) {
                def_.on_user_storage_restore(instance_, user, std::string(public_id), legacy);
            }
        }
    }
    object_->load(snapshot);
    if (contains_delete(snapshot) || legacy) {
        compaction_due_ = true;  // no lasting tombstones, no legacy keys left behind
        for (auto& key : legacy_keys) {
            key_writes_[key] = std::nullopt;
        }
        schedule_storage();
    }
    restore_sessions(entries);
    remove_orphan_users();
}

// Sessions come back disconnected: a session stored as connected belonged to a process that
// died, so it counts as disconnected from now. Each gets its expiry timer back.
void room_core::restore_sessions(const storage_entries& entries) {
    std::int64_t now = clock_.now_ms();
    std::map<std::string, json::value> stored_index;
    for (const auto& [key, value] : entries) {
        if (starts_with(key, index_prefix)) {
            stored_index[key.substr(index_prefix.size())] = value;
        } else if (starts_with(key, transfer_prefix) && value.is_object()) {
            const auto& o = value.as_object();
            transfer_record t;
            if (const auto* p = o.if_contains("privateId"); p && p->is_string()) {
                t.private_id = std::string(p->get_string());
            }
            if (const auto* p = o.if_contains("publicId"); p && p->is_string()) {
                t.public_id = std::string(p->get_string());
            }
            t.created = int_field(o, "created");
            transfers_.emplace(key.substr(transfer_prefix.size()), std::move(t));
        } else if (starts_with(key, session_prefix) && value.is_object()) {
            const auto& o = value.as_object();
            const auto* public_id = o.if_contains("publicId");
            if (public_id == nullptr || !public_id->is_string()) {
                key_writes_[key] = std::nullopt;  // unusable record
                continue;
            }
            session_record s;
            s.public_id = std::string(public_id->get_string());
            s.created = int_field(o, "created");
            const auto* connected = o.if_contains("connected");
            bool was_connected =
                connected != nullptr && connected->is_bool() && connected->get_bool();
            s.connected = false;
            s.disconnected_at = was_connected || !o.contains("disconnectedAt")
                                    ? now
                                    : int_field(o, "disconnectedAt");
            if (const auto* state = o.if_contains("state")) {
                s.state = *state;
            }
            std::string private_id = key.substr(session_prefix.size());
            std::string owner = s.public_id;
            auto& placed = put_session(private_id, std::move(owner));
            placed = std::move(s);
            if (was_connected) {
                store_session(private_id);
            }
            if (def_.options.session_expiry) {
                auto elapsed = std::chrono::milliseconds(
                    std::max<std::int64_t>(0, now - placed.disconnected_at)
                );
                auto left = *def_.options.session_expiry > elapsed
                                ? *def_.options.session_expiry - elapsed
                                : std::chrono::milliseconds(0);
                placed.expiry_timer =
                    clock_.set_timer(left, [this, private_id] { expire_session(private_id); });
            }
        }
    }
    // Repair the public-id index from the sessions: a damaged or stale index is rewritten.
    for (const auto& [public_id, value] : stored_index) {
        if (index_entry(public_id) != value) {
            store_index(public_id);
        }
    }
    for (const auto& [public_id, owners] : sessions_of_) {
        if (!stored_index.contains(public_id)) {
            store_index(public_id);
        }
    }
}

// What "session-public:<publicId>" holds: the sorted private ids of that public id (null: none).
json::value room_core::index_entry(const std::string& public_id) const {
    auto owners = sessions_of_.find(public_id);
    if (owners == sessions_of_.end()) {
        return nullptr;
    }
    json::array list;
    for (const auto& id : owners->second) {  // a std::set: sorted, as the original stores it
        list.emplace_back(id);
    }
    return list;
}

// A user no session refers to can never come back: remove it (the original keeps them forever).
void room_core::remove_orphan_users() {
    for (const auto& id : object_->user_ids()) {
        if (!sessions_of_.contains(id)) {
            object_->erase_user(id);  // unbound still: recorded by the compaction below
            compaction_due_ = true;
            schedule_storage();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing behind

void room_core::store_key(std::string key, std::optional<json::value> value) {
    if (links_.storage == nullptr) {
        return;
    }
    key_writes_[std::move(key)] = std::move(value);
    schedule_storage();
}

void room_core::store_session(const std::string& private_id) {
    auto it = sessions_.find(private_id);
    if (it == sessions_.end()) {
        store_key(std::string(session_prefix) + private_id, std::nullopt);
        return;
    }
    const session_record& s = it->second;
    json::object record{
        {"publicId", s.public_id}, {"created", s.created}, {"connected", s.connected}};
    if (!s.connected) {
        record["disconnectedAt"] = s.disconnected_at;
    }
    if (!s.state.is_null()) {
        record["state"] = s.state;
    }
    store_key(std::string(session_prefix) + private_id, json::value(std::move(record)));
}

void room_core::store_index(const std::string& public_id) {
    json::value entry = index_entry(public_id);
    if (entry.is_null()) {
        store_key(std::string(index_prefix) + public_id, std::nullopt);
    } else {
        store_key(std::string(index_prefix) + public_id, std::move(entry));
    }
}

// Without throttle_storage, changes are written at the end of the turn that made them; with
// it, at most one batch per window (the first change opens the window: a steady stream of
// changes is still written every window, unlike the original's pure debounce).
void room_core::schedule_storage() {
    if (links_.storage == nullptr) {
        return;
    }
    if (def_.options.throttle_storage.count() == 0) {
        store_flush_at_end_of_turn_ = true;
        return;
    }
    if (!store_timer_) {
        store_timer_ = clock_.set_timer(def_.options.throttle_storage, [this] {
            store_timer_.reset();
            flush_storage();
        });
    }
}

void room_core::flush_storage() {
    store_flush_at_end_of_turn_ = false;
    if (links_.storage == nullptr) {
        return;
    }
    write_batch batch;
    auto changes = stored_.entries();
    for (const auto& [path, value] : changes) {
        if (value.is_string() && value.get_string() == delete_token) {
            compaction_due_ = true;  // a delete is written as a compaction, never a tombstone
        }
    }
    if (compaction_due_ ||
        state_keys_since_compaction_ + changes.size() > limits_.compact_after_keys) {
        batch = compaction_batch();
    } else {
        for (auto& [path, value] : changes) {
            std::string key = std::string(state_prefix) + path;
            if (value.is_object() || value.is_array()) {
                batch.delete_prefixes.push_back(key + ".");  // older keys below it are stale
            }
            batch.puts.emplace_back(std::move(key), value);
            ++state_keys_since_compaction_;
        }
    }
    stored_.clear();
    for (auto& [key, value] : key_writes_) {
        if (value) {
            batch.puts.emplace_back(key, std::move(*value));
        } else {
            batch.deletes.push_back(key);
        }
    }
    key_writes_.clear();
    if (batch.empty()) {
        return;
    }
    links_.storage->write(storage_key_, std::move(batch), counted_post(), [this](bool ok) {
        if (!ok) {
            // The batch is lost: rewrite everything the room knows at the next opportunity.
            compaction_due_ = true;
            for (const auto& [pid, s] : sessions_) {
                store_session(pid);
                store_index(s.public_id);
            }
            schedule_storage();
        }
    });
}

// Replaces every state key with one full snapshot.
write_batch room_core::compaction_batch() {
    write_batch batch;
    batch.delete_prefixes.emplace_back(state_prefix);
    batch.puts.emplace_back(std::string(state_root), object_->stored_state());
    compaction_due_ = false;
    state_keys_since_compaction_ = 0;
    return batch;
}

std::function<void(std::function<void()>)> room_core::counted_post() {
    ++in_flight_;
    return [this, post = links_.post](std::function<void()> fn) {
        post([this, fn = std::move(fn)] {
            --in_flight_;
            fn();
        });
    };
}

bool room_core::unwritten() const {
    return links_.storage != nullptr &&
           (!stored_.empty() || !key_writes_.empty() || compaction_due_ || store_timer_);
}

bool room_core::idle() {
    forget_expired_transfers();
    return (ready_ || load_failed_) && connections_.empty() && room_timers_.empty() &&
           in_flight_ == 0 && transfers_.empty() && waiting_for_load_.empty() && !unwritten();
}

void room_core::flush_storage_now() {
    if (store_timer_) {
        clock_.cancel_timer(*store_timer_);
        store_timer_.reset();
    }
    if (ready_) {
        flush_storage();
    }
}

// ---------------------------------------------------------------------------------------------
// Garbage collection

void room_core::run_garbage_collector(bool force) {
    std::int64_t now = clock_.now_ms();
    std::vector<std::string> expired;
    for (const auto& [pid, s] : sessions_) {
        bool offline = s.live_sockets == 0 && !s.connected;
        bool past = def_.options.session_expiry &&
                    now - s.disconnected_at >= def_.options.session_expiry->count();
        if (offline && (force || past)) {
            expired.push_back(pid);
        }
    }
    for (const auto& pid : expired) {
        if (auto it = sessions_.find(pid); it != sessions_.end() && it->second.expiry_timer) {
            clock_.cancel_timer(*it->second.expiry_timer);
        }
        expire_session(pid);
    }
    for (const auto& [public_id, owners] : sessions_of_) {
        store_index(public_id);
    }
    forget_expired_transfers();
    store_key("$room:session-gc:last-run", json::value(now));
    end_turn();
}

// ---------------------------------------------------------------------------------------------
// The room's own keys

void room_core::storage_get(std::string key, std::function<void(std::optional<json::value>)> done) {
    if (auto it = key_writes_.find(key); it != key_writes_.end()) {
        done(it->second);  // a queued write is what a read must see
        return;
    }
    if (links_.storage == nullptr) {
        done(std::nullopt);
        return;
    }
    links_.storage->get(
        storage_key_,
        std::move(key),
        counted_post(),
        [this, done = std::move(done)](std::optional<json::value> v) {
            run_turn([&] { done(std::move(v)); });
        }
    );
}

void room_core::storage_list(
    std::string prefix, std::function<void(std::vector<std::pair<std::string, json::value>>)> done
) {
    if (links_.storage == nullptr) {
        done({});
        return;
    }
    // Queued writes go first, so the read that follows sees them.
    flush_storage();
    links_.storage->list(
        storage_key_,
        std::move(prefix),
        counted_post(),
        [this, done = std::move(done)](storage_entries entries) {
            run_turn([&] { done(std::move(entries)); });
        }
    );
}

void room_core::storage_put(std::string key, json::value value) {
    store_key(std::move(key), std::move(value));
}

void room_core::storage_delete(std::string key) {
    store_key(std::move(key), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Session transfer

const json::value* room_core::session_state(const connection& conn) const {
    auto it = sessions_.find(conn.private_id_);
    return it == sessions_.end() || it->second.state.is_null() ? nullptr : &it->second.state;
}

json::value room_core::transfer_body(const connection& conn) {
    auto it = sessions_.find(conn.private_id_);
    void* user = object_->find_user(conn.public_id_);
    json::object body{{"privateId", conn.private_id_}, {"publicId", conn.public_id_}};
    body["userSnapshot"] = user != nullptr ? object_->user_snapshot(user) : json::value(nullptr);
    body["sessionState"] = it != sessions_.end() ? it->second.state : json::value(nullptr);
    return body;
}

void room_core::transfer_session(
    connection& conn, std::string target_room, std::function<void(std::optional<std::string>)> done
) {
    if (conn.public_id_.empty() || !sessions_.contains(conn.private_id_)) {
        done(std::nullopt);
        return;
    }
    json::value body = transfer_body(conn);
    auto finish = [this, done = std::move(done)](std::optional<std::string> token) {
        run_turn([&] { done(std::move(token)); });
    };
    auto back = counted_post();  // called once, whichever way the transfer goes
    bool local =
        links_.post_to_room &&
        links_.post_to_room("main", target_room, [body, back, finish](room_core& target) {
            target.accept_transfer(body, [back, finish](response res) {
                std::optional<std::string> token;
                if (res.status_code() == 200) {
                    boost::system::error_code ec;
                    auto parsed = json::parse(res.body_text(), ec);
                    if (!ec && parsed.is_object() && parsed.as_object().contains("transferToken")) {
                        token = std::string(parsed.at("transferToken").as_string());
                    }
                }
                back([finish, token] { finish(token); });
            });
        });
    if (local) {
        return;
    }
    if (links_.remote_transfer) {
        links_.remote_transfer(
            target_room,
            std::move(body),
            [back, finish](std::optional<std::string> token) {
                back([finish, token] { finish(token); });
            }
        );
        return;
    }
    log(log_level::warn,
        "room " + info_.id + ": no room '" + target_room + "' to transfer a session to");
    back([finish] { finish(std::nullopt); });
}

void room_core::accept_transfer(const json::value& body, std::function<void(response)> done) {
    if (!ready_) {
        when_ready([this, body, done = std::move(done)] { accept_transfer(body, done); });
        return;
    }
    const json::object* o = body.if_object();
    const json::value* private_id = o ? o->if_contains("privateId") : nullptr;
    const json::value* public_id = o ? o->if_contains("publicId") : nullptr;
    if (private_id == nullptr || public_id == nullptr || !private_id->is_string() ||
        !public_id->is_string() || private_id->get_string().empty() ||
        public_id->get_string().empty()) {
        done(std::move(response{}.bad_request("Missing privateId or publicId in transfer data")));
        return;
    }
    session_restore_info info{
        std::string(public_id->get_string()), std::string(private_id->get_string()), nullptr};
    if (const auto* state = o->if_contains("sessionState")) {
        info.session_state = *state;
    }
    run_turn([&] {
        session_record& s = put_session(info.private_id, info.public_id);
        s.created = clock_.now_ms();
        s.connected = false;
        s.disconnected_at = s.created;
        s.state = info.session_state;
        arm_expiry(info.private_id, s);
        store_session(info.private_id);
        store_index(info.public_id);
        const json::value* snapshot = o->if_contains("userSnapshot");
        if (def_.has_users && snapshot != nullptr && snapshot->is_object()) {
            json::value user_snapshot = *snapshot;
            if (def_.on_session_restore) {
                def_.on_session_restore(instance_, user_snapshot, info);
            }
            void* user = object_->find_user(info.public_id);
            if (user == nullptr) {
                user = object_->create_user(info.public_id);
            }
            object_->load_user(user, user_snapshot);
        }
    });
    std::string token = random_id(transfer_token_length);
    transfers_[token] = transfer_record{info.private_id, info.public_id, clock_.now_ms()};
    store_key(
        std::string(transfer_prefix) + token,
        json::value(json::object{
            {"privateId", info.private_id},
            {"publicId", info.public_id},
            {"restored", true},
            {"created", clock_.now_ms()}})
    );
    end_turn();
    done(std::move(response{}.json(json::object{{"transferToken", token}})));
}

// A transfer token is single use and expires after transfer_expiry; claiming returns the
// private id it names.
std::optional<std::string> room_core::claim_transfer(const request_info& req) {
    forget_expired_transfers();
    auto token = req.query_param("transferToken");
    if (!token) {
        return std::nullopt;
    }
    auto it = transfers_.find(std::string(*token));
    if (it == transfers_.end()) {
        return std::nullopt;
    }
    std::string private_id = it->second.private_id;
    store_key(std::string(transfer_prefix) + it->first, std::nullopt);
    transfers_.erase(it);
    return private_id;
}

void room_core::forget_expired_transfers() {
    std::int64_t now = clock_.now_ms();
    std::erase_if(transfers_, [&](const auto& t) {
        bool expired = now - t.second.created >= def_.options.transfer_expiry.count();
        if (expired) {
            store_key(std::string(transfer_prefix) + t.first, std::nullopt);
        }
        return expired;
    });
}

}  // namespace signe::detail

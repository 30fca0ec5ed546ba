#include "core/room_core.hpp"

#include <signe/log.hpp>

#include <algorithm>
#include <exception>
#include <utility>

namespace signe::detail {
namespace {

constexpr std::size_t public_id_length = 8;
constexpr std::size_t private_id_length = 16;

std::string describe(const room_info& info) {
    return info.party + "/" + info.id;
}

std::shared_ptr<const std::string> encode(const json::value& frame) {
    return std::make_shared<const std::string>(to_text(frame));
}

json::value sync_frame(json::value value) {
    return json::object{{"type", "sync"}, {"value", std::move(value)}};
}

void log_exception(const room_info& info, std::string_view where) {
    log(log_level::error,
        "room " + describe(info) + ": " + std::string(where) +
            " threw: " + exception_message(std::current_exception()));
}

}  // namespace

room_core::room_core(
    const room_definition& def,
    room_info info,
    room_clock& clock,
    room_limits limits,
    room_links links
)
    : def_(def),
      info_(std::move(info)),
      clock_(clock),
      limits_(limits),
      auto_sync_(def.options.auto_sync),
      links_(std::move(links)),
      storage_key_{info_.party, info_.id} {}

room_core::~room_core() {
    for (auto& [id, s] : sessions_) {
        if (s.expiry_timer) {
            clock_.cancel_timer(*s.expiry_timer);
        }
    }
    for (auto id : room_timers_) {
        clock_.cancel_timer(id);
    }
    if (store_timer_) {
        clock_.cancel_timer(*store_timer_);
    }
}

// ---------------------------------------------------------------------------------------------
// Changes and sync

void room_core::record(change c) {
    if (c.stored && links_.storage != nullptr) {
        stored_.add(c.path, std::move(*c.stored));
        schedule_storage();
    }
    if (c.client) {
        pending_.add(std::move(c.path), std::move(*c.client));
    }
}

// Called at the end of every entry point (join, message, leave, timer, HTTP): everything one
// handler changed goes out together.
void room_core::end_turn() {
    if (store_flush_at_end_of_turn_) {
        flush_storage();
    }
    if (!auto_sync_ || pending_.empty()) {
        return;
    }
    if (def_.options.throttle_sync.count() > 0) {
        if (throttle_window_open_) {
            return;  // the window's end sends it
        }
        flush();
        throttle_window_open_ = true;
        clock_.set_timer(def_.options.throttle_sync, [this] { on_throttle_window_end(); });
        return;
    }
    flush();
}

void room_core::on_throttle_window_end() {
    throttle_window_open_ = false;
    if (auto_sync_ && !pending_.empty()) {
        flush();
        // Keep throttling while changes keep coming: at most one frame per window.
        throttle_window_open_ = true;
        clock_.set_timer(def_.options.throttle_sync, [this] { on_throttle_window_end(); });
    }
}

void room_core::flush() {
    json::value frame = sync_frame(pending_.build());
    pending_.clear();
    ++counters_.sync_packets;
    deliver(frame, synced_connections());
}

std::vector<connection*> room_core::synced_connections() const {
    std::vector<connection*> out;
    out.reserve(connections_.size());
    for (const auto& c : connections_) {
        if (!c->awaiting_initial_sync_) {
            out.push_back(c.get());
        }
    }
    return out;
}

// Encodes once and queues the same bytes to every recipient. Only rooms with an interceptor
// look at each recipient, and only replaced frames are encoded again.
void room_core::deliver(const json::value& frame, const std::vector<connection*>& to) {
    if (to.empty()) {
        return;
    }
    auto bytes = encode(frame);
    for (connection* c : to) {
        if (!def_.intercept) {
            c->send_text(bytes);
            ++counters_.frames_out;
            continue;
        }
        try {
            intercept_result r =
                def_.intercept(instance_, object_->find_user(c->public_id_), frame, *c);
            if (r.what() == intercept_result::kind::keep) {
                c->send_text(bytes);
            } else if (r.what() == intercept_result::kind::replace) {
                c->send_text(encode(r.frame()));
            } else {
                continue;
            }
            ++counters_.frames_out;
        } catch (...) {
            log_exception(info_, "intercept");
        }
    }
}

void room_core::send_initial_sync(connection& conn) {
    json::object value;
    value["pId"] = conn.public_id_;
    for (auto& [key, v] : object_->client_state()) {
        value[key] = std::move(v);
    }
    conn.awaiting_initial_sync_ = false;
    deliver(sync_frame(std::move(value)), {&conn});
}

void room_core::apply_sync() {
    json::value packet =
        pending_.empty() ? json::value(object_->client_state()) : json::value(pending_.build());
    pending_.clear();
    auto already_synced = synced_connections();
    send_waiting_initial_syncs();  // the full state, never only the delta
    deliver(sync_frame(std::move(packet)), already_synced);
}

void room_core::send_waiting_initial_syncs() {
    for (const auto& c : connections_) {
        if (c->awaiting_initial_sync_) {
            send_initial_sync(*c);
        }
    }
}

void room_core::set_auto_sync(bool on) {
    bool was = auto_sync_;
    auto_sync_ = on;
    if (on && !was) {
        end_turn();  // what piled up while it was off goes to the sockets already synced...
        send_waiting_initial_syncs();  // ...and the others get the full state
    }
}

// State changed before a custom frame reaches clients before it, so a client reacting to the
// frame sees the state it refers to (even inside a throttle window).
void room_core::flush_before_custom_frame() {
    if (auto_sync_ && !pending_.empty()) {
        flush();
    }
}

void room_core::send(connection& to, const json::value& frame) {
    if (to.is_open()) {
        flush_before_custom_frame();
        deliver(frame, {&to});  // during on_join this arrives before the initial sync
    }
}

void room_core::broadcast(const json::value& frame, const connection* except) {
    flush_before_custom_frame();
    std::vector<connection*> to;
    to.reserve(connections_.size());
    for (const auto& c : connections_) {
        if (c.get() != except) {
            to.push_back(c.get());
        }
    }
    deliver(frame, to);
}

std::vector<connection*> room_core::connections() const {
    std::vector<connection*> out;
    out.reserve(connections_.size());
    for (const auto& c : connections_) {
        out.push_back(c.get());
    }
    return out;
}

void room_core::run_turn(const std::function<void()>& fn) {
    try {
        fn();
    } catch (...) {
        ++counters_.handler_errors;
        log_exception(info_, "turn");
    }
    end_turn();
}

std::uint64_t room_core::set_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
    auto id = std::make_shared<std::uint64_t>(0);
    *id = clock_.set_timer(delay, [this, id, fn = std::move(fn)] {
        std::erase(room_timers_, *id);
        run_turn(fn);
    });
    room_timers_.push_back(*id);
    return *id;
}

void room_core::cancel_timer(std::uint64_t id) {
    std::erase(room_timers_, id);
    clock_.cancel_timer(id);
}

// ---------------------------------------------------------------------------------------------
// Guards

void room_core::run_guards(
    std::vector<guard_step> steps, std::function<void(bool, const std::optional<response>&)> done
) {
    auto shared_steps = std::make_shared<std::vector<guard_step>>(std::move(steps));
    auto next = std::make_shared<std::function<void(std::size_t)>>();
    *next = [this, shared_steps, done = std::move(done), weak_next = std::weak_ptr(next)](
                std::size_t i
            ) {
        for (; i < shared_steps->size(); ++i) {
            decision d = false;
            try {
                d = (*shared_steps)[i]();
            } catch (...) {
                log_exception(info_, "guard");
            }
            if (!d.ready()) {
                // Keep the chain alive until the deferred verdict arrives.
                auto self = weak_next.lock();
                ++in_flight_;
                d.then([this, d, i, self, done] {
                    --in_flight_;
                    if (!d.allowed()) {
                        ++counters_.guard_refusals;
                        done(false, d.reply());
                    } else {
                        (*self)(i + 1);
                    }
                });
                return;
            }
            if (!d.allowed()) {
                ++counters_.guard_refusals;
                done(false, d.reply());
                return;
            }
        }
        done(true, std::nullopt);
    };
    (*next)(0);
}

// ---------------------------------------------------------------------------------------------
// Joining and leaving

void room_core::join(const connection_ptr& conn) {
    conn->processing_ = true;  // frames that arrive now wait for the initial sync
    if (!ready_) {
        when_ready([this, conn] { join(conn); });
        return;
    }
    if (load_failed_) {
        conn->close(close_code::internal_error, "Room storage unavailable");
        return;
    }
    std::vector<guard_step> steps;
    for (const auto& guard : def_.join_guards) {
        steps.push_back([this, &guard, conn] { return guard(instance_, *conn, conn->request_); });
    }
    run_guards(std::move(steps), [this, conn](bool allowed, const std::optional<response>&) {
        if (!allowed) {
            conn->processing_ = false;
            conn->inbox_.clear();
            conn->close(close_code::policy_violation, "Not permitted");
            return;
        }
        admit(conn);
    });
}

std::size_t room_core::online_sessions() const {
    return static_cast<std::size_t>(std::count_if(
        sessions_.begin(), sessions_.end(), [](const auto& s) { return s.second.live_sockets > 0; }
    ));
}

std::string room_core::new_public_id() const {
    while (true) {
        std::string id = random_id(public_id_length);
        bool taken = object_->find_user(id) != nullptr || sessions_of_.contains(id);
        if (!taken) {
            return id;
        }
    }
}

void room_core::admit(const connection_ptr& conn) {
    if (!conn->is_open()) {
        return;  // closed while a guard was deciding
    }
    if (auto transferred = claim_transfer(conn->request_)) {
        conn->private_id_ = *transferred;  // the token names the session, whatever id was sent
    }
    if (conn->private_id_.empty()) {
        conn->private_id_ = random_id(private_id_length);
    }
    auto it = sessions_.find(conn->private_id_);
    bool new_session = it == sessions_.end();
    if (def_.options.max_users > 0 && (new_session || it->second.live_sockets == 0) &&
        online_sessions() >= def_.options.max_users) {
        conn->processing_ = false;
        conn->inbox_.clear();
        conn->close(close_code::try_again_later, "Room is full");
        return;
    }
    if (new_session) {
        session_record s;
        s.public_id = new_public_id();
        s.created = clock_.now_ms();
        std::string public_id = s.public_id;
        put_session(conn->private_id_, std::move(public_id)) = std::move(s);
        it = sessions_.find(conn->private_id_);
    }
    session_record& s = it->second;
    if (s.expiry_timer) {
        clock_.cancel_timer(*s.expiry_timer);
        s.expiry_timer.reset();
    }
    bool was_connected = s.connected && s.live_sockets > 0;
    s.connected = true;
    s.disconnected_at = 0;
    ++s.live_sockets;
    conn->public_id_ = s.public_id;
    if (!was_connected) {
        store_session(conn->private_id_);
        if (new_session) {
            store_index(s.public_id);
        }
    }

    void* user = object_->find_user(s.public_id);
    if (user == nullptr && def_.has_users && new_session) {
        user = object_->create_user(s.public_id);
    }
    if (user != nullptr && def_.has_connected_flag) {
        object_->set_connected(user, true);
    }
    if (def_.on_join) {
        try {
            def_.on_join(instance_, user, *conn, conn->request_);
        } catch (...) {
            log_exception(info_, "on_join");
        }
    }
    end_turn();  // the others learn about the newcomer before it joins the list

    connections_.push_back(conn);
    conn->joined_ = true;
    if (auto_sync_) {
        send_initial_sync(*conn);
    } else {
        conn->awaiting_initial_sync_ = true;
    }
    conn->processing_ = false;
    drain_inbox(conn);
}

void room_core::leave(const connection_ptr& conn) {
    if (!ready_) {
        when_ready([this, conn] { leave(conn); });
        return;
    }
    auto it = std::find(connections_.begin(), connections_.end(), conn);
    if (it == connections_.end()) {
        conn->inbox_.clear();
        return;  // never joined (refused, or closed during its guards)
    }
    connections_.erase(it);
    conn->joined_ = false;
    conn->inbox_.clear();

    auto s_it = sessions_.find(conn->private_id_);
    if (s_it == sessions_.end()) {
        return;
    }
    session_record& s = s_it->second;
    if (--s.live_sockets > 0) {
        return;  // another socket of the same session is still here
    }
    s.connected = false;
    s.disconnected_at = clock_.now_ms();
    arm_expiry(conn->private_id_, s);
    store_session(conn->private_id_);

    void* user = object_->find_user(s.public_id);
    if (user != nullptr && def_.has_connected_flag) {
        object_->set_connected(user, false);
    }
    if (def_.on_leave) {
        try {
            def_.on_leave(instance_, user, *conn);
        } catch (...) {
            log_exception(info_, "on_leave");
        }
    }
    end_turn();
    if (user != nullptr && !def_.has_connected_flag) {
        broadcast(
            json::object{
                {"type", "user_disconnected"}, {"value", json::object{{"publicId", s.public_id}}}},
            nullptr
        );
    }
}

void room_core::arm_expiry(const std::string& private_id, session_record& s) {
    const auto& expiry = def_.options.session_expiry;
    if (!expiry) {
        return;
    }
    s.expiry_timer = clock_.set_timer(*expiry, [this, private_id] { expire_session(private_id); });
}

void room_core::expire_session(const std::string& private_id) {
    auto it = sessions_.find(private_id);
    if (it == sessions_.end() || it->second.live_sockets > 0) {
        return;
    }
    std::string public_id = it->second.public_id;
    erase_session(it);
    store_session(private_id);
    store_index(public_id);
    bool still_used = sessions_of_.contains(public_id);
    if (!still_used) {
        object_->erase_user(public_id);  // records "$delete" for clients
    }
    end_turn();
}

// ---------------------------------------------------------------------------------------------
// Messages

void room_core::message(const connection_ptr& conn, std::string_view text) {
    if (!ready_) {
        when_ready([this, conn, copy = std::string(text)] { message(conn, copy); });
        return;
    }
    ++counters_.frames_in;
    if (!conn->is_open()) {
        return;  // closing (e.g. over its rate): what it still sends is dropped
    }
    if (!within_rate(*conn)) {
        ++counters_.rate_limited;
        conn->close(close_code::policy_violation, "Too many messages");
        return;
    }
    if (!conn->joined_ || conn->processing_) {
        if (conn->inbox_.size() >= limits_.max_queued_frames) {
            conn->close(close_code::try_again_later, "Too many frames before the initial sync");
            return;
        }
        conn->inbox_.emplace_back(text);
        return;
    }
    process(conn, std::string(text));
}

bool room_core::within_rate(connection& conn) {
    if (limits_.max_messages_per_second <= 0) {
        return true;
    }
    auto burst = static_cast<double>(std::max<std::size_t>(limits_.message_burst, 1));
    std::int64_t now = clock_.now_ms();
    conn.allowance_ = conn.allowance_at_ < 0
                          ? burst
                          : std::min(
                                burst,
                                conn.allowance_ + static_cast<double>(now - conn.allowance_at_) *
                                                      limits_.max_messages_per_second / 1000.0
                            );
    conn.allowance_at_ = now;
    if (conn.allowance_ < 1) {
        return false;
    }
    conn.allowance_ -= 1;
    return true;
}

void room_core::drain_inbox(const connection_ptr& conn) {
    while (conn->joined_ && !conn->processing_ && !conn->inbox_.empty()) {
        std::string text = std::move(conn->inbox_.front());
        conn->inbox_.erase(conn->inbox_.begin());
        process(conn, text);
    }
}

void room_core::process(const connection_ptr& conn, const std::string& text) {
    boost::system::error_code ec;
    json::value parsed = parse_json(text, ec);
    const json::object* obj = ec ? nullptr : parsed.if_object();
    const json::value* action = obj ? obj->if_contains("action") : nullptr;
    if (action == nullptr || !action->is_string()) {
        ++counters_.malformed_frames;
        if (log_enabled(log_level::debug)) {
            log(log_level::debug,
                "room " + describe(info_) + ": dropped a malformed frame from " + conn->id());
        }
        return;
    }
    const json::value* value = obj->if_contains("value");
    dispatch(
        conn,
        std::string(action->get_string()),
        value ? *value : json::value(nullptr),
        value != nullptr
    );
}

void room_core::dispatch(
    const connection_ptr& conn, std::string action, json::value value, bool has_value
) {
    if (auto it = def_.actions.find(action); it != def_.actions.end()) {
        run_action(conn, it->second, std::move(action), std::move(value), has_value);
        return;
    }
    if (def_.unhandled) {
        json::value message = json::object{{"action", action}, {"value", std::move(value)}};
        run_action(conn, *def_.unhandled, std::move(action), std::move(message), true);
        return;
    }
    ++counters_.unknown_actions;
    if (log_enabled(log_level::debug)) {
        log(log_level::debug, "room " + describe(info_) + ": unknown action '" + action + "'");
    }
}

// Room guards, then the action's guards, then payload validation, then the handler. A guard
// that defers holds this socket's later frames until it decides, so order is kept.
void room_core::run_action(
    const connection_ptr& conn,
    const action_entry& entry,
    std::string action,
    json::value value,
    bool has_value
) {
    auto shared_value = std::make_shared<json::value>(std::move(value));
    std::vector<guard_step> steps;
    for (const auto& guard : def_.message_guards) {
        steps.push_back([this, &guard, conn, shared_value] {
            return guard(instance_, *conn, *shared_value);
        });
    }
    for (const auto& guard : entry.guards) {
        steps.push_back([this, &guard, conn, shared_value] {
            return guard(instance_, *conn, *shared_value);
        });
    }
    conn->processing_ = true;
    run_guards(
        std::move(steps),
        [this,
         conn,
         &entry,
         action = std::move(action),
         shared_value,
         has_value](bool allowed, const std::optional<response>&) {
            conn->processing_ = false;
            if (allowed && conn->joined_) {
                validation_error err;
                try {
                    void* user = object_->find_user(conn->public_id_);
                    if (entry.invoke(
                            instance_, user, *conn, has_value ? shared_value.get() : nullptr, err
                        ) == action_outcome::invalid_payload) {
                        ++counters_.invalid_payloads;
                        if (log_enabled(log_level::debug)) {
                            log(log_level::debug,
                                "room " + describe(info_) + ": invalid payload for '" + action +
                                    "': " + err.summary());
                        }
                    }
                } catch (...) {
                    ++counters_.handler_errors;
                    log_exception(info_, "action '" + action + "'");
                }
            }
            end_turn();
            drain_inbox(conn);
        }
    );
}

void* room_core::user_of(const connection& conn) {
    return object_->find_user(conn.public_id_);
}

// Every session enters and leaves through these two, which keep sessions_of_ in step.
room_core::session_record& room_core::put_session(
    const std::string& private_id, std::string public_id
) {
    auto& s = sessions_[private_id];
    if (!s.public_id.empty() && s.public_id != public_id) {
        if (auto old = sessions_of_.find(s.public_id); old != sessions_of_.end()) {
            old->second.erase(private_id);
            if (old->second.empty()) {
                sessions_of_.erase(old);
            }
        }
    }
    sessions_of_[public_id].insert(private_id);
    s.public_id = std::move(public_id);
    return s;
}

void room_core::erase_session(std::unordered_map<std::string, session_record>::iterator it) {
    if (auto owners = sessions_of_.find(it->second.public_id); owners != sessions_of_.end()) {
        owners->second.erase(it->first);
        if (owners->second.empty()) {
            sessions_of_.erase(owners);
        }
    }
    sessions_.erase(it);
}

bool room_core::delete_session(std::string_view private_id) {
    auto it = sessions_.find(std::string(private_id));
    if (it == sessions_.end()) {
        return false;
    }
    if (it->second.expiry_timer) {
        clock_.cancel_timer(*it->second.expiry_timer);
    }
    std::string public_id = it->second.public_id;
    erase_session(it);
    store_session(std::string(private_id));
    store_index(public_id);
    end_turn();
    return true;
}

std::optional<room_core::session_view> room_core::session(std::string_view private_id) const {
    auto it = sessions_.find(std::string(private_id));
    if (it == sessions_.end()) {
        return std::nullopt;
    }
    const auto& s = it->second;
    return session_view{s.public_id, s.connected, s.created, s.disconnected_at};
}

void room_core::close_all(int code, std::string_view reason) {
    for (auto id : room_timers_) {
        clock_.cancel_timer(id);
    }
    room_timers_.clear();
    auto conns = connections_;
    for (const auto& c : conns) {
        c->close(code, reason);
    }
}

}  // namespace signe::detail

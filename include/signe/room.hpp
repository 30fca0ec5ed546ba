#pragma once

// Defining rooms. A room type declares its synced state with `fields()` and everything it exposes
// in one static `define(room_spec&)`: path pattern, options, actions, HTTP routes, guards and
// hooks. The spec is built once per room type when the type is added to a server.
//
//     class counter_room : public signe::room_base {
//     public:
//         signe::synced<int> count{0};
//         static auto fields() { return signe::fields(signe::field("count", &counter_room::count));
//         }
//
//         static void define(signe::room_spec<counter_room>& spec) {
//             spec.path("counter")
//                 .action("increment", &counter_room::increment)
//                 .http(signe::verb::get, "/count", &counter_room::get_count);
//         }
//         void increment(signe::connection&, const increment_msg& msg) { count +=
//         msg.amount.value_or(1); } signe::json::value get_count(signe::request&) { return
//         {{"count", count.get()}}; }
//     };

#include <signe/connection.hpp>
#include <signe/http.hpp>
#include <signe/json.hpp>
#include <signe/payload.hpp>
#include <signe/state.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace signe {

// Room options (the original's @Room arguments). Durations of zero turn a feature off.
struct room_options {
    std::string path;                               // pattern: "game-{id}", "counter"
    std::size_t max_users = 0;                      // 0: unlimited; over it a socket is closed 1013
    std::chrono::milliseconds throttle_sync{0};     // coalesce sync frames over this window
    std::chrono::milliseconds throttle_storage{0};  // write-behind window for storage
    std::optional<std::chrono::milliseconds> session_expiry =
        std::chrono::minutes(5);  // nullopt: never
    std::chrono::milliseconds transfer_expiry = std::chrono::minutes(5);
    bool auto_sync = true;  // false: changes wait for apply_sync()
};

// Where a room instance lives.
struct room_info {
    std::string party;
    std::string id;
    name_values params;  // from the path pattern: "game-{id}" on "game-7" gives id=7
};

namespace detail {
struct decision_state {
    std::optional<bool> verdict;
    std::optional<response> reply;
    std::function<void()> waiting;
};
}  // namespace detail

// The verdict of a guard. Guards return `true`/`false`, a response (HTTP route guards: answer
// with it), or a deferred decision that completes later on the room's executor:
//
//     signe::decision check(signe::connection&, const signe::request_info& req) {
//         auto [result, resolve] = signe::decision::deferred();
//         start_lookup(req, [resolve](bool ok) { resolve(ok); });  // completes on the room
//         executor return result;
//     }
class decision {
public:
    decision(bool allow);      // NOLINT: implicit, guards return bool
    decision(response reply);  // NOLINT: a route guard's own answer (a refusal)

    class resolver {
    public:
        void operator()(bool allow) const;
        void operator()(response reply) const;

    private:
        friend class decision;
        std::shared_ptr<detail::decision_state> state_;
    };

    static std::pair<decision, resolver> deferred();

    bool ready() const { return state_->verdict.has_value(); }
    bool allowed() const { return state_->verdict.value_or(false); }
    const std::optional<response>& reply() const { return state_->reply; }
    // Runs `fn` once the verdict is known (at once when it already is).
    void then(std::function<void()> fn) const;

private:
    decision();
    std::shared_ptr<detail::decision_state> state_;
};

// What a packet interceptor decides for one recipient (the original's interceptorPacket).
class intercept_result {
public:
    static intercept_result keep() { return intercept_result{kind::keep, nullptr}; }
    static intercept_result drop() { return intercept_result{kind::drop, nullptr}; }
    static intercept_result replace(json::value frame) {
        return intercept_result{kind::replace, std::move(frame)};
    }

    enum class kind { keep, drop, replace };
    kind what() const { return kind_; }
    const json::value& frame() const { return frame_; }

private:
    intercept_result(kind k, json::value f) : kind_(k), frame_(std::move(f)) {}
    kind kind_;
    json::value frame_;
};

// What a room learns when a session is transferred in (the original's onSessionRestore).
struct session_restore_info {
    std::string public_id;
    std::string private_id;
    json::value session_state;
};

// The message an unhandled-action handler receives.
struct unknown_action {
    std::string action;
    json::value value;
    static auto fields() {
        return signe::fields(
            field("action", &unknown_action::action), field("value", &unknown_action::value)
        );
    }
};

namespace detail {

// What the room runtime offers to room code through room_base. Implemented by the runtime.
class room_runtime {
public:
    virtual const room_info& info() const = 0;
    virtual void send(connection& to, const json::value& frame) = 0;
    virtual void broadcast(const json::value& frame, const connection* except) = 0;
    virtual void apply_sync() = 0;
    virtual void set_auto_sync(bool on) = 0;
    virtual bool auto_sync() const = 0;
    virtual std::int64_t now_ms() const = 0;
    virtual std::uint64_t set_timer(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
    virtual void cancel_timer(std::uint64_t id) = 0;
    virtual std::vector<connection*> connections() const = 0;
    virtual void storage_get(
        std::string key, std::function<void(std::optional<json::value>)> done
    ) = 0;
    virtual void storage_list(
        std::string prefix,
        std::function<void(std::vector<std::pair<std::string, json::value>>)> done
    ) = 0;
    virtual void storage_put(std::string key, json::value value) = 0;
    virtual void storage_delete(std::string key) = 0;
    virtual void transfer_session(
        connection& conn,
        std::string target_room,
        std::function<void(std::optional<std::string>)> done
    ) = 0;
    virtual const json::value* session_state(const connection& conn) const = 0;

protected:
    ~room_runtime() = default;
};

}  // namespace detail

namespace detail {
struct room_base_access;
}

// Optional base of a room type: gives room code access to its room (sending, broadcasting,
// sync control, time). Valid from `on_start` on; call only from the room's executor.
class room_base {
public:
    const std::string& id() const { return runtime().info().id; }
    const std::string& party() const { return runtime().info().party; }
    const name_values& params() const { return runtime().info().params; }

    // Sends `frame` (e.g. {"type":"pong","value":...}) to one socket.
    void send(connection& to, const json::value& frame) { runtime().send(to, frame); }
    // Sends `frame` to every socket of the room, the sender included (the original's $broadcast).
    void broadcast(const json::value& frame) { runtime().broadcast(frame, nullptr); }
    void broadcast_except(const json::value& frame, const connection& except) {
        runtime().broadcast(frame, &except);
    }
    // Sends pending changes now (needed when auto sync is off; the original's $applySync).
    void apply_sync() { runtime().apply_sync(); }
    void set_auto_sync(bool on) { runtime().set_auto_sync(on); }
    bool auto_sync() const { return runtime().auto_sync(); }
    // Wall-clock milliseconds since the epoch, from the room's clock (manual in tests).
    std::int64_t now_ms() const { return runtime().now_ms(); }
    // Runs `fn` on the room's executor after `delay`; returns an id for cancel_timer.
    std::uint64_t set_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
        return runtime().set_timer(delay, std::move(fn));
    }
    void cancel_timer(std::uint64_t id) { runtime().cancel_timer(id); }
    std::vector<connection*> connections() const { return runtime().connections(); }

    // The room's own keys in its storage (next to its state and sessions). Writes are queued
    // with the room's state (same batches, same durability); reads see queued writes.
    void storage_get(std::string key, std::function<void(std::optional<json::value>)> done) {
        runtime().storage_get(std::move(key), std::move(done));
    }
    void storage_list(
        std::string prefix,
        std::function<void(std::vector<std::pair<std::string, json::value>>)> done
    ) {
        runtime().storage_list(std::move(prefix), std::move(done));
    }
    void storage_put(std::string key, json::value value) {
        runtime().storage_put(std::move(key), std::move(value));
    }
    void storage_delete(std::string key) { runtime().storage_delete(std::move(key)); }

    // Moves this socket's session and user to another room (the original's $sessionTransfer):
    // `done` receives a single-use token (valid transfer_expiry) for `?transferToken=`, or
    // nullopt when the transfer failed. The target room may be in this process or, when the
    // server is configured with a remote rooms URL, in another one.
    void transfer_session(
        connection& conn,
        std::string target_room,
        std::function<void(std::optional<std::string>)> done
    ) {
        runtime().transfer_session(conn, std::move(target_room), std::move(done));
    }
    // The state a transfer attached to this socket's session (nullptr when none).
    const json::value* session_state(const connection& conn) const {
        return runtime().session_state(conn);
    }

private:
    friend struct detail::room_base_access;
    detail::room_runtime& runtime() const {
        if (runtime_ == nullptr) {
            throw std::logic_error(
                "room_base used before the room started (use on_start, not the constructor)"
            );
        }
        return *runtime_;
    }
    detail::room_runtime* runtime_ = nullptr;
};

namespace detail {

struct room_base_access {
    static void attach(room_base& room, room_runtime* runtime) { room.runtime_ = runtime; }
};

struct no_users {
    static auto fields() { return std::tuple<>{}; }
};

template <class M>
struct users_element {
    using type = no_users;
};
template <class U>
struct users_element<users<U>> {
    using type = U;
};

template <class Tuple>
struct find_users {
    using type = no_users;
};
template <class D, class... Ds>
struct find_users<std::tuple<D, Ds...>> {
    using member = typename D::member_type;
    using type = std::conditional_t<
        is_users_v<member>,
        typename users_element<member>::type,
        typename find_users<std::tuple<Ds...>>::type>;
};

// The user type of a room: the element type of its users<U> field, or no_users.
template <class R>
struct user_type_of {
    using type = no_users;
};
template <class R>
requires described<R>
struct user_type_of<R> {
    using type = typename find_users<std::decay_t<decltype(R::fields())>>::type;
};

template <class R>
using user_t = typename user_type_of<R>::type;

// One instance of a room type, type-erased for the runtime.
class room_object {
public:
    virtual ~room_object() = default;
    virtual void* instance() = 0;
    virtual void bind(change_sink& sink) = 0;
    virtual json::object client_state() const = 0;
    virtual json::value stored_state() const = 0;
    virtual void load(const json::value& snapshot) = 0;

    // Users (all null/false when the room has no users collection).
    virtual void* find_user(std::string_view public_id) = 0;
    virtual void* create_user(const std::string& public_id) = 0;
    virtual bool erase_user(std::string_view public_id) = 0;
    virtual void set_connected(void* user, bool connected) = 0;
    virtual json::value user_snapshot(const void* user) const = 0;
    virtual std::vector<std::string> user_ids() const = 0;
    virtual void load_user(void* user, const json::value& snapshot) = 0;
};

using join_guard_fn = std::function<decision(void* room, connection&, const request_info&)>;
using message_guard_fn = std::function<decision(void* room, connection&, const json::value& value)>;
using route_guard_fn = std::function<decision(void* room, request&)>;

enum class action_outcome { done, invalid_payload };

struct action_entry {
    std::vector<message_guard_fn> guards;
    // `value` is null when the frame had none. Returns invalid_payload (with `err`) when the
    // payload does not decode.
    std::function<action_outcome(
        void* room, void* user, connection&, const json::value* value, validation_error& err
    )>
        invoke;
};

struct route_entry {
    verb method = verb::get;
    std::string pattern;                // "/users/:id"
    std::vector<std::string> segments;  // split pattern
    std::vector<route_guard_fn> guards;
    // Returns the response; fills `err` and returns nullopt when the body does not decode.
    std::function<
        std::optional<response>(void* room, request&, validation_error& err, bool& body_unreadable)>
        invoke;
};

// Everything the runtime needs to know about one room type, built once by room_spec<R>.
struct room_definition {
    room_options options;
    std::function<std::unique_ptr<room_object>(const room_info&)> create;
    bool has_users = false;
    bool has_connected_flag = false;
    std::string users_field;

    std::vector<join_guard_fn> join_guards;
    std::vector<message_guard_fn> message_guards;
    std::map<std::string, action_entry, std::less<>> actions;
    std::optional<action_entry> unhandled;
    std::vector<route_entry> routes;

    std::function<void(void* room, room_runtime* runtime)>
        attach_runtime;  // rooms deriving from room_base
    std::function<void(void* room)> on_start;
    std::function<void(void* room, void* user, connection&, const request_info&)> on_join;
    std::function<void(void* room, void* user, connection&)> on_leave;
    std::function<intercept_result(void* room, void* user, const json::value& frame, connection&)>
        intercept;
    std::function<void(void* room, json::value& snapshot, bool legacy)> on_storage_restore;
    std::function<
        void(void* room, json::value& user_snapshot, const std::string& public_id, bool legacy)>
        on_user_storage_restore;
    std::function<void(void* room, json::value& user_snapshot, const session_restore_info& info)>
        on_session_restore;

    // Does `room_id` match the path pattern? Fills `params` when it does.
    bool matches(std::string_view room_id, name_values& params) const;
};

template <class R>
class typed_room_object final : public room_object {
public:
    using user_type = user_t<R>;

    explicit typed_room_object(const room_info& info) : room_(make(info)) {}

    void* instance() override { return room_.get(); }
    void bind(change_sink& sink) override {
        if constexpr (described<R>) {
            detail::bind(*room_, &sink, "", field_flags{});
        }
    }
    json::object client_state() const override {
        if constexpr (described<R>) {
            return client_json(*room_).as_object();
        } else {
            return {};
        }
    }
    json::value stored_state() const override {
        if constexpr (described<R>) {
            return stored_json(*room_);
        } else {
            return json::object{};
        }
    }
    void load(const json::value& snapshot) override {
        if constexpr (described<R>) {
            detail::load_json(*room_, snapshot);
        }
    }
    void* find_user(std::string_view public_id) override {
        if constexpr (has_users) {
            return user_map().find(public_id);
        } else {
            return nullptr;
        }
    }
    void* create_user(const std::string& public_id) override {
        if constexpr (has_users) {
            return &user_map().emplace(public_id);
        } else {
            return nullptr;
        }
    }
    bool erase_user(std::string_view public_id) override {
        if constexpr (has_users) {
            return user_map().erase(public_id);
        } else {
            return false;
        }
    }
    void set_connected(void* user, bool connected) override {
        if constexpr (has_users) {
            auto& u = *static_cast<user_type*>(user);
            for_each_field<user_type>([&](const auto& def) {
                using member = typename std::decay_t<decltype(def)>::member_type;
                if constexpr (std::same_as<member, synced<bool>>) {
                    if (def.is_connected_flag) {
                        (u.*def.member).set(connected);
                    }
                }
            });
        }
    }
    std::vector<std::string> user_ids() const override {
        std::vector<std::string> ids;
        if constexpr (has_users) {
            for (const auto& [id, user] : const_cast<typed_room_object*>(this)->user_map()) {
                ids.push_back(id);
            }
        }
        return ids;
    }
    json::value user_snapshot(const void* user) const override {
        if constexpr (has_users) {
            return stored_json(*static_cast<const user_type*>(user));
        } else {
            return nullptr;
        }
    }
    void load_user(void* user, const json::value& snapshot) override {
        if constexpr (has_users) {
            detail::load_json(*static_cast<user_type*>(user), snapshot);
        }
    }

    static constexpr bool has_users = !std::is_same_v<user_type, no_users>;

private:
    static std::unique_ptr<R> make(const room_info& info) {
        if constexpr (std::is_constructible_v<R, const room_info&>) {
            return std::make_unique<R>(info);
        } else {
            return std::make_unique<R>();
        }
    }

    signe::users<user_type>& user_map() {
        signe::users<user_type>* found = nullptr;
        for_each_field<R>([&](const auto& def) {
            using member = typename std::decay_t<decltype(def)>::member_type;
            if constexpr (is_users_v<member>) {
                found = &(room_.get()->*def.member);
            }
        });
        return *found;
    }

    std::unique_ptr<R> room_;
};

template <class U>
constexpr bool user_has_connected_flag() {
    bool found = false;
    if constexpr (!std::is_same_v<U, no_users>) {
        for_each_field<U>([&](const auto& def) { found = found || def.is_connected_flag; });
    }
    return found;
}

template <class R>
std::string users_field_name() {
    std::string name;
    if constexpr (described<R>) {
        for_each_field<R>([&](const auto& def) {
            using member = typename std::decay_t<decltype(def)>::member_type;
            if constexpr (is_users_v<member>) {
                name = std::string(def.name);
            }
        });
    }
    return name;
}

template <class Ret>
response to_response(Ret&& value) {
    using T = std::decay_t<Ret>;
    if constexpr (std::same_as<T, response>) {
        return std::forward<Ret>(value);
    } else if constexpr (std::same_as<T, std::optional<response>>) {
        return value ? std::move(*value) : response{}.not_found();
    } else {
        response r;
        r.json(json::value(std::forward<Ret>(value)));
        return r;
    }
}

// Turns a guard's bool/decision/response into a decision.
template <class Result>
decision to_decision(Result&& r) {
    return decision(std::forward<Result>(r));
}

}  // namespace detail

// Per-action options.
template <class R>
struct action_options {
    // Called with (room, connection, value) before the payload is decoded; false drops the frame.
    std::vector<std::function<decision(R&, connection&, const json::value&)>> guards;
};

// The builder passed to `R::define`. Every member pointer is type-checked where it is registered.
template <class R>
class room_spec {
public:
    using user_type = detail::user_t<R>;

    room_spec() {
        def_.create = [](const room_info& info) -> std::unique_ptr<detail::room_object> {
            return std::make_unique<detail::typed_room_object<R>>(info);
        };
        def_.has_users = detail::typed_room_object<R>::has_users;
        def_.has_connected_flag = detail::user_has_connected_flag<user_type>();
        def_.users_field = detail::users_field_name<R>();
        if constexpr (std::is_base_of_v<room_base, R>) {
            def_.attach_runtime = [](void* room, detail::room_runtime* runtime) {
                detail::room_base_access::attach(*static_cast<R*>(room), runtime);
            };
        }
    }

    // The room id pattern: `{name}` captures [A-Za-z0-9_-]+, anything else matches literally.
    room_spec& path(std::string pattern) {
        def_.options.path = std::move(pattern);
        return *this;
    }
    room_spec& options(room_options opts) {
        std::string keep = def_.options.path;
        def_.options = std::move(opts);
        if (def_.options.path.empty()) {
            def_.options.path = keep;
        }
        return *this;
    }
    room_spec& max_users(std::size_t n) {
        def_.options.max_users = n;
        return *this;
    }
    room_spec& throttle_sync(std::chrono::milliseconds window) {
        def_.options.throttle_sync = window;
        return *this;
    }
    room_spec& throttle_storage(std::chrono::milliseconds window) {
        def_.options.throttle_storage = window;
        return *this;
    }
    // nullopt: sessions never expire.
    room_spec& session_expiry(std::optional<std::chrono::milliseconds> after) {
        def_.options.session_expiry = after;
        return *this;
    }
    room_spec& auto_sync(bool on) {
        def_.options.auto_sync = on;
        return *this;
    }

    // Room guard on connect: (R&, connection&, const request_info&) -> bool | decision.
    template <class Fn>
    room_spec& join_guard(Fn fn) {
        def_.join_guards.push_back([fn](void* room, connection& c, const request_info& req) {
            return detail::to_decision(std::invoke(fn, *static_cast<R*>(room), c, req));
        });
        return *this;
    }
    // Room guard on every message: (R&, connection&, const json::value& value) -> bool | decision.
    template <class Fn>
    room_spec& message_guard(Fn fn) {
        def_.message_guards.push_back(wrap_message_guard(fn));
        return *this;
    }

    // Actions. The payload type P is decoded and validated before the handler runs. Handlers may
    // be members of R or of a base class of R.
    template <class P, class B>
    requires std::derived_from<R, B> room_spec& action(
        std::string name, void (B::*fn)(user_type&, const P&), action_options<R> opts = {}
    ) {
        return add_action<P>(std::move(name), fn, std::move(opts));
    }
    template <class P, class B>
    requires std::derived_from<R, B> room_spec& action(
        std::string name,
        void (B::*fn)(user_type&, const P&, connection&),
        action_options<R> opts = {}
    ) {
        return add_action<P>(std::move(name), fn, std::move(opts));
    }
    template <class P, class B>
    requires std::derived_from<R, B> room_spec& action(
        std::string name, void (B::*fn)(connection&, const P&), action_options<R> opts = {}
    ) {
        return add_action<P>(std::move(name), fn, std::move(opts));
    }
    template <class P, class B>
    requires std::derived_from<R, B> room_spec& action(
        std::string name, void (B::*fn)(const P&), action_options<R> opts = {}
    ) {
        return add_action<P>(std::move(name), fn, std::move(opts));
    }
    // Any callable taking (R&, [user&,] [connection&,] const P&) in one of the forms above.
    template <class P, class Fn>
    room_spec& action(std::string name, Fn fn, action_options<R> opts = {}) {
        return add_action<P>(std::move(name), std::move(fn), std::move(opts));
    }

    // Receives every action no handler matches, as {action, value} (the original's
    // @UnhandledAction).
    template <class Fn>
    room_spec& on_unknown_action(Fn fn, action_options<R> opts = {}) {
        def_.unhandled = make_action<unknown_action>(std::move(fn), std::move(opts));
        return *this;
    }

    // HTTP routes under /parties/<party>/<room>/. `:name` segments become request params.
    // Handlers: (R&, request&) or (R&, request&, const Body&), returning a response, a JSON
    // value (200) or nothing (`{}`).
    template <class Fn>
    room_spec& http(
        verb method,
        std::string pattern,
        Fn fn,
        std::vector<std::function<decision(R&, request&)>> guards = {}
    ) {
        detail::route_entry route = make_route(method, std::move(pattern), std::move(guards));
        route.invoke =
            [fn](void* room, request& req, validation_error&, bool&) -> std::optional<response> {
            using ret = std::invoke_result_t<Fn, R&, request&>;
            if constexpr (std::is_void_v<ret>) {
                std::invoke(fn, *static_cast<R*>(room), req);
                return response{};
            } else {
                return detail::to_response(std::invoke(fn, *static_cast<R*>(room), req));
            }
        };
        def_.routes.push_back(std::move(route));
        return *this;
    }
    template <class Body, class Fn>
    room_spec& http(
        verb method,
        std::string pattern,
        Fn fn,
        std::vector<std::function<decision(R&, request&)>> guards = {}
    ) {
        detail::route_entry route = make_route(method, std::move(pattern), std::move(guards));
        route.invoke = [fn](
                           void* room, request& req, validation_error& err, bool& unreadable
                       ) -> std::optional<response> {
            std::optional<json::value> parsed;
            if (!req.body.empty()) {
                boost::system::error_code ec;
                parsed = parse_json(req.body, ec);
                if (ec) {
                    unreadable = true;
                    return std::nullopt;
                }
            }
            auto body = decode<Body>(parsed ? &*parsed : nullptr, err);
            if (!body) {
                return std::nullopt;
            }
            using ret = std::invoke_result_t<Fn, R&, request&, const Body&>;
            if constexpr (std::is_void_v<ret>) {
                std::invoke(fn, *static_cast<R*>(room), req, *body);
                return response{};
            } else {
                return detail::to_response(std::invoke(fn, *static_cast<R*>(room), req, *body));
            }
        };
        def_.routes.push_back(std::move(route));
        return *this;
    }
    template <class Ret, class Body>
    room_spec& http(
        verb method,
        std::string pattern,
        Ret (R::*fn)(request&, const Body&),
        std::vector<std::function<decision(R&, request&)>> guards = {}
    ) {
        return http<Body>(method, std::move(pattern), fn, std::move(guards));
    }
    template <class Ret, class Body>
    room_spec& http(
        verb method,
        std::string pattern,
        Ret (R::*fn)(request&, const Body&) const,
        std::vector<std::function<decision(R&, request&)>> guards = {}
    ) {
        return http<Body>(method, std::move(pattern), fn, std::move(guards));
    }

    // Hooks.
    template <class Fn>
    room_spec& on_start(Fn fn) {
        def_.on_start = [fn](void* room) { std::invoke(fn, *static_cast<R*>(room)); };
        return *this;
    }
    // (R&, user&, connection&, const request_info&) or (R&, connection&, const request_info&) in
    // rooms without users. Runs for every accepted socket, before its initial sync.
    template <class Fn>
    room_spec& on_join(Fn fn) {
        def_.on_join = [fn](void* room, void* user, connection& c, const request_info& req) {
            call_with_user(fn, room, user, c, req);
        };
        return *this;
    }
    // (R&, user&, connection&) or (R&, connection&): the last socket of a session closed.
    template <class Fn>
    room_spec& on_leave(Fn fn) {
        def_.on_leave = [fn](void* room, void* user, connection& c) {
            call_with_user(fn, room, user, c);
        };
        return *this;
    }
    // (R&, user* recipient, const json::value& frame, connection&) -> intercept_result. Runs for
    // every outgoing frame, per recipient; rooms without one pay nothing.
    template <class Fn>
    room_spec& intercept(Fn fn) {
        def_.intercept = [fn](void* room, void* user, const json::value& frame, connection& c) {
            return std::invoke(fn, *static_cast<R*>(room), static_cast<user_type*>(user), frame, c);
        };
        return *this;
    }

    // (R&, json::value& snapshot, bool legacy): the state read from storage, before it is
    // applied; edit it in place (the original's onStorageRestore).
    template <class Fn>
    room_spec& on_storage_restore(Fn fn) {
        def_.on_storage_restore = [fn](void* room, json::value& snapshot, bool legacy) {
            std::invoke(fn, *static_cast<R*>(room), snapshot, legacy);
        };
        return *this;
    }
    // (R&, json::value& user_snapshot, const std::string& public_id, bool legacy): each stored
    // user, before it is applied (the original's onUserStorageRestore).
    template <class Fn>
    room_spec& on_user_storage_restore(Fn fn) {
        def_.on_user_storage_restore =
            [fn](void* room, json::value& snap, const std::string& public_id, bool legacy) {
                std::invoke(fn, *static_cast<R*>(room), snap, public_id, legacy);
            };
        return *this;
    }
    // (R&, json::value& user_snapshot, const session_restore_info&): a user transferred in from
    // another room, before it is applied (the original's onSessionRestore).
    template <class Fn>
    room_spec& on_session_restore(Fn fn) {
        def_.on_session_restore =
            [fn](void* room, json::value& snap, const session_restore_info& info) {
                std::invoke(fn, *static_cast<R*>(room), snap, info);
            };
        return *this;
    }

    detail::room_definition& definition() { return def_; }

private:
    template <class Fn, class... Rest>
    static void call_with_user(Fn& fn, void* room, void* user, connection& c, Rest&... rest) {
        R& r = *static_cast<R*>(room);
        if constexpr (std::is_invocable_v<Fn&, R&, user_type&, connection&, Rest&...>) {
            if (user != nullptr) {
                std::invoke(fn, r, *static_cast<user_type*>(user), c, rest...);
            }
        } else {
            std::invoke(fn, r, c, rest...);
        }
    }

    template <class Fn>
    static detail::message_guard_fn wrap_message_guard(Fn fn) {
        return [fn](void* room, connection& c, const json::value& value) {
            return detail::to_decision(std::invoke(fn, *static_cast<R*>(room), c, value));
        };
    }

    detail::route_entry make_route(
        verb method, std::string pattern, std::vector<std::function<decision(R&, request&)>> guards
    );

    template <class P, class Fn>
    room_spec& add_action(std::string name, Fn fn, action_options<R> opts) {
        if (def_.actions.count(name) != 0) {
            throw std::invalid_argument("room_spec: action '" + name + "' is registered twice");
        }
        def_.actions.emplace(std::move(name), make_action<P>(std::move(fn), std::move(opts)));
        return *this;
    }

    template <class P, class Fn>
    detail::action_entry make_action(Fn fn, action_options<R> opts) {
        detail::action_entry entry;
        for (auto& guard : opts.guards) {
            entry.guards.push_back(wrap_message_guard(std::move(guard)));
        }
        entry.invoke = [fn](
                           void* room,
                           void* user,
                           connection& c,
                           const json::value* value,
                           validation_error& err
                       ) {
            std::optional<P> payload = decode<P>(value, err);
            if (!payload) {
                return detail::action_outcome::invalid_payload;
            }
            invoke_action(fn, *static_cast<R*>(room), user, c, *payload);
            return detail::action_outcome::done;
        };
        return entry;
    }

    template <class Fn, class P>
    static void invoke_action(Fn& fn, R& room, void* user, connection& c, const P& payload) {
        if constexpr (std::is_invocable_v<Fn&, R&, user_type&, const P&, connection&>) {
            if (user != nullptr) {
                std::invoke(fn, room, *static_cast<user_type*>(user), payload, c);
            }
        } else if constexpr (std::is_invocable_v<Fn&, R&, user_type&, const P&>) {
            if (user != nullptr) {
                std::invoke(fn, room, *static_cast<user_type*>(user), payload);
            }
        } else if constexpr (std::is_invocable_v<Fn&, R&, connection&, const P&>) {
            std::invoke(fn, room, c, payload);
        } else {
            static_assert(
                std::is_invocable_v<Fn&, R&, const P&>,
                "action handlers take (user&, const P&[, connection&]), (connection&, const P&) or "
                "(const P&)"
            );
            std::invoke(fn, room, payload);
        }
    }

    detail::room_definition def_;
};

namespace detail {
std::vector<std::string> split_route(std::string_view pattern);
}

template <class R>
detail::route_entry room_spec<R>::make_route(
    verb method, std::string pattern, std::vector<std::function<decision(R&, request&)>> guards
) {
    detail::route_entry route;
    route.method = method;
    if (pattern.empty() || pattern.front() != '/') {
        pattern.insert(pattern.begin(), '/');
    }
    route.segments = detail::split_route(pattern);
    route.pattern = std::move(pattern);
    for (auto& guard : guards) {
        route.guards.push_back([guard](void* room, request& req) {
            return guard(*static_cast<R*>(room), req);
        });
    }
    return route;
}

// A room type: default-constructible (or constructible from room_info) with a static define().
template <class R>
concept room_type = requires(room_spec<R>& spec) {
    { R::define(spec) } -> std::same_as<void>;
}
&&(std::is_default_constructible_v<R> || std::is_constructible_v<R, const room_info&>);

// Builds the type-erased definition of a room type.
template <room_type R>
detail::room_definition define_room() {
    room_spec<R> spec;
    R::define(spec);
    if (spec.definition().options.path.empty()) {
        throw std::invalid_argument("room_spec: the room has no path pattern (spec.path(\"...\"))");
    }
    return std::move(spec.definition());
}

}  // namespace signe

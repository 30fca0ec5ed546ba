#include "core/room_core.hpp"

#include <signe/testing.hpp>

#include <map>
#include <stdexcept>

namespace signe::testing {
namespace {

// Time starts at a fixed, plausible epoch so session timestamps look real.
constexpr std::int64_t start_epoch_ms = 1'700'000'000'000;

class manual_clock final : public detail::room_clock {
public:
    std::int64_t now_ms() const override { return now_; }

    std::uint64_t set_timer(std::chrono::milliseconds delay, std::function<void()> fn) override {
        std::uint64_t id = ++last_id_;
        timers_.emplace(std::pair{now_ + delay.count(), id}, std::move(fn));
        return id;
    }

    void cancel_timer(std::uint64_t id) override {
        std::erase_if(timers_, [id](const auto& t) { return t.first.second == id; });
    }

    void advance(std::chrono::milliseconds by) {
        std::int64_t target = now_ + by.count();
        while (!timers_.empty() && timers_.begin()->first.first <= target) {
            auto node = timers_.extract(timers_.begin());
            now_ = node.key().first;
            node.mapped()();
        }
        now_ = target;
    }

private:
    std::int64_t now_ = start_epoch_ms;
    std::uint64_t last_id_ = 0;
    std::map<std::pair<std::int64_t, std::uint64_t>, std::function<void()>> timers_;
};

std::string default_room_id(const std::string& pattern) {
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '{') {
            std::size_t close = pattern.find('}', i);
            if (close != std::string::npos) {
                out += '1';
                i = close;
                continue;
            }
        }
        out += pattern[i];
    }
    return out;
}

}  // namespace

// A connection that records what it receives.
class recording_connection final : public connection {
public:
    using connection::connection;

    void send_text(frame_ptr frame) override {
        if (closed) {
            return;
        }
        raw.push_back(*frame);
        frames.push_back(json::parse(*frame));
    }
    void close(int code, std::string_view reason) override {
        if (closed) {
            return;
        }
        closed = true;
        close_code = code;
        close_reason = std::string(reason);
        if (on_close) {
            on_close();
        }
    }
    bool is_open() const override { return !closed; }

    std::vector<std::string> raw;
    std::vector<json::value> frames;
    bool closed = false;
    int close_code = 0;
    std::string close_reason;
    std::function<void()> on_close;
};

struct test_client::state {
    std::shared_ptr<recording_connection> conn;
    detail::room_core* room = nullptr;
};

struct harness_base::impl {
    detail::room_definition def;
    room_info info;
    manual_clock clock;
    std::unique_ptr<detail::storage_service> storage;
    std::unique_ptr<detail::room_core> room;
    std::vector<std::unique_ptr<test_client>> clients;
    std::vector<harness_base::impl*> peers;
    std::uint64_t next_connection = 0;

    // Builds (or rebuilds) the room from its storage, as a server process would.
    void build() {
        detail::room_links links;
        links.storage = storage.get();
        links.post = [](std::function<void()> fn) { fn(); };  // everything runs inline here
        links.post_to_room = [this](
                                 const std::string&,
                                 const std::string& room_id,
                                 std::function<void(detail::room_core&)> fn
                             ) {
            for (auto* peer : peers) {
                if (peer->room->info().id == room_id) {
                    fn(*peer->room);
                    return true;
                }
            }
            return false;
        };
        room = std::make_unique<detail::room_core>(
            def, info, clock, detail::room_limits{}, std::move(links)
        );
        room->start();
    }

    // Drops every client without telling the room (the process is gone).
    void drop_clients() {
        for (auto& c : clients) {
            c->state_->conn->on_close = nullptr;
            c->state_->conn->closed = true;
        }
    }
};

harness_base::harness_base(
    detail::room_definition def,
    std::string room_id,
    std::string party,
    std::shared_ptr<storage_backend> storage
)
    : impl_(std::make_unique<impl>()) {
    impl_->def = std::move(def);
    if (room_id.empty()) {
        room_id = default_room_id(impl_->def.options.path);
    }
    room_info info{std::move(party), std::move(room_id), name_values{}};
    if (!impl_->def.matches(info.id, info.params)) {
        throw std::invalid_argument(
            "room_harness: room id '" + info.id + "' does not match the path pattern '" +
            impl_->def.options.path + "'"
        );
    }
    impl_->info = std::move(info);
    impl_->storage = std::make_unique<detail::storage_service>(std::move(storage), true);
    impl_->build();
}

harness_base::~harness_base() {
    // Clients may outlive nothing: drop them before the room so their close callbacks stay quiet.
    for (auto& c : impl_->clients) {
        c->state_->conn->on_close = nullptr;
    }
    impl_->room.reset();
}

test_client& harness_base::connect(std::string private_id, client_options options) {
    request_info req;
    req.path = "/parties/" + impl_->room->info().party + "/" + impl_->room->info().id;
    if (!private_id.empty()) {
        req.query.add(options.id_as_pk ? "_pk" : "id", private_id);
    }
    for (auto& [k, v] : options.query) {
        req.query.add(k, v);
    }
    for (auto& [k, v] : options.headers) {
        req.headers.add(k, v);
    }
    req.target = req.path;
    std::string sep = "?";
    for (const auto& [k, v] : req.query.items()) {
        req.target += sep + k + "=" + v;
        sep = "&";
    }
    auto conn = std::make_shared<recording_connection>(
        "test-" + std::to_string(++impl_->next_connection), std::move(req)
    );
    auto s = std::make_shared<test_client::state>();
    s->conn = conn;
    s->room = impl_->room.get();
    // A server-side close behaves like the transport's: the room hears that the socket left.
    std::weak_ptr<recording_connection> weak = conn;
    detail::room_core* room = impl_->room.get();
    conn->on_close = [room, weak] {
        if (auto c = weak.lock()) {
            room->leave(c);
        }
    };
    impl_->clients.push_back(std::unique_ptr<test_client>(new test_client(s)));
    impl_->room->join(conn);
    return *impl_->clients.back();
}

response harness_base::request(
    verb method,
    std::string path,
    std::string body,
    std::vector<std::pair<std::string, std::string>> headers
) {
    signe::request req;
    req.method = method;
    std::string query;
    if (auto q = path.find('?'); q != std::string::npos) {
        query = path.substr(q + 1);
        path.resize(q);
    }
    req.route_path = path;
    req.path = "/parties/" + impl_->room->info().party + "/" + impl_->room->info().id + path;
    req.target = req.path + (query.empty() ? "" : "?" + query);
    req.query = parse_query(query);
    for (auto& [k, v] : headers) {
        req.headers.add(k, v);
    }
    req.body = std::move(body);
    std::optional<response> out;
    impl_->room->http(std::move(req), [&out](response r) { out = std::move(r); });
    if (!out) {
        throw std::logic_error(
            "room_harness::request: a route guard is still deciding; resolve it before reading the "
            "response"
        );
    }
    return std::move(*out);
}

void harness_base::act(const std::function<void()>& fn) {
    impl_->room->run_turn(fn);
}

void harness_base::advance(std::chrono::milliseconds by) {
    impl_->clock.advance(by);
}
std::int64_t harness_base::now_ms() const {
    return impl_->clock.now_ms();
}

storage_backend& harness_base::storage() {
    return *impl_->storage->backend();
}

void harness_base::flush_storage() {
    impl_->room->flush_storage_now();
}

void harness_base::restart() {
    impl_->room->flush_storage_now();
    crash();
}

void harness_base::crash() {
    impl_->drop_clients();
    impl_->room.reset();
    impl_->build();
}

void harness_base::run_garbage_collector() {
    impl_->room->run_garbage_collector(true);
}

void harness_base::link(harness_base& other) {
    impl_->peers.push_back(other.impl_.get());
    other.impl_->peers.push_back(impl_.get());
}

bool harness_base::delete_session(std::string_view private_id) {
    return impl_->room->delete_session(private_id);
}

std::optional<session_info> harness_base::session(std::string_view private_id) const {
    auto s = impl_->room->session(private_id);
    if (!s) {
        return std::nullopt;
    }
    return session_info{s->public_id, s->connected, s->created, s->disconnected_at};
}

counters harness_base::stats() const {
    const auto& c = impl_->room->counters();
    return counters{
        c.frames_in,
        c.malformed_frames,
        c.unknown_actions,
        c.invalid_payloads,
        c.guard_refusals,
        c.handler_errors};
}

std::size_t harness_base::connection_count() const {
    return impl_->room->connection_count();
}
const room_info& harness_base::info() const {
    return impl_->room->info();
}
void* harness_base::instance() {
    return impl_->room->instance();
}
void* harness_base::user_of(test_client& client) {
    return impl_->room->user_of(client.conn());
}

// ---------------------------------------------------------------------------------------------

test_client::test_client(std::shared_ptr<state> s) : state_(std::move(s)) {}
test_client::~test_client() = default;

const std::string& test_client::private_id() const {
    return state_->conn->private_id();
}
const std::string& test_client::public_id() const {
    return state_->conn->public_id();
}
connection& test_client::conn() {
    return *state_->conn;
}

void test_client::send(std::string_view action, const json::value& value) {
    send_raw(json::serialize(json::object{{"action", action}, {"value", value}}));
}

void test_client::send(std::string_view action) {
    send_raw(json::serialize(json::object{{"action", action}}));
}

void test_client::send_raw(std::string_view text) {
    if (state_->conn->closed) {
        throw std::logic_error("test_client::send on a closed client");
    }
    state_->room->message(state_->conn, text);
}

const std::vector<json::value>& test_client::frames() const {
    return state_->conn->frames;
}
const std::vector<std::string>& test_client::raw_frames() const {
    return state_->conn->raw;
}

std::vector<json::value> test_client::frames_of_type(std::string_view type) const {
    std::vector<json::value> out;
    for (const auto& f : state_->conn->frames) {
        const auto* t = f.is_object() ? f.get_object().if_contains("type") : nullptr;
        if (t != nullptr && t->is_string() && t->get_string() == type) {
            out.push_back(f);
        }
    }
    return out;
}

const json::value& test_client::last_frame() const {
    if (state_->conn->frames.empty()) {
        throw std::logic_error("test_client::last_frame: no frame received");
    }
    return state_->conn->frames.back();
}

void test_client::clear() {
    state_->conn->frames.clear();
    state_->conn->raw.clear();
}

void test_client::close() {
    state_->conn->close(close_code::normal, "");
}
bool test_client::closed() const {
    return state_->conn->closed;
}
int test_client::close_code() const {
    return state_->conn->close_code;
}
const std::string& test_client::close_reason() const {
    return state_->conn->close_reason;
}

}  // namespace signe::testing

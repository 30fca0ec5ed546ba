// HTTP for one room: the original's dispatch order (OPTIONS, routes, 404), with exact route
// matching, 405 for a known path with another method, and CORS on every reply.

#include "core/room_core.hpp"

#include <signe/log.hpp>

namespace signe::detail {
namespace {

bool match_route(
    const route_entry& route, const std::vector<std::string>& path, name_values& params
) {
    if (route.segments.size() != path.size()) {
        return false;
    }
    name_values found;
    for (std::size_t i = 0; i < path.size(); ++i) {
        const std::string& want = route.segments[i];
        if (!want.empty() && want.front() == ':') {
            if (path[i].empty()) {
                return false;
            }
            found.add(want.substr(1), percent_decode(path[i]));
        } else if (want != path[i]) {
            return false;
        }
    }
    params = std::move(found);
    return true;
}

response finished(response res) {
    res.finish();
    apply_cors(res);
    return res;
}

}  // namespace

void room_core::http(request req, std::function<void(response)> done) {
    if (req.method == verb::options) {
        done(finished(response{}));
        return;
    }
    if (!ready_) {
        when_ready([this, req = std::move(req), done = std::move(done)]() mutable {
            http(std::move(req), std::move(done));
        });
        return;
    }
    if (load_failed_) {
        done(finished(std::move(response{}.error(503, "Room storage unavailable"))));
        return;
    }
    if (req.method == verb::post && req.route_path == "/session-transfer") {
        transfer_endpoint(req, done);
        return;
    }
    route_http(req, done);
}

// Only rooms of the same deployment may transfer sessions in: the request must carry the
// deployment's shared secret (the original accepts anyone).
void room_core::transfer_endpoint(request& req, std::function<void(response)>& done) {
    auto secret = req.header("x-signe-transfer-secret");
    if (links_.transfer_secret.empty() || !secret || *secret != links_.transfer_secret) {
        done(finished(std::move(response{}.not_permitted())));
        return;
    }
    boost::system::error_code ec;
    json::value body = parse_json(req.body, ec);
    if (ec || !body.is_object()) {
        done(finished(std::move(response{}.server_error("Failed to restore session"))));
        return;
    }
    accept_transfer(body, [done](response res) { done(finished(std::move(res))); });
}

void room_core::route_http(request& req, std::function<void(response)>& done) {
    std::vector<std::string> path = split_route(req.route_path);
    const route_entry* chosen = nullptr;
    bool path_known = false;
    std::string allowed_methods;
    for (const auto& route : def_.routes) {
        name_values params;
        if (!match_route(route, path, params)) {
            continue;
        }
        path_known = true;
        if (route.method == req.method || (req.method == verb::head && route.method == verb::get)) {
            chosen = &route;
            req.params = std::move(params);
            break;
        }
        allowed_methods +=
            (allowed_methods.empty() ? "" : ", ") + std::string(to_string(route.method));
    }
    if (chosen == nullptr) {
        response res;
        if (path_known) {
            res.error(405, "Method not allowed").header("Allow", allowed_methods + ", OPTIONS");
        } else {
            res.not_found();
        }
        done(finished(std::move(res)));
        return;
    }

    auto shared_req = std::make_shared<request>(std::move(req));
    std::vector<guard_step> steps;
    for (const auto& guard : chosen->guards) {
        steps.push_back([this, &guard, shared_req] { return guard(instance_, *shared_req); });
    }
    run_guards(
        std::move(steps),
        [this, chosen, shared_req, done](bool allowed, const std::optional<response>& reply) {
            if (!allowed) {
                done(finished(reply ? *reply : std::move(response{}.not_permitted())));
                return;
            }
            response res;
            try {
                validation_error err;
                bool unreadable = false;
                std::optional<response> out =
                    chosen->invoke(instance_, *shared_req, err, unreadable);
                if (unreadable) {
                    res.bad_request("Failed to parse request body");
                } else if (!out) {
                    res.status(400).json(json::object{
                        {"error", "Invalid request body"}, {"details", err.to_json()}});
                } else {
                    res = std::move(*out);
                }
            } catch (...) {
                log(log_level::error,
                    "room " + info_.party + "/" + info_.id + ": route " + chosen->pattern + " threw"
                );
                ++counters_.handler_errors;
                res = response{};
                res.server_error();
            }
            end_turn();  // state changed by the route reaches clients
            done(finished(std::move(res)));
        }
    );
}

std::vector<std::string> split_route(std::string_view pattern) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= pattern.size()) {
        std::size_t slash = pattern.find('/', start);
        std::string_view seg = pattern.substr(
            start, slash == std::string_view::npos ? std::string_view::npos : slash - start
        );
        if (!seg.empty()) {
            out.emplace_back(seg);
        }
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    return out;
}

// `{name}` captures [A-Za-z0-9_-]+; everything else must match literally; anchored at both ends.
// Captures are greedy with backtracking, so "game-{id}" takes "game-abc-123" as id=abc-123.
namespace {

bool is_id_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

bool match_pattern(std::string_view pattern, std::string_view text, name_values& params) {
    if (pattern.empty()) {
        return text.empty();
    }
    if (pattern.front() == '{') {
        std::size_t close = pattern.find('}');
        if (close == std::string_view::npos) {
            return pattern == text;
        }
        std::string name(pattern.substr(1, close - 1));
        std::string_view rest = pattern.substr(close + 1);
        std::size_t run = 0;
        while (run < text.size() && is_id_char(text[run])) {
            ++run;
        }
        for (std::size_t take = run; take >= 1; --take) {
            name_values inner;
            if (match_pattern(rest, text.substr(take), inner)) {
                params.add(name, std::string(text.substr(0, take)));
                for (const auto& [k, v] : inner.items()) {
                    params.add(k, v);
                }
                return true;
            }
        }
        return false;
    }
    return !text.empty() && pattern.front() == text.front() &&
           match_pattern(pattern.substr(1), text.substr(1), params);
}

}  // namespace

bool room_definition::matches(std::string_view room_id, name_values& params) const {
    name_values found;
    if (!match_pattern(options.path, room_id, found)) {
        return false;
    }
    params = std::move(found);
    return true;
}

}  // namespace signe::detail

namespace signe {

decision::decision() : state_(std::make_shared<detail::decision_state>()) {}

decision::decision(bool allow) : decision() {
    state_->verdict = allow;
}

decision::decision(response reply) : decision() {
    state_->verdict = false;
    state_->reply = std::move(reply);
}

std::pair<decision, decision::resolver> decision::deferred() {
    decision d;
    resolver r;
    r.state_ = d.state_;
    return {d, r};
}

void decision::then(std::function<void()> fn) const {
    if (ready()) {
        fn();
        return;
    }
    state_->waiting = std::move(fn);
}

void decision::resolver::operator()(bool allow) const {
    if (!state_ || state_->verdict) {
        return;  // resolved already: the first verdict stands
    }
    state_->verdict = allow;
    if (auto waiting = std::move(state_->waiting)) {
        state_->waiting = nullptr;
        waiting();
    }
}

void decision::resolver::operator()(response reply) const {
    if (!state_ || state_->verdict) {
        return;
    }
    state_->reply = std::move(reply);
    (*this)(false);
}

}  // namespace signe

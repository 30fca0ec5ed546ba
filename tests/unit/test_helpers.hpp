#pragma once

// Small helpers shared by the unit tests: JSON literals, the sync frames a client received, and
// a way to run arbitrary code inside a room turn (so its changes are sent like a handler's).

#include <signe/testing.hpp>

#include <functional>
#include <string_view>
#include <type_traits>
#include <vector>

namespace signe_test {

namespace json = signe::json;

// A JSON literal: J(R"({"count":1})"). Frames are parsed from text, so whole numbers compare as
// integers; writing expectations as text avoids int/double mismatches.
inline json::value J(std::string_view text) {
    return json::parse(text);
}

// A value as a client would see it after a round trip through JSON text.
inline json::value as_sent(const json::value& v) {
    return json::parse(signe::to_text(v));
}

// The "value" of every sync frame the client received, in order.
inline std::vector<json::value> sync_values(const signe::testing::test_client& c) {
    std::vector<json::value> out;
    for (const auto& frame : c.frames_of_type("sync")) {
        out.push_back(frame.at("value"));
    }
    return out;
}

// The parsed body of an HTTP response.
inline json::value body_of(const signe::response& r) {
    return json::parse(r.body_text());
}

// Mix into a room to run test code inside a turn: `run(h, client, [](R& r) { ... })` executes the
// lambda as the handler of a "run" action, so the changes it makes are flushed to clients at the
// end of the turn, exactly as a real action's would be.
template <class R>
struct scripted {
    std::function<void(R&)> script;

    static void add_run_action(signe::room_spec<R>& spec) {
        spec.template action<json::value>("run", [](R& r, const json::value&) {
            if (r.script) {
                r.script(r);
            }
        });
    }
};

template <class R>
void run(
    signe::testing::room_harness<R>& h,
    signe::testing::test_client& via,
    std::type_identity_t<std::function<void(R&)>> fn
) {
    h.room().script = std::move(fn);
    via.send("run");
    h.room().script = nullptr;
}

}  // namespace signe_test

// HTTP routes of a room through the harness: routing, path parameters, body validation, route
// guards, return-value mapping, errors, CORS and OPTIONS.
// Adapts catalogue 7.8 (tests/room/request.spec.ts).

#include "unit/test_helpers.hpp"
#include <gtest/gtest.h>

#include <signe/testing.hpp>

#include <stdexcept>
#include <string>

namespace {

using signe::verb;
using signe::testing::room_harness;
using signe_test::body_of;
using signe_test::J;
using signe_test::sync_values;
namespace json = signe::json;

struct player {
    signe::synced<int> score{0};
    static auto fields() { return signe::fields(signe::field("score", &player::score)); }
};

struct increment_body {
    int amount = 0;
    static auto fields() {
        return signe::fields(signe::field("amount", &increment_body::amount).min(1).max(10));
    }
};

// The request.spec fixture: a world room `default` with a counter and users.
class world_room {
public:
    signe::synced<int> count{0};
    signe::users<player> users;
    static auto fields() {
        return signe::fields(
            signe::field("count", &world_room::count), signe::field("users", &world_room::users)
        );
    }

    std::string last_auth;

    static void define(signe::room_spec<world_room>& spec) {
        spec.path("default")
            .http(verb::get, "/status", &world_room::status)
            .http(verb::get, "/users/:id", &world_room::user_by_id)
            .http(verb::post, "/increment", &world_room::increment)
            .http(verb::get, "/protected", &world_room::granted, {[](world_room&, signe::request&) {
                      return true;
                  }})
            .http(verb::get, "/rejected", &world_room::granted, {[](world_room&, signe::request&) {
                      return false;
                  }})
            .http(
                verb::get,
                "/custom-refusal",
                &world_room::granted,
                {[](world_room&, signe::request&) {
                    return signe::decision(signe::response{}.unauthorized("Token expired"));
                }}
            )
            .http(verb::get, "/needs-auth", &world_room::granted, {&world_room::auth_guard})
            .http(verb::get, "/files/:dir/:name", &world_room::file)
            .http(verb::get, "/query", &world_room::query)
            .http(verb::get, "/nothing", &world_room::nothing)
            .http(verb::get, "/text", &world_room::text)
            .http(verb::get, "/created", &world_room::created)
            .http(verb::get, "/boom", &world_room::boom);
    }

    json::value status(signe::request&) {
        return {{"status", "online"}, {"count", count.get()}, {"usersCount", users.size()}};
    }

    signe::response user_by_id(signe::request& req) {
        if (req.param("id") == "user1") {
            return signe::response{}.json({{"name", "User One"}, {"score", 100}});
        }
        return signe::response{}.not_found("User not found");
    }

    json::value increment(signe::request&, const increment_body& body) {
        count += body.amount;
        return {{"success", true}, {"newCount", count.get()}};
    }

    json::value granted(signe::request&) { return {{"access", "granted"}}; }

    bool auth_guard(signe::request& req) {
        last_auth = std::string(req.header("authorization").value_or(""));
        return last_auth == "Bearer good";
    }

    json::value file(signe::request& req) {
        return {{"dir", req.param("dir")}, {"name", req.param("name")}};
    }
    json::value query(signe::request& req) {
        return {{"value", req.query_param("value").value_or("<none>")}};
    }
    void nothing(signe::request&) {}
    std::string text(signe::request&) { return "hello"; }
    signe::response created(signe::request&) {
        return signe::response{}
            .status(201)
            .header("X-Test-Header", "node-adapter")
            .text("created");
    }
    json::value boom(signe::request&) { throw std::runtime_error("kaboom"); }
};

struct world : room_harness<world_room> {
    world() : room_harness<world_room>("default", "world") {}
};

// catalogue 7.8 request.spec: "route basic GET request correctly"
TEST(request, get_route_answers_with_json) {
    world h;
    h.connect("a");
    h.connect("b");
    auto res = h.request(verb::get, "/status");
    EXPECT_EQ(res.status_code(), 200);
    EXPECT_EQ(res.content_type(), "application/json");
    EXPECT_EQ(body_of(res), J(R"({"status":"online","count":0,"usersCount":2})"));
}

// catalogue 7.8 request.spec: "handle path parameters correctly"
TEST(request, path_parameters_reach_the_handler) {
    world h;
    auto found = h.request(verb::get, "/users/user1");
    EXPECT_EQ(found.status_code(), 200);
    EXPECT_EQ(body_of(found), J(R"({"name":"User One","score":100})"));
    auto missing = h.request(verb::get, "/users/nonexistent");
    EXPECT_EQ(missing.status_code(), 404);
    EXPECT_EQ(body_of(missing), J(R"({"error":"User not found"})"));
}

TEST(request, several_path_parameters_are_percent_decoded) {
    world h;
    auto res = h.request(verb::get, "/files/my%20docs/a%2Fb.txt");
    EXPECT_EQ(body_of(res), J(R"({"dir":"my docs","name":"a/b.txt"})"));
}

// catalogue 7.8 request.spec: "validate request body with Zod schema"
TEST(request, valid_body_runs_the_handler) {
    world h;
    auto res = h.request(
        verb::post, "/increment", R"({"amount":5})", {{"Content-Type", "application/json"}}
    );
    EXPECT_EQ(res.status_code(), 200);
    EXPECT_EQ(body_of(res), J(R"({"success":true,"newCount":5})"));
    EXPECT_EQ(h.room().count.get(), 5);
}

// catalogue 7.8 request.spec: "validate request body with Zod schema" (the invalid half)
TEST(request, invalid_body_is_a_400_with_zod_details) {
    world h;
    auto res = h.request(
        verb::post, "/increment", R"({"amount":20})", {{"Content-Type", "application/json"}}
    );
    EXPECT_EQ(res.status_code(), 400);
    EXPECT_EQ(
        body_of(res), J(R"({"error":"Invalid request body","details":{"name":"ZodError","issues":[
        {"code":"too_big","maximum":10,"type":"number","inclusive":true,"exact":false,
         "message":"Number must be less than or equal to 10","path":["amount"]}]}})")
    );
    EXPECT_EQ(h.room().count.get(), 0);
}

TEST(request, unparsable_body_is_a_400) {
    world h;
    auto res =
        h.request(verb::post, "/increment", "{amount:", {{"Content-Type", "application/json"}});
    EXPECT_EQ(res.status_code(), 400);
    EXPECT_EQ(body_of(res), J(R"({"error":"Failed to parse request body"})"));
}

TEST(request, missing_body_is_a_400_with_a_required_issue) {
    world h;
    auto res = h.request(verb::post, "/increment");
    EXPECT_EQ(res.status_code(), 400);
    EXPECT_EQ(
        body_of(res).at("details").at("issues"),
        J(R"([{"code":"invalid_type","expected":"object","received":"undefined","path":[],"message":"Required"}])"
        )
    );
}

TEST(request, state_changed_by_a_route_reaches_connected_clients) {
    world h;
    auto& client = h.connect("a");
    client.clear();
    h.request(verb::post, "/increment", R"({"amount":3})", {{"Content-Type", "application/json"}});
    EXPECT_EQ(sync_values(client), std::vector<json::value>{J(R"({"count":3})")});
}

// catalogue 7.8 request.spec: "respect request guards"
TEST(request, route_guards_allow_or_refuse_with_403) {
    world h;
    auto allowed = h.request(verb::get, "/protected");
    EXPECT_EQ(allowed.status_code(), 200);
    EXPECT_EQ(body_of(allowed), J(R"({"access":"granted"})"));
    auto refused = h.request(verb::get, "/rejected");
    EXPECT_EQ(refused.status_code(), 403);
    EXPECT_EQ(body_of(refused), J(R"({"error":"Not permitted"})"));
    EXPECT_EQ(h.stats().guard_refusals, 1u);
}

TEST(request, route_guard_can_answer_with_its_own_response) {
    world h;
    auto res = h.request(verb::get, "/custom-refusal");
    EXPECT_EQ(res.status_code(), 401);
    EXPECT_EQ(body_of(res), J(R"({"error":"Token expired"})"));
}

TEST(request, route_guard_reads_the_request_headers) {
    world h;
    EXPECT_EQ(
        h.request(verb::get, "/needs-auth", "", {{"Authorization", "Bearer bad"}}).status_code(),
        403
    );
    EXPECT_EQ(
        h.request(verb::get, "/needs-auth", "", {{"Authorization", "Bearer good"}}).status_code(),
        200
    );
    EXPECT_EQ(h.room().last_auth, "Bearer good");
}

// catalogue 7.8 request.spec: "return 404 for non-existing routes"
TEST(request, unknown_route_is_a_404) {
    world h;
    auto res = h.request(verb::get, "/non-existing");
    EXPECT_EQ(res.status_code(), 404);
    EXPECT_EQ(body_of(res), J(R"({"error":"Not found"})"));
}

TEST(request, routes_match_whole_paths_not_prefixes) {
    world h;
    EXPECT_EQ(h.request(verb::get, "/statusXYZ").status_code(), 404);
    EXPECT_EQ(h.request(verb::get, "/status/extra").status_code(), 404);
    EXPECT_EQ(h.request(verb::get, "/users/1/2").status_code(), 404);
}

TEST(request, known_path_with_another_method_is_a_405_listing_the_allowed_ones) {
    world h;
    auto res = h.request(verb::del, "/status");
    EXPECT_EQ(res.status_code(), 405);
    EXPECT_EQ(body_of(res), J(R"({"error":"Method not allowed"})"));
    EXPECT_EQ(res.header_value("Allow"), "GET, OPTIONS");
}

TEST(request, query_parameters_reach_the_handler) {
    world h;
    EXPECT_EQ(
        body_of(h.request(verb::get, "/query?value=hello%20world")), J(R"({"value":"hello world"})")
    );
    EXPECT_EQ(body_of(h.request(verb::get, "/query")), J(R"({"value":"<none>"})"));
}

TEST(request, handler_return_values_map_to_responses) {
    world h;
    auto nothing = h.request(verb::get, "/nothing");
    EXPECT_EQ(nothing.status_code(), 200);
    EXPECT_EQ(nothing.body_text(), "{}");
    auto text = h.request(verb::get, "/text");
    EXPECT_EQ(text.content_type(), "application/json");
    EXPECT_EQ(text.body_text(), R"("hello")");
    auto created = h.request(verb::get, "/created");
    EXPECT_EQ(created.status_code(), 201);
    EXPECT_EQ(created.content_type(), "text/plain");
    EXPECT_EQ(created.body_text(), "created");
    EXPECT_EQ(created.header_value("x-test-header"), "node-adapter");
}

TEST(request, throwing_handler_is_a_500_and_the_room_keeps_serving) {
    world h;
    auto res = h.request(verb::get, "/boom");
    EXPECT_EQ(res.status_code(), 500);
    EXPECT_EQ(body_of(res), J(R"({"error":"Internal Server Error"})"));
    EXPECT_EQ(h.stats().handler_errors, 1u);
    EXPECT_EQ(h.request(verb::get, "/status").status_code(), 200);
}

TEST(request, options_is_answered_for_any_path) {
    world h;
    for (const char* path : {"/status", "/anything/at/all"}) {
        auto res = h.request(verb::options, path);
        EXPECT_EQ(res.status_code(), 200);
        EXPECT_EQ(res.body_text(), "{}");
        EXPECT_EQ(res.header_value("Access-Control-Allow-Origin"), "*");
    }
}

TEST(request, every_reply_carries_the_default_cors_headers) {
    world h;
    for (const char* path : {"/status", "/non-existing", "/rejected", "/boom", "/created"}) {
        auto res = h.request(verb::get, path);
        SCOPED_TRACE(path);
        EXPECT_EQ(res.header_value("Access-Control-Allow-Origin"), "*");
        EXPECT_EQ(
            res.header_value("Access-Control-Allow-Methods"),
            "GET, POST, PUT, DELETE, PATCH, OPTIONS"
        );
        EXPECT_EQ(
            res.header_value("Access-Control-Allow-Headers"),
            "Content-Type, Authorization, X-Requested-With"
        );
        EXPECT_EQ(res.header_value("Access-Control-Max-Age"), "86400");
    }
}

}  // namespace

TEST(request, percent_encode_keeps_only_unreserved_characters_and_round_trips) {
    EXPECT_EQ(signe::percent_encode("game-1_a.b~C9"), "game-1_a.b~C9");
    EXPECT_EQ(signe::percent_encode("a b/c:d?é"), "a%20b%2Fc%3Ad%3F%C3%A9");
    EXPECT_EQ(signe::percent_decode(signe::percent_encode("x y/é:%")), "x y/é:%");
}

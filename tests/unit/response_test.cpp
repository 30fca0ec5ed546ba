// signe::response (the original's ServerResponse) and apply_cors.
// Adapts catalogue 7.10 (tests/room/server-response.spec.ts).

#include "unit/test_helpers.hpp"
#include <gtest/gtest.h>

#include <signe/http.hpp>

#include <stdexcept>
#include <string>

namespace {

using signe::response;
using signe_test::body_of;
using signe_test::J;

// catalogue 7.10 server-response.spec: "builds chained JSON responses with headers"
TEST(response, chained_json_response_with_headers) {
    response res;
    res.status(201)
        .header("X-Test", "yes")
        .set_headers({{"Cache-Control", "no-store"}})
        .json({{"ok", true}});
    EXPECT_EQ(res.status_code(), 201);
    EXPECT_EQ(res.content_type(), "application/json");
    EXPECT_EQ(res.header_value("X-Test"), "yes");
    EXPECT_EQ(res.header_value("cache-control"), "no-store");
    EXPECT_EQ(body_of(res), J(R"({"ok":true})"));
}

TEST(response, defaults_are_200_and_an_empty_json_object) {
    response res;
    EXPECT_EQ(res.status_code(), 200);
    EXPECT_EQ(res.content_type(), "application/json");
    EXPECT_EQ(res.body_text(), "{}");
}

TEST(response, setting_a_header_twice_keeps_the_last_value) {
    response res;
    res.header("X-Test", "one").header("x-test", "two");
    EXPECT_EQ(res.header_value("X-TEST"), "two");
}

// catalogue 7.10 server-response.spec: "sends the current body when no override is provided"
TEST(response, send_uses_the_current_body) {
    response res;
    res.status(202).body({{"queued", true}}).send();
    EXPECT_EQ(res.status_code(), 202);
    EXPECT_EQ(body_of(res), J(R"({"queued":true})"));
}

// catalogue 7.10 server-response.spec: "sends an override body when provided"
TEST(response, send_with_a_value_overrides_the_body) {
    response res;
    res.body({{"original", true}}).send({{"override", true}});
    EXPECT_EQ(body_of(res), J(R"({"override":true})"));
}

// catalogue 7.10 server-response.spec: "sends plain text without JSON stringifying"
TEST(response, text_is_sent_raw_as_text_plain) {
    response res;
    res.status(203).text("plain body");
    EXPECT_EQ(res.status_code(), 203);
    EXPECT_EQ(res.content_type(), "text/plain");
    EXPECT_EQ(res.body_text(), "plain body");
}

// catalogue 7.10 server-response.spec: "applies interceptors to text responses and ignores
// failures"
TEST(response, interceptors_apply_to_text_and_a_throwing_one_is_skipped) {
    response res;
    res.use([](response& r) { r.status(209).header("X-Text", "yes"); }
    ).use([](response&) {
         throw std::runtime_error("interceptor failure");
     }).text("plain body");
    res.finish();
    EXPECT_EQ(res.status_code(), 209);
    EXPECT_EQ(res.header_value("X-Text"), "yes");
    EXPECT_EQ(res.body_text(), "plain body");
}

// catalogue 7.10 server-response.spec: "applies sync and async interceptors in order"
// (interceptors are synchronous here; the order is what matters)
TEST(response, interceptors_run_in_the_order_they_were_added) {
    response res;
    std::string order;
    res.use([&](response& r) {
           order += "1";
           r.status(206).header("X-First", "1");
       })
        .use([&](response& r) {
            order += "2";
            r.header("X-Second", r.header_value("X-First") ? "2" : "missing");
        })
        .json({{"ok", true}});
    res.finish();
    EXPECT_EQ(order, "12");
    EXPECT_EQ(res.status_code(), 206);
    EXPECT_EQ(res.header_value("X-First"), "1");
    EXPECT_EQ(res.header_value("X-Second"), "2");
    EXPECT_EQ(body_of(res), J(R"({"ok":true})"));
}

TEST(response, interceptors_run_only_once) {
    response res;
    int calls = 0;
    res.use([&](response&) { ++calls; });
    res.finish();
    res.finish();
    EXPECT_EQ(calls, 1);
}

// catalogue 7.10 server-response.spec: "keeps the current response when an interceptor fails"
TEST(response, failing_interceptor_keeps_the_response) {
    response res;
    res.use([](response&) { throw 42; }).json({{"ok", true}});
    res.finish();
    EXPECT_EQ(res.status_code(), 200);
    EXPECT_EQ(body_of(res), J(R"({"ok":true})"));
}

// catalogue 7.10 server-response.spec: "creates redirects and standard error responses"
TEST(response, redirect_sets_status_and_location) {
    response res;
    res.redirect("/next", 301);
    EXPECT_EQ(res.status_code(), 301);
    EXPECT_EQ(res.header_value("Location"), "/next");
    EXPECT_EQ(response{}.redirect("/default").status_code(), 302);
}

// catalogue 7.10 server-response.spec: "creates redirects and standard error responses"
TEST(response, standard_error_helpers) {
    auto bad = response{}.bad_request("Invalid", {{"field", "name"}});
    EXPECT_EQ(bad.status_code(), 400);
    EXPECT_EQ(body_of(bad), J(R"({"error":"Invalid","field":"name"})"));

    auto forbidden = response{}.not_permitted();
    EXPECT_EQ(forbidden.status_code(), 403);
    EXPECT_EQ(body_of(forbidden), J(R"({"error":"Not permitted"})"));

    auto unauthorized = response{}.unauthorized();
    EXPECT_EQ(unauthorized.status_code(), 401);
    EXPECT_EQ(body_of(unauthorized), J(R"({"error":"Unauthorized"})"));

    auto missing = response{}.not_found();
    EXPECT_EQ(missing.status_code(), 404);
    EXPECT_EQ(body_of(missing), J(R"({"error":"Not found"})"));

    auto failed = response{}.server_error();
    EXPECT_EQ(failed.status_code(), 500);
    EXPECT_EQ(body_of(failed), J(R"({"error":"Internal Server Error"})"));

    EXPECT_EQ(body_of(response{}.not_found("User not found")), J(R"({"error":"User not found"})"));
}

TEST(response, success_forces_status_200) {
    auto res = response{}.status(418).success({{"done", true}});
    EXPECT_EQ(res.status_code(), 200);
    EXPECT_EQ(body_of(res), J(R"({"done":true})"));
}

TEST(response, text_then_json_switches_back_to_json) {
    response res;
    res.text("x").json({{"a", 1}});
    EXPECT_EQ(res.content_type(), "application/json");
    EXPECT_EQ(body_of(res), J(R"({"a":1})"));
}

// catalogue 7.10 server-response.spec: "adds default CORS headers"
TEST(cors, default_headers_keep_the_status) {
    response res;
    res.status(204);
    signe::apply_cors(res);
    EXPECT_EQ(res.status_code(), 204);
    EXPECT_EQ(res.header_value("Access-Control-Allow-Origin"), "*");
    EXPECT_EQ(
        res.header_value("Access-Control-Allow-Methods"), "GET, POST, PUT, DELETE, PATCH, OPTIONS"
    );
    EXPECT_EQ(
        res.header_value("Access-Control-Allow-Headers"),
        "Content-Type, Authorization, X-Requested-With"
    );
    EXPECT_EQ(res.header_value("Access-Control-Max-Age"), "86400");
    EXPECT_FALSE(res.header_value("Access-Control-Allow-Credentials").has_value());
    EXPECT_FALSE(res.header_value("Access-Control-Expose-Headers").has_value());
}

// catalogue 7.10 server-response.spec: "adds configured CORS headers through the interceptor
// factory"
TEST(cors, configured_headers_through_an_interceptor) {
    signe::cors_options opts;
    opts.origin = "https://app.example";
    opts.methods = "GET, OPTIONS";
    opts.allowed_headers = "Authorization";
    opts.exposed_headers = "X-Trace";
    opts.credentials = true;
    opts.max_age = 60;
    response res;
    res.use([opts](response& r) { signe::apply_cors(r, opts); }).json({{"ok", true}});
    res.finish();
    EXPECT_EQ(res.header_value("Access-Control-Allow-Origin"), "https://app.example");
    EXPECT_EQ(res.header_value("Access-Control-Allow-Credentials"), "true");
    EXPECT_EQ(res.header_value("Access-Control-Expose-Headers"), "X-Trace");
    EXPECT_EQ(res.header_value("Access-Control-Allow-Methods"), "GET, OPTIONS");
    EXPECT_EQ(res.header_value("Access-Control-Allow-Headers"), "Authorization");
    EXPECT_EQ(res.header_value("Access-Control-Max-Age"), "60");
}

}  // namespace

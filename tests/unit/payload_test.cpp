// Payload decoding and validation (the zod equivalent): types, optional fields, min/max, string
// and array lengths, enums, custom checks, nested structs, vectors, integers vs floats, and the
// zod-shaped issue list clients get in an HTTP 400. Also how an invalid action payload behaves.

#include "unit/test_helpers.hpp"
#include <gtest/gtest.h>

#include <signe/testing.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

using signe::verb;
using signe::testing::room_harness;
using signe_test::body_of;
using signe_test::J;
namespace json = signe::json;

constexpr std::string_view colors[] = {"red", "green"};

struct address {
    std::string city;
    static auto fields() { return signe::fields(signe::field("city", &address::city).min(1)); }
};

struct profile {
    std::string name;
    int age = 0;
    double score = 0;
    bool admin = false;
    std::optional<std::string> nickname;
    std::string color;
    address home;
    std::vector<int> tags;
    std::vector<address> others;
    std::string login;
    static auto fields() {
        return signe::fields(
            signe::field("name", &profile::name).length(3, 10),
            signe::field("age", &profile::age).min(0).max(150),
            signe::field("score", &profile::score),
            signe::field("admin", &profile::admin),
            signe::field("nickname", &profile::nickname).length(1, 16),
            signe::field("color", &profile::color).one_of(colors),
            signe::field("home", &profile::home),
            signe::field("tags", &profile::tags).max(3),
            signe::field("others", &profile::others),
            signe::field("login", &profile::login).check([](const std::string& s) -> const char* {
                return s == "root" ? "Reserved login" : nullptr;
            })
        );
    }
};

constexpr std::string_view valid_profile =
    R"({"name":"Sam","age":30,"score":1.5,"admin":false,"color":"red",
    "home":{"city":"Paris"},"tags":[1,2],"others":[{"city":"Lyon"}],"login":"sam"})";

// A valid profile with one member replaced (or removed when `value` is empty).
json::value profile_with(std::string_view key, std::string_view value) {
    json::value v = J(valid_profile);
    if (value.empty()) {
        v.as_object().erase(key);
    } else {
        v.as_object()[key] = J(value);
    }
    return v;
}

// The issues of decoding `j` as a profile, as clients would receive them.
json::value issues_of(const json::value& j) {
    signe::validation_error err;
    auto decoded = signe::decode<profile>(j, err);
    EXPECT_FALSE(decoded.has_value());
    return signe_test::as_sent(err.to_json().at("issues"));
}

TEST(payload, valid_payload_decodes_every_field) {
    signe::validation_error err;
    auto p = signe::decode<profile>(J(valid_profile), err);
    ASSERT_TRUE(p.has_value()) << err.summary();
    EXPECT_EQ(p->name, "Sam");
    EXPECT_EQ(p->age, 30);
    EXPECT_EQ(p->score, 1.5);
    EXPECT_FALSE(p->nickname.has_value());
    EXPECT_EQ(p->home.city, "Paris");
    EXPECT_EQ(p->tags, (std::vector<int>{1, 2}));
    EXPECT_EQ(p->others.at(0).city, "Lyon");
    EXPECT_TRUE(err.empty());
}

TEST(payload, extra_keys_are_ignored) {
    json::value v = J(valid_profile);
    v.as_object()["unexpected"] = 1;
    signe::validation_error err;
    EXPECT_TRUE(signe::decode<profile>(v, err).has_value());
}

TEST(payload, wrong_type) {
    EXPECT_EQ(
        issues_of(profile_with("score", R"("high")")),
        J(R"([{"code":"invalid_type","expected":"number","received":"string","path":["score"],
                     "message":"Expected number, received string"}])")
    );
    EXPECT_EQ(
        issues_of(profile_with("admin", "1")),
        J(R"([{"code":"invalid_type","expected":"boolean","received":"number","path":["admin"],
                     "message":"Expected boolean, received number"}])")
    );
    EXPECT_EQ(
        issues_of(profile_with("name", "null")),
        J(R"([{"code":"invalid_type","expected":"string","received":"null","path":["name"],
                     "message":"Expected string, received null"}])")
    );
}

TEST(payload, missing_required_field) {
    EXPECT_EQ(
        issues_of(profile_with("name", "")),
        J(R"([{"code":"invalid_type","expected":"string","received":"undefined","path":["name"],"message":"Required"}])"
        )
    );
}

TEST(payload, optional_field_may_be_absent_or_null_but_is_checked_when_present) {
    signe::validation_error err;
    auto with_null = signe::decode<profile>(profile_with("nickname", "null"), err);
    ASSERT_TRUE(with_null.has_value());
    EXPECT_FALSE(with_null->nickname.has_value());
    auto with_value = signe::decode<profile>(profile_with("nickname", R"("Sammy")"), err);
    ASSERT_TRUE(with_value.has_value());
    EXPECT_EQ(with_value->nickname, "Sammy");
    EXPECT_EQ(
        issues_of(profile_with("nickname", R"("")")),
        J(R"x([{"code":"too_small","minimum":1,"type":"string","inclusive":true,"exact":false,"path":["nickname"],
                     "message":"String must contain at least 1 character(s)"}])x")
    );
    EXPECT_EQ(issues_of(profile_with("nickname", "5")).at(0).at("code"), "invalid_type");
}

TEST(payload, number_bounds) {
    EXPECT_EQ(
        issues_of(profile_with("age", "-1")),
        J(R"([{"code":"too_small","minimum":0,"type":"number","inclusive":true,"exact":false,"path":["age"],
                     "message":"Number must be greater than or equal to 0"}])")
    );
    EXPECT_EQ(
        issues_of(profile_with("age", "151")),
        J(R"([{"code":"too_big","maximum":150,"type":"number","inclusive":true,"exact":false,"path":["age"],
                     "message":"Number must be less than or equal to 150"}])")
    );
    signe::validation_error err;
    EXPECT_TRUE(signe::decode<profile>(profile_with("age", "150"), err).has_value()
    );  // bounds are inclusive
    EXPECT_TRUE(signe::decode<profile>(profile_with("age", "0"), err).has_value());
}

TEST(payload, string_length) {
    EXPECT_EQ(
        issues_of(profile_with("name", R"("ab")")),
        J(R"x([{"code":"too_small","minimum":3,"type":"string","inclusive":true,"exact":false,"path":["name"],
                     "message":"String must contain at least 3 character(s)"}])x")
    );
    EXPECT_EQ(
        issues_of(profile_with("name", R"("abcdefghijk")")),
        J(R"x([{"code":"too_big","maximum":10,"type":"string","inclusive":true,"exact":false,"path":["name"],
                     "message":"String must contain at most 10 character(s)"}])x")
    );
}

TEST(payload, array_length) {
    EXPECT_EQ(
        issues_of(profile_with("tags", "[1,2,3,4]")),
        J(R"x([{"code":"too_big","maximum":3,"type":"array","inclusive":true,"exact":false,"path":["tags"],
                     "message":"Array must contain at most 3 element(s)"}])x")
    );
}

TEST(payload, enum_value) {
    EXPECT_EQ(
        issues_of(profile_with("color", R"("blue")")),
        J(R"([{"code":"invalid_enum_value","options":["red","green"],"received":"blue","path":["color"],
                     "message":"Invalid enum value. Expected 'red' | 'green', received 'blue'"}])")
    );
}

TEST(payload, custom_check) {
    EXPECT_EQ(
        issues_of(profile_with("login", R"("root")")),
        J(R"([{"code":"custom","path":["login"],"message":"Reserved login"}])")
    );
}

TEST(payload, nested_struct_paths) {
    EXPECT_EQ(
        issues_of(profile_with("home", R"({"city":""})")).at(0).at("path"), J(R"(["home","city"])")
    );
    EXPECT_EQ(
        issues_of(profile_with("home", "[]")),
        J(R"([{"code":"invalid_type","expected":"object","received":"array","path":["home"],
                     "message":"Expected object, received array"}])")
    );
}

TEST(payload, vector_element_paths) {
    EXPECT_EQ(
        issues_of(profile_with("tags", R"([1,"two"])")),
        J(R"([{"code":"invalid_type","expected":"number","received":"string","path":["tags",1],
                     "message":"Expected number, received string"}])")
    );
    EXPECT_EQ(
        issues_of(profile_with("others", R"([{"city":"A"},{}])")).at(0).at("path"),
        J(R"(["others",1,"city"])")
    );
    EXPECT_EQ(issues_of(profile_with("tags", R"({"0":1})")).at(0).at("expected"), "array");
}

TEST(payload, integer_fields_reject_fractions_but_accept_whole_floats) {
    EXPECT_EQ(
        issues_of(profile_with("age", "30.5")),
        J(R"([{"code":"invalid_type","expected":"integer","received":"float","path":["age"],
                     "message":"Expected integer, received float"}])")
    );
    signe::validation_error err;
    auto p = signe::decode<profile>(profile_with("age", "30.0"), err);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->age, 30);
}

TEST(payload, floating_fields_accept_integers) {
    signe::validation_error err;
    auto p = signe::decode<profile>(profile_with("score", "2"), err);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->score, 2.0);
}

TEST(payload, integers_out_of_the_member_range_are_rejected) {
    struct small {
        std::uint8_t level = 0;
        static auto fields() { return signe::fields(signe::field("level", &small::level)); }
    };
    signe::validation_error err;
    EXPECT_FALSE(signe::decode<small>(J(R"({"level":300})"), err).has_value());
    EXPECT_FALSE(signe::decode<small>(J(R"({"level":-1})"), err).has_value());
    signe::validation_error ok;
    EXPECT_EQ(signe::decode<small>(J(R"({"level":255})"), ok)->level, 255);
}

TEST(payload, every_issue_is_reported_at_once) {
    json::value v = J(
        R"({"name":"x","age":1.5,"score":"s","admin":false,"color":"blue","home":{"city":"P"},"tags":[],"others":[],"login":"ok"})"
    );
    json::value issues = issues_of(v);
    ASSERT_EQ(issues.as_array().size(), 4u);
    EXPECT_EQ(issues.at(0).at("path"), J(R"(["name"])"));
    EXPECT_EQ(issues.at(1).at("path"), J(R"(["age"])"));
    EXPECT_EQ(issues.at(2).at("path"), J(R"(["score"])"));
    EXPECT_EQ(issues.at(3).at("path"), J(R"(["color"])"));
}

TEST(payload, top_level_value_of_the_wrong_kind) {
    EXPECT_EQ(
        issues_of(J("[1]")),
        J(R"([{"code":"invalid_type","expected":"object","received":"array","path":[],"message":"Expected object, received array"}])"
        )
    );
    signe::validation_error err;
    EXPECT_FALSE(signe::decode<profile>(nullptr, err).has_value());
    EXPECT_EQ(
        signe_test::as_sent(err.to_json()),
        J(R"({"name":"ZodError","issues":[{"code":"invalid_type","expected":"object","received":"undefined","path":[],"message":"Required"}]})"
        )
    );
}

TEST(payload, scalar_and_container_payloads) {
    signe::validation_error err;
    EXPECT_EQ(signe::decode<std::string>(J(R"("hi")"), err), "hi");
    EXPECT_EQ(signe::decode<std::vector<double>>(J("[1,2.5]"), err), (std::vector<double>{1, 2.5}));
    EXPECT_EQ(
        signe::decode<std::optional<int>>(nullptr, err),
        std::optional<std::optional<int>>(std::optional<int>{})
    );
    EXPECT_EQ(signe::decode<json::value>(J(R"({"any":[1]})"), err), J(R"({"any":[1]})"));
    EXPECT_TRUE(err.empty());
    EXPECT_FALSE(signe::decode<int>(J(R"("1")"), err).has_value());
}

TEST(payload, summary_names_each_path) {
    signe::validation_error err;
    signe::decode<profile>(profile_with("home", R"({"city":5})"), err);
    EXPECT_EQ(err.summary(), "home.city: Expected string, received number");
}

// ---------------------------------------------------------------------------------------------
// Through a room: HTTP 400 with zod details, and silently dropped actions

class profile_room {
public:
    signe::synced<std::string> last_name{""};
    static auto fields() {
        return signe::fields(signe::field("lastName", &profile_room::last_name));
    }
    static void define(signe::room_spec<profile_room>& spec) {
        spec.path("profiles")
            .http(verb::post, "/profile", &profile_room::post_profile)
            .action("profile", &profile_room::set_profile);
    }
    json::value post_profile(signe::request&, const profile& p) { return {{"saved", p.name}}; }
    void set_profile(const profile& p) { last_name = p.name; }
};

TEST(payload_http, invalid_body_answers_400_with_every_issue) {
    room_harness<profile_room> h;
    auto res = h.request(
        verb::post,
        "/profile",
        signe::to_text(profile_with("age", "1.5")),
        {{"Content-Type", "application/json"}}
    );
    EXPECT_EQ(res.status_code(), 400);
    EXPECT_EQ(
        body_of(res),
        J(R"({"error":"Invalid request body","details":{"name":"ZodError","issues":[
        {"code":"invalid_type","expected":"integer","received":"float","path":["age"],"message":"Expected integer, received float"}]}})"
        )
    );
}

TEST(payload_http, valid_body_reaches_the_handler) {
    room_harness<profile_room> h;
    auto res = h.request(
        verb::post, "/profile", std::string(valid_profile), {{"Content-Type", "application/json"}}
    );
    EXPECT_EQ(res.status_code(), 200);
    EXPECT_EQ(body_of(res), J(R"({"saved":"Sam"})"));
}

TEST(payload_ws, invalid_action_payload_is_dropped_silently_and_counted) {
    room_harness<profile_room> h;
    auto& c = h.connect("c");
    c.clear();
    c.send("profile", profile_with("color", R"("blue")"));
    EXPECT_EQ(h.room().last_name.get(), "");
    EXPECT_TRUE(c.frames().empty());
    EXPECT_FALSE(c.closed());
    EXPECT_EQ(h.stats().invalid_payloads, 1u);
    c.send("profile", J(valid_profile));
    EXPECT_EQ(h.room().last_name.get(), "Sam");
}

TEST(payload_ws, missing_value_fails_a_required_payload) {
    room_harness<profile_room> h;
    h.connect("c").send("profile");
    EXPECT_EQ(h.stats().invalid_payloads, 1u);
}

}  // namespace

// The world admin guard: catalogue 7.2 (tests/room/world-guard.spec.ts) on check_admin, then the
// bad-input cases through the HTTP routes (forged x-access-shard, alg none, wrong signature,
// expired, no worlds claim, another world), each refused with 403 {"error":"Not permitted"}.

#include "world/world_fixture.hpp"
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace {

using namespace world_test;
using signe::base64url_encode;
using signe::request_info;
using signe::world::check_admin;

constexpr std::int64_t now_s = 1'800'000'000;

world_options guard_options() {
    world_options o;
    o.jwt_secret = "auth-secret";
    o.shard_secret = "shard-secret";
    return o;
}

std::string token_for(const json::value& worlds, std::string secret = "auth-secret") {
    signe::jwt_auth auth(std::move(secret), [] { return now_s; });
    json::object payload;
    if (!worlds.is_null()) {
        payload["worlds"] = worlds;
    }
    return auth.sign(payload);
}

// https://example.com/world with the given headers and query.
request_info req(
    std::vector<std::pair<std::string, std::string>> headers,
    std::vector<std::pair<std::string, std::string>> query = {}
) {
    request_info r;
    r.target = "/world";
    r.path = "/world";
    for (auto& [k, v] : headers) {
        r.headers.add(k, v);
    }
    for (auto& [k, v] : query) {
        r.query.add(k, v);
        r.target += (r.target.find('?') == std::string::npos ? "?" : "&") + k + "=" + v;
    }
    return r;
}

bool allowed(const request_info& r) {
    return check_admin(r, "world-default", guard_options(), now_s).allowed;
}

// catalogue 7.2 world-guard.spec: "accepts valid shard secret headers"
TEST(WorldGuardSpec, AcceptsValidShardSecretHeaders) {
    EXPECT_TRUE(allowed(req({{"x-access-shard", "shard-secret"}})));
}

// catalogue 7.2 world-guard.spec: "rejects invalid shard secret headers before checking auth
// tokens"
TEST(WorldGuardSpec, RejectsInvalidShardSecretHeadersBeforeCheckingAuthTokens) {
    EXPECT_FALSE(allowed(req(
        {{"x-access-shard", "wrong"}, {"authorization", token_for(json::array{"world-default"})}}
    )));
}

// catalogue 7.2 world-guard.spec: "rejects requests without any token"
TEST(WorldGuardSpec, RejectsRequestsWithoutAnyToken) {
    EXPECT_FALSE(allowed(req({})));
}

// catalogue 7.2 world-guard.spec: "accepts valid authorization header tokens"
TEST(WorldGuardSpec, AcceptsValidAuthorizationHeaderTokens) {
    EXPECT_TRUE(allowed(req({{"authorization", token_for(json::array{"world-default"})}})));
}

// catalogue 7.2 world-guard.spec: "accepts bearer authorization header tokens"
TEST(WorldGuardSpec, AcceptsBearerAuthorizationHeaderTokens) {
    EXPECT_TRUE(allowed(req({{"authorization", "Bearer " + token_for(json::array{"world-default"})}}
    )));
}

// catalogue 7.2 world-guard.spec: "accepts valid world auth query tokens"
TEST(WorldGuardSpec, AcceptsValidWorldAuthQueryTokens) {
    EXPECT_TRUE(allowed(req({}, {{"world-auth-token", token_for(json::array{"world-default"})}})));
}

// catalogue 7.2 world-guard.spec: "accepts wildcard world tokens"
TEST(WorldGuardSpec, AcceptsWildcardWorldTokens) {
    EXPECT_TRUE(allowed(req({{"authorization", token_for(json::array{"*"})}})));
}

// catalogue 7.2 world-guard.spec: "rejects tokens that do not include the requested world"
TEST(WorldGuardSpec, RejectsTokensThatDoNotIncludeTheRequestedWorld) {
    EXPECT_FALSE(allowed(req({{"authorization", token_for(json::array{"world-eu"})}})));
}

// catalogue 7.2 world-guard.spec: "rejects valid tokens without world grants"
TEST(WorldGuardSpec, RejectsValidTokensWithoutWorldGrants) {
    EXPECT_FALSE(allowed(req({{"authorization", token_for(nullptr)}})));
}

// catalogue 7.2 world-guard.spec: "rejects invalid JWT tokens"
TEST(WorldGuardSpec, RejectsInvalidJwtTokens) {
    EXPECT_FALSE(allowed(req({{"authorization", "not-a-token"}})));
}

TEST(WorldGuard, Details) {
    std::string good = token_for(json::array{"world-default"});
    // `bearer` in lower case is not the Bearer scheme: the whole value is taken as the token.
    EXPECT_FALSE(allowed(req({{"authorization", "bearer " + good}})));
    // An Authorization header masks the query token, as in the original.
    EXPECT_FALSE(allowed(req({{"authorization", "junk"}}, {{"world-auth-token", good}})));
    // An empty x-access-shard counts as absent.
    EXPECT_TRUE(allowed(req({{"x-access-shard", ""}, {"authorization", good}})));
    // A string worlds claim is not a list.
    EXPECT_FALSE(allowed(req({{"authorization", token_for("world-default")}})));
    // Reasons for logs.
    auto v = check_admin(
        req({{"authorization", token_for(json::array{"world-eu"})}}),
        "world-default",
        guard_options(),
        now_s
    );
    EXPECT_EQ(v.reason, "The token does not grant world world-default");
    // The secret compare is exact: a prefix or a longer value is refused.
    EXPECT_FALSE(allowed(req({{"x-access-shard", "shard-secre"}})));
    EXPECT_FALSE(allowed(req({{"x-access-shard", "shard-secret!"}})));
}

// ---- bad input through the routes: each refused with 403 {"error":"Not permitted"} ----

void expect_refused(world_harness& h, std::vector<std::pair<std::string, std::string>> headers) {
    auto r = h.request(
        verb::post,
        "/register-room",
        R"({"name":"r","balancingStrategy":"random","public":true,"maxPlayersPerShard":5,"minShards":1})",
        std::move(headers)
    );
    EXPECT_EQ(r.status_code(), 403) << r.body_text();
    EXPECT_EQ(r.body_text(), R"({"error":"Not permitted"})");
    EXPECT_FALSE(h.reg().room("r"));
    auto scale = h.request(
        verb::post, "/scale-room", R"({"roomId":"existing","targetShardCount":3})", headers
    );
    EXPECT_EQ(scale.status_code(), 403);
    auto update =
        h.request(verb::post, "/update-shard", R"({"shardId":"x","connections":1})", headers);
    EXPECT_EQ(update.status_code(), 403);
}

TEST(WorldBadInput, ForgedShardSecret) {
    world_harness h;
    expect_refused(h, {{"x-access-shard", "guess"}});
    expect_refused(h, {{"x-access-shard", "guess"}, {"authorization", h.token(json::array{"*"})}});
    expect_refused(h, {{"x-shard-id", "x"}});
}

TEST(WorldBadInput, AlgNone) {
    world_harness h;
    std::string none = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                       base64url_encode(R"({"worlds":["*"]})") + ".";
    expect_refused(h, {{"authorization", none}});
    expect_refused(h, {{"authorization", "Bearer " + none}});
}

TEST(WorldBadInput, WrongSignature) {
    world_harness h;
    expect_refused(h, {{"authorization", h.token(json::array{"*"}, "not-the-secret")}});
}

TEST(WorldBadInput, Expired) {
    world_harness h;
    std::string token = h.token(json::array{"*"});  // valid for one hour
    EXPECT_EQ(h.register_room("existing", 5, 1).status_code(), 200);
    h.advance(std::chrono::hours(1) + std::chrono::seconds(1));
    expect_refused(h, {{"authorization", token}});
}

TEST(WorldBadInput, MissingWorldsClaim) {
    world_harness h;
    expect_refused(h, {{"authorization", h.token(nullptr)}});
    expect_refused(h, {{"authorization", h.token(json::object{{"world-default", true}})}});
}

TEST(WorldBadInput, WorldNotInClaim) {
    world_harness h;
    expect_refused(h, {{"authorization", h.token(json::array{"world-eu", "world-default-2"})}});
}

TEST(WorldBadInput, QueryTokenIsAccepted) {
    world_harness h;
    auto r = h.request(
        verb::post,
        "/register-room?world-auth-token=" + h.token(json::array{"world-default"}),
        R"({"name":"q","balancingStrategy":"random","public":true,"maxPlayersPerShard":5,"minShards":1})"
    );
    EXPECT_EQ(r.status_code(), 200) << r.body_text();
}

}  // namespace

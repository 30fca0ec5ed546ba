// HS256 JSON Web Tokens (the original's JWTAuth, §3 of the world spec): signing, verification,
// refused algorithms, signatures, expiry, nbf, malformed tokens and base64url.

#include <gtest/gtest.h>

#include <signe/jwt.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace {

namespace json = signe::json;
using signe::base64url_decode;
using signe::base64url_encode;
using signe::jwt_auth;

constexpr std::int64_t t0 = 1'800'000'000;

struct fixed_clock {
    std::int64_t now = t0;
    jwt_auth::clock fn() {
        return [this] { return now; };
    }
};

// A token with any header and payload, signed (or not) with `secret`.
std::string forge(const json::object& header, const json::object& payload, const std::string& sig) {
    return base64url_encode(json::serialize(header)) + "." +
           base64url_encode(json::serialize(payload)) + "." + sig;
}

TEST(Jwt, SignsAndVerifiesARoundTrip) {
    fixed_clock clock;
    jwt_auth auth("test-secret", clock.fn());
    std::string token = auth.sign({{"worlds", json::array{"world-default"}}, {"sub", "admin"}});
    auto v = auth.verify(token);
    ASSERT_TRUE(v) << v.error;
    EXPECT_EQ(v.payload->at("sub"), "admin");
    EXPECT_EQ(v.payload->at("worlds").as_array().at(0), "world-default");
    EXPECT_EQ(v.payload->at("iat").to_number<std::int64_t>(), t0);
    EXPECT_EQ(v.payload->at("exp").to_number<std::int64_t>(), t0 + 3600);  // default 1 h
}

TEST(Jwt, HeaderIsHs256AndEncodingHasNoPadding) {
    jwt_auth auth("k");
    std::string token = auth.sign({{"a", 1}});
    EXPECT_EQ(token.find('='), std::string::npos);
    EXPECT_EQ(token.find('+'), std::string::npos);
    EXPECT_EQ(token.find('/'), std::string::npos);
    std::string header = token.substr(0, token.find('.'));
    EXPECT_EQ(*base64url_decode(header), R"({"alg":"HS256","typ":"JWT"})");
}

TEST(Jwt, VerifiesTheJwtIoExampleToken) {
    // The well-known example of jwt.io, signed by another implementation with
    // "your-256-bit-secret". It has no exp: such a token never expires, as in the original.
    const std::string token =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    fixed_clock clock;
    clock.now = 4'000'000'000;
    jwt_auth auth("your-256-bit-secret", clock.fn());
    auto v = auth.verify(token);
    ASSERT_TRUE(v) << v.error;
    EXPECT_EQ(v.payload->at("name"), "John Doe");
    EXPECT_EQ(
        jwt_auth("another-secret").verify(token).error,
        "Token verification failed: Invalid signature"
    );
    std::string tampered = token;
    tampered.back() = 'd';
    EXPECT_FALSE(auth.verify(tampered));
}

TEST(Jwt, CallerIatAndExpAreOverwritten) {
    fixed_clock clock;
    jwt_auth auth("s", clock.fn());
    auto v = auth.verify(auth.sign({{"iat", 1}, {"exp", 2}}, std::chrono::seconds(60)));
    ASSERT_TRUE(v) << v.error;
    EXPECT_EQ(v.payload->at("iat").to_number<std::int64_t>(), t0);
    EXPECT_EQ(v.payload->at("exp").to_number<std::int64_t>(), t0 + 60);
}

TEST(Jwt, ExpiresInStrings) {
    EXPECT_EQ(jwt_auth::parse_expires_in("30s"), std::chrono::seconds(30));
    EXPECT_EQ(jwt_auth::parse_expires_in("15m"), std::chrono::minutes(15));
    EXPECT_EQ(jwt_auth::parse_expires_in("1h"), std::chrono::hours(1));
    EXPECT_EQ(jwt_auth::parse_expires_in("7d"), std::chrono::hours(24 * 7));
    EXPECT_EQ(jwt_auth::parse_expires_in("90"), std::chrono::seconds(90));
    for (const char* bad : {"", "h", "1w", "-1h", "1.5h", "1 h"}) {
        try {
            (void)jwt_auth::parse_expires_in(bad);
            ADD_FAILURE() << bad;
        } catch (const std::invalid_argument& e) {
            EXPECT_EQ(
                std::string(e.what()),
                "Invalid expiresIn format. Use a number (seconds) or a string like \"1h\", "
                "\"30m\", etc."
            );
        }
    }
}

TEST(Jwt, EmptySecretIsRefused) {
    try {
        jwt_auth auth("");
        ADD_FAILURE();
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()), "Secret is required and must be a string");
    }
}

TEST(Jwt, ExpiredTokenIsRefused) {
    fixed_clock clock;
    jwt_auth auth("s", clock.fn());
    std::string token = auth.sign({{"worlds", json::array{"*"}}}, std::chrono::seconds(10));
    clock.now = t0 + 10;  // exp == now: still valid, as in the original
    EXPECT_TRUE(auth.verify(token));
    clock.now = t0 + 11;
    auto v = auth.verify(token);
    EXPECT_FALSE(v);
    EXPECT_EQ(v.error, "Token verification failed: Token has expired");
}

TEST(Jwt, NegativeLifetimeMakesAnExpiredToken) {
    fixed_clock clock;
    jwt_auth auth("s", clock.fn());
    auto v = auth.verify(auth.sign({}, std::chrono::seconds(-1)));
    EXPECT_EQ(v.error, "Token verification failed: Token has expired");
}

TEST(Jwt, NotBeforeIsHonoured) {
    fixed_clock clock;
    jwt_auth auth("s", clock.fn());
    std::string token = auth.sign({{"nbf", t0 + 100}});
    auto v = auth.verify(token);
    EXPECT_EQ(v.error, "Token verification failed: Token is not yet valid");
    clock.now = t0 + 100;
    EXPECT_TRUE(auth.verify(token));
}

TEST(Jwt, ExpZeroCountsAsAbsent) {
    // As the original: only a present, non-zero exp is checked.
    fixed_clock clock;
    jwt_auth auth("s", clock.fn());
    std::string token = auth.sign({}, std::chrono::seconds(-t0));  // exp == 0
    clock.now = t0 + 10'000'000;
    auto v = auth.verify(token);
    EXPECT_TRUE(v) << v.error;
}

TEST(Jwt, AlgNoneIsRefused) {
    jwt_auth auth("s");
    std::string token =
        forge({{"alg", "none"}, {"typ", "JWT"}}, {{"worlds", json::array{"*"}}}, "");
    auto v = auth.verify(token);
    EXPECT_FALSE(v);
    EXPECT_EQ(v.error, "Token verification failed: Unsupported algorithm: none");
}

TEST(Jwt, OtherAlgorithmsAreRefused) {
    jwt_auth auth("s");
    std::string good = auth.sign({{"a", 1}});
    std::string sig = good.substr(good.rfind('.') + 1);
    for (const char* alg : {"HS384", "HS512", "RS256", "hs256", "ES256"}) {
        auto v = auth.verify(forge({{"alg", alg}, {"typ", "JWT"}}, {{"a", 1}}, sig));
        EXPECT_EQ(v.error, std::string("Token verification failed: Unsupported algorithm: ") + alg);
    }
    auto missing = auth.verify(forge({{"typ", "JWT"}}, {{"a", 1}}, sig));
    EXPECT_EQ(missing.error, "Token verification failed: Unsupported algorithm: undefined");
}

TEST(Jwt, WrongSignatureIsRefused) {
    jwt_auth signer("other-secret");
    jwt_auth auth("test-secret");
    auto v = auth.verify(signer.sign({{"worlds", json::array{"*"}}}));
    EXPECT_FALSE(v);
    EXPECT_EQ(v.error, "Token verification failed: Invalid signature");
}

TEST(Jwt, ModifiedPayloadIsRefused) {
    jwt_auth auth("s");
    std::string token = auth.sign({{"worlds", json::array{"world-eu"}}});
    std::size_t a = token.find('.');
    std::size_t b = token.rfind('.');
    std::string forged = token.substr(0, a + 1) +
                         base64url_encode(R"({"worlds":["*"],"exp":9999999999})") + token.substr(b);
    EXPECT_EQ(auth.verify(forged).error, "Token verification failed: Invalid signature");
}

TEST(Jwt, ExpiredAndForgedReportsTheSignature) {
    // The signature is checked before claims: a forged token's exp is not trusted.
    fixed_clock clock;
    jwt_auth signer("other", clock.fn());
    jwt_auth auth("s", clock.fn());
    std::string token = signer.sign({}, std::chrono::seconds(-10));
    EXPECT_EQ(auth.verify(token).error, "Token verification failed: Invalid signature");
}

TEST(Jwt, MalformedTokensAreRefused) {
    jwt_auth auth("s");
    EXPECT_EQ(auth.verify("").error, "Token is required and must be a string");
    EXPECT_EQ(auth.verify("not-a-token").error, "Invalid token format");
    EXPECT_EQ(auth.verify("a.b").error, "Invalid token format");
    EXPECT_EQ(auth.verify("a.b.c.d").error, "Invalid token format");
    EXPECT_EQ(auth.verify("..").error, "Token verification failed: Malformed token");
    EXPECT_EQ(auth.verify("!!!.???.sig").error, "Token verification failed: Malformed token");
    std::string not_json = base64url_encode("{nope") + "." + base64url_encode("{}") + ".x";
    EXPECT_EQ(auth.verify(not_json).error, "Token verification failed: Malformed token");
    std::string array_payload =
        base64url_encode(R"({"alg":"HS256"})") + "." + base64url_encode("[1]") + ".x";
    EXPECT_EQ(auth.verify(array_payload).error, "Token verification failed: Malformed token");
    std::string padded = auth.sign({{"a", 1}}) + "=";
    EXPECT_EQ(auth.verify(padded).error, "Token verification failed: Invalid signature");
}

TEST(Jwt, NonNumericNbfIsRefused) {
    fixed_clock clock;
    jwt_auth auth("s", clock.fn());
    // sign() overwrites exp, so check the claim type through nbf, which sign() leaves alone.
    auto v = auth.verify(auth.sign({{"nbf", "soon"}}));
    EXPECT_EQ(v.error, "Token verification failed: Invalid nbf claim");
}

TEST(Base64Url, RoundTripsEveryLength) {
    std::string bytes;
    for (int i = 0; i < 64; ++i) {
        bytes.push_back(static_cast<char>(i * 37 + 11));
        auto back = base64url_decode(base64url_encode(bytes));
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, bytes);
    }
    EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
    EXPECT_FALSE(base64url_decode("abc="));  // padding
    EXPECT_FALSE(base64url_decode("a"));     // impossible length
    EXPECT_FALSE(base64url_decode("ab+/"));  // standard alphabet
    EXPECT_FALSE(base64url_decode("-_9"));   // non-zero trailing bits
}

}  // namespace

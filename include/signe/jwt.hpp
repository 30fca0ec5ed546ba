#pragma once

// JSON Web Tokens signed with HMAC-SHA-256 (the original's JWTAuth), on OpenSSL.
//
//     signe::jwt_auth auth{"secret"};
//     std::string token = auth.sign({{"worlds", {"*"}}}, std::chrono::hours(1));
//     signe::jwt_verification v = auth.verify(token);
//     if (!v) { log(v.error); }            // "Token verification failed: Token has expired"
//     else    { use(v.payload->at("worlds")); }
//
// Only HS256 is accepted ("none" and every other algorithm are refused), signatures are compared
// in constant time, `exp` and `nbf` (seconds since the epoch) are honoured. A token without `exp`
// never expires, as in the original.

#include <signe/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace signe {

// The result of jwt_auth::verify: the payload, or why the token was refused.
struct jwt_verification {
    std::optional<json::object> payload;
    std::string error;  // empty when the token is valid

    explicit operator bool() const { return payload.has_value(); }
};

class jwt_auth {
public:
    // Seconds since the epoch; the default reads the system clock. Tests pass a manual clock.
    using clock = std::function<std::int64_t()>;

    // Throws std::invalid_argument("Secret is required and must be a string") on an empty secret.
    explicit jwt_auth(std::string secret, clock now = {});

    // {"alg":"HS256","typ":"JWT"} and the payload plus `iat` (now) and `exp` (now + expires_in);
    // the caller's `iat` and `exp` are overwritten. A negative duration makes an expired token.
    std::string sign(json::object payload, std::chrono::seconds expires_in = std::chrono::hours(1))
        const;
    // The original's string form: "90", "30s", "15m", "1h", "7d". Throws std::invalid_argument
    // with the original's message on anything else.
    std::string sign(json::object payload, std::string_view expires_in) const;

    // Never throws. Errors, as the original words them:
    //   "Token is required and must be a string"          (empty token)
    //   "Invalid token format"                            (not three dot-separated parts)
    //   "Token verification failed: Malformed token"      (bad base64url or JSON, not objects)
    //   "Token verification failed: Unsupported algorithm: <alg>"
    //   "Token verification failed: Invalid signature"
    //   "Token verification failed: Token has expired"    (exp < now)
    //   "Token verification failed: Token is not yet valid" (nbf > now)
    //   "Token verification failed: Invalid exp claim" / "Invalid nbf claim" (not numbers)
    jwt_verification verify(std::string_view token) const;

    // "1h" -> 3600 s; throws std::invalid_argument with the original's message when malformed.
    static std::chrono::seconds parse_expires_in(std::string_view text);

private:
    std::int64_t now() const;

    std::string secret_;
    clock now_;
};

// base64url without padding (RFC 4648 §5), as JWTs use it.
std::string base64url_encode(std::string_view bytes);
// nullopt on characters outside the alphabet, padding, or an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace signe

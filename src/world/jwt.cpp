// HS256 JSON Web Tokens on OpenSSL's HMAC, with a constant-time signature comparison.

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <signe/jwt.hpp>

#include <array>
#include <stdexcept>

namespace signe {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

using digest = std::array<unsigned char, 32>;

std::optional<digest> hmac_sha256(std::string_view key, std::string_view data) {
    digest out{};
    unsigned int len = 0;
    const unsigned char* ok = HMAC(
        EVP_sha256(),
        key.data(),
        static_cast<int>(key.size()),
        reinterpret_cast<const unsigned char*>(data.data()),
        data.size(),
        out.data(),
        &len
    );
    if (ok == nullptr || len != out.size()) {
        return std::nullopt;
    }
    return out;
}

std::optional<json::object> parse_object(std::string_view encoded) {
    auto text = base64url_decode(encoded);
    if (!text) {
        return std::nullopt;
    }
    boost::system::error_code ec;
    json::value v = json::parse(*text, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    return std::move(v.get_object());
}

jwt_verification failure(std::string reason) {
    jwt_verification v;
    v.error = std::move(reason);
    return v;
}

jwt_verification failed(std::string_view reason) {
    return failure("Token verification failed: " + std::string(reason));
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char ch : bytes) {
        acc = (acc << 8) | static_cast<unsigned char>(ch);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(alphabet[(acc >> bits) & 0x3F]);
        }
    }
    if (bits > 0) {
        out.push_back(alphabet[(acc << (6 - bits)) & 0x3F]);
    }
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    if (text.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char ch : text) {
        int v = decode_char(ch);
        if (v < 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    // Leftover bits must be zero (canonical encoding).
    if (bits > 0 && (acc & ((1U << bits) - 1)) != 0) {
        return std::nullopt;
    }
    return out;
}

jwt_auth::jwt_auth(std::string secret, clock now)
    : secret_(std::move(secret)), now_(std::move(now)) {
    if (secret_.empty()) {
        throw std::invalid_argument("Secret is required and must be a string");
    }
}

std::int64_t jwt_auth::now() const {
    if (now_) {
        return now_();
    }
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

std::chrono::seconds jwt_auth::parse_expires_in(std::string_view text) {
    auto bad = [] {
        return std::invalid_argument(
            "Invalid expiresIn format. Use a number (seconds) or a string like \"1h\", \"30m\", "
            "etc."
        );
    };
    if (text.empty()) {
        throw bad();
    }
    std::int64_t unit = 1;
    std::string_view digits = text;
    switch (text.back()) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            unit = 0;
            break;
    }
    if (unit != 0) {
        digits.remove_suffix(1);
    } else {
        unit = 1;
    }
    if (digits.empty() || digits.size() > 12) {
        throw bad();
    }
    std::int64_t n = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') {
            throw bad();
        }
        n = n * 10 + (c - '0');
    }
    return std::chrono::seconds(n * unit);
}

std::string jwt_auth::sign(json::object payload, std::string_view expires_in) const {
    return sign(std::move(payload), parse_expires_in(expires_in));
}

std::string jwt_auth::sign(json::object payload, std::chrono::seconds expires_in) const {
    std::int64_t iat = now();
    payload.erase("iat");
    payload.erase("exp");
    payload["iat"] = iat;
    payload["exp"] = iat + expires_in.count();
    const json::object header{{"alg", "HS256"}, {"typ", "JWT"}};
    std::string signing_input =
        base64url_encode(to_text(header)) + "." + base64url_encode(to_text(payload));
    auto mac = hmac_sha256(secret_, signing_input);
    if (!mac) {
        throw std::runtime_error("jwt_auth: HMAC-SHA-256 failed");
    }
    return signing_input + "." +
           base64url_encode(
               std::string_view(reinterpret_cast<const char*>(mac->data()), mac->size())
           );
}

jwt_verification jwt_auth::verify(std::string_view token) const {
    if (token.empty()) {
        return failure("Token is required and must be a string");
    }
    std::size_t first = token.find('.');
    std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
        return failure("Invalid token format");
    }
    std::string_view header_part = token.substr(0, first);
    std::string_view payload_part = token.substr(first + 1, second - first - 1);
    std::string_view signature_part = token.substr(second + 1);

    auto header = parse_object(header_part);
    auto payload = parse_object(payload_part);
    if (!header || !payload) {
        return failed("Malformed token");
    }
    const json::value* alg = header->if_contains("alg");
    if (alg == nullptr || !alg->is_string() || alg->get_string() != "HS256") {
        std::string shown = alg == nullptr     ? std::string("undefined")
                            : alg->is_string() ? std::string(alg->get_string())
                                               : to_text(*alg);
        return failed("Unsupported algorithm: " + shown);
    }

    // The signature before any claim: claims of an unauthenticated token mean nothing.
    auto expected = hmac_sha256(secret_, token.substr(0, second));
    auto given = base64url_decode(signature_part);
    if (!expected || !given || given->size() != expected->size() ||
        CRYPTO_memcmp(given->data(), expected->data(), expected->size()) != 0) {
        return failed("Invalid signature");
    }

    std::int64_t t = now();
    if (const json::value* exp = payload->if_contains("exp")) {
        if (!exp->is_number()) {
            return failed("Invalid exp claim");
        }
        double e = exp->to_number<double>();
        if (e != 0 && e < static_cast<double>(t)) {
            return failed("Token has expired");
        }
    }
    if (const json::value* nbf = payload->if_contains("nbf")) {
        if (!nbf->is_number()) {
            return failed("Invalid nbf claim");
        }
        if (nbf->to_number<double>() > static_cast<double>(t)) {
            return failed("Token is not yet valid");
        }
    }
    jwt_verification ok;
    ok.payload = std::move(*payload);
    return ok;
}

}  // namespace signe

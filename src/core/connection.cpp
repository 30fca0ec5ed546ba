#include <sys/random.h>

#include <signe/connection.hpp>

#include <array>
#include <stdexcept>

namespace signe {

connection::connection(std::string id, request_info request)
    : id_(std::move(id)), request_(std::move(request)) {
    private_id_ = session_id_from_query(request_.query);
}

connection::~connection() = default;

namespace {
std::string trimmed(std::string_view s) {
    auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    auto last = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(first, last - first + 1));
}
}  // namespace

std::string session_id_from_query(const name_values& query) {
    for (const char* name : {"id", "_pk"}) {
        if (auto v = query.get(name)) {
            std::string id = trimmed(*v);
            if (!id.empty()) {
                return id;
            }
        }
    }
    return {};
}

std::string random_id(std::size_t length) {
    static constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    out.reserve(length);
    std::array<unsigned char, 64> bytes{};
    while (out.size() < length) {
        ssize_t got = getrandom(bytes.data(), bytes.size(), 0);
        if (got <= 0) {
            throw std::runtime_error("getrandom failed");
        }
        for (ssize_t i = 0; i < got && out.size() < length; ++i) {
            // 62 * 4 = 248: reject the top values so every character is equally likely.
            if (bytes[static_cast<std::size_t>(i)] < 248) {
                out.push_back(alphabet[bytes[static_cast<std::size_t>(i)] % alphabet.size()]);
            }
        }
    }
    return out;
}

}  // namespace signe

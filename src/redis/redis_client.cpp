#include <hiredis.h>
#include <poll.h>

#include <signe/redis.hpp>

#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

namespace signe {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
    auto count = std::max<std::chrono::milliseconds::rep>(ms.count(), 1);
    return timeval{
        .tv_sec = static_cast<time_t>(count / 1000),
        .tv_usec = static_cast<suseconds_t>((count % 1000) * 1000)};
}

int parse_int(
    std::string_view text, int min, int max, std::string_view what, std::string_view url
) {
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min ||
        value > max) {
        throw std::invalid_argument(
            "Invalid Redis URL \"" + std::string(url) + "\": bad " + std::string(what) + " \"" +
            std::string(text) + "\""
        );
    }
    return value;
}

// hiredis's message ("Connection refused"), starting in lower case.
std::string lower_first(const char* text) {
    std::string out = text != nullptr && *text != '\0' ? text : "unknown error";
    if (out.size() > 1 && std::isupper(static_cast<unsigned char>(out[0])) != 0 &&
        std::islower(static_cast<unsigned char>(out[1])) != 0) {
        out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
    }
    return out;
}

bool timed_out(int error_number) {
    return error_number == EAGAIN || error_number == EWOULDBLOCK || error_number == ETIMEDOUT ||
           error_number == EINPROGRESS;
}

redis_reply convert(const redisReply& raw) {
    redis_reply out;
    switch (raw.type) {
        case REDIS_REPLY_STRING:
            out.type = redis_reply::kind::string;
            out.str.assign(raw.str, raw.len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = redis_reply::kind::status;
            out.str.assign(raw.str, raw.len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = redis_reply::kind::error;
            out.str.assign(raw.str, raw.len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = redis_reply::kind::integer;
            out.integer = raw.integer;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = redis_reply::kind::array;
            out.elements.reserve(raw.elements);
            for (std::size_t i = 0; i < raw.elements; ++i) {
                out.elements.push_back(convert(*raw.element[i]));
            }
            break;
        default:
            out.type = redis_reply::kind::nil;
            break;
    }
    return out;
}

struct reply_deleter {
    void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

}  // namespace

std::string redis_endpoint::address() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string redis_endpoint::param(std::string_view name, std::string_view fallback) const {
    for (const auto& [key, value] : params) {
        if (key == name) {
            return value;
        }
    }
    return std::string(fallback);
}

redis_endpoint parse_redis_url(std::string_view url) {
    auto invalid = [&](std::string_view why) {
        return std::invalid_argument(
            "Invalid Redis URL \"" + std::string(url) + "\": " + std::string(why) +
            " (expected redis://[:password@]host[:port][/db])"
        );
    };
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) {
        throw invalid("not a URL");
    }
    const auto& u = *parsed;
    if (u.scheme() == "rediss") {
        throw invalid("TLS (rediss://) is not supported by this hiredis (0.14)");
    }
    if (u.scheme() != "redis") {
        throw invalid("the scheme must be redis://");
    }
    redis_endpoint out;
    if (!u.has_authority() || u.host_address().empty()) {
        throw invalid("no host");
    }
    out.host = u.host_address();
    if (u.has_port()) {
        out.port = parse_int(u.port(), 1, 65535, "port", url);
    }
    if (u.has_userinfo()) {
        out.user = u.user();
        out.password = u.password();
        if (!u.has_password() && !out.user.empty()) {
            // redis://password@host, as some clients accept it.
            out.password = std::exchange(out.user, {});
        }
    }
    std::string_view path = u.encoded_path();
    if (!path.empty() && path != "/") {
        out.db = parse_int(path.substr(1), 0, 1 << 20, "database number", url);
    }
    for (auto param : u.params()) {
        out.params.emplace_back(std::string(param.key), std::string(param.value));
    }
    return out;
}

const redis_reply& redis_reply::check() const {
    if (type == kind::error) {
        throw redis_error(redis_error::kind::reply, "redis: " + str);
    }
    return *this;
}

struct redis_client::impl {
    redis_options options;
    redis_endpoint endpoint;
    redisContext* context = nullptr;

    explicit impl(redis_options opts)
        : options(std::move(opts)), endpoint(parse_redis_url(options.url)) {}
    ~impl() { close(); }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    void close() {
        if (context != nullptr) {
            redisFree(context);
            context = nullptr;
        }
    }

    std::string where() const { return " (" + endpoint.address() + ")"; }

    // The error hiredis reported on the context (after saving errno), then the context closed.
    [[noreturn]] void fail(int error_number, std::string_view doing) {
        int err = context != nullptr ? context->err : REDIS_ERR_OTHER;
        std::string text = context != nullptr ? lower_first(context->errstr) : "out of memory";
        close();
        if (err == REDIS_ERR_IO && timed_out(error_number)) {
            throw redis_error(
                redis_error::kind::timeout,
                "redis: timed out after " +
                    std::to_string((doing == "connecting" ? options.connect_timeout
                                                          : options.command_timeout)
                                       .count()) +
                    " ms " + std::string(doing) + where()
            );
        }
        if (err == REDIS_ERR_EOF) {
            text = "connection closed by the server";
        }
        auto k =
            err == REDIS_ERR_PROTOCOL ? redis_error::kind::protocol : redis_error::kind::connection;
        throw redis_error(k, "redis: " + text + where());
    }

    // A connection that is readable while no reply is due was closed by Redis (it restarted,
    // CLIENT KILL, timeout): drop it, so that the next command goes on a new one.
    void drop_if_stale() {
        if (context == nullptr) {
            return;
        }
        pollfd fd{.fd = context->fd, .events = POLLIN, .revents = 0};
        if (::poll(&fd, 1, 0) != 0) {
            close();
        }
    }

    redis_reply raw_command(std::span<const std::string_view> arguments) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        argv.reserve(arguments.size());
        lengths.reserve(arguments.size());
        for (auto a : arguments) {
            argv.push_back(a.data());
            lengths.push_back(a.size());
        }
        errno = 0;
        reply_ptr reply(static_cast<redisReply*>(
            redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data())
        ));
        if (!reply) {
            fail(errno, "waiting for a reply");
        }
        return convert(*reply);
    }

    void open() {
        drop_if_stale();
        if (context != nullptr) {
            return;
        }
        errno = 0;
        context = redisConnectWithTimeout(
            endpoint.host.c_str(), endpoint.port, to_timeval(options.connect_timeout)
        );
        if (context == nullptr || context->err != 0) {
            fail(errno, "connecting");
        }
        if (redisSetTimeout(context, to_timeval(options.command_timeout)) != REDIS_OK) {
            fail(errno, "setting the timeout");
        }
        try {
            if (!endpoint.password.empty()) {
                std::vector<std::string_view> auth{"AUTH"};
                if (!endpoint.user.empty()) {
                    auth.emplace_back(endpoint.user);
                }
                auth.emplace_back(endpoint.password);
                auto reply = raw_command(auth);
                if (reply.is_error()) {
                    throw redis_error(
                        redis_error::kind::reply, "redis: AUTH refused: " + reply.str + where()
                    );
                }
            }
            if (endpoint.db != 0) {
                auto db = std::to_string(endpoint.db);
                std::array<std::string_view, 2> select{"SELECT", db};
                auto reply = raw_command(select);
                if (reply.is_error()) {
                    throw redis_error(
                        redis_error::kind::reply,
                        "redis: SELECT " + db + " refused: " + reply.str + where()
                    );
                }
            }
        } catch (...) {
            close();
            throw;
        }
    }

    std::vector<redis_reply> pipeline(const std::vector<std::vector<std::string>>& commands) {
        open();
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const auto& command : commands) {
            argv.clear();
            lengths.clear();
            for (const auto& a : command) {
                argv.push_back(a.data());
                lengths.push_back(a.size());
            }
            if (redisAppendCommandArgv(
                    context, static_cast<int>(argv.size()), argv.data(), lengths.data()
                ) != REDIS_OK) {
                fail(errno, "sending");
            }
        }
        std::vector<redis_reply> replies;
        replies.reserve(commands.size());
        for (std::size_t i = 0; i < commands.size(); ++i) {
            void* raw = nullptr;
            errno = 0;
            if (redisGetReply(context, &raw) != REDIS_OK || raw == nullptr) {
                fail(errno, "waiting for a reply");
            }
            reply_ptr reply(static_cast<redisReply*>(raw));
            replies.push_back(convert(*reply));
        }
        return replies;
    }
};

redis_client::redis_client(redis_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}
redis_client::~redis_client() = default;
redis_client::redis_client(redis_client&&) noexcept = default;
redis_client& redis_client::operator=(redis_client&&) noexcept = default;

void redis_client::connect() {
    impl_->open();
}

void redis_client::disconnect() {
    impl_->close();
}

bool redis_client::connected() const {
    return impl_->context != nullptr;
}

const redis_endpoint& redis_client::endpoint() const {
    return impl_->endpoint;
}

redis_reply redis_client::command(args arguments) {
    if (arguments.empty()) {
        throw std::invalid_argument("redis: empty command");
    }
    impl_->open();
    auto reply = impl_->raw_command(arguments);
    reply.check();
    return reply;
}

std::vector<redis_reply> redis_client::pipeline(
    const std::vector<std::vector<std::string>>& commands
) {
    if (commands.empty()) {
        return {};
    }
    return impl_->pipeline(commands);
}

std::vector<redis_reply> redis_client::transaction(
    const std::vector<std::vector<std::string>>& commands
) {
    std::vector<std::vector<std::string>> all;
    all.reserve(commands.size() + 2);
    all.push_back({"MULTI"});
    all.insert(all.end(), commands.begin(), commands.end());
    all.push_back({"EXEC"});
    auto replies = impl_->pipeline(all);
    replies.front().check();
    const auto& exec = replies.back();
    if (exec.is_error()) {
        // EXECABORT: name the command Redis refused to queue.
        for (std::size_t i = 1; i + 1 < replies.size(); ++i) {
            if (replies[i].is_error()) {
                throw redis_error(
                    redis_error::kind::reply,
                    "redis: transaction aborted, command " + std::to_string(i) + " (" +
                        commands[i - 1].front() + ") refused: " + replies[i].str
                );
            }
        }
        exec.check();
    }
    if (exec.is_nil()) {
        throw redis_error(
            redis_error::kind::reply, "redis: transaction aborted (a WATCHed key changed)"
        );
    }
    if (exec.type != redis_reply::kind::array) {
        throw redis_error(redis_error::kind::protocol, "redis: EXEC did not answer an array");
    }
    return exec.elements;
}

redis_reply redis_client::eval(redis_script& script, args keys, args arguments) {
    auto load = [&] {
        std::array<std::string_view, 3> load_args{"SCRIPT", "LOAD", script.source_};
        auto reply = command(load_args);
        if (reply.type != redis_reply::kind::string) {
            throw redis_error(
                redis_error::kind::protocol, "redis: SCRIPT LOAD did not answer a digest"
            );
        }
        script.sha1_ = reply.str;
    };
    if (script.sha1_.empty()) {
        load();
    }
    auto numkeys = std::to_string(keys.size());
    std::vector<std::string_view> all;
    all.reserve(3 + keys.size() + arguments.size());
    all.emplace_back("EVALSHA");
    all.emplace_back(script.sha1_);
    all.emplace_back(numkeys);
    all.insert(all.end(), keys.begin(), keys.end());
    all.insert(all.end(), arguments.begin(), arguments.end());
    impl_->open();
    auto reply = impl_->raw_command(all);
    if (reply.is_error() && reply.str.starts_with("NOSCRIPT")) {
        load();
        all[1] = script.sha1_;
        reply = impl_->raw_command(all);
    }
    reply.check();
    return reply;
}

}  // namespace signe

#pragma once

// A small blocking Redis client on hiredis (Debian Bookworm's 0.14.1): commands with timeouts,
// Lua scripts (EVALSHA, loaded again when Redis has forgotten them), pipelines and MULTI/EXEC,
// and automatic reconnection.
//
//     signe::redis_client redis({.url = "redis://127.0.0.1:6379/0"});
//     redis.command({"SET", "greeting", "hello"});
//     auto reply = redis.command({"GET", "greeting"});  // reply.str == "hello"
//
// Threading: a redis_client is one connection and must be used by one thread at a time (it has
// no lock of its own). Calls block for at most the connect timeout plus the command timeout.
// Give each thread its own client, or guard a shared one with a mutex.
//
// Connection: opened lazily by the first call (or eagerly by connect()), then AUTH and SELECT
// as the URL says. A connection that broke (Redis restarted, the socket was closed, a timeout)
// is dropped, and the next call opens a new one. A command is never sent twice: when the
// connection breaks while a command is in flight the call throws, because Redis may have run it.
// Before sending, an idle connection that Redis already closed (it is readable while no reply is
// due) is replaced first, so the first call after a Redis restart succeeds.
//
// Errors: every failure throws redis_error with a readable message naming the server, e.g.
// "redis: connection refused (127.0.0.1:6390)", "redis: timed out after 5000 ms waiting for a
// reply (127.0.0.1:6390)" or, for an error reply, "redis: ERR unknown command 'NOPE'".
// redis_error::kind() tells connection trouble (worth retrying later) from refused commands.

#include <chrono>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace signe {

// Where Redis is: redis://[[user]:password@]host[:port][/db][?prefix=...]. The default port is
// 6379 and the default database 0; user and password are percent-decoded. Query parameters are
// kept for the caller (redis_storage reads `prefix`). rediss:// (TLS) is refused: hiredis 0.14
// has no TLS.
struct redis_endpoint {
    std::string host = "127.0.0.1";
    int port = 6379;
    int db = 0;
    std::string user;      // Redis 6 ACL user, with AUTH user password
    std::string password;  // AUTH password when not empty
    std::vector<std::pair<std::string, std::string>> params;

    // host:port, for messages.
    std::string address() const;
    // The value of a query parameter, or `fallback`.
    std::string param(std::string_view name, std::string_view fallback = {}) const;
};

// Parses a redis:// URL. Throws std::invalid_argument with a readable message.
redis_endpoint parse_redis_url(std::string_view url);

struct redis_options {
    std::string url = "redis://127.0.0.1:6379";
    // Opening the TCP connection (and AUTH/SELECT).
    std::chrono::milliseconds connect_timeout{2000};
    // Sending a command and waiting for its reply.
    std::chrono::milliseconds command_timeout{5000};
};

class redis_error : public std::runtime_error {
public:
    enum class kind {
        connection,  // could not connect, or the connection broke (refused, reset, closed)
        timeout,     // no connection or no reply in time
        reply,       // Redis answered with an error (ERR, WRONGTYPE, NOSCRIPT, ...)
        protocol,    // an unexpected reply
    };
    redis_error(kind k, const std::string& message) : std::runtime_error(message), kind_(k) {}
    kind error_kind() const { return kind_; }
    // Connection trouble or a timeout: the command may work again once Redis is back.
    bool unavailable() const { return kind_ == kind::connection || kind_ == kind::timeout; }

private:
    kind kind_;
};

// A reply, copied out of hiredis.
struct redis_reply {
    enum class kind { string, array, integer, nil, status, error };
    kind type = kind::nil;
    std::string str;  // string, status and error replies
    long long integer = 0;
    std::vector<redis_reply> elements;  // array replies

    bool is_nil() const { return type == kind::nil; }
    bool is_error() const { return type == kind::error; }
    // Throws redis_error (kind reply) when this is an error reply.
    const redis_reply& check() const;
};

// A Lua script, loaded into Redis on first use and run by EVALSHA afterwards.
class redis_script {
public:
    explicit redis_script(std::string source) : source_(std::move(source)) {}
    const std::string& source() const { return source_; }

private:
    friend class redis_client;
    std::string source_;
    std::string sha1_;  // known after the first SCRIPT LOAD
};

class redis_client {
public:
    using args = std::span<const std::string_view>;

    // Parses the URL (std::invalid_argument when it is wrong); does not connect yet.
    explicit redis_client(redis_options options);
    ~redis_client();
    redis_client(redis_client&&) noexcept;
    redis_client& operator=(redis_client&&) noexcept;
    redis_client(const redis_client&) = delete;
    redis_client& operator=(const redis_client&) = delete;

    // Connects now unless connected; throws redis_error when Redis cannot be reached.
    void connect();
    // Closes the connection; the next call opens a new one.
    void disconnect();
    bool connected() const;
    const redis_endpoint& endpoint() const;

    // One command; an error reply throws redis_error (kind reply). Arguments are binary-safe.
    redis_reply command(args arguments);
    redis_reply command(std::initializer_list<std::string_view> arguments) {
        return command(args(arguments.begin(), arguments.size()));
    }

    // Several commands in one round trip; error replies are returned, not thrown.
    std::vector<redis_reply> pipeline(const std::vector<std::vector<std::string>>& commands);

    // MULTI, the commands, EXEC: Redis runs them together, with no other client's command in
    // between. Returns EXEC's replies (an error reply of one command is returned, not thrown:
    // Redis runs the others anyway). A command Redis refuses to queue aborts the whole
    // transaction and throws.
    std::vector<redis_reply> transaction(const std::vector<std::vector<std::string>>& commands);

    // EVALSHA of the script, loading it first when this client has not yet, and again when
    // Redis answers NOSCRIPT (after a restart or SCRIPT FLUSH). An error reply throws.
    redis_reply eval(redis_script& script, args keys, args arguments);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace signe

// redis_client against a real redis-server of its own: URLs, commands, scripts, transactions,
// timeouts, and what happens when Redis goes away and comes back.

#include "redis_server.hpp"
#include <gtest/gtest.h>

#include <signe/redis.hpp>

#include <chrono>

namespace signe {
namespace {

using namespace std::chrono_literals;
using redis_test::redis_server;

template <class F>
std::string what_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no exception)";
}

TEST(RedisUrl, ParsesHostPortDatabaseAndPassword) {
    auto e = parse_redis_url("redis://10.0.0.5:6390/3");
    EXPECT_EQ(e.host, "10.0.0.5");
    EXPECT_EQ(e.port, 6390);
    EXPECT_EQ(e.db, 3);
    EXPECT_EQ(e.password, "");
    EXPECT_EQ(e.address(), "10.0.0.5:6390");

    auto d = parse_redis_url("redis://localhost");
    EXPECT_EQ(d.host, "localhost");
    EXPECT_EQ(d.port, 6379);
    EXPECT_EQ(d.db, 0);

    auto p = parse_redis_url("redis://:s%40cret@127.0.0.1:7000/0?prefix=game");
    EXPECT_EQ(p.user, "");
    EXPECT_EQ(p.password, "s@cret");
    EXPECT_EQ(p.param("prefix"), "game");
    EXPECT_EQ(p.param("missing", "x"), "x");

    auto u = parse_redis_url("redis://app:pw@[::1]:7001");
    EXPECT_EQ(u.user, "app");
    EXPECT_EQ(u.password, "pw");
    EXPECT_EQ(u.host, "::1");
    EXPECT_EQ(u.address(), "[::1]:7001");
}

TEST(RedisUrl, RefusesWhatItCannotUseWithAReason) {
    EXPECT_NE(what_of([] { parse_redis_url("http://x"); }).find("redis://"), std::string::npos);
    EXPECT_NE(what_of([] { parse_redis_url("rediss://x"); }).find("TLS"), std::string::npos);
    EXPECT_NE(what_of([] { parse_redis_url("redis://x:0"); }).find("bad port"), std::string::npos);
    EXPECT_NE(
        what_of([] { parse_redis_url("redis://x/abc"); }).find("bad database number"),
        std::string::npos
    );
    EXPECT_THROW(parse_redis_url("redis://"), std::invalid_argument);
    EXPECT_THROW(parse_redis_url("not a url"), std::invalid_argument);
}

class RedisClientTest : public ::testing::Test {
protected:
    redis_server server;
    redis_client client{{.url = server.url()}};
};

TEST_F(RedisClientTest, RunsCommandsWithBinarySafeArguments) {
    std::string binary("a\0b\xff", 4);
    EXPECT_EQ(client.command({"SET", "k", binary}).str, "OK");
    auto reply = client.command({"GET", "k"});
    EXPECT_EQ(reply.type, redis_reply::kind::string);
    EXPECT_EQ(reply.str, binary);
    EXPECT_TRUE(client.command({"GET", "missing"}).is_nil());
    EXPECT_EQ(client.command({"INCRBY", "n", "5"}).integer, 5);
    client.command({"RPUSH", "l", "x", "y"});
    auto list = client.command({"LRANGE", "l", "0", "-1"});
    ASSERT_EQ(list.type, redis_reply::kind::array);
    ASSERT_EQ(list.elements.size(), 2u);
    EXPECT_EQ(list.elements[1].str, "y");
}

TEST_F(RedisClientTest, AnErrorReplyThrowsWithRedisMessage) {
    try {
        client.command({"NOPE"});
        FAIL() << "no exception";
    } catch (const redis_error& e) {
        EXPECT_EQ(e.error_kind(), redis_error::kind::reply);
        EXPECT_FALSE(e.unavailable());
        EXPECT_TRUE(std::string(e.what()).starts_with("redis: ERR unknown command")) << e.what();
    }
    // The connection is still good.
    EXPECT_EQ(client.command({"PING"}).str, "PONG");
}

TEST_F(RedisClientTest, EvalLoadsAScriptAndLoadsItAgainAfterAFlush) {
    redis_script script("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}");
    std::array<std::string_view, 1> keys{"counter"};
    std::array<std::string_view, 1> args{"hello"};
    auto first = client.eval(script, keys, args);
    ASSERT_EQ(first.elements.size(), 3u);
    EXPECT_EQ(first.elements[0].str, "counter");
    EXPECT_EQ(first.elements[1].str, "hello");
    EXPECT_EQ(first.elements[2].integer, 1);
    client.command({"SCRIPT", "FLUSH"});  // as after a Redis restart: NOSCRIPT, then loaded again
    EXPECT_EQ(client.eval(script, keys, args).elements[2].integer, 2);

    redis_script failing("return redis.error_reply('BAD nope')");
    EXPECT_EQ(what_of([&] { client.eval(failing, {}, {}); }), "redis: BAD nope");
}

TEST_F(RedisClientTest, TransactionsRunTogetherAndReportEachReply) {
    auto replies = client.transaction({{"SET", "a", "1"}, {"INCR", "a"}, {"GET", "a"}});
    ASSERT_EQ(replies.size(), 3u);
    EXPECT_EQ(replies[0].str, "OK");
    EXPECT_EQ(replies[1].integer, 2);
    EXPECT_EQ(replies[2].str, "2");

    // A runtime error of one command is returned; Redis runs the others.
    auto mixed = client.transaction({{"SET", "s", "x"}, {"INCR", "s"}, {"SET", "t", "y"}});
    EXPECT_TRUE(mixed[1].is_error());
    EXPECT_EQ(server.call({"GET", "t"}), "y");

    // A command Redis refuses to queue aborts the whole transaction.
    auto message = what_of([&] { client.transaction({{"SET", "u", "1"}, {"SET", "u"}}); });
    EXPECT_NE(message.find("transaction aborted, command 2 (SET) refused"), std::string::npos)
        << message;
    EXPECT_EQ(server.call({"GET", "u"}), "(nil)");
}

TEST_F(RedisClientTest, PipelinesReturnEveryReplyInOrder) {
    auto replies = client.pipeline({{"SET", "p", "1"}, {"NOPE"}, {"GET", "p"}});
    ASSERT_EQ(replies.size(), 3u);
    EXPECT_EQ(replies[0].str, "OK");
    EXPECT_TRUE(replies[1].is_error());
    EXPECT_EQ(replies[2].str, "1");
}

TEST(RedisClient, SelectsTheDatabaseOfTheUrl) {
    redis_server server;
    redis_client one{{.url = server.url() + "/1"}};
    redis_client two{{.url = server.url() + "/2"}};
    one.command({"SET", "k", "one"});
    two.command({"SET", "k", "two"});
    EXPECT_EQ(one.command({"GET", "k"}).str, "one");
    EXPECT_EQ(two.command({"GET", "k"}).str, "two");
    EXPECT_EQ(server.call({"GET", "k"}), "(nil)");  // database 0
}

TEST(RedisClient, AuthenticatesWithThePasswordOfTheUrl) {
    redis_server server({"--requirepass", "s@cret"});
    redis_client good{{.url = "redis://:s%40cret@127.0.0.1:" + std::to_string(server.port())}};
    EXPECT_EQ(good.command({"PING"}).str, "PONG");

    redis_client none{{.url = server.url()}};
    auto message = what_of([&] { none.command({"GET", "k"}); });
    EXPECT_NE(message.find("NOAUTH"), std::string::npos) << message;

    redis_client wrong{{.url = "redis://:nope@127.0.0.1:" + std::to_string(server.port())}};
    message = what_of([&] { wrong.connect(); });
    EXPECT_NE(message.find("redis: AUTH refused"), std::string::npos) << message;
    EXPECT_FALSE(wrong.connected());
}

TEST(RedisClient, SaysConnectionRefusedWhenRedisIsDownAndRecoversWhenItReturns) {
    redis_server server;
    redis_client client{{.url = server.url()}};
    client.command({"SET", "k", "v"});
    server.stop();

    auto address = "127.0.0.1:" + std::to_string(server.port());
    try {
        client.command({"GET", "k"});
        FAIL() << "no exception";
    } catch (const redis_error& e) {
        EXPECT_TRUE(e.unavailable());
        EXPECT_EQ(std::string(e.what()), "redis: connection refused (" + address + ")");
    }
    EXPECT_FALSE(client.connected());
    // Still down: the same clear error, every time.
    EXPECT_EQ(
        what_of([&] { client.command({"PING"}); }), "redis: connection refused (" + address + ")"
    );

    server.start();  // same port; nothing was saved
    EXPECT_TRUE(client.command({"GET", "k"}).is_nil());
    EXPECT_EQ(client.command({"PING"}).str, "PONG");
    EXPECT_TRUE(client.connected());
}

TEST(RedisClient, ReconnectsByItselfAfterRedisClosedAnIdleConnection) {
    redis_server server;
    redis_client client{{.url = server.url()}};
    client.command({"CLIENT", "SETNAME", "victim"});
    server.call({"CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal"});
    // The killed connection is noticed before sending: this command is not lost.
    EXPECT_EQ(client.command({"SET", "after", "1"}).str, "OK");
    EXPECT_EQ(server.call({"GET", "after"}), "1");
    EXPECT_TRUE(client.command({"CLIENT", "GETNAME"}).is_nil());  // a new connection
}

TEST(RedisClient, TimesOutWhenRedisDoesNotAnswer) {
    redis_server server;
    redis_client client{{.url = server.url(), .command_timeout = 200ms}};
    client.command({"PING"});
    server.pause();
    auto started = std::chrono::steady_clock::now();
    try {
        client.command({"PING"});
        ADD_FAILURE() << "no exception";
    } catch (const redis_error& e) {
        EXPECT_EQ(e.error_kind(), redis_error::kind::timeout);
        EXPECT_EQ(
            std::string(e.what()),
            "redis: timed out after 200 ms waiting for a reply (127.0.0.1:" +
                std::to_string(server.port()) + ")"
        );
    }
    auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_GE(waited, 150ms);
    EXPECT_LT(waited, 3s);
    server.resume();
    EXPECT_EQ(client.command({"PING"}).str, "PONG");
}

TEST(RedisClient, ConnectsLazilyAndExplainsAnUnknownHost) {
    redis_client client{{.url = "redis://no-such-host.invalid:6379", .connect_timeout = 500ms}};
    EXPECT_FALSE(client.connected());
    auto message = what_of([&] { client.connect(); });
    EXPECT_TRUE(message.starts_with("redis: ")) << message;
    EXPECT_NE(message.find("(no-such-host.invalid:6379)"), std::string::npos) << message;
}

}  // namespace
}  // namespace signe

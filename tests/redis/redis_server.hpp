#pragma once

// A private redis-server for a test: a free loopback port, a scratch directory, nothing saved
// (--save "" --appendonly no unless told otherwise). start() returns once the server logged
// "Ready to accept connections" and answered PING; stop() sends SIGTERM and waits for the exit;
// pause()/resume() freeze it with SIGSTOP/SIGCONT (a server that accepts but never answers).
//
//     signe::redis_test::redis_server redis;   // started
//     redis.url()                               // "redis://127.0.0.1:<port>"
//     redis.stop(); redis.start();              // same port, same directory
//
// The program is $SIGNE_REDIS_SERVER, else redis-server from PATH.

#include <fcntl.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace signe::redis_test {

// A port that was free a moment ago (the kernel's pick for port 0 on loopback).
inline int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        if (fd >= 0) {
            ::close(fd);
        }
        throw std::runtime_error("free_port: cannot bind a loopback socket");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

class redis_server {
public:
    // extra: more redis-server arguments (e.g. {"--requirepass", "pw"}).
    explicit redis_server(std::vector<std::string> extra = {}, bool start_now = true)
        : extra_(std::move(extra)) {
        auto pattern = (std::filesystem::temp_directory_path() / "signe-redis-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        dir_ = pattern;
        if (start_now) {
            start();
        }
    }
    ~redis_server() {
        try {
            stop();
        } catch (...) {
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    int port() const { return port_; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    bool running() const { return pid_ > 0; }
    const std::filesystem::path& dir() const { return dir_; }

    // Starts the server: on a new free port the first time, on the same port afterwards. A port
    // taken in between (the server exits with "Address already in use") is replaced the first
    // time only.
    void start() {
        if (pid_ > 0) {
            return;
        }
        bool first = port_ == 0;
        for (int attempt = 0;; ++attempt) {
            if (first) {
                port_ = free_port();
            }
            if (launch()) {
                return;
            }
            if (!first || attempt >= 5) {
                throw std::runtime_error("redis-server did not start:\n" + log());
            }
        }
    }

    // SIGTERM and wait for the exit.
    void stop() {
        if (pid_ <= 0) {
            return;
        }
        ::kill(pid_, SIGCONT);
        ::kill(pid_, SIGTERM);
        reap();
    }

    // SIGKILL and wait for the exit.
    void kill() {
        if (pid_ <= 0) {
            return;
        }
        ::kill(pid_, SIGKILL);
        reap();
    }

    void pause() { ::kill(pid_, SIGSTOP); }
    void resume() { ::kill(pid_, SIGCONT); }

    // Everything the server printed so far.
    std::string log() const {
        std::lock_guard lock(mutex_);
        return output_;
    }

    // One command on a fresh connection, for checks from the side; the reply as text
    // (strings, status, errors and integers; arrays as their elements joined by ',').
    std::string call(const std::vector<std::string>& args) const {
        timeval tv{5, 0};
        redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
        if (c == nullptr || c->err != 0) {
            std::string message = c != nullptr ? c->errstr : "out of memory";
            redisFree(c);
            throw std::runtime_error("redis_server::call: " + message);
        }
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lengths.push_back(a.size());
        }
        auto* reply = static_cast<redisReply*>(
            redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data())
        );
        if (reply == nullptr) {
            std::string message = c->errstr;
            redisFree(c);
            throw std::runtime_error("redis_server::call: " + message);
        }
        std::string out = text_of(*reply);
        freeReplyObject(reply);
        redisFree(c);
        return out;
    }

private:
    static std::string text_of(const redisReply& r) {
        switch (r.type) {
            case REDIS_REPLY_INTEGER:
                return std::to_string(r.integer);
            case REDIS_REPLY_NIL:
                return "(nil)";
            case REDIS_REPLY_ARRAY: {
                std::string out;
                for (std::size_t i = 0; i < r.elements; ++i) {
                    out += (i == 0 ? "" : ",") + text_of(*r.element[i]);
                }
                return out;
            }
            default:
                return std::string(r.str, r.len);
        }
    }

    // Starts the process and waits until it is ready (true) or has exited (false).
    bool launch() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe failed");
        }
        const char* program = std::getenv("SIGNE_REDIS_SERVER");
        std::string binary = program != nullptr && *program != '\0' ? program : "redis-server";
        std::vector<std::string> args{
            binary,
            "--port",
            std::to_string(port_),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir_.string(),
            "--daemonize",
            "no",
            "--logfile",
            "",
        };
        args.insert(args.end(), extra_.begin(), extra_.end());
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        pid_t pid = ::fork();
        if (pid < 0) {
            throw std::runtime_error("fork failed");
        }
        if (pid == 0) {
            ::dup2(fds[1], STDOUT_FILENO);
            ::dup2(fds[1], STDERR_FILENO);
            ::execvp(argv[0], argv.data());
            std::string message = "cannot run " + binary + "\n";
            (void)!::write(STDERR_FILENO, message.data(), message.size());
            ::_exit(127);
        }
        ::close(fds[1]);
        pid_ = pid;
        {
            std::lock_guard lock(mutex_);
            output_.clear();
            eof_ = false;
        }
        reader_ = std::thread([this, fd = fds[0]] {
            char buffer[4096];
            for (;;) {
                auto n = ::read(fd, buffer, sizeof buffer);
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                std::lock_guard lock(mutex_);
                if (n <= 0) {
                    eof_ = true;
                    changed_.notify_all();
                    break;
                }
                output_.append(buffer, static_cast<std::size_t>(n));
                changed_.notify_all();
            }
            ::close(fd);
        });
        bool ready = false;
        {
            std::unique_lock lock(mutex_);
            ready = changed_.wait_for(lock, std::chrono::seconds(20), [&] {
                return eof_ || output_.find("Ready to accept connections") != std::string::npos;
            });
            ready = ready && !eof_;
        }
        if (!ready) {
            kill();
            return false;
        }
        auto pong = call({"PING"});
        if (pong != "PONG" && pong.find("NOAUTH") == std::string::npos) {
            throw std::runtime_error("redis-server does not answer PING:\n" + log());
        }
        return true;
    }

    void reap() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        if (reader_.joinable()) {
            reader_.join();
        }
    }

    std::vector<std::string> extra_;
    std::filesystem::path dir_;
    int port_ = 0;
    pid_t pid_ = -1;
    std::thread reader_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::string output_;
    bool eof_ = false;
};

}  // namespace signe::redis_test

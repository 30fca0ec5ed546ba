#include "fake_server.hpp"

#include "ws_frames.hpp"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace signe::loadtest {
namespace {

constexpr std::size_t flood_chunk_bytes = 64 * 1024;

std::string pid_of(std::size_t i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "P%07zu", i);
    return buf;
}

// Move frames for every client in turn, as a real server would fan them out.
std::string flood_chunk(std::size_t clients) {
    std::string chunk;
    for (std::size_t i = 0; chunk.size() < flood_chunk_bytes; ++i) {
        std::string text = R"({"type":"sync","value":{"players":{")" + pid_of(i % clients) +
                           R"(":{"x":)" + std::to_string(i) + R"(,"y":)" +
                           std::to_string(1000000 + i) + "}}}}";
        append_server_frame(chunk, opcode::text, text);
    }
    return chunk;
}

bool write_all(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

bool read_request(int fd) {
    std::string in;
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            return false;
        }
        in.append(buf, static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

fake_server::fake_server(std::size_t clients) : clients_(clients) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, SOMAXCONN) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        throw std::runtime_error("fake_server: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

fake_server::~fake_server() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
}

void fake_server::serve() {
    std::vector<int> sockets;
    for (std::size_t i = 0; i < clients_ && !stopping_; ++i) {
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) {
            break;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::string answer =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        append_server_frame(
            answer,
            opcode::text,
            R"({"type":"sync","value":{"pId":")" + pid_of(i) + R"(","players":{}}})"
        );
        if (!read_request(fd) || !write_all(fd, answer)) {
            ::close(fd);
            continue;
        }
        sockets.push_back(fd);
    }
    std::string chunk = flood_chunk(clients_);
    while (!stopping_) {
        if (!flooding_) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            continue;
        }
        for (int fd : sockets) {
            if (stopping_ || !write_all(fd, chunk)) {
                break;
            }
        }
    }
    for (int fd : sockets) {
        ::close(fd);
    }
}

}  // namespace signe::loadtest

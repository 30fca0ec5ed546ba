// Built against the installed package: a room tested in-process, then served on a free port.
#include <signe/server.hpp>
#include <signe/testing.hpp>

#include <cstdio>
#include <thread>

namespace {

struct visit_msg {
    std::string name;
    static auto fields() {
        return signe::fields(signe::field("name", &visit_msg::name).length(1, 20));
    }
};

class guestbook {
public:
    signe::synced_vector<std::string> names;
    static auto fields() { return signe::fields(signe::field("names", &guestbook::names)); }
    static void define(signe::room_spec<guestbook>& spec) {
        spec.path("book").action("sign", &guestbook::sign);
    }
    void sign(const visit_msg& msg) { names.push_back(msg.name); }
};

}  // namespace

int main() {
    signe::testing::room_harness<guestbook> h;
    auto& alice = h.connect("alice");
    alice.send("sign", {{"name", "Alice"}});
    alice.send("sign", {{"name", ""}});  // refused by validation
    if (h.room().names.size() != 1 || alice.frames().size() != 2) {
        std::puts("unexpected room behaviour");
        return 1;
    }

    signe::server_config config;
    config.address = "127.0.0.1";
    config.port = 0;
    config.threads = 1;
    signe::server server{config};
    server.add_room<guestbook>();
    auto port = server.listen();
    std::thread runner([&] { server.run(); });
    server.stop();
    runner.join();
    std::printf("consumer ok (served on port %u)\n", static_cast<unsigned>(port));
    return 0;
}

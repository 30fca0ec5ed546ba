// The load generator's own parsing: WebSocket frames, frame scanning, the histogram.

#include "frame_scanner.hpp"
#include "histogram.hpp"
#include "ws_frames.hpp"
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace signe::loadtest;

TEST(ws_frames, parses_the_three_length_forms_and_waits_for_whole_frames) {
    for (std::size_t size : {5u, 125u, 126u, 65535u, 65536u, 70000u}) {
        std::string wire;
        std::string payload(size, 'a');
        append_server_frame(wire, opcode::text, payload);
        frame_view f;
        std::size_t used = 0;
        for (std::size_t cut = 0; cut < wire.size(); cut += 1 + wire.size() / 7) {
            EXPECT_EQ(
                parse_frame(std::string_view(wire).substr(0, cut), f, used, 1 << 20),
                parse_status::incomplete
            );
        }
        ASSERT_EQ(parse_frame(wire, f, used, 1 << 20), parse_status::ok);
        EXPECT_EQ(used, wire.size());
        EXPECT_EQ(f.payload.size(), size);
        EXPECT_EQ(f.op, opcode::text);
        EXPECT_TRUE(f.fin);
    }
}

TEST(ws_frames, rejects_masked_reserved_oversized_and_fragmented_control_frames) {
    frame_view f;
    std::size_t used = 0;
    std::string masked;
    append_masked_frame(masked, opcode::text, "hi", 0x01020304);
    EXPECT_EQ(parse_frame(masked, f, used, 100), parse_status::bad);
    EXPECT_EQ(parse_frame(std::string("\xC1\x00", 2), f, used, 100), parse_status::bad);  // RSV1
    EXPECT_EQ(
        parse_frame(std::string("\x83\x00", 2), f, used, 100), parse_status::bad
    );  // opcode 3
    EXPECT_EQ(
        parse_frame(std::string("\x09\x00", 2), f, used, 100), parse_status::bad
    );  // ping, no FIN
    std::string big;
    append_server_frame(big, opcode::text, std::string(200, 'x'));
    EXPECT_EQ(parse_frame(big, f, used, 100), parse_status::bad);
}

TEST(ws_frames, masking_round_trips) {
    std::string wire;
    append_masked_frame(wire, opcode::text, R"({"action":"move"})", 0xA1B2C3D4);
    ASSERT_EQ(static_cast<unsigned char>(wire[1]) & 0x80, 0x80);
    std::string key = wire.substr(2, 4);
    std::string body = wire.substr(6);
    for (std::size_t i = 0; i < body.size(); ++i) {
        body[i] = static_cast<char>(body[i] ^ key[i % 4]);
    }
    EXPECT_EQ(body, R"({"action":"move"})");
}

struct recorder final : leaf_visitor {
    std::string type;
    std::vector<std::string> leaves;
    void on_type(std::string_view t) override { type = t; }
    void on_leaf(std::span<const std::string_view> path, const leaf& v) override {
        std::string line;
        for (auto p : path) {
            line += std::string(p) + ".";
        }
        switch (v.what) {
            case leaf::kind::number:
                line += "=" + std::to_string(v.number);
                break;
            case leaf::kind::string:
                line += "=\"" + std::string(v.text) + "\"";
                break;
            case leaf::kind::boolean:
                line += v.boolean ? "=true" : "=false";
                break;
            case leaf::kind::null:
                line += "=null";
                break;
            case leaf::kind::array:
                line += "=[]";
                break;
        }
        leaves.push_back(line);
    }
};

TEST(frame_scanner, reports_the_leaves_load_would_visit) {
    frame_scanner scanner;
    recorder r;
    ASSERT_TRUE(scanner.scan(
        R"({"type":"sync","value":{"pId":"Ab","players":{"P1":{"x":1,"y":2.5},"P2":"$delete"},"list":[1,{"a":2}],"e":{},"n":null,"b":true}})",
        r
    ));
    EXPECT_EQ(r.type, "sync");
    std::vector<std::string> expected = {
        "pId.=\"Ab\"",
        "players.P1.x.=1.000000",
        "players.P1.y.=2.500000",
        "players.P2.=\"$delete\"",
        "list.=[]",
        "n.=null",
        "b.=true"};
    EXPECT_EQ(r.leaves, expected);
}

TEST(frame_scanner, handles_value_before_type_and_escaped_keys) {
    frame_scanner scanner;
    recorder r;
    ASSERT_TRUE(scanner.scan(R"({"value":{"c\u006funt":3},"type":"sync"})", r));
    EXPECT_EQ(r.type, "sync");
    EXPECT_EQ(r.leaves, std::vector<std::string>{"count.=3.000000"});
}

TEST(frame_scanner, refuses_what_is_not_a_frame) {
    frame_scanner scanner;
    recorder r;
    EXPECT_FALSE(scanner.scan("not json", r));
    EXPECT_FALSE(scanner.scan("[1,2]", r));
    EXPECT_FALSE(scanner.scan(R"({"value":{}})", r));
    EXPECT_FALSE(scanner.scan(R"({"type":7,"value":{}})", r));
}

TEST(histogram, percentiles_are_within_one_sixty_fourth) {
    histogram h;
    for (std::uint64_t v = 1; v <= 100000; ++v) {
        h.record(v);
    }
    EXPECT_EQ(h.count(), 100000u);
    EXPECT_EQ(h.max(), 100000u);
    auto p50 = static_cast<double>(h.percentile(0.5));
    auto p99 = static_cast<double>(h.percentile(0.99));
    EXPECT_NEAR(p50, 50000, 50000.0 / 64);
    EXPECT_NEAR(p99, 99000, 99000.0 / 64);
    EXPECT_GE(p99, 99000);  // an upper edge, never below
    EXPECT_EQ(h.percentile(1.0), 100000u);
}

}  // namespace

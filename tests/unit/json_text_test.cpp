// Frames are written as JavaScript's JSON.stringify writes them (expected texts taken from Node).
#include <gtest/gtest.h>

#include <signe/json.hpp>

namespace {

std::string text_of(double d) {
    return signe::to_text(signe::json::value(d));
}

TEST(json_text, numbers_are_written_as_javascript_writes_them) {
    EXPECT_EQ(text_of(0.0), "0");
    EXPECT_EQ(text_of(-0.0), "0");
    EXPECT_EQ(text_of(3.0), "3");
    EXPECT_EQ(text_of(4.5), "4.5");
    EXPECT_EQ(text_of(-2.5), "-2.5");
    EXPECT_EQ(text_of(0.1), "0.1");
    EXPECT_EQ(text_of(49.300000000000004), "49.300000000000004");
    EXPECT_EQ(text_of(1e-7), "1e-7");
    EXPECT_EQ(text_of(1.5e-7), "1.5e-7");
    EXPECT_EQ(text_of(1e-6), "0.000001");
    EXPECT_EQ(text_of(0.000001234), "0.000001234");
    EXPECT_EQ(text_of(1e17), "100000000000000000");
    EXPECT_EQ(text_of(1e20), "100000000000000000000");
    EXPECT_EQ(text_of(1e21), "1e+21");
    EXPECT_EQ(text_of(1.2345e21), "1.2345e+21");
    EXPECT_EQ(text_of(123456789012345680000.0), "123456789012345680000");
    EXPECT_EQ(text_of(1e300), "1e+300");
    EXPECT_EQ(text_of(5e-324), "5e-324");
}

TEST(json_text, non_finite_numbers_become_null) {
    EXPECT_EQ(text_of(std::numeric_limits<double>::infinity()), "null");
    EXPECT_EQ(text_of(std::numeric_limits<double>::quiet_NaN()), "null");
}

TEST(json_text, strings_are_escaped_as_json_requires) {
    EXPECT_EQ(
        signe::to_text(signe::json::value("a\"b\\c\n\t\x01é")), "\"a\\\"b\\\\c\\n\\t\\u0001é\""
    );
}

TEST(json_text, containers_keep_their_order) {
    signe::json::value v = {{"b", 1}, {"a", signe::json::array{true, nullptr, "x"}}};
    EXPECT_EQ(signe::to_text(v), R"({"b":1,"a":[true,null,"x"]})");
}

}  // namespace

namespace {

TEST(json_text, numbers_read_and_written_back_are_unchanged) {
    for (const char* text :
         {"49.300000000000004",
          "0.1",
          "1e-7",
          "123456789012345680000",
          "5e-324",
          "-2.5",
          "1.7976931348623157e+308"}) {
        boost::system::error_code ec;
        signe::json::value v = signe::parse_json(text, ec);
        ASSERT_FALSE(ec) << text;
        EXPECT_EQ(signe::to_text(v), text);
    }
}

}  // namespace

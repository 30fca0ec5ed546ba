// apply_packet against the behaviour of the JS client's load(root, packet, true), case by case.
// (apply_packet_diff.mjs compares the two on random packets.)

#include <gtest/gtest.h>

#include <signe/client.hpp>

namespace {

using signe::json::parse;
using signe::json::value;

value applied(std::string_view mirror, std::string_view packet, bool expect_ok = true) {
    value m = parse(mirror);
    EXPECT_EQ(signe::apply_packet(m, parse(packet)), expect_ok) << packet;
    return m;
}

TEST(apply_packet, nested_objects_are_merged_leaf_by_leaf) {
    EXPECT_EQ(
        applied(R"({"players":{"A":{"x":1,"y":2}}})", R"({"players":{"A":{"x":5},"B":{"x":0}}})"),
        parse(R"({"players":{"A":{"x":5,"y":2},"B":{"x":0}}})")
    );
}

TEST(apply_packet, pid_is_a_plain_key_of_the_root) {
    EXPECT_EQ(
        applied("{}", R"({"pId":"Ab3dE9xZ","count":0})"), parse(R"({"pId":"Ab3dE9xZ","count":0})")
    );
}

TEST(apply_packet, delete_token_removes_the_key) {
    EXPECT_EQ(
        applied(R"({"players":{"A":{"x":1},"B":{"x":2}}})", R"({"players":{"A":"$delete"}})"),
        parse(R"({"players":{"B":{"x":2}}})")
    );
}

TEST(apply_packet, delete_token_in_a_one_element_array_matches_loosely) {
    EXPECT_EQ(applied(R"({"a":1,"b":2})", R"({"a":["$delete"]})"), parse(R"({"b":2})"));
    EXPECT_EQ(applied(R"({"a":1})", R"({"a":[["$delete"]]})"), parse(R"({})"));
    EXPECT_EQ(applied(R"({"a":1})", R"({"a":["$delete","x"]})"), parse(R"({"a":["$delete","x"]})"));
}

TEST(apply_packet, deleting_a_missing_key_still_creates_its_parents) {
    EXPECT_EQ(applied("{}", R"({"a":{"b":"$delete"}})"), parse(R"({"a":{}})"));
}

TEST(apply_packet, empty_objects_change_nothing) {
    EXPECT_EQ(
        applied(R"({"users":{"A":{"x":1}}})", R"({"users":{}})"),
        parse(R"({"users":{"A":{"x":1}}})")
    );
    EXPECT_EQ(applied("{}", R"({"a":{"b":{}}})"), parse("{}"));
}

TEST(apply_packet, arrays_and_null_are_leaves) {
    EXPECT_EQ(applied(R"({"list":{"0":9}})", R"({"list":[1,2]})"), parse(R"({"list":[1,2]})"));
    EXPECT_EQ(applied(R"({"a":{"b":1}})", R"({"a":null})"), parse(R"({"a":null})"));
}

TEST(apply_packet, numeric_keys_address_array_elements) {
    EXPECT_EQ(applied(R"({"list":[1,2,3]})", R"({"list":{"1":7}})"), parse(R"({"list":[1,7,3]})"));
    EXPECT_EQ(
        applied(R"({"list":[1]})", R"({"list":{"3":4}})"), parse(R"({"list":[1,null,null,4]})")
    );
    EXPECT_EQ(
        applied(R"({"list":[{"a":1}]})", R"({"list":{"0":{"b":2},"2":{"c":3}}})"),
        parse(R"({"list":[{"a":1,"b":2},null,{"c":3}]})")
    );
}

TEST(apply_packet, delete_inside_an_array_leaves_a_hole) {
    EXPECT_EQ(
        applied(R"({"list":[1,2,3]})", R"({"list":{"1":"$delete"}})"),
        parse(R"({"list":[1,null,3]})")
    );
    EXPECT_EQ(applied(R"({"list":[1]})", R"({"list":{"5":"$delete"}})"), parse(R"({"list":[1]})"));
}

TEST(apply_packet, other_keys_of_an_array_are_invisible) {
    EXPECT_EQ(
        applied(R"({"list":[1]})", R"({"list":{"name":2,"01":3}})"), parse(R"({"list":[1]})")
    );
}

TEST(apply_packet, a_path_through_a_scalar_abandons_the_rest_of_the_packet) {
    // JS throws a TypeError at "count.x"; what came before stays, what comes after is lost.
    EXPECT_EQ(
        applied(R"({"count":1})", R"({"a":1,"count":{"x":2},"b":3})", false),
        parse(R"({"count":1,"a":1})")
    );
    EXPECT_EQ(applied(R"({"n":null})", R"({"n":{"x":1}})", false), parse(R"({"n":null})"));
    EXPECT_EQ(applied(R"({"s":"abc"})", R"({"s":{"0":"x"}})", false), parse(R"({"s":"abc"})"));
}

TEST(apply_packet, integer_keys_are_visited_first_as_in_javascript) {
    // for...in visits "2" and "10" (ascending) before "b": the throw at "b" comes last.
    EXPECT_EQ(
        applied(R"({"b":1})", R"({"b":{"x":1},"10":"ten","2":"two"})", false),
        parse(R"({"b":1,"2":"two","10":"ten"})")
    );
}

TEST(apply_packet, a_packet_that_is_not_an_object_is_iterated_like_for_in) {
    EXPECT_EQ(applied("{}", "7"), parse("{}"));
    EXPECT_EQ(applied("{}", "null"), parse("{}"));
    EXPECT_EQ(applied("{}", R"(["a",{"b":1}])"), parse(R"({"0":"a","1":{"b":1}})"));
    EXPECT_EQ(applied("{}", R"("hi")"), parse(R"({"0":"h","1":"i"})"));
}

}  // namespace

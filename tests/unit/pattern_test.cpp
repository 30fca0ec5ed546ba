// Room path patterns: which room ids a room type serves and the params it extracts.
// Adapts the extractParams part of catalogue 7.17 (tests/room/utils.spec.ts), through
// detail::room_definition::matches and the harness.

#include <gtest/gtest.h>

#include <signe/testing.hpp>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

using params_map = std::map<std::string, std::string>;

// The params a pattern extracts from a room id, or nullopt when it does not match.
std::optional<params_map> extract(std::string pattern, std::string_view room_id) {
    signe::detail::room_definition def;
    def.options.path = std::move(pattern);
    signe::name_values params;
    if (!def.matches(room_id, params)) {
        return std::nullopt;
    }
    params_map out;
    for (const auto& [k, v] : params.items()) {
        out[k] = v;
    }
    return out;
}

// catalogue 7.17 utils.spec: "non-matching pattern" (extractParams)
TEST(room_pattern, different_literal_does_not_match) {
    EXPECT_EQ(extract("game", "test"), std::nullopt);
}

// catalogue 7.17 utils.spec: "exact match without params" (extractParams)
TEST(room_pattern, literal_matches_itself_with_no_params) {
    EXPECT_EQ(extract("game", "game"), params_map{});
}

// catalogue 7.17 utils.spec: "single parameter" (extractParams)
TEST(room_pattern, single_parameter) {
    EXPECT_EQ(extract("game-{id}", "game-123"), (params_map{{"id", "123"}}));
}

// catalogue 7.17 utils.spec: "multiple parameters" (extractParams)
TEST(room_pattern, multiple_parameters) {
    EXPECT_EQ(
        extract("test-{foo}-{bar}", "test-abc-xyz"), (params_map{{"foo", "abc"}, {"bar", "xyz"}})
    );
}

// catalogue 7.17 utils.spec: "partial matching pattern" (extractParams)
TEST(room_pattern, parameter_needs_at_least_one_character) {
    EXPECT_EQ(extract("game-{id}", "game-"), std::nullopt);
}

// catalogue 7.17 utils.spec: "hyphens in parameters" (extractParams)
TEST(room_pattern, parameter_captures_hyphens_greedily) {
    EXPECT_EQ(extract("game-{id}", "game-abc-123"), (params_map{{"id", "abc-123"}}));
    EXPECT_EQ(
        extract("test-{foo}-{bar}", "test-a-b-c"), (params_map{{"foo", "a-b"}, {"bar", "c"}})
    );
}

// catalogue 7.17 utils.spec: "underscores in parameters" (extractParams)
TEST(room_pattern, underscores) {
    EXPECT_EQ(
        extract("test_{foo}_{bar}", "test_abc_xyz"), (params_map{{"foo", "abc"}, {"bar", "xyz"}})
    );
}

TEST(room_pattern, patterns_are_anchored_at_both_ends) {
    EXPECT_EQ(extract("game", "game-1"), std::nullopt);
    EXPECT_EQ(extract("game", "my-game"), std::nullopt);
    EXPECT_EQ(extract("game-{id}", "xgame-1"), std::nullopt);
    EXPECT_EQ(extract("{id}-lobby", "7-lobby-x"), std::nullopt);
}

TEST(room_pattern, parameter_accepts_only_word_characters_and_hyphens) {
    EXPECT_EQ(extract("game-{id}", "game-a.b"), std::nullopt);
    EXPECT_EQ(extract("game-{id}", "game-a b"), std::nullopt);
    EXPECT_EQ(extract("game-{id}", "game-a/b"), std::nullopt);
    EXPECT_EQ(extract("{roomId}", "Room_42-x"), (params_map{{"roomId", "Room_42-x"}}));
}

TEST(room_pattern, other_characters_match_literally) {
    EXPECT_EQ(extract("room.v1", "room.v1"), params_map{});
    EXPECT_EQ(extract("room.v1", "roomXv1"), std::nullopt);
    EXPECT_EQ(extract("a+{id}", "a+1"), (params_map{{"id", "1"}}));
    EXPECT_EQ(extract("a+{id}", "aa1"), std::nullopt);
}

TEST(room_pattern, literal_text_after_a_parameter) {
    EXPECT_EQ(extract("{id}-lobby", "abc-lobby"), (params_map{{"id", "abc"}}));
    EXPECT_EQ(extract("{id}-lobby", "a-b-lobby"), (params_map{{"id", "a-b"}}));
}

// ---------------------------------------------------------------------------------------------
// Through a room

class param_room : public signe::room_base {
public:
    std::string seen_id;
    static void define(signe::room_spec<param_room>& spec) {
        spec.path("game-{id}").on_start([](param_room& r) {
            r.seen_id = std::string(r.params().get("id").value_or(""));
        });
    }
};

TEST(room_pattern, room_receives_its_params) {
    signe::testing::room_harness<param_room> h("game-abc-123");
    EXPECT_EQ(h.room().seen_id, "abc-123");
    EXPECT_EQ(h.info().params.get("id"), "abc-123");
    EXPECT_EQ(h.room().id(), "game-abc-123");
}

TEST(room_pattern, harness_default_room_id_fills_each_parameter) {
    signe::testing::room_harness<param_room> h;
    EXPECT_EQ(h.room().id(), "game-1");
    EXPECT_EQ(h.room().seen_id, "1");
}

TEST(room_pattern, harness_refuses_a_room_id_the_pattern_does_not_match) {
    EXPECT_THROW(signe::testing::room_harness<param_room>("lobby-1"), std::invalid_argument);
}

}  // namespace

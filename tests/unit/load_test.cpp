// signe::load: applying a snapshot or a sync packet to a state tree, including "$delete".
// Adapts the parts of catalogue 7.20 (tests/sync/load.spec.ts) that map onto our state model
// (object mode only: dotted-path keys are a client-side feature) and the dremove part of 7.17
// (tests/room/utils.spec.ts), which in this port is "$delete" handling in signe::load.

#include "unit/test_helpers.hpp"
#include <gtest/gtest.h>

#include <signe/testing.hpp>

#include <string>
#include <vector>

namespace {

using signe::testing::room_harness;
using signe_test::J;
using signe_test::run;
using signe_test::sync_values;
namespace json = signe::json;

struct position {
    signe::synced<double> x{0};
    signe::synced<double> y{0};
    static auto fields() {
        return signe::fields(signe::field("x", &position::x), signe::field("y", &position::y));
    }
};

struct game_object {
    std::string id;
    position pos;
    signe::synced<int> direction{0};
    signe::synced_vector<std::string> graphics;
    static auto fields() {
        return signe::fields(
            signe::field("id", &game_object::id).key(),
            signe::field("pos", &game_object::pos),
            signe::field("direction", &game_object::direction),
            signe::field("graphics", &game_object::graphics)
        );
    }
};

struct item {
    signe::synced<int> value{0};
    static auto fields() { return signe::fields(signe::field("value", &item::value)); }
};

// Four levels of keyed collections: scene.levels[a].rooms[b].cells[c].value
struct cell {
    std::string id;
    signe::synced<int> value{0};
    static auto fields() {
        return signe::fields(
            signe::field("id", &cell::id).key(), signe::field("value", &cell::value)
        );
    }
};
struct room_level {
    signe::synced_map<cell> cells;
    static auto fields() { return signe::fields(signe::field("cells", &room_level::cells)); }
};
struct level {
    signe::synced_map<room_level> rooms;
    static auto fields() { return signe::fields(signe::field("rooms", &level::rooms)); }
};

struct scene {
    signe::synced<int> count{0};
    position origin;
    signe::synced_map<game_object> objects;
    signe::synced_vector<std::string> sprites;
    signe::synced_vector<item> items;
    signe::synced_map<int> values;
    signe::synced_map<level> levels;
    signe::synced<json::value> anything;
    static auto fields() {
        return signe::fields(
            signe::field("count", &scene::count),
            signe::field("origin", &scene::origin),
            signe::field("objects", &scene::objects),
            signe::field("sprites", &scene::sprites),
            signe::field("items", &scene::items),
            signe::field("values", &scene::values),
            signe::field("levels", &scene::levels),
            signe::field("anything", &scene::anything)
        );
    }
};

std::vector<std::string> sprites_of(const scene& s) {
    return s.sprites.items();
}

// ---------------------------------------------------------------------------------------------
// load.spec

// catalogue 7.20 load.spec: "load values from an object"
TEST(load, nested_object_sets_nested_fields) {
    scene s;
    signe::load(s, J(R"({"origin":{"x":10,"y":20}})"));
    EXPECT_EQ(s.origin.x.get(), 10);
    EXPECT_EQ(s.origin.y.get(), 20);
}

// catalogue 7.20 load.spec: "load values into non-signal properties"
TEST(load, scalar_fields_take_each_new_value) {
    scene s;
    signe::load(s, J(R"({"count":42})"));
    EXPECT_EQ(s.count.get(), 42);
    signe::load(s, J(R"({"count":100})"));
    EXPECT_EQ(s.count.get(), 100);
}

// catalogue 7.20 load.spec: "collection"
TEST(load, unknown_collection_key_creates_an_entry_that_knows_its_key) {
    scene s;
    signe::load(s, J(R"({"objects":{"id":{"direction":10}}})"));
    ASSERT_TRUE(s.objects.contains("id"));
    EXPECT_EQ(s.objects.at("id").direction.get(), 10);
    EXPECT_EQ(s.objects.at("id").id, "id");
}

// catalogue 7.20 load.spec: "load an array"
TEST(load, json_array_replaces_the_vector) {
    scene s;
    signe::load(s, J(R"({"sprites":["sprite1","sprite2"]})"));
    EXPECT_EQ(sprites_of(s), (std::vector<std::string>{"sprite1", "sprite2"}));
}

// catalogue 7.20 load.spec: "load an array with a missing index"
TEST(load, index_keyed_object_fills_missing_indices_with_defaults) {
    scene s;
    signe::load(s, J(R"({"sprites":{"2":"sprite1"}})"));
    EXPECT_EQ(sprites_of(s), (std::vector<std::string>{"", "", "sprite1"}));
}

// catalogue 7.20 load.spec: "delete a property if value is $delete"
TEST(load, delete_token_removes_the_entry) {
    scene s;
    s.objects.emplace("id");
    s.objects.emplace("other");
    signe::load(s, J(R"({"objects":{"id":"$delete"}})"));
    EXPECT_FALSE(s.objects.contains("id"));
    EXPECT_TRUE(s.objects.contains("other"));
}

// catalogue 7.20 load.spec: "load nested GameObject in Scene"
TEST(load, nested_entries_with_their_own_nested_fields) {
    scene s;
    signe::load(
        s,
        J(R"({"objects":{"player1":{"pos":{"x":100,"y":200},"direction":45,"graphics":["hero"]}}})")
    );
    const game_object& p = s.objects.at("player1");
    EXPECT_EQ(p.pos.x.get(), 100);
    EXPECT_EQ(p.pos.y.get(), 200);
    EXPECT_EQ(p.direction.get(), 45);
    EXPECT_EQ(p.graphics.items(), std::vector<std::string>{"hero"});
}

// catalogue 7.20 load.spec: "handle multiple loads on the same Scene"
// catalogue 7.20 load.spec: "update only some properties of existing instance"
// catalogue 7.20 load.spec: "partial object update"
TEST(load, later_loads_merge_into_existing_entries) {
    scene s;
    signe::load(
        s,
        J(R"({"objects":{"player1":{"pos":{"x":100,"y":200},"direction":45,"graphics":["hero"]}}})")
    );
    signe::load(
        s,
        J(R"({"objects":{"player1":{"pos":{"x":5},"graphics":["hero2"]},"player2":{"direction":90}}})"
        )
    );
    const game_object& p1 = s.objects.at("player1");
    EXPECT_EQ(p1.pos.x.get(), 5);
    EXPECT_EQ(p1.pos.y.get(), 200);
    EXPECT_EQ(p1.direction.get(), 45);
    EXPECT_EQ(p1.graphics.items(), std::vector<std::string>{"hero2"});
    EXPECT_EQ(s.objects.at("player2").direction.get(), 90);
}

// catalogue 7.20 load.spec: "handle 3 levels of nesting"
// catalogue 7.20 load.spec: "handle 4 levels of nesting"
TEST(load, creates_entries_at_every_level_of_nested_collections) {
    scene s;
    signe::load(s, J(R"({"levels":{"l1":{"rooms":{"r1":{"cells":{"c1":{"value":7}}}}}}})"));
    const cell& c = s.levels.at("l1").rooms.at("r1").cells.at("c1");
    EXPECT_EQ(c.value.get(), 7);
    EXPECT_EQ(c.id, "c1");
}

// catalogue 7.20 load.spec: "handle mixed collections and simple objects"
// catalogue 7.20 load.spec: "mixed paths and objects in same call"
TEST(load, one_call_can_fill_collections_and_plain_fields) {
    scene s;
    signe::load(s, J(R"({"objects":{"item1":{"direction":3}},"origin":{"x":4},"count":5})"));
    EXPECT_EQ(s.objects.at("item1").direction.get(), 3);
    EXPECT_EQ(s.origin.x.get(), 4);
    EXPECT_EQ(s.count.get(), 5);
}

// catalogue 7.20 load.spec: "handle collections in arrays"
TEST(load, index_keyed_object_fills_a_vector_of_nested_types) {
    scene s;
    signe::load(s, J(R"({"items":{"0":{"value":10}}})"));
    ASSERT_EQ(s.items.size(), 1u);
    EXPECT_EQ(s.items[0].value.get(), 10);
}

// catalogue 7.20 load.spec: "handle negative array indices"
// (a vector has no "-1" property to set: the key is ignored)
TEST(load, negative_or_non_numeric_indices_are_ignored) {
    scene s;
    s.sprites.push_back("a");
    signe::load(s, J(R"({"sprites":{"-1":"x","one":"y"}})"));
    EXPECT_EQ(sprites_of(s), std::vector<std::string>{"a"});
}

// catalogue 7.20 load.spec: "handle empty arrays"
TEST(load, empty_array_empties_the_vector) {
    scene s;
    s.sprites.push_back("a");
    signe::load(s, J(R"({"sprites":[]})"));
    EXPECT_TRUE(s.sprites.empty());
}

// catalogue 7.20 load.spec: "handle sparse arrays"
TEST(load, sparse_index_keys) {
    scene s;
    signe::load(s, J(R"({"sprites":{"0":"a","5":"b"}})"));
    ASSERT_EQ(s.sprites.size(), 6u);
    EXPECT_EQ(s.sprites[0], "a");
    EXPECT_EQ(s.sprites[1], "");
    EXPECT_EQ(s.sprites[5], "b");
}

// catalogue 7.20 load.spec: "handle large arrays"
// catalogue 7.20 load.spec: "large collection"
TEST(load, large_vectors_and_collections) {
    json::object sprites;
    json::object objects;
    for (int i = 0; i < 1000; ++i) {
        sprites[std::to_string(i)] = "s" + std::to_string(i);
    }
    for (int i = 0; i < 100; ++i) {
        objects["item" + std::to_string(i)] = {{"direction", i}};
    }
    scene s;
    signe::load(s, json::object{{"sprites", sprites}, {"objects", objects}});
    EXPECT_EQ(s.sprites.size(), 1000u);
    EXPECT_EQ(s.sprites[999], "s999");
    EXPECT_EQ(s.objects.size(), 100u);
    EXPECT_EQ(s.objects.at("item99").direction.get(), 99);
}

// catalogue 7.20 load.spec: "loading into non-existent property"
// catalogue 7.20 load.spec: "update non-existent property in existing instance"
TEST(load, unknown_keys_are_ignored) {
    scene s;
    s.objects.emplace("p").direction = 1;
    signe::load(s, J(R"({"nope":10,"objects":{"p":{"b":2}}})"));
    EXPECT_EQ(s.objects.at("p").direction.get(), 1);
    EXPECT_EQ(s.objects.size(), 1u);
}

// catalogue 7.20 load.spec: "null signal value"
// catalogue 7.20 load.spec: "undefined signal value"
TEST(load, free_form_value_starting_null_takes_the_value) {
    scene s;
    EXPECT_TRUE(s.anything.get().is_null());
    signe::load(s, J(R"({"anything":10})"));
    EXPECT_EQ(s.anything.get(), 10);
}

TEST(load, values_of_the_wrong_type_are_ignored) {
    scene s;
    s.count = 3;
    s.sprites.push_back("a");
    signe::load(s, J(R"({"count":"abc","origin":5,"sprites":"x","objects":[1,2]})"));
    EXPECT_EQ(s.count.get(), 3);
    EXPECT_EQ(sprites_of(s), std::vector<std::string>{"a"});
    EXPECT_TRUE(s.objects.empty());
    signe::load(s, J(R"({"count":1.5})"));  // not an integer
    EXPECT_EQ(s.count.get(), 3);
}

TEST(load, snapshot_round_trip) {
    scene a;
    a.count = 2;
    a.objects.emplace("p").pos.x = 3.5;
    a.sprites.push_back("s");
    a.items.push_back(item{});
    a.values.set("v", 9);
    scene b;
    signe::load(b, signe::snapshot(a));
    EXPECT_EQ(signe::snapshot(b), signe::snapshot(a));
    EXPECT_EQ(b.objects.at("p").id, "p");
}

// Loading into a live room records the changes like any other write: clients receive them.
class live_room : public signe_test::scripted<live_room> {
public:
    signe::synced_map<game_object> objects;
    static auto fields() { return signe::fields(signe::field("objects", &live_room::objects)); }
    static void define(signe::room_spec<live_room>& spec) {
        spec.path("live");
        add_run_action(spec);
    }
};

TEST(load, loading_into_a_live_room_sends_the_changes) {
    room_harness<live_room> h;
    auto& c = h.connect("c");
    run(h, c, [](live_room& r) { r.objects.emplace("a"); });
    c.clear();
    run(h, c, [](live_room& r) {
        signe::load(r, J(R"({"objects":{"a":"$delete","b":{"direction":2}}})"));
    });
    ASSERT_EQ(sync_values(c).size(), 1u);
    EXPECT_EQ(sync_values(c)[0].at("objects").at("a"), "$delete");
    EXPECT_EQ(sync_values(c)[0].at("objects").at("b").at("direction"), 2);
}

// ---------------------------------------------------------------------------------------------
// dremove: "$delete" in signe::load

// catalogue 7.17 utils.spec: "remove a simple property" (dremove)
TEST(load_delete, removes_a_key) {
    scene s;
    s.values.set("a", 1);
    s.values.set("b", 2);
    signe::load(s, J(R"({"values":{"a":"$delete"}})"));
    EXPECT_FALSE(s.values.contains("a"));
    EXPECT_EQ(s.values.at("b"), 2);
}

// catalogue 7.17 utils.spec: "remove a nested property" (dremove)
// catalogue 7.17 utils.spec: "remove deeply nested properties" (dremove)
TEST(load_delete, removes_a_deeply_nested_key_and_keeps_its_parents) {
    scene s;
    signe::load(
        s, J(R"({"levels":{"l1":{"rooms":{"r1":{"cells":{"c1":{"value":1},"c2":{"value":2}}}}}}})")
    );
    signe::load(s, J(R"({"levels":{"l1":{"rooms":{"r1":{"cells":{"c1":"$delete"}}}}}})"));
    const auto& cells = s.levels.at("l1").rooms.at("r1").cells;
    EXPECT_FALSE(cells.contains("c1"));
    EXPECT_TRUE(cells.contains("c2"));
}

// catalogue 7.17 utils.spec: "do nothing if the property does not exist" (dremove)
TEST(load_delete, missing_key_changes_nothing) {
    scene s;
    s.values.set("a", 1);
    signe::load(s, J(R"({"values":{"zzz":"$delete"}})"));
    EXPECT_EQ(s.values.size(), 1u);
}

TEST(load_delete, missing_key_in_a_live_room_sends_nothing) {
    room_harness<live_room> h;
    auto& c = h.connect("c");
    c.clear();
    run(h, c, [](live_room& r) { signe::load(r, J(R"({"objects":{"ghost":"$delete"}})")); });
    EXPECT_TRUE(c.frames().empty());
}

// catalogue 7.17 utils.spec: "do nothing if the nested property does not exist" (dremove)
TEST(load_delete, missing_parent_entry_is_not_created_by_a_nested_delete) {
    scene s;
    signe::load(s, J(R"({"levels":{"ghost":{"rooms":{"r1":"$delete"}}}})"));
    EXPECT_FALSE(s.levels.contains("ghost"));
}

// catalogue 7.17 utils.spec: "avoid removing dangerous keys" (dremove)
// (no prototype in C++: such names are ordinary keys, set and removed like any other)
TEST(load_delete, prototype_like_names_are_ordinary_keys) {
    scene s;
    signe::load(s, J(R"({"values":{"__proto__":1,"constructor":2,"prototype":3,"a":4}})"));
    EXPECT_EQ(s.values.size(), 4u);
    signe::load(s, J(R"({"values":{"constructor":"$delete"}})"));
    EXPECT_FALSE(s.values.contains("constructor"));
    EXPECT_EQ(s.values.at("__proto__"), 1);
    EXPECT_EQ(s.values.at("prototype"), 3);
    EXPECT_EQ(s.values.at("a"), 4);
}

// catalogue 7.17 utils.spec: "not remove from null or non-object values" (dremove)
TEST(load_delete, delete_below_a_scalar_changes_nothing) {
    scene s;
    s.count = 5;
    signe::load(s, J(R"({"count":{"b":"$delete"},"anything":{"c":"$delete"}})"));
    EXPECT_EQ(s.count.get(), 5);
}

TEST(load_delete, removes_a_user_from_a_users_collection) {
    struct u {
        signe::synced<int> hp{1};
        static auto fields() { return signe::fields(signe::field("hp", &u::hp)); }
    };
    struct r {
        signe::users<u> users;
        static auto fields() { return signe::fields(signe::field("users", &r::users)); }
    };
    r room;
    room.users.emplace("P1");
    room.users.emplace("P2");
    signe::load(room, J(R"({"users":{"P1":"$delete"}})"));
    EXPECT_FALSE(room.users.contains("P1"));
    EXPECT_TRUE(room.users.contains("P2"));
}

// A sync packet for a vector of nested entries deletes tail entries with "$delete" at their index
// (see state_sync_test); loading such a packet must drop them.
TEST(load_delete, delete_at_a_vector_index_removes_the_entry) {
    scene s;
    s.items.push_back(item{});
    s.items.push_back(item{});
    signe::load(s, J(R"({"items":{"1":"$delete"}})"));
    EXPECT_EQ(s.items.size(), 1u);
}

}  // namespace

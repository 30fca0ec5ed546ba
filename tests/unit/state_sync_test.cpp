// The state model as clients see it: which frames each kind of synced field produces, what is
// hidden (server_only) or not persisted (transient), and the deep snapshot.
// Adapts the parts of catalogue 7.19 (tests/sync/sync.spec.ts) that map onto synced<T>,
// synced_map, synced_vector, nested described types, snapshot and the field flags.

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

struct item {
    signe::synced<int> value{0};
    static auto fields() { return signe::fields(signe::field("value", &item::value)); }
};

item make_item(int v) {
    item i;
    i.value = v;
    return i;
}

struct question {
    signe::synced<std::string> text{""};
    signe::synced_vector<std::string> options;
    static auto fields() {
        return signe::fields(
            signe::field("text", &question::text), signe::field("options", &question::options)
        );
    }
};

class core_room : public signe_test::scripted<core_room> {
public:
    signe::synced<int> count{0};
    signe::synced<std::string> name{"test"};
    signe::synced_map<int> data;
    signe::synced_vector<int> items{1, 2};
    signe::synced_vector<item> things;
    signe::synced_map<item> nested;
    question current;
    signe::synced_vector<question> questions;
    signe::synced<json::value> blob;
    signe::synced<int> secret{7};
    signe::synced_map<item> stash;
    signe::synced<int> hp{10};

    core_room() {
        data.set("a", 1);
        data.set("b", 2);
    }

    static auto fields() {
        return signe::fields(
            signe::field("count", &core_room::count),
            signe::field("name", &core_room::name),
            signe::field("data", &core_room::data),
            signe::field("items", &core_room::items),
            signe::field("things", &core_room::things),
            signe::field("nested", &core_room::nested),
            signe::field("current", &core_room::current),
            signe::field("questions", &core_room::questions),
            signe::field("blob", &core_room::blob),
            signe::field("secret", &core_room::secret).server_only(),
            signe::field("stash", &core_room::stash).server_only(),
            signe::field("hp", &core_room::hp).transient()
        );
    }
    static void define(signe::room_spec<core_room>& spec) {
        spec.path("core");
        add_run_action(spec);
    }
};

// A client connected to a fresh core room, its initial sync already read.
struct core_fixture {
    room_harness<core_room> h;
    signe::testing::test_client& client = h.connect("c");
    core_fixture() { client.clear(); }

    // Runs `fn` as a room turn and returns the sync frames it produced.
    std::vector<json::value> change(std::function<void(core_room&)> fn) {
        client.clear();
        run(h, client, std::move(fn));
        return sync_values(client);
    }
};

std::vector<json::value> one(std::string_view text) {
    return {J(text)};
}

// ---------------------------------------------------------------------------------------------
// What the initial sync holds

// catalogue 7.19 sync.spec: "sync class" (onSync)
TEST(state_sync, initial_sync_holds_every_client_visible_field) {
    room_harness<core_room> h;
    auto& c = h.connect("c");
    json::value state = c.frames().at(0).at("value");
    state.as_object().erase("pId");
    EXPECT_EQ(
        state,
        J(R"({"count":0,"name":"test","data":{"a":1,"b":2},"items":[1,2],"things":{},"nested":{},
                          "current":{"text":"","options":[]},"questions":{},"blob":null,"hp":10})")
    );
}

// catalogue 7.19 sync.spec: "not sync nested class if not attached to parent" (onSync)
TEST(state_sync, copies_and_detached_values_record_nothing) {
    core_fixture f;
    auto frames = f.change([](core_room& r) {
        question detached = r.current;
        detached.text = "changed";
        item standalone;
        standalone.value = 5;
        signe::synced<int> copy = r.count;
        copy = 9;
    });
    EXPECT_TRUE(frames.empty());
    EXPECT_EQ(f.h.room().current.text.get(), "");
    EXPECT_EQ(f.h.room().count.get(), 0);
}

// catalogue 7.19 sync.spec: "sync class and update on change" (onSync)
TEST(state_sync, scalar_change) {
    core_fixture f;
    EXPECT_EQ(f.change([](core_room& r) { r.count = 1; }), one(R"({"count":1})"));
}

// catalogue 7.19 sync.spec: "sync multiple properties" (onSync)
TEST(state_sync, several_scalars_in_one_turn) {
    core_fixture f;
    EXPECT_EQ(
        f.change([](core_room& r) {
            r.count = 1;
            r.name = "updated";
        }),
        one(R"({"count":1,"name":"updated"})")
    );
}

TEST(state_sync, scalar_update_helpers) {
    core_fixture f;
    EXPECT_EQ(
        f.change([](core_room& r) { r.name.update([](std::string& s) { s += "!"; }); }),
        one(R"({"name":"test!"})")
    );
    EXPECT_EQ(
        f.change([](core_room& r) {
            ++r.count;
            r.count += 4;
            --r.count;
        }),
        one(R"({"count":4})")
    );
}

// catalogue 7.19 sync.spec: "sync nested class" (onSync)
// catalogue 7.19 sync.spec: "sync Question class with id and text" (onSync)
TEST(state_sync, field_of_a_nested_type_travels_under_its_parent) {
    core_fixture f;
    EXPECT_EQ(
        f.change([](core_room& r) { r.current.text = "What is your name?"; }),
        one(R"({"current":{"text":"What is your name?"}})")
    );
}

// catalogue 7.19 sync.spec: "sync object signal" (set a key) (onSync)
TEST(state_sync, map_set_sends_the_key) {
    core_fixture f;
    EXPECT_EQ(f.change([](core_room& r) { r.data.set("a", 3); }), one(R"({"data":{"a":3}})"));
    EXPECT_EQ(f.change([](core_room& r) { r.data.set("c", 5); }), one(R"({"data":{"c":5}})"));
    EXPECT_TRUE(f.change([](core_room& r) { r.data.set("c", 5); }).empty());
}

// catalogue 7.19 sync.spec: "sync object signal" (delete a key) (onSync)
TEST(state_sync, map_erase_sends_delete) {
    core_fixture f;
    EXPECT_EQ(
        f.change([](core_room& r) { r.data.erase("a"); }), one(R"({"data":{"a":"$delete"}})")
    );
}

TEST(state_sync, map_clear_sends_a_delete_per_key_never_an_empty_object) {
    core_fixture f;
    EXPECT_EQ(
        f.change([](core_room& r) { r.data.clear(); }),
        one(R"({"data":{"a":"$delete","b":"$delete"}})")
    );
}

TEST(state_sync, map_assignment_sends_only_the_differences) {
    core_fixture f;
    EXPECT_EQ(
        f.change([](core_room& r) {
            signe::synced_map<int> next;
            next.set("b", 2);
            next.set("c", 3);
            r.data = next;
        }),
        one(R"({"data":{"a":"$delete","c":3}})")
    );
}

// catalogue 7.19 sync.spec: "With nested class" (object) (onSync)
TEST(state_sync, map_of_nested_types_sends_whole_entries_then_field_changes) {
    core_fixture f;
    EXPECT_EQ(
        f.change([](core_room& r) { r.nested.set("k", make_item(10)); }),
        one(R"({"nested":{"k":{"value":10}}})")
    );
    EXPECT_EQ(
        f.change([](core_room& r) { r.nested.find("k")->value = 11; }),
        one(R"({"nested":{"k":{"value":11}}})")
    );
    EXPECT_EQ(
        f.change([](core_room& r) { r.nested.set("k", make_item(12)); }),
        one(R"({"nested":{"k":{"value":12}}})")
    );
    EXPECT_EQ(
        f.change([](core_room& r) { r.nested.emplace("k2"); }),
        one(R"({"nested":{"k2":{"value":0}}})")
    );
}

// Replacing a described entry (synced_vector::set, synced_map::set) is a field-wise assignment
// that records only the fields that changed, as synced_map::set documents; an equal replacement
// changes nothing.
TEST(state_sync, replacing_an_entry_with_an_equal_one_sends_nothing) {
    core_fixture f;
    f.change([](core_room& r) {
        question q;
        q.options.push_back("yes");
        r.questions.push_back(q);
    });
    EXPECT_TRUE(f.change([](core_room& r) {
                     question same;
                     same.options.push_back("yes");
                     r.questions.set(0, same);
                 }).empty());
}

// catalogue 7.19 sync.spec: "sync array signal" (push) (onSync)
TEST(state_sync, vector_push_sends_the_whole_array) {
    core_fixture f;
    EXPECT_EQ(f.change([](core_room& r) { r.items.push_back(3); }), one(R"({"items":[1,2,3]})"));
}

// catalogue 7.19 sync.spec: "update array signal" (onSync)
TEST(state_sync, vector_element_update_sends_an_index_keyed_object) {
    core_fixture f;
    EXPECT_EQ(f.change([](core_room& r) { r.items.set(0, 10); }), one(R"({"items":{"0":10}})"));
}

// catalogue 7.19 sync.spec: "sync array signal" (shift) (onSync)
TEST(state_sync, vector_structural_changes_send_the_whole_array) {
    core_fixture f;
    EXPECT_EQ(f.change([](core_room& r) { r.items.erase(0); }), one(R"({"items":[2]})"));
    EXPECT_EQ(f.change([](core_room& r) { r.items.insert(0, 7); }), one(R"({"items":[7,2]})"));
    EXPECT_EQ(f.change([](core_room& r) { r.items.pop_back(); }), one(R"({"items":[7]})"));
    EXPECT_EQ(f.change([](core_room& r) { r.items.clear(); }), one(R"({"items":[]})"));
    EXPECT_EQ(f.change([](core_room& r) { r.items.assign({4, 5}); }), one(R"({"items":[4,5]})"));
}

// Structural change and element update in the same turn: the frame must leave clients with the
// server's array.
TEST(state_sync, vector_push_then_element_update_in_one_turn_sends_the_final_array) {
    core_fixture f;
    auto frames = f.change([](core_room& r) {
        r.items.clear();
        r.items.push_back(1);
        r.items.push_back(2);
        r.items.set(0, 7);
    });
    EXPECT_EQ(frames, one(R"({"items":[7,2]})"));
}

// catalogue 7.19 sync.spec: "With nested class" (array) (onSync)
TEST(state_sync, vector_of_nested_types_sends_index_keyed_entries) {
    core_fixture f;
    EXPECT_EQ(
        f.change([](core_room& r) { r.things.push_back(make_item(10)); }),
        one(R"({"things":{"0":{"value":10}}})")
    );
    EXPECT_EQ(
        f.change([](core_room& r) { r.things.at(0).value = 11; }),
        one(R"({"things":{"0":{"value":11}}})")
    );
}

TEST(state_sync, erasing_from_a_vector_of_nested_types_resends_the_shifted_entries) {
    core_fixture f;
    f.change([](core_room& r) {
        r.things.push_back(make_item(1));
        r.things.push_back(make_item(2));
    });
    EXPECT_EQ(
        f.change([](core_room& r) { r.things.erase(0); }),
        one(R"({"things":{"0":{"value":2},"1":"$delete"}})")
    );
    EXPECT_EQ(
        f.change([](core_room& r) { r.things.at(0).value = 3; }),
        one(R"({"things":{"0":{"value":3}}})")
    );
}

// catalogue 7.19 sync.spec: "sync array of Question class" (onSync)
TEST(state_sync, vector_of_nested_types_with_their_own_vectors) {
    core_fixture f;
    auto frames = f.change([](core_room& r) {
        question q1;
        q1.text = "Q1";
        q1.options.push_back("yes");
        question q2;
        q2.text = "Q2";
        r.questions.push_back(q1);
        r.questions.push_back(q2);
    });
    EXPECT_EQ(
        frames,
        one(R"({"questions":{"0":{"text":"Q1","options":["yes"]},"1":{"text":"Q2","options":[]}}})")
    );
    EXPECT_EQ(
        f.change([](core_room& r) { r.questions.at(1).options.push_back("no"); }),
        one(R"({"questions":{"1":{"options":["no"]}}})")
    );
}

TEST(state_sync, free_form_json_value_is_sent_as_is) {
    core_fixture f;
    EXPECT_EQ(
        f.change([](core_room& r) { r.blob = J(R"({"a":[1,2],"b":null})"); }),
        one(R"({"blob":{"a":[1,2],"b":null}})")
    );
}

TEST(state_sync, numbers_are_written_as_javascript_writes_them) {
    struct number_room : signe_test::scripted<number_room> {
        signe::synced<double> x{0};
        static auto fields() { return signe::fields(signe::field("x", &number_room::x)); }
        static void define(signe::room_spec<number_room>& spec) {
            spec.path("n");
            add_run_action(spec);
        }
    };
    room_harness<number_room> h;
    auto& c = h.connect("c");
    c.clear();
    run(h, c, [](number_room& r) { r.x = 3; });
    run(h, c, [](number_room& r) { r.x = 2.5; });
    run(h, c, [](number_room& r) { r.x = 0.1; });
    run(h, c, [](number_room& r) { r.x = -0.0; });
    run(h, c, [](number_room& r) { r.x = 1e21; });
    EXPECT_EQ(
        c.raw_frames(),
        (std::vector<std::string>{
            R"({"type":"sync","value":{"x":3}})",
            R"({"type":"sync","value":{"x":2.5}})",
            R"({"type":"sync","value":{"x":0.1}})",
            R"({"type":"sync","value":{"x":0}})",
            R"({"type":"sync","value":{"x":1e+21}})"})
    );
}

// ---------------------------------------------------------------------------------------------
// Field flags

// catalogue 7.19 sync.spec: "call but not onPersist" (persist:false is still synced)
TEST(state_flags, transient_fields_are_sent) {
    core_fixture f;
    EXPECT_EQ(f.change([](core_room& r) { r.hp = 3; }), one(R"({"hp":3})"));
}

TEST(state_flags, server_only_fields_are_never_sent) {
    core_fixture f;
    auto frames = f.change([](core_room& r) {
        r.secret = 8;
        r.stash.set("x", make_item(1));
    });
    EXPECT_TRUE(frames.empty());
    EXPECT_TRUE(f.change([](core_room& r) { r.stash.find("x")->value = 2; }).empty()
    );  // flags apply down the tree
    EXPECT_EQ(f.h.room().secret.get(), 8);
}

TEST(state_flags, client_view_hides_server_only_fields) {
    core_room r;
    json::value view = signe::client_view(r);
    EXPECT_FALSE(view.as_object().contains("secret"));
    EXPECT_FALSE(view.as_object().contains("stash"));
    EXPECT_TRUE(view.as_object().contains("hp"));
}

// ---------------------------------------------------------------------------------------------
// Snapshot (createStatesSnapshot / createStatesSnapshotDeep)

// catalogue 7.19 sync.spec: "persist primitive values with sync decorator" (createStatesSnapshot)
// catalogue 7.19 sync.spec: "persist deep values and convert dates" (createStatesSnapshotDeep)
// catalogue 7.19 sync.spec: "snapshot nested class with @sync properties"
// (createStatesSnapshotDeep)
TEST(state_snapshot, holds_every_persisted_field_deeply) {
    core_fixture f;
    f.change([](core_room& r) {
        r.count = 2;
        r.things.push_back(make_item(4));
        r.nested.set("k", make_item(5));
        r.current.text = "hi";
    });
    EXPECT_EQ(
        signe_test::as_sent(signe::snapshot(f.h.room())),
        J(R"({"count":2,"name":"test","data":{"a":1,"b":2},"items":[1,2],"things":[{"value":4}],"nested":{"k":{"value":5}},
                   "current":{"text":"hi","options":[]},"questions":[],"blob":null,"secret":7,"stash":{}})"
        )
    );
}

// catalogue 7.19 sync.spec: "not persist values with persist option set to false"
// (createStatesSnapshot) catalogue 7.19 sync.spec: "respect persist option"
// (createStatesSnapshotDeep)
TEST(state_snapshot, leaves_out_transient_fields_at_any_depth) {
    struct buff {
        signe::synced<int> power{1};
        signe::synced<int> ticks{0};
        static auto fields() {
            return signe::fields(
                signe::field("power", &buff::power), signe::field("ticks", &buff::ticks).transient()
            );
        }
    };
    struct hero {
        signe::synced<int> hp{10};
        signe::synced_map<buff> buffs;
        signe::synced_map<buff> cache;
        static auto fields() {
            return signe::fields(
                signe::field("hp", &hero::hp).transient(),
                signe::field("buffs", &hero::buffs),
                signe::field("cache", &hero::cache).transient()
            );
        }
    };
    hero h;
    h.buffs.emplace("haste");
    h.cache.emplace("tmp");
    EXPECT_EQ(signe_test::as_sent(signe::snapshot(h)), J(R"({"buffs":{"haste":{"power":1}}})"));
}

// catalogue 7.19 sync.spec: "snapshot only @sync properties for nested class instances"
// (createStatesSnapshotDeep)
TEST(state_snapshot, nested_types_contribute_only_their_declared_fields) {
    struct child {
        std::string id;
        signe::synced<int> count{2};
        int not_declared = 99;
        static auto fields() {
            return signe::fields(
                signe::field("id", &child::id).key(), signe::field("count", &child::count)
            );
        }
    };
    struct parent {
        signe::synced_map<child> children;
        static auto fields() { return signe::fields(signe::field("children", &parent::children)); }
    };
    parent p;
    p.children.emplace("c1");
    EXPECT_EQ(p.children.at("c1").id, "c1");
    EXPECT_EQ(signe_test::as_sent(signe::snapshot(p)), J(R"({"children":{"c1":{"count":2}}})"));
}

}  // namespace

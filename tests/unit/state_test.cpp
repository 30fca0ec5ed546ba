#include <gtest/gtest.h>

#include <signe/state.hpp>

namespace {

struct recorder final : signe::change_sink {
    std::vector<signe::change> changes;
    void record(signe::change c) override { changes.push_back(std::move(c)); }
};

struct item {
    signe::synced<std::string> name{"sword"};
    signe::synced<int> qty{1};
    static auto fields() {
        return signe::fields(signe::field("name", &item::name), signe::field("qty", &item::qty));
    }
};

struct player {
    std::string id;
    signe::synced<double> x{0};
    signe::synced<std::string> secret{"s"};
    signe::synced<int> hp{10};
    signe::synced_map<item> inventory;
    signe::synced_vector<int> scores;
    static auto fields() {
        return signe::fields(
            signe::field("id", &player::id).key(),
            signe::field("x", &player::x),
            signe::field("secret", &player::secret).server_only(),
            signe::field("hp", &player::hp).transient(),
            signe::field("inventory", &player::inventory),
            signe::field("scores", &player::scores)
        );
    }
};

struct world {
    signe::synced<int> count{0};
    signe::users<player> players;
    static auto fields() {
        return signe::fields(
            signe::field("count", &world::count), signe::field("players", &world::players)
        );
    }
};

TEST(state, scalar_change_records_its_path_once) {
    world w;
    recorder r;
    signe::detail::bind(w, &r, "", {});
    w.count = 3;
    w.count = 3;  // same value: nothing recorded
    ASSERT_EQ(r.changes.size(), 1u);
    EXPECT_EQ(r.changes[0].path, "count");
    EXPECT_EQ(*r.changes[0].client, 3);
    EXPECT_EQ(*r.changes[0].stored, 3);
}

TEST(state, user_insert_records_the_whole_entry_with_client_and_stored_views) {
    world w;
    recorder r;
    signe::detail::bind(w, &r, "", {});
    auto& p = w.players.emplace("P1");
    EXPECT_EQ(p.id, "P1");  // key field receives the key
    ASSERT_EQ(r.changes.size(), 1u);
    EXPECT_EQ(r.changes[0].path, "players.P1");
    EXPECT_EQ(
        signe::json::serialize(*r.changes[0].client),
        R"({"x":0,"hp":10,"inventory":{},"scores":[]})"
    );
    EXPECT_EQ(
        signe::json::serialize(*r.changes[0].stored),
        R"({"x":0,"secret":"s","inventory":{},"scores":[]})"
    );
    p.x = 4.5;
    EXPECT_EQ(r.changes.back().path, "players.P1.x");
    p.secret = "t";
    EXPECT_FALSE(r.changes.back().client.has_value());
    EXPECT_EQ(r.changes.back().stored->as_string(), "t");
    p.hp = 3;
    EXPECT_FALSE(r.changes.back().stored.has_value());
}

TEST(state, erase_records_delete_token) {
    world w;
    recorder r;
    signe::detail::bind(w, &r, "", {});
    w.players.emplace("P1").inventory.set("a", item{});
    w.players.at("P1").inventory.erase("a");
    EXPECT_EQ(r.changes.back().path, "players.P1.inventory.a");
    EXPECT_EQ(r.changes.back().client->as_string(), "$delete");
    w.players.erase("P1");
    EXPECT_EQ(r.changes.back().path, "players.P1");
    EXPECT_EQ(r.changes.back().client->as_string(), "$delete");
}

TEST(state, replacing_a_described_entry_records_only_changed_fields) {
    world w;
    recorder r;
    signe::detail::bind(w, &r, "", {});
    auto& inv = w.players.emplace("P1").inventory;
    inv.set("a", item{});
    r.changes.clear();
    item other;
    other.qty = 5;
    inv.set("a", other);
    ASSERT_EQ(r.changes.size(), 1u);
    EXPECT_EQ(r.changes[0].path, "players.P1.inventory.a.qty");
}

TEST(state, vector_element_update_and_structural_change) {
    world w;
    recorder r;
    signe::detail::bind(w, &r, "", {});
    auto& scores = w.players.emplace("P1").scores;
    scores.push_back(1);
    EXPECT_EQ(r.changes.back().path, "players.P1.scores");
    EXPECT_EQ(signe::json::serialize(*r.changes.back().client), "[1]");
    scores.set(0, 7);
    EXPECT_EQ(r.changes.back().path, "players.P1.scores.0");
    EXPECT_EQ(*r.changes.back().client, 7);
}

TEST(state, snapshot_and_load_round_trip) {
    world a;
    a.count = 2;
    a.players.emplace("P1").x = 3;
    a.players.at("P1").secret = "hidden";
    signe::json::value snap = signe::snapshot(a);
    world b;
    recorder r;
    signe::detail::bind(b, &r, "", {});
    signe::load(b, snap);
    EXPECT_EQ(b.count.get(), 2);
    ASSERT_NE(b.players.find("P1"), nullptr);
    EXPECT_EQ(b.players.at("P1").x.get(), 3);
    EXPECT_EQ(b.players.at("P1").secret.get(), "hidden");
    EXPECT_EQ(b.players.at("P1").id, "P1");
    EXPECT_FALSE(r.changes.empty());  // loading a bound tree records what it changed
    signe::load(b, signe::json::parse(R"({"players":{"P1":"$delete"}})"));
    EXPECT_EQ(b.players.size(), 0u);
}

}  // namespace

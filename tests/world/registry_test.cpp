// The in-memory World registry against the registry contract (registry_contract.hpp; the Redis
// registry runs the same tests in tests/redis/redis_registry_test.cpp).

#include "world/registry_contract.hpp"
#include <gtest/gtest.h>

#include <signe/world_registry.hpp>

namespace {

using namespace signe::world;
using signe::world::contract::registry_maker;
using signe::world::contract::RegistryContract;

INSTANTIATE_TEST_SUITE_P(
    Memory,
    RegistryContract,
    testing::Values(registry_maker{"memory", [] { return std::make_shared<memory_registry>(); }}),
    signe::world::contract::maker_name
);

TEST(Strategies, NamesRoundTrip) {
    for (auto s :
         {balancing_strategy::round_robin,
          balancing_strategy::least_connections,
          balancing_strategy::random}) {
        EXPECT_EQ(parse_strategy(to_string(s)), s);
    }
    for (auto s : {shard_status::active, shard_status::maintenance, shard_status::draining}) {
        EXPECT_EQ(parse_status(to_string(s)), s);
    }
    EXPECT_FALSE(parse_strategy("fastest"));
    EXPECT_FALSE(parse_status("gone"));
}

}  // namespace

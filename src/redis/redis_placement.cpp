// Placement in Redis: members with leases and claims tied to their holder's life (see
// include/signe/placement.hpp for the model and the keys).

#include <signe/placement.hpp>
#include <signe/redis.hpp>

#include <boost/container_hash/hash.hpp>

#include <algorithm>
#include <random>
#include <stdexcept>

namespace signe {

namespace {

// ARGV of every script: P (the key prefix), self id, self address, lease ms. Claiming or checking
// its claims proves a member alive, so those scripts renew its lease first; lookups do not (a
// shard process reads the rooms group without being one of its members).
constexpr const char* lua_common = R"lua(
local P, self, address, lease = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local function renew()
  redis.call('SET', P .. 'member:' .. self, address, 'PX', lease)
  redis.call('SADD', P .. 'members', self)
end
local function live_holder(key)
  local holder = redis.call('GET', P .. 'claim:' .. key)
  if not holder then return nil end
  local at = redis.call('GET', P .. 'member:' .. holder)
  if not at then return nil end
  return {holder, at}
end
)lua";

constexpr const char* heartbeat_lua = "renew()\nreturn 1\n";

// ARGV[5]: the key. Returns {holder id, holder address}, plus '1' when this member just took
// the key from a dead holder.
constexpr const char* claim_lua = R"lua(
renew()
local held = live_holder(ARGV[5])
if held then return held end
local before = redis.call('GET', P .. 'claim:' .. ARGV[5])
redis.call('SET', P .. 'claim:' .. ARGV[5], self)
if before and before ~= self then return {self, address, '1'} end
return {self, address}
)lua";

// ARGV[5]: the key. Returns {holder id, holder address} or an empty array.
constexpr const char* holder_lua = R"lua(
return live_holder(ARGV[5]) or {}
)lua";

// ARGV[5..]: keys this member claimed. Returns those another live member holds; takes the free
// ones back.
constexpr const char* lost_lua = R"lua(
renew()
local out = {}
for i = 5, #ARGV do
  local held = live_holder(ARGV[i])
  if held and held[1] ~= self then
    table.insert(out, ARGV[i])
  elseif not held then
    redis.call('SET', P .. 'claim:' .. ARGV[i], self)
  end
end
return out
)lua";

// ARGV[5]: the key.
constexpr const char* release_lua = R"lua(
if redis.call('GET', P .. 'claim:' .. ARGV[5]) == self then
  redis.call('DEL', P .. 'claim:' .. ARGV[5])
end
return 1
)lua";

// Rows {id, address} of live members; prunes the dead from the set.
constexpr const char* members_lua = R"lua(
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', P .. 'members')) do
  local at = redis.call('GET', P .. 'member:' .. id)
  if at then table.insert(out, {id, at}) else redis.call('SREM', P .. 'members', id) end
end
return out
)lua";

constexpr const char* leave_lua = R"lua(
local P, self = ARGV[1], ARGV[2]
redis.call('DEL', P .. 'member:' .. self)
redis.call('SREM', P .. 'members', self)
return 1
)lua";

std::string random_member_id() {
    static constexpr std::string_view alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::random_device device;
    std::mt19937_64 rng{(static_cast<std::uint64_t>(device()) << 32) ^ device()};
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::string id(16, ' ');
    for (auto& c : id) {
        c = alphabet[pick(rng)];
    }
    return id;
}

placement_member member_of(const redis_reply& row) {
    if (row.elements.size() != 2 && row.elements.size() != 3) {
        throw redis_error(redis_error::kind::protocol, "redis: unexpected placement reply");
    }
    return {row.elements[0].str, row.elements[1].str, row.elements.size() == 3};
}

}  // namespace

struct placement::scripts {
    redis_script heartbeat{std::string(lua_common) + heartbeat_lua};
    redis_script claim{std::string(lua_common) + claim_lua};
    redis_script holder{std::string(lua_common) + holder_lua};
    redis_script lost{std::string(lua_common) + lost_lua};
    redis_script release{std::string(lua_common) + release_lua};
    redis_script members{std::string(lua_common) + members_lua};
    redis_script leave{leave_lua};
};

namespace {
redis_reply run(redis_client& client, redis_script& script, const std::vector<std::string>& argv) {
    std::vector<std::string_view> views(argv.begin(), argv.end());
    return client.eval(script, {}, redis_client::args(views.data(), views.size()));
}
}  // namespace

placement::placement(placement_options options) : options_(std::move(options)) {
    if (options_.group.empty()) {
        throw std::invalid_argument("placement: the group is empty");
    }
    if (options_.address.empty()) {
        throw std::invalid_argument("placement: this process's address is empty");
    }
    if (options_.lease.count() <= 0) {
        throw std::invalid_argument("placement: the lease must be positive");
    }
    if (options_.self_id.empty()) {
        options_.self_id = random_member_id();
    }
    redis_ = std::make_unique<redis_client>(redis_options{.url = options_.url});
    scripts_ = std::make_unique<scripts>();
    std::string prefix = redis_->endpoint().param("prefix", "signe:placement");
    prefix_ = prefix + ":{" + options_.group + "}:";
}

placement::~placement() = default;

std::vector<std::string> placement::base_args() const {
    return {prefix_, options_.self_id, options_.address, std::to_string(options_.lease.count())};
}

void placement::heartbeat() {
    run(*redis_, scripts_->heartbeat, base_args());
}

void placement::leave() {
    run(*redis_, scripts_->leave, base_args());
}

placement_member placement::claim(const std::string& key) {
    auto argv = base_args();
    argv.push_back(key);
    return member_of(run(*redis_, scripts_->claim, argv));
}

std::optional<placement_member> placement::holder(const std::string& key) {
    auto argv = base_args();
    argv.push_back(key);
    auto reply = run(*redis_, scripts_->holder, argv);
    if (reply.elements.empty()) {
        return std::nullopt;
    }
    return member_of(reply);
}

std::vector<std::string> placement::lost(const std::vector<std::string>& keys) {
    auto argv = base_args();
    argv.insert(argv.end(), keys.begin(), keys.end());
    std::vector<std::string> out;
    for (const auto& e : run(*redis_, scripts_->lost, argv).elements) {
        out.push_back(e.str);
    }
    return out;
}

void placement::release(const std::string& key) {
    auto argv = base_args();
    argv.push_back(key);
    run(*redis_, scripts_->release, argv);
}

std::vector<placement_member> placement::members() {
    std::vector<placement_member> out;
    for (const auto& row : run(*redis_, scripts_->members, base_args()).elements) {
        out.push_back(member_of(row));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

std::optional<placement_member> pick_member(
    const std::vector<placement_member>& members, const std::string& key
) {
    std::optional<placement_member> best;
    std::size_t best_score = 0;
    for (const auto& m : members) {
        std::size_t score = boost::hash_value(key);
        boost::hash_combine(score, m.id);
        if (!best || score > best_score) {
            best = m;
            best_score = score;
        }
    }
    return best;
}

}  // namespace signe

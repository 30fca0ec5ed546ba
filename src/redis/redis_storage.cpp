#include "storage/json_read.hpp"

#include <signe/http.hpp>
#include <signe/storage_redis.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <mutex>
#include <stdexcept>

namespace signe {
namespace {

// KEYS: one room hash per batch. ARGV, per batch: the number of prefixes, of deleted keys and of
// puts, then the prefixes, the deleted keys and the key/value pairs. Every key's type is checked
// before anything is written, so a wrong type changes nothing. Returns the number of ARGV used.
constexpr std::string_view write_lua = R"lua(
for i = 1, #KEYS do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'hash' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE storage key ' .. KEYS[i] .. ' holds a ' .. t .. ', not a hash')
  end
end
local a = 1
for i = 1, #KEYS do
  local key = KEYS[i]
  local np, nd, nv = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  for j = a, a + np - 1 do
    local p = ARGV[j]
    if p == '' then
      redis.call('DEL', key)
    else
      local n = #p
      for _, f in ipairs(redis.call('HKEYS', key)) do
        if string.sub(f, 1, n) == p then
          redis.call('HDEL', key, f)
        end
      end
    end
  end
  a = a + np
  for j = a, a + nd - 1 do
    redis.call('HDEL', key, ARGV[j])
  end
  a = a + nd
  for j = a, a + 2 * nv - 1, 2 do
    redis.call('HSET', key, ARGV[j], ARGV[j + 1])
  end
  a = a + 2 * nv
end
return a - 1
)lua";

// KEYS[1]: the room hash; ARGV[1]: the prefix. Returns [key, value, key, value, ...] unsorted.
constexpr std::string_view list_lua = R"lua(
local p = ARGV[1]
local n = #p
local out = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, n) == p then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return out
)lua";

json::value parse_value(std::string_view key, std::string_view text) {
    boost::system::error_code ec;
    auto value = detail::parse_json_exact(text, ec);
    if (ec) {
        throw std::runtime_error(
            "redis_storage: the value of key \"" + std::string(key) +
            "\" is not JSON: " + ec.message()
        );
    }
    return value;
}

std::chrono::milliseconds parse_ms(
    const redis_endpoint& endpoint, std::string_view name, std::chrono::milliseconds fallback
) {
    auto text = endpoint.param(name);
    if (text.empty()) {
        return fallback;
    }
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value <= 0) {
        throw std::invalid_argument(
            "Invalid Redis storage option " + std::string(name) + "=" + text +
            ": expected a positive number of milliseconds"
        );
    }
    return std::chrono::milliseconds(value);
}

}  // namespace

redis_storage_options redis_storage_options_from_url(std::string_view url) {
    auto endpoint = parse_redis_url(url);
    redis_storage_options options;
    options.connection.url = std::string(url);
    options.connection.connect_timeout =
        parse_ms(endpoint, "connect_timeout_ms", options.connection.connect_timeout);
    options.connection.command_timeout =
        parse_ms(endpoint, "timeout_ms", options.connection.command_timeout);
    options.prefix = endpoint.param("prefix", options.prefix);
    for (const auto& [name, value] : endpoint.params) {
        if (name != "prefix" && name != "connect_timeout_ms" && name != "timeout_ms") {
            throw std::invalid_argument(
                "Unknown Redis storage option \"" + name +
                "\" (known: prefix, connect_timeout_ms, timeout_ms)"
            );
        }
    }
    return options;
}

struct redis_storage::impl {
    redis_storage_options options;
    std::mutex mutex;
    redis_client client;
    redis_script write_script{std::string(write_lua)};
    redis_script list_script{std::string(list_lua)};

    explicit impl(redis_storage_options opts)
        : options(std::move(opts)), client(options.connection) {}

    std::string key_of(const storage_key& room) const {
        return options.prefix + ":" + percent_encode(room.ns) + ":" + percent_encode(room.room);
    }

    void write(const std::vector<std::pair<const storage_key*, const write_batch*>>& batches) {
        std::vector<std::string> keys;
        std::vector<std::string> counts;  // stable storage for the numbers
        std::vector<std::string_view> arguments;
        std::string values;  // every value's JSON text, back to back
        std::vector<std::size_t> value_ends;
        keys.reserve(batches.size());
        counts.reserve(batches.size() * 3);
        for (const auto& [room, batch] : batches) {
            keys.push_back(key_of(*room));
            for (const auto& [key, value] : batch->puts) {
                append_text(values, value);
                value_ends.push_back(values.size());
            }
        }
        std::size_t value_index = 0;
        std::size_t value_start = 0;
        for (const auto& [room, batch] : batches) {
            counts.push_back(std::to_string(batch->delete_prefixes.size()));
            counts.push_back(std::to_string(batch->deletes.size()));
            counts.push_back(std::to_string(batch->puts.size()));
            auto n = counts.size();
            arguments.insert(arguments.end(), {counts[n - 3], counts[n - 2], counts[n - 1]});
            arguments.insert(
                arguments.end(), batch->delete_prefixes.begin(), batch->delete_prefixes.end()
            );
            arguments.insert(arguments.end(), batch->deletes.begin(), batch->deletes.end());
            for (const auto& [key, value] : batch->puts) {
                auto end = value_ends[value_index++];
                arguments.emplace_back(key);
                arguments.emplace_back(
                    std::string_view(values).substr(value_start, end - value_start)
                );
                value_start = end;
            }
        }
        std::vector<std::string_view> key_views(keys.begin(), keys.end());
        std::lock_guard lock(mutex);
        auto reply = client.eval(write_script, key_views, arguments);
        if (reply.type != redis_reply::kind::integer ||
            reply.integer != static_cast<long long>(arguments.size())) {
            throw redis_error(
                redis_error::kind::protocol, "redis_storage: the write script answered unexpectedly"
            );
        }
    }
};

redis_storage::redis_storage(redis_storage_options options) {
    if (options.prefix.empty()) {
        throw std::invalid_argument("redis_storage needs a non-empty key prefix");
    }
    impl_ = std::make_unique<impl>(std::move(options));
    impl_->client.command({"PING"});
}

redis_storage::~redis_storage() = default;

const redis_storage_options& redis_storage::options() const {
    return impl_->options;
}

std::string redis_storage::room_key(const storage_key& room) const {
    return impl_->key_of(room);
}

std::optional<json::value> redis_storage::get(const storage_key& room, std::string_view key) {
    auto hash = impl_->key_of(room);
    std::lock_guard lock(impl_->mutex);
    auto reply = impl_->client.command({"HGET", hash, key});
    if (reply.is_nil()) {
        return std::nullopt;
    }
    if (reply.type != redis_reply::kind::string) {
        throw redis_error(redis_error::kind::protocol, "redis_storage: HGET answered no string");
    }
    return parse_value(key, reply.str);
}

storage_entries redis_storage::list(const storage_key& room, std::string_view prefix) {
    auto hash = impl_->key_of(room);
    redis_reply reply;
    {
        std::lock_guard lock(impl_->mutex);
        if (prefix.empty()) {
            reply = impl_->client.command({"HGETALL", hash});
        } else {
            std::array<std::string_view, 1> keys{hash};
            std::array<std::string_view, 1> arguments{prefix};
            reply = impl_->client.eval(impl_->list_script, keys, arguments);
        }
    }
    if (reply.type != redis_reply::kind::array || reply.elements.size() % 2 != 0) {
        throw redis_error(
            redis_error::kind::protocol, "redis_storage: a list answered no key/value pairs"
        );
    }
    std::vector<std::pair<std::string*, std::string*>> raw;
    raw.reserve(reply.elements.size() / 2);
    for (std::size_t i = 0; i < reply.elements.size(); i += 2) {
        raw.emplace_back(&reply.elements[i].str, &reply.elements[i + 1].str);
    }
    // std::string compares bytes as unsigned char: binary order.
    std::sort(raw.begin(), raw.end(), [](const auto& a, const auto& b) {
        return *a.first < *b.first;
    });
    storage_entries out;
    out.reserve(raw.size());
    for (const auto& [key, text] : raw) {
        auto value = parse_value(*key, *text);
        out.emplace_back(std::move(*key), std::move(value));
    }
    return out;
}

void redis_storage::write(const storage_key& room, const write_batch& batch) {
    if (batch.empty()) {
        return;
    }
    impl_->write({{&room, &batch}});
}

void redis_storage::write_many(const std::vector<std::pair<storage_key, write_batch>>& batches) {
    std::vector<std::pair<const storage_key*, const write_batch*>> work;
    for (const auto& [room, batch] : batches) {
        if (!batch.empty()) {
            work.emplace_back(&room, &batch);
        }
    }
    if (!work.empty()) {
        impl_->write(work);
    }
}

}  // namespace signe

#pragma once

// Changes waiting to be sent, as an ordered set of dotted paths. A path set twice keeps its first
// position and its last value; setting a container path drops the pending changes below it,
// since the container's new value already holds them.

#include <signe/json.hpp>

#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace signe::detail {

class pending_changes {
public:
    void add(std::string path, json::value value);
    bool empty() const { return live_ == 0; }
    std::size_t size() const { return live_; }
    // The nested packet: `users.P1.x -> 3` becomes {"users":{"P1":{"x":3}}}. Numeric keys stay
    // object keys ({"list":{"2":3}}), which clients apply element by element.
    json::object build() const;
    // The pending (path, value) pairs, in order.
    std::vector<std::pair<std::string, json::value>> entries() const;
    void clear();

private:
    void drop_descendants(const std::string& path);
    bool merge_into_ancestor(const std::string& path, json::value& value);

    std::vector<std::pair<std::string, std::optional<json::value>>> entries_;
    std::unordered_map<std::string, std::size_t> index_;
    std::size_t live_ = 0;
};

// Writes `value` at a dotted `path` inside `root`, creating objects on the way.
void write_path(json::object& root, std::string_view path, json::value value);

}  // namespace signe::detail

#include "core/pending_changes.hpp"

namespace signe::detail {

namespace {

bool parse_array_index(std::string_view key, std::size_t& out) {
    if (key.empty() || key.size() > 9 ||
        key.find_first_not_of("0123456789") != std::string_view::npos) {
        return false;
    }
    out = std::stoul(std::string(key));
    return true;
}

// Writes `value` at the dotted `relative` path inside a pending container value. False when
// the path does not fit the value (then the change is recorded on its own).
bool write_into(json::value& target, std::string_view relative, json::value& value) {
    json::value* node = &target;
    while (true) {
        std::size_t dot = relative.find('.');
        std::string_view key = relative.substr(0, dot);
        json::value* child = nullptr;
        if (node->is_object()) {
            child = &node->get_object()[key];
            if (dot != std::string_view::npos && !child->is_object() && !child->is_array()) {
                *child = json::object{};
            }
        } else if (std::size_t index = 0; node->is_array() && parse_array_index(key, index) &&
                                          index < node->get_array().size()) {
            child = &node->get_array()[index];
        } else {
            return false;
        }
        if (dot == std::string_view::npos) {
            *child = std::move(value);
            return true;
        }
        node = child;
        relative = relative.substr(dot + 1);
    }
}

}  // namespace

void pending_changes::add(std::string path, json::value value) {
    if (live_ > 0 && merge_into_ancestor(path, value)) {
        return;
    }
    bool container = value.is_object() || value.is_array() || value.is_string();
    if (container && live_ > 0) {
        drop_descendants(path);
    }
    if (auto it = index_.find(path); it != index_.end()) {
        auto& slot = entries_[it->second].second;
        if (!slot) {
            ++live_;
        }
        slot = std::move(value);
        return;
    }
    index_.emplace(path, entries_.size());
    entries_.emplace_back(std::move(path), std::move(value));
    ++live_;
}

// A change below a path whose whole value is pending goes into that value: `items -> [1,2]`
// then `items.0 -> 7` is `items -> [7,2]`, never an object that would lose element 1.
bool pending_changes::merge_into_ancestor(const std::string& path, json::value& value) {
    for (std::size_t dot = path.rfind('.'); dot != std::string::npos && dot > 0;
         dot = path.rfind('.', dot - 1)) {
        auto it = index_.find(path.substr(0, dot));
        if (it == index_.end()) {
            continue;
        }
        auto& slot = entries_[it->second].second;
        if (!slot || !(slot->is_object() || slot->is_array())) {
            return false;
        }
        return write_into(*slot, std::string_view(path).substr(dot + 1), value);
    }
    return false;
}

void pending_changes::drop_descendants(const std::string& path) {
    for (auto& [p, v] : entries_) {
        if (v && p.size() > path.size() && p[path.size()] == '.' &&
            p.compare(0, path.size(), path) == 0) {
            v.reset();
            --live_;
        }
    }
}

json::object pending_changes::build() const {
    json::object root;
    for (const auto& [path, value] : entries_) {
        if (value) {
            write_path(root, path, *value);
        }
    }
    return root;
}

std::vector<std::pair<std::string, json::value>> pending_changes::entries() const {
    std::vector<std::pair<std::string, json::value>> out;
    out.reserve(live_);
    for (const auto& [path, value] : entries_) {
        if (value) {
            out.emplace_back(path, *value);
        }
    }
    return out;
}

void pending_changes::clear() {
    entries_.clear();
    index_.clear();
    live_ = 0;
}

void write_path(json::object& root, std::string_view path, json::value value) {
    json::object* node = &root;
    std::size_t start = 0;
    while (true) {
        std::size_t dot = path.find('.', start);
        std::string_view key = path.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start
        );
        if (dot == std::string_view::npos) {
            (*node)[key] = std::move(value);
            return;
        }
        json::value& child = (*node)[key];
        if (!child.is_object()) {
            child = json::object{};
        }
        node = &child.get_object();
        start = dot + 1;
    }
}

}  // namespace signe::detail

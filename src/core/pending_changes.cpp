#include "core/pending_changes.hpp"

namespace signe::detail {

void pending_changes::add(std::string path, json::value value) {
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

void pending_changes::drop_descendants(const std::string& path) {
    for (auto& [p, v] : entries_) {
        if (v && p.size() > path.size() && p[path.size()] == '.' && p.compare(0, path.size(), path) == 0) {
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
        std::string_view key = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
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

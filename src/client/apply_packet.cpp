// apply_packet: @signe/sync's load(root, packet, true) on a json::value, including its corner
// cases, so that a native client ends with the same state as a browser.

#include <signe/client.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace signe {
namespace {

using path = std::vector<std::string_view>;

// A canonical JavaScript array index ("0", "17", never "01" or "-1"), below 2^32 - 1.
std::optional<std::uint32_t> array_index(std::string_view key) {
    if (key.empty() || key.size() > 10 || (key.size() > 1 && key.front() == '0')) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (char c : key) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v >= 0xFFFFFFFFull) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(v);
}

// JavaScript's `value == "$delete"`: arrays compare through their string form, so a
// single-element array holding the token matches too.
bool is_delete_token(const json::value& v) {
    if (v.is_string()) {
        return v.get_string() == delete_token;
    }
    if (v.is_array()) {
        const auto& a = v.get_array();
        return a.size() == 1 && is_delete_token(a[0]);
    }
    return false;
}

// Object keys in for...in order: integer keys ascending, then the others as inserted.
std::vector<const json::key_value_pair*> js_key_order(const json::object& obj) {
    std::vector<const json::key_value_pair*> out;
    out.reserve(obj.size());
    bool any_index = false;
    for (const auto& kv : obj) {
        out.push_back(&kv);
        any_index = any_index || array_index(kv.key()).has_value();
    }
    if (any_index) {
        std::stable_sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
            auto ia = array_index(a->key());
            auto ib = array_index(b->key());
            if (ia && ib) {
                return *ia < *ib;
            }
            return ia.has_value() && !ib.has_value();
        });
    }
    return out;
}

bool descends(const json::value& v) {
    return v.is_object();  // null and arrays are leaves
}

enum class step { next, skip, abandon };

// The last key of a leaf's path, on an object or array.
step write_leaf(json::value& container, std::string_view key, const json::value& value) {
    bool remove = is_delete_token(value);
    if (auto* obj = container.if_object()) {
        if (remove) {
            obj->erase(key);
        } else {
            (*obj)[key] = value;
        }
        return step::next;
    }
    auto& arr = container.as_array();
    auto index = array_index(key);
    if (!index) {
        return step::skip;  // a non-index property of an array: invisible in JSON
    }
    if (remove) {
        if (*index < arr.size()) {
            arr[*index] = nullptr;  // `delete arr[i]` leaves a hole; JSON shows it as null
        }
        return step::next;
    }
    if (*index >= arr.size()) {
        arr.resize(*index + 1);
    }
    arr[*index] = value;
    return step::next;
}

// One intermediate step: the child of `container` at `key`, created as {} when missing.
json::value* walk(json::value& container, std::string_view key) {
    if (auto* obj = container.if_object()) {
        if (auto* found = obj->if_contains(key)) {
            return found;
        }
        return &obj->emplace(key, json::object{}).first->value();
    }
    auto& arr = container.as_array();
    auto index = array_index(key);
    if (!index) {
        return nullptr;  // an invisible property: everything below it is invisible too
    }
    if (*index >= arr.size()) {
        arr.resize(*index + 1);  // the gap: holes, which JSON shows as null
        arr[*index] = json::object{};
    }
    // An existing element is walked into as it is (a null stops the walk at the next step).
    // A hole made earlier by "$delete" is null here, where the JS client would create {}.
    return &arr[*index];
}

// loadValue: walks from the root for one leaf, as the JS client does for each leaf.
step load_value(json::value& root, const path& parts, const json::value& value) {
    json::value* current = &root;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (!current->is_object() && !current->is_array()) {
            return step::abandon;  // JS: TypeError on a property of a primitive or null
        }
        if (i + 1 == parts.size()) {
            return write_leaf(*current, parts[i], value);
        }
        current = walk(*current, parts[i]);
        if (current == nullptr) {
            return step::skip;
        }
    }
    return step::next;
}

bool load_children(json::value& root, path& prefix, const json::value& node);

bool load_entry(json::value& root, path& prefix, std::string_view key, const json::value& value) {
    prefix.push_back(key);
    bool ok = descends(value) ? load_children(root, prefix, value)
                              : load_value(root, prefix, value) != step::abandon;
    prefix.pop_back();
    return ok;
}

// loadFromObject: for...in over the packet node.
bool load_children(json::value& root, path& prefix, const json::value& node) {
    if (const auto* obj = node.if_object()) {
        for (const auto* kv : js_key_order(*obj)) {
            if (!load_entry(root, prefix, kv->key(), kv->value())) {
                return false;
            }
        }
        return true;
    }
    // for...in over an array or a string visits its indices (only reachable at the top).
    std::vector<std::string> keys;
    std::vector<json::value> values;
    if (const auto* arr = node.if_array()) {
        for (std::size_t i = 0; i < arr->size(); ++i) {
            keys.push_back(std::to_string(i));
            values.push_back((*arr)[i]);
        }
    } else if (const auto* str = node.if_string()) {
        for (std::size_t i = 0; i < str->size(); ++i) {
            keys.push_back(std::to_string(i));
            values.emplace_back(json::string(str->subview(i, 1)));
        }
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (!load_entry(root, prefix, keys[i], values[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace

bool apply_packet(json::value& mirror, const json::value& packet) {
    if (!mirror.is_object()) {
        mirror = json::object{};
    }
    path prefix;
    return load_children(mirror, prefix, packet);
}

}  // namespace signe

#pragma once

// Synchronised state. A room's state is a tree of described types whose fields are synced
// values, keyed maps, vectors and nested described types. Every write through them records its
// dotted path (`users.Ab3dE9xZ.x`) with the value as clients see it and as storage keeps it;
// removals travel as "$delete". The room's sync engine turns recorded changes into packets.
//
// Threading: state belongs to its room and is touched only on the room's executor.

#include <signe/field.hpp>
#include <signe/json.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace signe {

// One recorded change. `client` is absent when clients must not see the field, `stored` when it
// is not persisted.
struct change {
    std::string path;
    std::optional<json::value> client;
    std::optional<json::value> stored;
};

// Receives the changes of a bound state tree (the room's sync engine, or a test recorder).
class change_sink {
public:
    virtual void record(change c) = 0;

protected:
    ~change_sink() = default;
};

template <class T>
class synced;
template <class V>
class synced_map;
template <class V>
class synced_vector;
template <class U>
class users;

namespace detail {

// Where a node sits in the tree and who hears about its changes. Unbound nodes record nothing.
struct binding {
    change_sink* sink = nullptr;
    std::string path;
    field_flags flags{};

    bool bound() const { return sink != nullptr; }
    std::string child(std::string_view key) const {
        std::string p;
        p.reserve(path.size() + 1 + key.size());
        p.append(path).push_back('.');
        p.append(key);
        return p;
    }
};

inline bool parse_index(std::string_view key, std::size_t& out) {
    if (key.empty() || key.size() > 9) {
        return false;
    }
    std::size_t v = 0;
    for (char c : key) {
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + static_cast<std::size_t>(c - '0');
    }
    out = v;
    return true;
}

struct map_tag {};
struct vector_tag {};
struct users_tag {};

template <class T>
inline constexpr bool is_synced_v = false;
template <class T>
inline constexpr bool is_synced_v<synced<T>> = true;

template <class T>
inline constexpr bool is_map_v = std::is_base_of_v<map_tag, T>;
template <class T>
inline constexpr bool is_vector_v = std::is_base_of_v<vector_tag, T>;
template <class T>
inline constexpr bool is_users_v = std::is_base_of_v<users_tag, T>;

template <class T>
inline constexpr bool is_state_node_v =
    is_synced_v<T> || is_map_v<T> || is_vector_v<T> || described<T>;

// Scalars a synced<T> may hold.
template <class T>
concept scalar = std::same_as<T, bool> || std::integral<T> || std::floating_point<T> ||
    std::same_as<T, std::string> || std::same_as<T, json::value>;

template <scalar T>
json::value scalar_to_json(const T& v) {
    if constexpr (std::floating_point<T>) {
        // JSON has no NaN or infinity; JSON.stringify sends null for them too.
        if (!std::isfinite(v)) {
            return nullptr;
        }
        // Whole numbers travel as integers ("3", not "3E0"), as JavaScript would print them.
        double d = static_cast<double>(v);
        if (std::trunc(d) == d && std::fabs(d) < 9007199254740992.0) {
            return static_cast<std::int64_t>(d);
        }
        return d;
    } else if constexpr (std::same_as<T, std::string>) {
        return json::string(v);
    } else if constexpr (std::same_as<T, bool>) {
        return v;
    } else if constexpr (std::same_as<T, json::value>) {
        return v;
    } else if constexpr (std::is_signed_v<T>) {
        return static_cast<std::int64_t>(v);
    } else {
        return static_cast<std::uint64_t>(v);
    }
}

// Reads a scalar from JSON; false when the JSON has another type.
template <scalar T>
bool scalar_from_json(const json::value& j, T& out) {
    if constexpr (std::same_as<T, json::value>) {
        out = j;
        return true;
    } else if constexpr (std::same_as<T, std::string>) {
        if (!j.is_string()) {
            return false;
        }
        out.assign(j.get_string().data(), j.get_string().size());
        return true;
    } else if constexpr (std::same_as<T, bool>) {
        if (!j.is_bool()) {
            return false;
        }
        out = j.get_bool();
        return true;
    } else if constexpr (std::floating_point<T>) {
        if (!j.is_number()) {
            return false;
        }
        out = static_cast<T>(j.to_number<double>());
        return true;
    } else {
        std::error_code ec;
        auto v = j.to_number<T>(ec);  // rejects fractions and values out of range
        if (ec) {
            return false;
        }
        out = v;
        return true;
    }
}

// Reaches the private binding of state nodes; only the walkers below use it.
struct access {
    template <class Node>
    static binding& of(Node& n) {
        return n.binding_;
    }
};

template <class T>
json::value client_json(const T& node);
template <class T>
json::value stored_json(const T& node);
template <class T>
void bind(T& node, change_sink* sink, std::string path, field_flags flags);
template <class T>
void load_json(T& node, const json::value& j);

// Records `node` (already updated) at its own path, as clients and storage see it.
template <class T>
void emit(const binding& b, std::string path, const T& node) {
    if (!b.bound()) {
        return;
    }
    change c{std::move(path), std::nullopt, std::nullopt};
    if (b.flags.to_client) {
        c.client = client_json(node);
    }
    if (b.flags.persist) {
        c.stored = stored_json(node);
    }
    if (c.client || c.stored) {
        b.sink->record(std::move(c));
    }
}

inline void emit_delete(const binding& b, std::string path) {
    if (!b.bound()) {
        return;
    }
    change c{std::move(path), std::nullopt, std::nullopt};
    if (b.flags.to_client) {
        c.client = json::string(delete_token);
    }
    if (b.flags.persist) {
        c.stored = json::string(delete_token);
    }
    if (c.client || c.stored) {
        b.sink->record(std::move(c));
    }
}

template <class Def>
void set_key(typename Def::owner_type& owner, const Def& def, const std::string& key) {
    using member = typename Def::member_type;
    if constexpr (std::same_as<member, std::string>) {
        owner.*def.member = key;
    } else if constexpr (std::same_as<member, synced<std::string>>) {
        (owner.*def.member).set(key);
    }
}

// Gives the key field of a described entry its key (the original's @id).
template <class V>
void assign_key(V& entry, const std::string& key) {
    if constexpr (described<V>) {
        for_each_field<V>([&](const auto& def) {
            if (def.is_key) {
                set_key(entry, def, key);
            }
        });
    }
}

}  // namespace detail

// A synchronised value: a number, bool, string or free-form JSON. Setting a different value
// records the change; setting the same value records nothing.
template <class T>
class synced {
    static_assert(
        detail::scalar<T>,
        "synced<T> holds bool, integers, floating point, std::string or json::value"
    );

public:
    using value_type = T;

    synced() = default;
    synced(T value) : value_(std::move(value)) {}  // NOLINT: implicit, reads like a plain field
    // A copy is a plain value that is not part of any room's state.
    synced(const synced& other) : value_(other.value_) {}
    synced(synced&& other) noexcept : value_(std::move(other.value_)) {}
    // Assigning keeps this field's place in the state and records the change.
    synced& operator=(const synced& other) {
        set(other.value_);
        return *this;
    }
    synced& operator=(synced&& other) {
        set(std::move(other.value_));
        return *this;
    }
    synced& operator=(T value) {
        set(std::move(value));
        return *this;
    }
    ~synced() = default;

    const T& get() const { return value_; }
    const T& operator()() const { return value_; }
    operator const T&() const { return value_; }  // NOLINT: reads like a plain field

    void set(T value) {
        if (value == value_) {
            return;
        }
        value_ = std::move(value);
        detail::emit(binding_, binding_.path, *this);
    }

    // Edits a copy and sets it: `name.update([](std::string& s) { s += "!"; })`.
    template <class Fn>
    void update(Fn&& fn) {
        T copy = value_;
        std::forward<Fn>(fn)(copy);
        set(std::move(copy));
    }

    synced& operator+=(const T& d) requires std::is_arithmetic_v<T> {
        set(static_cast<T>(value_ + d));
        return *this;
    }
    synced& operator-=(const T& d) requires std::is_arithmetic_v<T> {
        set(static_cast<T>(value_ - d));
        return *this;
    }
    synced& operator++() requires std::is_arithmetic_v<T> { return *this += T{1}; }
    synced& operator--() requires std::is_arithmetic_v<T> { return *this -= T{1}; }

private:
    friend struct detail::access;
    T value_{};
    detail::binding binding_;
};

// A keyed collection, synced as an object: `{"items":{"sword":{...}}}`. Entries are scalars or
// described types. Inserting records the whole entry; erasing records "$delete" at its key.
template <class V>
class synced_map : public detail::map_tag {
    using storage = std::map<std::string, V, std::less<>>;

public:
    using value_type = V;
    using const_iterator = typename storage::const_iterator;

    synced_map() = default;
    synced_map(const synced_map& other) : entries_(other.entries_) {}
    synced_map& operator=(const synced_map& other) {
        assign(other.entries_);
        return *this;
    }
    ~synced_map() = default;

    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    bool contains(std::string_view key) const { return entries_.find(key) != entries_.end(); }
    const_iterator begin() const { return entries_.begin(); }
    const_iterator end() const { return entries_.end(); }

    const V* find(std::string_view key) const {
        auto it = entries_.find(key);
        return it == entries_.end() ? nullptr : &it->second;
    }
    // Described entries may be edited in place: their synced fields record their own changes.
    V* find(std::string_view key) requires described<V> {
        auto it = entries_.find(key);
        return it == entries_.end() ? nullptr : &it->second;
    }
    const V& at(std::string_view key) const { return *checked(key); }
    V& at(std::string_view key) requires described<V> { return *const_cast<V*>(checked(key)); }

    // Mutable iteration over described entries (each edit is tracked by the entry's fields).
    template <class Fn>
    void for_each(Fn&& fn) requires described<V> {
        for (auto& [key, value] : entries_) {
            fn(key, value);
        }
    }

    // Inserts or replaces. Replacing a described entry records only the fields that changed.
    V& set(std::string key, V value) {
        auto it = entries_.find(key);
        if (it != entries_.end()) {
            replace(it, std::move(value));
            return it->second;
        }
        return insert_new(std::move(key), std::move(value));
    }

    // Inserts a default entry when the key is new; returns the entry either way.
    V& emplace(std::string key) requires described<V> {
        auto it = entries_.find(key);
        if (it != entries_.end()) {
            return it->second;
        }
        return insert_new(std::move(key), V{});
    }

    bool erase(std::string_view key) {
        auto it = entries_.find(key);
        if (it == entries_.end()) {
            return false;
        }
        std::string path = binding_.child(it->first);
        entries_.erase(it);
        detail::emit_delete(binding_, std::move(path));
        return true;
    }

    // Removes every entry, each with its own "$delete" (clients never clear on `{}`).
    void clear() {
        while (!entries_.empty()) {
            erase(entries_.begin()->first);
        }
    }

    void assign(const storage& source) {
        std::vector<std::string> gone;
        for (const auto& [key, value] : entries_) {
            if (source.find(key) == source.end()) {
                gone.push_back(key);
            }
        }
        for (const auto& key : gone) {
            erase(key);
        }
        for (const auto& [key, value] : source) {
            set(key, value);
        }
    }

private:
    friend struct detail::access;
    template <class T>
    friend void detail::bind(T&, change_sink*, std::string, field_flags);

    const V* checked(std::string_view key) const {
        auto it = entries_.find(key);
        if (it == entries_.end()) {
            throw std::out_of_range("synced_map: no entry '" + std::string(key) + "'");
        }
        return &it->second;
    }

    void replace(typename storage::iterator it, V value) {
        if constexpr (described<V>) {
            detail::assign_key(value, it->first);
            it->second = std::move(value);  // field-wise synced assignment records the changes
        } else {
            if (it->second == value) {
                return;
            }
            it->second = std::move(value);
            detail::emit(binding_, binding_.child(it->first), it->second);
        }
    }

    V& insert_new(std::string key, V value) {
        detail::assign_key(value, key);
        auto [it, inserted] = entries_.emplace(std::move(key), std::move(value));
        std::string path = binding_.child(it->first);
        if (binding_.bound()) {
            detail::bind(it->second, binding_.sink, path, binding_.flags);
        }
        detail::emit(binding_, std::move(path), it->second);
        return it->second;
    }

    storage entries_;
    detail::binding binding_;
};

// The room's users, keyed by publicId (the original's @users). One per room type.
template <class U>
class users : public synced_map<U>, public detail::users_tag {
    static_assert(described<U>, "users<U>: the user type must declare its fields()");

public:
    using user_type = U;
    using synced_map<U>::synced_map;
};

// An ordered list. Element updates of scalars travel as index-keyed objects
// (`{"list":{"2":3}}`); structural changes of scalar lists send the whole array; lists of
// described entries send index-keyed objects so clients can build their entry type.
template <class V>
class synced_vector : public detail::vector_tag {
public:
    using value_type = V;
    using const_iterator = typename std::vector<V>::const_iterator;

    synced_vector() = default;
    synced_vector(std::initializer_list<V> items) : items_(items) {}
    synced_vector(const synced_vector& other) : items_(other.items_) {}
    synced_vector& operator=(const synced_vector& other) {
        assign(other.items_);
        return *this;
    }
    ~synced_vector() = default;

    std::size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }
    const V& operator[](std::size_t i) const { return items_[i]; }
    const V& at(std::size_t i) const { return items_.at(i); }
    V& at(std::size_t i) requires described<V> { return items_.at(i); }
    const_iterator begin() const { return items_.begin(); }
    const_iterator end() const { return items_.end(); }
    const std::vector<V>& items() const { return items_; }

    void set(std::size_t i, V value) {
        if constexpr (described<V>) {
            items_.at(i) = std::move(value);  // field-wise synced assignment
        } else {
            if (items_.at(i) == value) {
                return;
            }
            items_[i] = std::move(value);
            detail::emit(binding_, binding_.child(std::to_string(i)), items_[i]);
        }
    }

    void push_back(V value) {
        items_.push_back(std::move(value));
        changed_from(items_.size() - 1, items_.size() - 1);
    }
    void pop_back() {
        if (items_.empty()) {
            return;
        }
        std::size_t old_size = items_.size();
        items_.pop_back();
        changed_from(items_.size(), old_size);
    }
    void insert(std::size_t i, V value) {
        std::size_t old_size = items_.size();
        items_.insert(items_.begin() + static_cast<std::ptrdiff_t>(i), std::move(value));
        changed_from(i, old_size);
    }
    void erase(std::size_t i) {
        std::size_t old_size = items_.size();
        items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
        changed_from(i, old_size);
    }
    void clear() {
        std::size_t old_size = items_.size();
        items_.clear();
        changed_from(0, old_size);
    }
    // Replaces the contents. Scalars: nothing is recorded when equal. Described entries are
    // assigned field by field (only differences are recorded), then the size change.
    void assign(std::vector<V> items) {
        std::size_t old_size = items_.size();
        if constexpr (described<V>) {
            std::size_t common = std::min(old_size, items.size());
            for (std::size_t i = 0; i < common; ++i) {
                items_[i] = std::move(items[i]);
            }
            if (items.size() == old_size) {
                return;
            }
            items_.resize(common);
            for (std::size_t i = common; i < items.size(); ++i) {
                items_.push_back(std::move(items[i]));
            }
            changed_from(common, old_size);
        } else {
            if (items == items_) {
                return;
            }
            items_ = std::move(items);
            changed_from(0, old_size);
        }
    }

private:
    friend struct detail::access;
    template <class T>
    friend void detail::bind(T&, change_sink*, std::string, field_flags);

    // Records a structural change that touched indices from `first` on; `old_size` is the size
    // before it.
    void changed_from(std::size_t first, std::size_t old_size) {
        if (!binding_.bound()) {
            return;
        }
        if constexpr (described<V>) {
            for (std::size_t i = first; i < items_.size(); ++i) {
                std::string path = binding_.child(std::to_string(i));
                detail::bind(items_[i], binding_.sink, path, binding_.flags);
                detail::emit(binding_, std::move(path), items_[i]);
            }
            for (std::size_t i = items_.size(); i < old_size; ++i) {
                detail::emit_delete(binding_, binding_.child(std::to_string(i)));
            }
            // Earlier entries may have moved in memory (reallocation); their paths are unchanged.
            for (std::size_t i = 0; i < first && i < items_.size(); ++i) {
                detail::bind(
                    items_[i], binding_.sink, binding_.child(std::to_string(i)), binding_.flags
                );
            }
        } else {
            detail::emit(binding_, binding_.path, *this);
        }
    }

    std::vector<V> items_;
    detail::binding binding_;
};

namespace detail {

// The two views of a state node: what clients see (fields synced to clients; lists of described
// entries as index-keyed objects, which clients turn into their entry type) and what storage
// keeps (persisted fields; lists as arrays).
enum class view { client, stored };

template <view V, class T>
json::value view_json(const T& node) {
    if constexpr (is_synced_v<T>) {
        return scalar_to_json(node.get());
    } else if constexpr (scalar<T>) {
        return scalar_to_json(node);
    } else if constexpr (is_map_v<T>) {
        json::object out;
        for (const auto& [key, value] : node) {
            out.emplace(key, view_json<V>(value));
        }
        return out;
    } else if constexpr (is_vector_v<T>) {
        if constexpr (V == view::client && described<typename T::value_type>) {
            json::object out;
            for (std::size_t i = 0; i < node.size(); ++i) {
                out.emplace(std::to_string(i), view_json<V>(node[i]));
            }
            return out;
        } else {
            json::array out;
            for (const auto& item : node) {
                out.push_back(view_json<V>(item));
            }
            return out;
        }
    } else {
        static_assert(
            described<T>,
            "state fields are synced<>, synced_map<>, synced_vector<>, users<> or described types"
        );
        json::object out;
        for_each_field<T>([&](const auto& def) {
            using member = typename std::decay_t<decltype(def)>::member_type;
            if constexpr (is_state_node_v<member>) {
                if (V == view::client ? def.flags.to_client : def.flags.persist) {
                    out.emplace(def.name, view_json<V>(node.*def.member));
                }
            }
        });
        return out;
    }
}

template <class T>
json::value client_json(const T& node) {
    return view_json<view::client>(node);
}

template <class T>
json::value stored_json(const T& node) {
    return view_json<view::stored>(node);
}

template <class T>
void bind(T& node, change_sink* sink, std::string path, field_flags flags) {
    if constexpr (is_synced_v<T>) {
        access::of(node) = binding{sink, std::move(path), flags};
    } else if constexpr (scalar<T>) {
        // Scalars inside maps and vectors are recorded by their container.
    } else if constexpr (is_map_v<T> || is_vector_v<T>) {
        auto& b = access::of(node);
        b = binding{sink, std::move(path), flags};
        using value_type = typename T::value_type;
        if constexpr (described<value_type>) {
            if constexpr (is_map_v<T>) {
                for (auto& [key, value] : node.entries_) {
                    bind(value, sink, b.child(key), flags);
                }
            } else {
                for (std::size_t i = 0; i < node.items_.size(); ++i) {
                    bind(node.items_[i], sink, b.child(std::to_string(i)), flags);
                }
            }
        }
    } else {
        static_assert(
            described<T>,
            "state fields are synced<>, synced_map<>, synced_vector<>, users<> or described types"
        );
        for_each_field<T>([&](const auto& def) {
            using member = typename std::decay_t<decltype(def)>::member_type;
            if constexpr (is_state_node_v<member>) {
                std::string child =
                    path.empty() ? std::string(def.name) : path + "." + std::string(def.name);
                bind(node.*def.member, sink, std::move(child), flags & def.flags);
            } else {
                static_assert(
                    std::same_as<member, std::string>,
                    "a plain member in a state type must be a std::string key field"
                );
            }
        });
    }
}

// True for "$delete" and for objects holding nothing but removals (or nothing at all).
inline bool only_deletes(const json::value& j) {
    if (j.is_string()) {
        return j.get_string() == delete_token;
    }
    if (!j.is_object()) {
        return false;
    }
    for (const auto& [key, item] : j.get_object()) {
        if (!only_deletes(item)) {
            return false;
        }
    }
    return true;
}

template <class V>
void load_entry(V& existing, const json::value& j) {
    if constexpr (described<V>) {
        load_json(existing, j);
    } else {
        V value{};
        if (scalar_from_json(j, value)) {
            existing = std::move(value);
        }
    }
}

template <class T>
void load_json(T& node, const json::value& j) {
    if constexpr (is_synced_v<T>) {
        typename T::value_type value{};
        if (scalar_from_json(j, value)) {
            node.set(std::move(value));
        }
    } else if constexpr (is_map_v<T>) {
        if (!j.is_object()) {
            return;
        }
        using value_type = typename T::value_type;
        for (const auto& [key, item] : j.get_object()) {
            std::string k(key);
            if (item.is_string() && item.get_string() == delete_token) {
                node.erase(k);
            } else if constexpr (described<value_type>) {
                if (auto* existing = node.find(k)) {
                    load_json(*existing, item);
                } else if (!only_deletes(item
                           )) {  // removing inside a missing entry creates nothing
                    load_json(node.emplace(k), item);
                }
            } else {
                value_type value{};
                if (scalar_from_json(item, value)) {
                    node.set(k, std::move(value));
                }
            }
        }
    } else if constexpr (is_vector_v<T>) {
        using value_type = typename T::value_type;
        std::vector<value_type> items = node.items();
        if (j.is_array()) {
            items.resize(j.get_array().size());
            for (std::size_t i = 0; i < items.size(); ++i) {
                load_entry(items[i], j.get_array()[i]);
            }
        } else if (j.is_object()) {
            // Index-keyed objects, as clients see lists of described entries; "$delete" at an
            // index removes that entry.
            std::vector<std::size_t> removed;
            for (const auto& [key, item] : j.get_object()) {
                std::size_t index = 0;
                if (!parse_index(key, index)) {
                    continue;
                }
                if (item.is_string() && item.get_string() == delete_token) {
                    removed.push_back(index);
                    continue;
                }
                if (items.size() <= index) {
                    items.resize(index + 1);
                }
                load_entry(items[index], item);
            }
            std::sort(removed.rbegin(), removed.rend());
            for (std::size_t index : removed) {
                if (index < items.size()) {
                    items.erase(items.begin() + static_cast<std::ptrdiff_t>(index));
                }
            }
        } else {
            return;
        }
        node.assign(std::move(items));
    } else {
        if (!j.is_object()) {
            return;
        }
        const auto& obj = j.get_object();
        for_each_field<T>([&](const auto& def) {
            using member = typename std::decay_t<decltype(def)>::member_type;
            if constexpr (is_state_node_v<member>) {
                if (auto it = obj.find(def.name); it != obj.end()) {
                    load_json(node.*def.member, it->value());
                }
            }
        });
    }
}

}  // namespace detail

// Deep snapshot of a state node as storage keeps it (persisted fields only): the original's
// createStatesSnapshotDeep.
template <class T>
json::value snapshot(const T& node) {
    return detail::stored_json(node);
}

// Client view of a state node (fields synced to clients only).
template <class T>
json::value client_view(const T& node) {
    return detail::client_json(node);
}

// Applies a snapshot (as produced by `snapshot`, or a sync packet) to a state node. Keys holding
// "$delete" remove collection entries. Changes are recorded when the node is bound to a room.
template <class T>
void load(T& node, const json::value& snapshot) {
    detail::load_json(node, snapshot);
}

}  // namespace signe

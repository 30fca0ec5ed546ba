#pragma once

// Field declarations: one list per type, in a static `fields()` function, naming each member
// once. The same declaration drives state synchronisation (for room and user types) and payload
// decoding and validation (for action and HTTP body types).
//
//     struct player {
//         signe::synced<double> x{0};
//         signe::synced<double> y{0};
//         static auto fields() {
//             return signe::fields(signe::field("x", &player::x), signe::field("y", &player::y));
//         }
//     };

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <tuple>
#include <utility>

namespace signe {

// Who sees a field: clients (sync) and storage (persistence). Flags combine down the tree: a
// field inside a non-persisted field is not persisted either.
struct field_flags {
    bool to_client = true;
    bool persist = true;

    constexpr field_flags operator&(field_flags other) const {
        return {to_client && other.to_client, persist && other.persist};
    }
};

// Validation rules for payload fields (the zod equivalent). Unused by state fields.
template <class Member>
struct field_rules {
    std::optional<double> min;  // numbers: value >= min; strings/arrays: size >= min
    std::optional<double> max;  // numbers: value <= max; strings/arrays: size <= max
    std::span<const std::string_view> choices;      // strings: one of these (an enum)
    const char* (*check)(const Member&) = nullptr;  // custom rule: an error message or nullptr
};

template <class Owner, class Member>
struct field_def {
    using owner_type = Owner;
    using member_type = Member;

    std::string_view name;
    Member Owner::*member;
    field_flags flags{};
    bool is_connected_flag = false;  // the user's online flag, set by the server
    bool is_key = false;             // receives the key of the collection entry it sits in
    field_rules<Member> rules{};

    // syncToClient:false: persisted, never sent to clients.
    constexpr field_def server_only() const {
        auto copy = *this;
        copy.flags.to_client = false;
        return copy;
    }
    // persist:false: sent to clients, never written to storage.
    constexpr field_def transient() const {
        auto copy = *this;
        copy.flags.persist = false;
        return copy;
    }
    // The user's `connected` flag (the original's @connected): the server sets it to true when
    // the user's first socket joins and to false when the last one leaves. Never persisted.
    constexpr field_def connected() const {
        auto copy = transient();
        copy.is_connected_flag = true;
        return copy;
    }
    // The original's @id: receives the key (publicId for users) when the entry is inserted.
    constexpr field_def key() const {
        auto copy = *this;
        copy.is_key = true;
        return copy;
    }
    constexpr field_def min(double value) const {
        auto copy = *this;
        copy.rules.min = value;
        return copy;
    }
    constexpr field_def max(double value) const {
        auto copy = *this;
        copy.rules.max = value;
        return copy;
    }
    constexpr field_def length(double min_size, double max_size) const {
        return min(min_size).max(max_size);
    }
    constexpr field_def one_of(std::span<const std::string_view> allowed) const {
        auto copy = *this;
        copy.rules.choices = allowed;
        return copy;
    }
    constexpr field_def check(const char* (*rule)(const Member&)) const {
        auto copy = *this;
        copy.rules.check = rule;
        return copy;
    }
};

template <class Owner, class Member>
constexpr field_def<Owner, Member> field(std::string_view name, Member Owner::*member) {
    return {name, member};
}

template <class... Defs>
constexpr std::tuple<Defs...> fields(Defs... defs) {
    return std::tuple<Defs...>{defs...};
}

// A type that declares its fields.
template <class T>
concept described = requires {
    T::fields();
};

// Calls `fn(def)` for each declared field of T, in declaration order.
template <described T, class Fn>
void for_each_field(Fn&& fn) {
    std::apply([&](const auto&... defs) { (fn(defs), ...); }, T::fields());
}

}  // namespace signe

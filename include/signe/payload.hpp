#pragma once

// Typed payloads: JSON decoded into a C++ type and validated (the zod equivalent). A payload is
// a described struct (see field.hpp), a scalar, std::string, std::vector, std::optional or a raw
// json::value. A value of the wrong shape never reaches a handler: decoding returns the list of
// issues instead, in the shape zod reports them.
//
//     struct move_msg {
//         double x = 0;
//         double y = 0;
//         std::optional<std::string> emote;
//         static auto fields() {
//             return signe::fields(signe::field("x", &move_msg::x).min(0).max(900),
//                                  signe::field("y", &move_msg::y),
//                                  signe::field("emote", &move_msg::emote).length(1, 16));
//         }
//     };

#include <signe/field.hpp>
#include <signe/json.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace signe {

struct validation_issue {
    std::string code;     // "invalid_type", "too_small", "too_big", "invalid_enum_value", "custom"
    std::string message;  // "Expected number, received string"
    json::array path;     // ["players", 0, "x"]
    json::object extra;   // expected/received, minimum/maximum, options
};

class validation_error {
public:
    std::vector<validation_issue> issues;

    bool empty() const { return issues.empty(); }
    // `{"issues":[{code, message, path, ...}], "name":"ZodError"}`, as the original reports it.
    json::value to_json() const;
    // One line for logs: `x: Expected number, received string; name: ...`.
    std::string summary() const;
};

// The JSON type name zod uses in "received" ("string", "number", "object", "undefined"...).
std::string_view json_type_name(const json::value* j);

namespace detail {

template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;

template <class T>
inline constexpr bool is_vector_payload_v = false;
template <class T, class A>
inline constexpr bool is_vector_payload_v<std::vector<T, A>> = true;

void add_type_issue(
    validation_error& err,
    const json::array& path,
    std::string_view expected,
    const json::value* got
);
void add_issue(
    validation_error& err,
    const json::array& path,
    std::string code,
    std::string message,
    json::object extra = {}
);

template <class T>
void decode_into(const json::value* j, T& out, json::array& path, validation_error& err);
template <class T>
void check_rules(
    const T& value, const field_rules<T>& rules, const json::array& path, validation_error& err
);

template <class T>
void decode_number(const json::value* j, T& out, json::array& path, validation_error& err) {
    if (j == nullptr || !j->is_number()) {
        add_type_issue(err, path, "number", j);
        return;
    }
    if constexpr (std::floating_point<T>) {
        out = static_cast<T>(j->to_number<double>());
    } else {
        std::error_code ec;
        auto v = j->to_number<T>(ec);
        if (ec) {
            // A fraction, or out of the member's range.
            add_issue(
                err,
                path,
                "invalid_type",
                "Expected integer, received float",
                {{"expected", "integer"}, {"received", "float"}}
            );
            return;
        }
        out = v;
    }
}

template <class T>
void decode_into(const json::value* j, T& out, json::array& path, validation_error& err) {
    if constexpr (is_optional_v<T>) {
        if (j == nullptr || j->is_null()) {
            out.reset();
            return;
        }
        typename T::value_type inner{};
        std::size_t before = err.issues.size();
        decode_into(j, inner, path, err);
        if (err.issues.size() == before) {
            out = std::move(inner);
        }
    } else if constexpr (std::same_as<T, json::value>) {
        out = j ? *j : json::value(nullptr);
    } else if constexpr (std::same_as<T, bool>) {
        if (j == nullptr || !j->is_bool()) {
            add_type_issue(err, path, "boolean", j);
            return;
        }
        out = j->get_bool();
    } else if constexpr (std::is_arithmetic_v<T>) {
        decode_number(j, out, path, err);
    } else if constexpr (std::same_as<T, std::string>) {
        if (j == nullptr || !j->is_string()) {
            add_type_issue(err, path, "string", j);
            return;
        }
        out.assign(j->get_string().data(), j->get_string().size());
    } else if constexpr (is_vector_payload_v<T>) {
        if (j == nullptr || !j->is_array()) {
            add_type_issue(err, path, "array", j);
            return;
        }
        const auto& arr = j->get_array();
        out.clear();
        out.resize(arr.size());
        for (std::size_t i = 0; i < arr.size(); ++i) {
            path.push_back(static_cast<std::uint64_t>(i));
            decode_into(&arr[i], out[i], path, err);
            path.pop_back();
        }
    } else {
        static_assert(
            described<T>,
            "payload types are described structs, scalars, strings, vectors, optionals or "
            "json::value"
        );
        if (j == nullptr || !j->is_object()) {
            add_type_issue(err, path, "object", j);
            return;
        }
        const auto& obj = j->get_object();
        for_each_field<T>([&](const auto& def) {
            auto it = obj.find(def.name);
            const json::value* member_json = it == obj.end() ? nullptr : &it->value();
            path.push_back(json::string(def.name));
            std::size_t before = err.issues.size();
            decode_into(member_json, out.*def.member, path, err);
            if (err.issues.size() == before) {
                check_rules(out.*def.member, def.rules, path, err);
            }
            path.pop_back();
        });
    }
}

// The size a min/max rule measures: the number itself, or the length of a string or list.
template <class T>
std::optional<double> measured(const T& value) {
    if constexpr (is_optional_v<T>) {
        return value ? measured(*value) : std::nullopt;
    } else if constexpr (std::same_as<T, bool>) {
        return std::nullopt;
    } else if constexpr (std::is_arithmetic_v<T>) {
        return static_cast<double>(value);
    } else if constexpr (std::same_as<T, std::string> || is_vector_payload_v<T>) {
        return static_cast<double>(value.size());
    } else {
        return std::nullopt;
    }
}

template <class T>
constexpr std::string_view measured_kind() {
    if constexpr (is_optional_v<T>) {
        return measured_kind<typename T::value_type>();
    } else if constexpr (std::same_as<T, std::string>) {
        return "string";
    } else if constexpr (is_vector_payload_v<T>) {
        return "array";
    } else {
        return "number";
    }
}

void add_bound_issue(
    validation_error& err,
    const json::array& path,
    bool too_small,
    double bound,
    std::string_view kind
);
void add_enum_issue(
    validation_error& err,
    const json::array& path,
    std::span<const std::string_view> choices,
    std::string_view got
);

template <class T>
void check_rules(
    const T& value, const field_rules<T>& rules, const json::array& path, validation_error& err
) {
    if (auto size = measured(value)) {
        if (rules.min && *size < *rules.min) {
            add_bound_issue(err, path, true, *rules.min, measured_kind<T>());
        }
        if (rules.max && *size > *rules.max) {
            add_bound_issue(err, path, false, *rules.max, measured_kind<T>());
        }
    }
    if constexpr (std::same_as<T, std::string>) {
        if (!rules.choices.empty()) {
            bool found = false;
            for (auto choice : rules.choices) {
                found = found || choice == value;
            }
            if (!found) {
                add_enum_issue(err, path, rules.choices, value);
            }
        }
    } else if constexpr (std::same_as<T, std::optional<std::string>>) {
        if (!rules.choices.empty() && value) {
            bool found = false;
            for (auto choice : rules.choices) {
                found = found || choice == *value;
            }
            if (!found) {
                add_enum_issue(err, path, rules.choices, *value);
            }
        }
    }
    if (rules.check != nullptr) {
        if (const char* message = rules.check(value)) {
            add_issue(err, path, "custom", message);
        }
    }
}

}  // namespace detail

// Decodes and validates `j` (nullptr: the value was absent) as a T. On failure the result is
// empty and `err` lists every issue.
template <class T>
std::optional<T> decode(const json::value* j, validation_error& err) {
    T out{};
    json::array path;
    std::size_t before = err.issues.size();
    detail::decode_into(j, out, path, err);
    if (err.issues.size() != before) {
        return std::nullopt;
    }
    return out;
}

template <class T>
std::optional<T> decode(const json::value& j, validation_error& err) {
    return decode<T>(&j, err);
}

}  // namespace signe

#pragma once

// Reads a server frame {"type": T, "value": V} as the leaves the JS client's load() would
// visit, without building a JSON tree: a SAX pass (Boost.JSON's basic_parser) reports each leaf
// of V with its key path. Building a json::value per frame costs more than everything else the
// generator does per frame together (docs/performance.md).

#include <signe/json.hpp>

#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace signe::loadtest {

struct leaf {
    enum class kind { number, string, boolean, null, array };
    kind what = kind::null;
    double number = 0;
    std::string_view text;  // kind::string
    bool boolean = false;
};

class leaf_visitor {
public:
    // The frame's "type", before any leaf.
    virtual void on_type(std::string_view type) = 0;
    // A leaf of "value", with its path below "value" (e.g. players, Ab3dE9xZ, x). Arrays are
    // reported as one leaf of kind array, as load() treats them. Views are valid for the call.
    virtual void on_leaf(std::span<const std::string_view> path, const leaf& value) = 0;

protected:
    ~leaf_visitor() = default;
};

class frame_scanner {
public:
    frame_scanner();
    ~frame_scanner();
    frame_scanner(const frame_scanner&) = delete;
    frame_scanner& operator=(const frame_scanner&) = delete;

    // Scans one frame's text. False when it is not JSON or not an object with a string "type";
    // the visitor may have seen part of it. Leaves come in document order (the JS client visits
    // integer keys first; the generator's accounting does not depend on the order).
    bool scan(std::string_view text, leaf_visitor& visitor);

private:
    struct sax;
    struct parser;
    std::unique_ptr<parser> parser_;
};

// The same walk over a parsed value: the fallback when "value" comes before "type".
void visit_leaves(const json::value& value, leaf_visitor& visitor);

}  // namespace signe::loadtest

// Reads packets, one JSON text per line, applies each to one mirror with apply_packet, and
// prints after each: "ok <mirror>" or "partial <mirror>". Driven by apply_packet_diff.mjs.

#include <signe/client.hpp>

#include <iostream>
#include <string>

int main() {
    signe::json::value mirror = signe::json::object{};
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line == "reset") {
            mirror = signe::json::object{};
            std::cout << "ok {}\n";
            continue;
        }
        bool complete = signe::apply_packet(mirror, signe::json::parse(line));
        std::cout << (complete ? "ok " : "partial ") << signe::to_text(mirror) << "\n";
    }
    return 0;
}

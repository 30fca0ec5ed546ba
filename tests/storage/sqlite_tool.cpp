// A small command-line front end to sqlite_storage, for the interop test with the original's
// JavaScript provider (tests/storage/interop):
//
//   sqlite_tool put   <db> <ns> <room> <key> <json>   one put, one transaction
//   sqlite_tool write <db> <ns> <room>                stdin: {"key": value, ...}, one transaction
//   sqlite_tool get   <db> <ns> <room> <key>          prints the JSON value; exit 1 when missing
//   sqlite_tool list  <db> <ns> <room> [prefix]       prints [[key, value], ...] in key order

#include "storage/json_read.hpp"

#include <signe/json.hpp>
#include <signe/storage_sqlite.hpp>

#include <exception>
#include <iostream>
#include <iterator>
#include <string>

namespace {

// Input values are read as exactly as the storage reads its own.
signe::json::value parse(std::string_view text) {
    boost::system::error_code ec;
    auto value = signe::detail::parse_json_exact(text, ec);
    if (ec) {
        throw std::runtime_error("invalid JSON: " + ec.message());
    }
    return value;
}

int usage() {
    std::cerr << "usage: sqlite_tool put <db> <ns> <room> <key> <json>\n"
                 "       sqlite_tool write <db> <ns> <room>   (stdin: a JSON object)\n"
                 "       sqlite_tool get <db> <ns> <room> <key>\n"
                 "       sqlite_tool list <db> <ns> <room> [prefix]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        return usage();
    }
    std::string command = argv[1];
    try {
        signe::sqlite_storage storage({.path = argv[2]});
        signe::storage_key room{argv[3], argv[4]};
        if (command == "put" && argc == 7) {
            signe::write_batch batch;
            batch.puts.emplace_back(argv[5], parse(argv[6]));
            storage.write(room, batch);
            return 0;
        }
        if (command == "write" && argc == 5) {
            std::string input{std::istreambuf_iterator<char>(std::cin), {}};
            signe::write_batch batch;
            auto entries = parse(input);
            for (const auto& [key, value] : entries.as_object()) {
                batch.puts.emplace_back(std::string(key), value);
            }
            storage.write(room, batch);
            return 0;
        }
        if (command == "get" && argc == 6) {
            auto value = storage.get(room, argv[5]);
            if (!value) {
                return 1;
            }
            std::cout << signe::to_text(*value) << '\n';
            return 0;
        }
        if (command == "list" && (argc == 5 || argc == 6)) {
            signe::json::array out;
            for (auto& [key, value] : storage.list(room, argc == 6 ? argv[5] : "")) {
                out.push_back(signe::json::array{signe::json::string(key), std::move(value)});
            }
            std::cout << signe::to_text(out) << '\n';
            return 0;
        }
    } catch (const std::exception& error) {
        std::cerr << "sqlite_tool: " << error.what() << '\n';
        return 3;
    }
    return usage();
}

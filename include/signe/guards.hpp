#pragma once

// Guards shipped with signe (the original's requireSession).
//
//     spec.join_guard(signe::require_session<game_room>)            // returning players only
//     spec.action("trade", &game_room::trade, {.guards = {signe::has_session<game_room>}});

#include <signe/room.hpp>

#include <memory>

namespace signe {

// Join guard: lets a socket in only when its private id already has a stored session with a
// public id, i.e. a returning player (a first-time client is refused, as with the original's
// requireSession used as a room guard). Refuses when storage cannot be read. The room type must
// derive from room_base.
template <class R>
decision require_session(R& room, connection& conn, const request_info&) {
    if (conn.private_id().empty()) {
        return false;
    }
    auto [verdict, resolve] = decision::deferred();
    room.storage_get(
        "session:" + conn.private_id(),
        [resolve = resolve](std::optional<json::value> session) {
            const json::object* o = session ? session->if_object() : nullptr;
            const json::value* public_id = o != nullptr ? o->if_contains("publicId") : nullptr;
            resolve(
                public_id != nullptr && public_id->is_string() && !public_id->get_string().empty()
            );
        }
    );
    return verdict;
}

// Action or message guard: the sender has a session (it was admitted with a public id).
template <class R>
bool has_session(R&, connection& conn, const json::value&) {
    return !conn.public_id().empty();
}

}  // namespace signe

#pragma once

// Placement: which process of a deployment holds a room (or a shard), recorded in Redis so that
// every process agrees. A room lives on exactly one room server; a process asked for a room that
// another one holds sends the request there.
//
//     signe::placement rooms({.url = "redis://127.0.0.1:6379", .group = "rooms",
//                             .address = "10.0.0.5:3003"});
//     rooms.heartbeat();                       // "I am alive at 10.0.0.5:3003" for one lease
//     auto holder = rooms.claim("main/game-1");  // this process, unless a live one holds it
//     if (!holder.is(rooms.self_id())) forward_to(holder.address);
//
// Model. Processes are *members* of a group ("rooms" for room servers, "shards" for shard
// processes). A member is alive while its key lives: heartbeat() sets it for one lease, and a
// process that dies (kill -9, a lost machine) stops being alive when its lease ends. A *claim*
// maps a key (a room) to a member and is valid only while that member is alive: there is no
// lease per room, so one heartbeat keeps every room of a process, and all of a dead process's
// rooms become free together. claim() is one Lua script: two processes asking for the same free
// room at the same moment get the same answer, so a room is never created twice.
//
// Redis keys, with P = "<prefix>:{<group>}:" (prefix "signe:placement" unless ?prefix= in the
// URL; the braces are a Redis Cluster hash tag):
//   P member:<id>   STRING  the member's address; expires with its lease (PX)
//   P members       SET     member ids (dead ones are pruned by members())
//   P claim:<key>   STRING  the holder's member id
//
// Threading: one Redis connection; every call blocks for one round trip. Use it from one thread
// (the server runs it on a thread of its own). Every call throws redis_error when Redis cannot
// be reached: what runs keeps running, new placements fail until Redis is back.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace signe {

class redis_client;

struct placement_options {
    std::string url = "redis://127.0.0.1:6379";
    std::string group = "rooms";
    // How the other processes reach this one: "host:port".
    std::string address;
    // A member that has not sent a heartbeat for this long is dead; heartbeat at least three
    // times per lease.
    std::chrono::milliseconds lease{10'000};
    // This member's id; empty: a random one (a restarted process is a new member).
    std::string self_id;
};

struct placement_member {
    std::string id;
    std::string address;
    // From claim(): this process has just taken the key over from a holder that died (its
    // clients may be on their way back).
    bool taken_over = false;
    bool is(const std::string& member_id) const { return id == member_id; }
};

class placement {
public:
    // Parses the URL (std::invalid_argument when it is wrong); does not connect yet.
    explicit placement(placement_options options);
    ~placement();
    placement(const placement&) = delete;
    placement& operator=(const placement&) = delete;

    const std::string& self_id() const { return options_.self_id; }
    const placement_options& options() const { return options_; }

    // Alive for one more lease.
    void heartbeat();
    // Leaves the group now (a clean shutdown): its claims are free at once.
    void leave();
    // The live holder of `key`, claiming it for this process when it is free (never held, or its
    // holder is dead). Also renews this process's lease.
    placement_member claim(const std::string& key);
    // The live holder of `key`, if any; claims nothing and does not make this process a member
    // (a shard process looks rooms up this way).
    std::optional<placement_member> holder(const std::string& key);
    // Of `keys` (claimed by this process earlier), those another live member holds now: taken
    // over while this process could not reach Redis. The others are claimed again if free.
    std::vector<std::string> lost(const std::vector<std::string>& keys);
    // Gives `key` up if this process holds it.
    void release(const std::string& key);
    // The live members, in id order (this process is one only after a heartbeat or a claim).
    std::vector<placement_member> members();

private:
    std::vector<std::string> base_args() const;

    placement_options options_;
    std::string prefix_;  // "<prefix>:{<group>}:"
    std::unique_ptr<redis_client> redis_;
    struct scripts;  // the Lua scripts, each loaded once per connection
    std::unique_ptr<scripts> scripts_;
};

// Picks the member for a new key by rendezvous hashing: every process that sees the same members
// picks the same one, and members joining or leaving move few keys. nullopt when empty.
std::optional<placement_member> pick_member(
    const std::vector<placement_member>& members, const std::string& key
);

}  // namespace signe

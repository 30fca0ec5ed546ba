// Room placement across two room servers sharing a real redis-server: a room lives on exactly
// one of them, the other hands its clients and HTTP requests over; a killed server's rooms move
// to the next server asked once its lease ends, with their users (storage is in the same Redis);
// with Redis down, running rooms keep running and new rooms fail with a clear error.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, test } from "node:test";
import { joinRoom, startServer } from "./helpers.mjs";
import { startRedis } from "../redis/redis_server.mjs";

const LEASE_MS = 1000;
let redis;

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await redis.close();
});

// Polls the room's hash in Redis until every field holds what is expected (for a session, its
// public id appears in the stored record). Another process's storage: nothing to wait on.
async function durable(room, fields, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stored = Object.entries(fields).every(([field, want]) => {
      const got = execFileSync("redis-cli", ["-p", String(redis.port), "HGET", `signe:main:${room}`, field]).toString().trim();
      return got === want || got.includes(`"${want}"`);
    });
    if (stored) return;
    if (Date.now() > deadline) throw new Error(`not stored in time: ${JSON.stringify(fields)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const roomServer = () =>
  startServer({
    SIGNE_PLACEMENT: redis.url,
    SIGNE_STORAGE: redis.url,
    SIGNE_PLACEMENT_LEASE_MS: String(LEASE_MS),
  });

test("a room lives on one server; the other hands its clients and HTTP over", async () => {
  const a = await roomServer();
  const b = await roomServer();
  try {
    const viaA = await joinRoom(a, "game-placed", { id: "via-a" });
    const viaB = await joinRoom(b, "game-placed", { id: "via-b" });
    viaB.emit("move", { x: 31, y: 32 });
    await viaA.waitFor(() => viaA.state.players[viaB.state.pId]?.x === 31, "a sees b's move");
    viaA.emit("move", { x: 41, y: 42 });
    await viaB.waitFor(() => viaB.state.players[viaA.state.pId]?.x === 41, "b sees a's move");

    // HTTP for a room held by a, asked of b.
    const counter = await joinRoom(a, "counter-placed", { id: "counter-a" });
    counter.emit("increment", { amount: 5 });
    await counter.waitFor(() => counter.state.count === 5, "count 5");
    const res = await fetch(`${b.url}/parties/main/counter-placed/count`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { count: 5 });
    for (const c of [viaA, viaB, counter]) c.close();
  } finally {
    assert.equal(await b.stop(), 0);
    assert.equal(await a.stop(), 0);
  }
});

test("simultaneous first joins through both servers make one room, not two", async () => {
  const a = await roomServer();
  const b = await roomServer();
  try {
    const clients = await Promise.all(
      Array.from({ length: 20 }, (_, i) => joinRoom(i % 2 ? a : b, "game-race", { id: `race-${i}` })),
    );
    clients[0].emit("move", { x: 77, y: 0 });
    for (const c of clients) {
      await c.waitFor(() => c.state.players[clients[0].state.pId]?.x === 77, "everyone sees the move");
      assert.equal(Object.keys(c.state.players).length, 20, "all 20 players in one room");
    }
    for (const c of clients) c.close();
  } finally {
    assert.equal(await b.stop(), 0);
    assert.equal(await a.stop(), 0);
  }
});

test("kill -9 the holder: its rooms move to the other server with their users", async () => {
  const a = await roomServer();
  const b = await roomServer();
  const open = [];
  const track = (c) => (open.push(c), c); // closed even when an assertion fails (PartySocket reconnects)
  try {
    const holderSide = track(await joinRoom(a, "game-failover", { id: "on-a" })); // a holds the room
    const client = track(await joinRoom(b, "game-failover", { id: "through-b" }));
    const pId = client.state.pId;
    client.emit("move", { x: 12, y: 13 });
    await holderSide.waitFor(() => holderSide.state.players[pId]?.x === 12, "the move reached a");
    // Storage is written behind: what kill -9 must not lose is what had reached Redis.
    await durable("game-failover", { "session:through-b": pId, [`state:players.${pId}.x`]: "12" });
    holderSide.close();
    const killedAt = Date.now();
    await a.kill();
    // b's pipe to a closed; the client reconnects to b, which takes the room once a's lease ends.
    await client.waitFor(() => client.opened >= 2, "reconnected", 10 * LEASE_MS);
    await client.waitFor(() => client.frames.filter((f) => f.type === "sync").length >= 2, "synced again", 10 * LEASE_MS);
    const movedAfter = Date.now() - killedAt;
    assert.equal(client.state.pId, pId, "same user after the move");
    assert.equal(client.state.players[pId].x, 12, "its state was loaded from storage");
    client.emit("move", { x: 99, y: 13 });
    const observer = track(await joinRoom(b, "game-failover", { id: "observer" }));
    await observer.waitFor(() => observer.state.players[pId]?.x === 99, "the room runs on b now");
    console.log(`room moved to b ${movedAfter} ms after kill -9 (lease ${LEASE_MS} ms)`);
  } finally {
    for (const c of open) c.close();
    await a.kill();
    assert.equal(await b.stop(), 0);
  }
});

test("SIGTERM: the holder flushes its rooms and leaves, so they move at once", async () => {
  // A lease far longer than the test: only leaving can free the room in time.
  const long = { SIGNE_PLACEMENT: redis.url, SIGNE_STORAGE: redis.url, SIGNE_PLACEMENT_LEASE_MS: "600000" };
  const a = await startServer(long);
  const b = await startServer(long);
  try {
    const first = await joinRoom(a, "game-handover", { id: "handover" });
    first.emit("move", { x: 64, y: 1 });
    await first.waitFor(() => first.state.players[first.state.pId]?.x === 64, "move applied");
    first.close();
    assert.equal(await a.stop(), 0);
    const again = await joinRoom(b, "game-handover", { id: "handover" });
    assert.equal(again.state.pId, first.state.pId, "same user");
    assert.equal(again.state.players[again.state.pId].x, 64, "state flushed by a, loaded by b");
    again.close();
  } finally {
    await a.kill();
    assert.equal(await b.stop(), 0);
  }
});

test("Redis down: running rooms keep running, new rooms get 503 with the reason, then recover", async () => {
  const a = await roomServer();
  try {
    const one = await joinRoom(a, "game-outage", { id: "one" });
    const two = await joinRoom(a, "game-outage", { id: "two" });
    await redis.stop();
    one.emit("move", { x: 5, y: 5 });
    await two.waitFor(() => two.state.players[one.state.pId]?.x === 5, "moves still flow");
    const res = await fetch(`${a.url}/parties/main/counter-new-during-outage/count`);
    assert.equal(res.status, 503);
    assert.match((await res.json()).error, /^Room placement unavailable: redis: connection refused/);
    await redis.start();
    const later = await fetch(`${a.url}/parties/main/counter-new-during-outage/count`);
    assert.equal(later.status, 200);
    for (const c of [one, two]) c.close();
  } finally {
    assert.equal(await a.stop(), 0);
  }
});

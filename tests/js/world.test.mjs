// The whole path with real processes and the real client: connectionWorld asks the World (through
// the shard's gateway) for a shard, opens it, and the shard carries the client to the room's main
// server. HTTP for the room goes through the shard as well.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connectionWorld } from "@signe/sync/client";
import { joinRoom, startServer } from "./helpers.mjs";

const secrets = { AUTH_JWT_SECRET: "world-jwt-secret-for-tests", SHARD_SECRET: "world-shard-secret-for-tests" };
let rooms;
let world;
let shard;

before(async () => {
  rooms = await startServer({ SHARD_SECRET: secrets.SHARD_SECRET });
  world = await startServer(secrets, process.env.SIGNE_WORLD_BIN);
  shard = await startServer({ SHARD_SECRET: secrets.SHARD_SECRET, SIGNE_UPSTREAM: rooms.url, SIGNE_WORLD: world.url }, process.env.SIGNE_SHARD);
});

after(async () => {
  for (const p of [shard, world, rooms]) assert.equal(await p.stop(), 0);
});

const viaWorld = (roomId, options = {}) =>
  joinRoom(shard, roomId, { host: shard.url, worldId: "world-default", autoCreate: true, ...options }, connectionWorld);

test("clients placed by the World reach one room through a shard and see each other", async () => {
  const a = await viaWorld("game-world", { id: "world-a" });
  const b = await viaWorld("game-world", { id: "world-b" });
  assert.match(a.room.shardInfo.shardId, /^game-world:world-default:/);
  a.emit("move", { x: 21, y: 22 });
  await b.waitFor(() => b.state.players[a.state.pId]?.x === 21, "b sees a's move");
  const direct = await joinRoom(rooms, "game-world", { id: "direct" });
  assert.equal(direct.state.players[a.state.pId].x, 21, "the room is the main server's room");
  for (const c of [a, b, direct]) c.close();
});

test("HTTP for a room goes through the shard to the room's routes", async () => {
  const c = await viaWorld("counter-world", { id: "counter-client" });
  c.emit("increment", { amount: 4 });
  await c.waitFor(() => c.state.count === 4, "count 4");
  const res = await fetch(`${shard.url}/parties/shard/${encodeURIComponent(c.room.shardInfo.url)}/count`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { count: 4 });
  c.close();
});

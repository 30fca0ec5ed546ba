// Clients behind a shard process, with the real client: they reach the room's main server over
// the shard's upstream socket, see the same state as direct clients, and per-user interception
// still applies to each of them. Forged shard credentials are refused.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { joinRoom, startServer } from "./helpers.mjs";

const SECRET = "shard-secret-for-tests";
let rooms;
let shard;

before(async () => {
  rooms = await startServer({ SHARD_SECRET: SECRET });
  shard = await startServer({ SHARD_SECRET: SECRET, SIGNE_UPSTREAM: rooms.url }, process.env.SIGNE_SHARD);
});

after(async () => {
  assert.equal(await shard.stop(), 0);
  assert.equal(await rooms.stop(), 0);
});

// connectionWorld opens party "shard" with the shard id as the room.
const viaShard = (shardId, options = {}) => joinRoom(shard, shardId, { party: "shard", ...options });

test("clients behind a shard and direct clients share one room", async () => {
  const a = await viaShard("game-sharded:world-default:1", { id: "behind-a" });
  const b = await viaShard("game-sharded:world-default:1", { id: "behind-b" });
  const direct = await joinRoom(rooms, "game-sharded", { id: "direct" });
  a.emit("move", { x: 11, y: 12 });
  await b.waitFor(() => b.state.players[a.state.pId]?.x === 11, "b (shard) sees a's move");
  await direct.waitFor(() => direct.state.players[a.state.pId]?.x === 11, "a direct client sees it too");
  direct.emit("move", { x: 5, y: 5 });
  await a.waitFor(() => a.state.players[direct.state.pId]?.x === 5, "a sees the direct client's move");

  const pong = new Promise((resolve) => a.room.on("pong", resolve));
  a.emit("ping", { t: 77 });
  assert.deepEqual(await pong, { t: 77 }, "frames to one client go to that client only");

  b.close();
  await a.waitFor(() => a.state.players[b.state.pId].connected === false, "leaving through the shard is seen");
  a.close();
  direct.close();
});

test("a session behind a shard keeps its pId across reconnects", async () => {
  const first = await viaShard("game-sharded:world-default:1", { id: "sticky" });
  const pId = first.state.pId;
  first.close();
  const again = await viaShard("game-sharded:world-default:1", { id: "sticky" });
  assert.equal(again.state.pId, pId);
  again.close();
});

test("per-user interception works for clients behind a shard", async () => {
  const a = await viaShard("secret-sharded:world-default:1", { id: "agent-a" });
  const b = await viaShard("secret-sharded:world-default:1", { id: "agent-b" });
  a.emit("set_secret", { value: "only-a" });
  a.emit("move", { x: 3 });
  await a.waitFor(() => a.state.agents[a.state.pId].secret === "only-a", "a sees its own secret");
  await b.waitFor(() => b.state.agents[a.state.pId]?.x === 3, "b sees a's move");
  assert.equal(b.state.agents[a.state.pId].secret, undefined);
  assert.ok(!JSON.stringify(b.frames).includes("only-a"), "the secret never reached b through the shard");
  a.close();
  b.close();
});

test("forged shard credentials are refused", async () => {
  for (const headers of [{ "x-shard-id": "evil" }, { "x-shard-id": "evil", "x-access-shard": "guess" }]) {
    const ws = new WebSocket(`ws://${rooms.host}/parties/main/game-sharded`, { headers });
    const status = await new Promise((resolve) => {
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode));
      ws.on("open", () => resolve("open"));
      ws.on("error", () => {});
    });
    assert.notEqual(status, "open", `a shard socket with ${JSON.stringify(headers)} is refused`);
  }
  const res = await fetch(`${rooms.url}/parties/main/counter-sharded/count`, {
    headers: { "x-forwarded-by-shard": "true", "x-shard-id": "evil" },
  });
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), { error: "Invalid shard credentials" });
});

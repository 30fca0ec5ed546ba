// The game example on Redis, as a real process: SIGNE_STORAGE=redis://127.0.0.1:<port>, moves
// from the real @signe/sync client, SIGTERM, a new process on the same Redis: every player and
// position is back and a client reconnecting with its old id gets its own player.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { joinRoom, startServer } from "../js/helpers.mjs";
import { startRedis } from "./redis_server.mjs";

const GAME = process.env.SIGNE_GAME_EXAMPLE;
let redis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.close();
});

function startGame(prefix = "signe") {
  return startServer({ SIGNE_STORAGE: `${redis.url}?prefix=${prefix}` }, GAME);
}

async function movedTo(client, x, y) {
  client.emit("move", { x, y });
  await client.waitFor(() => client.state.players[client.state.pId].x === x, `own move to ${x}`);
}

test("after SIGTERM and a restart on the same Redis every player and position is back", async () => {
  let server = await startGame();
  const alice = await joinRoom(server, "game-redis", { id: "alice-session" });
  const bob = await joinRoom(server, "game-redis", { id: "bob-session" });
  await movedTo(alice, 120, 240);
  await movedTo(bob, 310, 45);
  const ids = { alice: alice.state.pId, bob: bob.state.pId };
  alice.close();
  bob.close();
  assert.equal(await server.stop(), 0);

  server = await startGame();
  const back = await joinRoom(server, "game-redis", { id: "alice-session" });
  assert.equal(back.state.pId, ids.alice, "same pId after the restart");
  await back.waitFor(() => back.state.players[ids.alice]?.connected === true, "alice online again");
  assert.deepEqual(back.state.players[ids.alice], { name: "Anonymous", x: 120, y: 240, connected: true });
  assert.deepEqual(back.state.players[ids.bob], { name: "Anonymous", x: 310, y: 45, connected: false });
  const bobBack = await joinRoom(server, "game-redis", { id: "bob-session" });
  assert.equal(bobBack.state.pId, ids.bob);
  await back.waitFor(() => back.state.players[ids.bob].connected === true, "bob online again");
  back.close();
  bobBack.close();
  assert.equal(await server.stop(), 0);

  // Another prefix is another deployment: the room starts empty there.
  server = await startGame("elsewhere");
  const stranger = await joinRoom(server, "game-redis", { id: "alice-session" });
  assert.deepEqual(Object.keys(stranger.state.players), [stranger.state.pId]);
  stranger.close();
  assert.equal(await server.stop(), 0);
});

test("the game refuses to start when Redis cannot be reached, naming it", () => {
  const run = spawnSync(GAME, [], {
    env: { ...process.env, PORT: "0", SIGNE_STORAGE: "redis://127.0.0.1:1" },
    encoding: "utf8",
    timeout: 10000,
  });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /redis: connection refused \(127\.0\.0\.1:1\)/);
});

// Resolves when `check()` is true, looking again every 20 ms (for a process's output).
async function until(check, label, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("while Redis is down the room keeps running; once it is back (empty) the whole state is written again", async () => {
  let server = await startGame("outage");
  const alice = await joinRoom(server, "game-outage", { id: "alice-session" });
  const pId = alice.state.pId;
  await movedTo(alice, 10, 10);

  await redis.stop();
  await movedTo(alice, 20, 20); // the room answers without its storage
  await until(() => /redis: connection refused/.test(server.stderr()), "the failed write logged");

  await redis.start(); // nothing was saved: Redis comes back empty
  await movedTo(alice, 30, 30);
  alice.close();
  assert.equal(await server.stop(), 0);

  server = await startGame("outage");
  const back = await joinRoom(server, "game-outage", { id: "alice-session" });
  assert.equal(back.state.pId, pId, "the session was written again too");
  assert.equal(back.state.players[pId].x, 30);
  assert.equal(back.state.players[pId].y, 30);
  back.close();
  assert.equal(await server.stop(), 0);
});

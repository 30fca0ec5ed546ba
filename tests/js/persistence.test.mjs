// The game example on SQLite, as a real process: a clean restart brings every player back,
// and kill -9 at random moments never loses more than the write-behind window nor leaves an
// unreadable database.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { joinRoom, startServer } from "./helpers.mjs";

const GAME = process.env.SIGNE_GAME_EXAMPLE;
const dir = mkdtempSync(join(tmpdir(), "signe-persist-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function startGame(db) {
  return startServer({ SIGNE_STORAGE: `sqlite:${db}` }, GAME);
}

async function movedTo(client, x, y) {
  client.emit("move", { x, y });
  await client.waitFor(() => client.state.players[client.state.pId].x === x, `own move to ${x}`);
}

test("after SIGTERM and a restart every player and position is back, and an old id gets its own player", async () => {
  const db = join(dir, "restart.sqlite");
  let server = await startGame(db);
  const alice = await joinRoom(server, "game-persist", { id: "alice-session" });
  const bob = await joinRoom(server, "game-persist", { id: "bob-session", query: { id: "bob-session" } });
  await movedTo(alice, 100, 200);
  await movedTo(bob, 300, 50);
  const ids = { alice: alice.state.pId, bob: bob.state.pId };
  assert.equal(await server.stop(), 0);
  alice.close();
  bob.close();

  server = await startGame(db);
  const back = await joinRoom(server, "game-persist", { id: "alice-session" });
  assert.equal(back.state.pId, ids.alice, "same pId after the restart");
  assert.deepEqual(back.state.players[ids.alice], { name: "Anonymous", x: 100, y: 200, connected: true });
  assert.deepEqual(back.state.players[ids.bob], { name: "Anonymous", x: 300, y: 50, connected: false });
  const bobBack = await joinRoom(server, "game-persist", { id: "bob-session" });
  assert.equal(bobBack.state.pId, ids.bob);
  await back.waitFor(() => back.state.players[ids.bob].connected === true, "bob online again");
  back.close();
  bobBack.close();
  assert.equal(await server.stop(), 0);
});

test("kill -9 at random moments: the database opens and holds a prefix of the moves, missing none older than the write-behind window", async () => {
  const db = join(dir, "crash.sqlite");
  const MARGIN_MS = 1000; // the game writes behind every 200 ms; a second is far beyond that
  let sent = 0; // moves sent: x = 1, 2, 3, ...
  let pId;
  let confirmed = 0; // the highest x echoed at least MARGIN_MS before the kill
  for (let round = 0; round < 4; round++) {
    const server = await startGame(db);
    const runner = await joinRoom(server, "game-crash", { id: "runner" });
    pId ??= runner.state.pId;
    assert.equal(runner.state.pId, pId, `round ${round}: the same player comes back`);
    const restored = runner.state.players[pId].x;
    assert.ok(restored <= sent, `round ${round}: restored x ${restored} was sent (<= ${sent})`);
    assert.ok(restored >= confirmed, `round ${round}: restored x ${restored} keeps every move echoed ${MARGIN_MS} ms before the kill (>= ${confirmed})`);
    sent = restored; // continue from what the server has

    const echoes = []; // [time, x] as the client mirror shows them
    runner.listeners.add(() => echoes.push([Date.now(), runner.state.players[pId].x]));
    const mover = setInterval(() => runner.emit("move", { x: ++sent, y: round }), 5);
    const runFor = 1500 + Math.floor(Math.random() * 1000);
    await new Promise((resolve) => setTimeout(resolve, runFor)); // the load runs; the kill time is random
    const killedAt = Date.now();
    await server.kill();
    clearInterval(mover);
    runner.close();
    confirmed = Math.max(0, ...echoes.filter(([t]) => t <= killedAt - MARGIN_MS).map(([, x]) => x));
    assert.ok(confirmed > 0, "moves were echoed well before the kill");
  }
});

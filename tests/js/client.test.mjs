// The real @signe/sync client against a real server process.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { getJson, joinRoom, rawSocket, startServer } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  const connected = await rawSocket(server, "/parties/main/game-shutdown?id=last");
  assert.equal(await server.stop(), 0, "the server exits cleanly on SIGTERM");
  await connected.waitFor(() => connected.closed !== null, "closed by the shutdown");
  assert.equal(connected.closed.code, 1001, "sockets are closed with 1001 (going away)");
});

test("counter increments are seen by two clients", async () => {
  const a = await joinRoom(server, "counter-1");
  const b = await joinRoom(server, "counter-1");
  assert.notEqual(a.state.pId, b.state.pId);
  a.emit("increment");
  b.emit("increment", { amount: 5 });
  await a.waitFor(() => a.state.count === 6, "a sees 6");
  await b.waitFor(() => b.state.count === 6, "b sees 6");
  assert.deepEqual((await getJson(server, "/parties/main/counter-1/count")).body, { count: 6 });
  a.close();
  b.close();
});

test("a move is seen by the other client", async () => {
  const a = await joinRoom(server, "game-move", { id: "mover" });
  const b = await joinRoom(server, "game-move", { id: "watcher" });
  a.emit("move", { x: 120, y: 45 });
  await b.waitFor(() => b.state.players?.[a.state.pId]?.x === 120, "b sees a's x");
  assert.equal(b.state.players[a.state.pId].y, 45);
  assert.equal(b.state.players[a.state.pId].connected, true);
  a.close();
  b.close();
});

for (const [how, options] of [
  ["id alone (sent as _pk)", (id) => ({ id })],
  ["query.id", (id) => ({ query: { id } })],
]) {
  test(`reconnecting with the same id as ${how} restores the same pId and state`, async () => {
    const session = `session-${how.length}`;
    const first = await joinRoom(server, "game-reconnect", options(session));
    first.emit("move", { x: 7, y: 8 });
    await first.waitFor(() => first.state.players[first.state.pId].x === 7, "own move applied");
    const pId = first.state.pId;
    first.close();

    const again = await joinRoom(server, "game-reconnect", options(session));
    assert.equal(again.state.pId, pId);
    assert.deepEqual(
      { x: again.state.players[pId].x, y: again.state.players[pId].y, connected: again.state.players[pId].connected },
      { x: 7, y: 8, connected: true },
    );
    again.close();
  });
}

test("two sockets share one session: same pId, offline only when both left", async () => {
  const observer = await joinRoom(server, "game-shared", { id: "observer" });
  const tab1 = await joinRoom(server, "game-shared", { id: "shared" });
  const tab2 = await joinRoom(server, "game-shared", { id: "shared" });
  assert.equal(tab1.state.pId, tab2.state.pId);
  const pId = tab1.state.pId;
  assert.equal(Object.keys(observer.state.players).length, 2);

  tab2.emit("move", { x: 33, y: 1 });
  await tab1.waitFor(() => tab1.state.players[pId].x === 33, "the other tab sees its own user move");

  tab1.close();
  observer.emit("move", { x: 1, y: 1 }); // a later frame: anything about tab1 would come before it
  await observer.waitFor(() => observer.state.players[observer.state.pId].x === 1, "observer's own move");
  assert.equal(observer.state.players[pId].connected, true, "still online while tab2 is open");

  tab2.close();
  await observer.waitFor(() => observer.state.players[pId].connected === false, "offline after the last tab");
  observer.close();
});

test("disconnect marks the user offline for the others", async () => {
  const a = await joinRoom(server, "game-offline", { id: "leaver" });
  const b = await joinRoom(server, "game-offline", { id: "stayer" });
  const pId = a.state.pId;
  assert.equal(b.state.players[pId].connected, true);
  a.close();
  await b.waitFor(() => b.state.players[pId].connected === false, "leaver offline");
  assert.ok(pId in b.state.players, "the user stays until its session expires");
  b.close();
});

test("a short session expiry removes the user with $delete", async () => {
  const stayer = await joinRoom(server, "short-1", { id: "stay" });
  const leaver = await joinRoom(server, "short-1", { id: "leave" });
  const pId = leaver.state.pId;
  await stayer.waitFor(() => pId in stayer.state.users, "stayer sees the leaver");
  const disconnected = new Promise((resolve) => stayer.room.on("user_disconnected", resolve));
  leaver.close();
  assert.deepEqual(await disconnected, { publicId: pId });
  await stayer.waitFor(() => !(pId in stayer.state.users), "user removed after expiry", 3000);
  assert.ok(
    stayer.frames.some((f) => f.type === "sync" && f.value.users?.[pId] === "$delete"),
    "the removal travelled as $delete",
  );
  stayer.close();
});

test("custom frames are received with on(): to the sender only, and broadcast", async () => {
  const a = await joinRoom(server, "game-ping");
  const b = await joinRoom(server, "game-ping");
  const pong = new Promise((resolve) => a.room.on("pong", resolve));
  a.emit("ping", { t: 1234 });
  assert.deepEqual(await pong, { t: 1234 });
  b.emit("move", { x: 2, y: 2 }); // sent after the ping, so b would have had the pong by now
  await b.waitFor(() => b.state.players[b.state.pId].x === 2, "b's own move");
  assert.ok(!b.frames.some((f) => f.type === "pong"), "pong went to the sender only");

  const c = await joinRoom(server, "counter-announce");
  const d = await joinRoom(server, "counter-announce");
  const heard = new Promise((resolve) => d.room.on("announcement", resolve));
  c.emit("announce", { text: "hello" });
  assert.deepEqual(await heard, { text: "hello" });
  for (const client of [a, b, c, d]) client.close();
});

test("interception hides a field from other users", async () => {
  const a = await joinRoom(server, "secret-1", { id: "agent-a" });
  const b = await joinRoom(server, "secret-1", { id: "agent-b" });
  a.emit("set_secret", { value: "a-only" });
  a.emit("move", { x: 9 });
  await a.waitFor(() => a.state.agents[a.state.pId].secret === "a-only", "owner sees its secret");
  await b.waitFor(() => b.state.agents[a.state.pId]?.x === 9, "b sees a's move");
  assert.equal(b.state.agents[a.state.pId].secret, undefined);
  assert.ok(!JSON.stringify(b.frames).includes("a-only"), "the secret never reached b");

  const late = await joinRoom(server, "secret-1", { id: "agent-c" });
  assert.equal(late.state.agents[a.state.pId].x, 9);
  assert.equal(late.state.agents[a.state.pId].secret, undefined, "hidden in the initial sync too");
  a.close();
  b.close();
  late.close();
});

test("SIGTERM with clients connected: they get 1001 and the server exits without waiting out its grace", async () => {
  const own = await startServer();
  const a = await joinRoom(own, "game-shutdown", { id: "stay-a", maxRetries: 0 });
  const b = await joinRoom(own, "game-shutdown", { id: "stay-b", maxRetries: 0 });
  assert.equal(await own.stop(), 0);
  for (const c of [a, b]) {
    await c.waitFor(() => c.closes.length > 0, "closed by the shutdown");
    assert.equal(c.closes[0].code, 1001);
    c.close();
  }
  // Leaving clients set session-expiry timers in their room; those must not hold the process.
  assert.doesNotMatch(own.stderr(), /still open after the shutdown grace period/);
});

test("SIGTERM while frames are queued for many sockets closes each once, after its frames", async () => {
  for (let round = 0; round < 5; round++) {
    const own = await startServer();
    const clients = await Promise.all(
      Array.from({ length: 20 }, (_, i) => joinRoom(own, "game-busy-stop", { id: `busy-${round}-${i}`, maxRetries: 0 })),
    );
    for (let i = 0; i < 20; i++) clients[i % 20].emit("move", { x: i, y: round });
    assert.equal(await own.stop(), 0, `a clean exit, not a crash: ${own.stderr()}`);
    for (const c of clients) c.close();
  }
});

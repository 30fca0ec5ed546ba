// Bad input against a real server process: each case is refused or dropped, the server stays
// up, and another client (the real @signe/sync client) keeps receiving updates.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { getJson, joinRoom, rawSocket, startServer } from "./helpers.mjs";

let server;
let observer;
let attacker;
const ROOM = "counter-bad";

before(async () => {
  // Small limits so the oversized-frame and slow-reader cases stay small.
  server = await startServer({ SIGNE_MAX_FRAME_BYTES: "65536", SIGNE_MAX_SEND_QUEUE_BYTES: "1048576" });
  observer = await joinRoom(server, ROOM, { id: "observer" });
  attacker = await rawSocket(server, `/parties/main/${ROOM}?id=attacker`);
});

after(async () => {
  observer.close();
  attacker.ws.close();
  assert.equal(await server.stop(), 0, "the server exits cleanly on SIGTERM");
});

// After each bad input: the observer still sees a fresh increment, and HTTP still answers.
async function roomStillWorks() {
  const before = observer.state.count;
  observer.emit("increment");
  await observer.waitFor(() => observer.state.count === before + 1, "observer sees its increment");
  const { status, body } = await getJson(server, `/parties/main/${ROOM}/count`);
  assert.equal(status, 200);
  assert.equal(body.count, observer.state.count);
}

for (const [label, frame] of [
  ["malformed JSON", "{not json"],
  ["a non-object frame", "[1,2,3]"],
  ["a bare string", '"increment"'],
  ["a frame without an action", JSON.stringify({ value: 1 })],
  ["an action that is not a string", JSON.stringify({ action: 42, value: 1 })],
  ["an unknown action", JSON.stringify({ action: "no-such-action", value: 1 })],
  ["a payload of the wrong type", JSON.stringify({ action: "increment", value: { amount: "lots" } })],
  ["a payload failing validation", JSON.stringify({ action: "announce", value: { text: "" } })],
  ["invalid UTF-8", Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
]) {
  test(`${label} is dropped and nothing else changes`, async () => {
    const count = observer.state.count;
    attacker.ws.send(frame);
    await roomStillWorks();
    assert.equal(observer.state.count, count + 1, "the bad frame changed nothing");
    assert.equal(attacker.closed, null, "the sender stays connected, as with the original");
  });
}

test("a throwing handler affects neither the room nor other clients", async () => {
  const count = observer.state.count;
  attacker.ws.send(JSON.stringify({ action: "boom", value: null }));
  await observer.waitFor(() => observer.state.count === count + 1000, "the change made before the throw arrives");
  await roomStillWorks();
  assert.equal(attacker.closed, null);
});

test("an oversized frame closes only its sender with 1009", async () => {
  const big = await rawSocket(server, `/parties/main/${ROOM}?id=big`);
  big.ws.send(JSON.stringify({ action: "increment", value: { pad: "x".repeat(70_000) } }));
  await big.waitFor(() => big.closed !== null, "oversized sender closed");
  assert.equal(big.closed.code, 1009);
  await roomStillWorks();
  assert.equal((await getJson(server, `/parties/main/${ROOM}/stats`)).body.oversizedFrames >= 1, true);
});

test("a reader that never reads is closed without slowing the others", async () => {
  const slow = await rawSocket(server, `/parties/main/${ROOM}?id=slow`);
  slow.ws.pause(); // stop reading: the kernel buffers fill, then the server's send queue
  let blobs = 0;
  observer.room.on("blob", () => (blobs += 1));
  // 50 bursts of 8 frames of 64 KiB (25 MiB): far more than the socket buffers plus the slow
  // reader's 1 MiB send queue, while each burst fits the queue of a reader that keeps up.
  for (let burst = 1; burst <= 50; burst++) {
    observer.emit("spam", { count: 8, size: 65536 });
    await observer.waitFor(() => blobs === burst * 8, `the observer receives burst ${burst}`);
  }
  await roomStillWorks();
  const stats = (await getJson(server, `/parties/main/${ROOM}/stats`)).body;
  assert.ok(stats.slowReadersClosed >= 1, `slow reader closed (stats: ${JSON.stringify(stats)})`);
  slow.ws.terminate();
});

test("unknown rooms and paths get clear HTTP errors", async () => {
  const unknownRoom = await fetch(`${server.url}/parties/main/nowhere-room/count`);
  assert.equal(unknownRoom.status, 404);
  assert.deepEqual(await unknownRoom.json(), { error: "Not found" });
  const outside = await fetch(`${server.url}/elsewhere`);
  assert.equal(outside.status, 404);
  assert.equal(await outside.text(), "Not Found");
  const tooBig = await fetch(`${server.url}/parties/main/${ROOM}/count`, { method: "POST", body: "x".repeat(2 * 1024 * 1024) });
  assert.equal(tooBig.status, 413);
  await roomStillWorks();
});

test("a socket flooding messages is closed with 1008; others and polite bursts are unaffected", async () => {
  const limited = await startServer({ SIGNE_MAX_MESSAGES_PER_SECOND: "20", SIGNE_MESSAGE_BURST: "40" });
  try {
    const watcher = await joinRoom(limited, "counter-flood", { id: "watcher" });
    const polite = await rawSocket(limited, "/parties/main/counter-flood?id=polite");
    for (let i = 0; i < 30; i++) polite.ws.send(JSON.stringify({ action: "increment" })); // within the burst
    await watcher.waitFor(() => watcher.state.count === 30, "the burst of 30 is applied");

    const flood = await rawSocket(limited, "/parties/main/counter-flood?id=flood");
    for (let i = 0; i < 500; i++) flood.ws.send(JSON.stringify({ action: "increment" }));
    await flood.waitFor(() => flood.closed !== null, "the flooding socket is closed");
    assert.deepEqual(flood.closed, { code: 1008, reason: "Too many messages" });
    const applied = (await getJson(limited, "/parties/main/counter-flood/count")).body.count - 30;
    assert.ok(applied >= 40 && applied < 60, `about a burst of the flood was applied, then nothing (${applied})`);

    watcher.emit("increment");
    await watcher.waitFor(() => watcher.state.count === 31 + applied, "the room still works for the others");
    assert.equal(polite.closed, null, "the polite socket is still open");
    watcher.close();
    polite.ws.close();
  } finally {
    assert.equal(await limited.stop(), 0);
  }
});

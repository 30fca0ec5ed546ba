// Session transfer with the real client: a traveller moves from a lobby to an arena, inside one
// process and across two processes, and reconnects with the token it received.
import assert from "node:assert/strict";
import { test } from "node:test";
import { joinRoom, startServer } from "./helpers.mjs";

const SECRET = "deployment-secret-for-tests";

async function travel(lobbyServer, arenaServer, arenaRoom) {
  const traveller = await joinRoom(lobbyServer, "lobby-1", { id: `traveller-${arenaRoom}` });
  const pId = traveller.state.pId;
  traveller.emit("rename", { name: "Zed" });
  await traveller.waitFor(() => traveller.state.players[pId].name === "Zed", "renamed");
  const transferred = new Promise((resolve) => traveller.room.on("transferred", resolve));
  traveller.emit("transfer", { to: arenaRoom });
  const { token } = await transferred;
  assert.equal(typeof token, "string", "a transfer token");
  traveller.close();

  // No session id at all: the token alone names the session.
  const arrived = await joinRoom(arenaServer, arenaRoom, { id: "", query: { transferToken: token } });
  assert.equal(arrived.state.pId, pId, "the same public id in the target room");
  assert.deepEqual(arrived.state.players[pId], { name: "Zed", connected: true });
  arrived.close();

  const replay = await joinRoom(arenaServer, arenaRoom, { id: "", query: { transferToken: token } });
  assert.notEqual(replay.state.pId, pId, "a token is single use");
  replay.close();
}

test("transfer between two rooms of one process", async () => {
  const server = await startServer();
  await travel(server, server, "arena-1");
  assert.equal(await server.stop(), 0);
});

test("transfer between two server processes, and a forged transfer is refused", async () => {
  const arenas = await startServer({ FIXTURE_ROOMS: "arena", SIGNE_TRANSFER_SECRET: SECRET });
  const lobbies = await startServer({ FIXTURE_ROOMS: "lobby", SIGNE_TRANSFER_SECRET: SECRET, SIGNE_REMOTE_ROOMS: arenas.url });
  await travel(lobbies, arenas, "arena-2");

  const forged = await fetch(`${arenas.url}/parties/main/arena-2/session-transfer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ privateId: "stolen", publicId: "P1", userSnapshot: { name: "Mallory" } }),
  });
  assert.equal(forged.status, 403, "no deployment secret, no session");
  const wrongSecret = await fetch(`${arenas.url}/parties/main/arena-2/session-transfer`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-signe-transfer-secret": "guess" },
    body: JSON.stringify({ privateId: "stolen", publicId: "P1" }),
  });
  assert.equal(wrongSecret.status, 403);
  assert.equal(await lobbies.stop(), 0);
  assert.equal(await arenas.stop(), 0);
});

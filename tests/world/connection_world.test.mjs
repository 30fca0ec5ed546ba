// The real @signe/sync client's connectionWorld against the signe-world program: it POSTs
// {roomId, autoCreate} to /parties/world/<worldId>/connect and expects {url, shardId}. Admin
// calls carry a JWT signed by Node's own crypto (interop of the HS256 implementation).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { joinRoom, startServer } from "../js/helpers.mjs";
import { connectionWorld } from "../js/node_modules/@signe/sync/dist/client/index.js";
import WebSocket from "../js/node_modules/ws/wrapper.mjs";

const secrets = { AUTH_JWT_SECRET: "node-jwt-secret", SHARD_SECRET: "node-shard-secret" };

function jwt(payload, secret = secrets.AUTH_JWT_SECRET) {
  const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

async function post(server, path, body, headers = {}) {
  const res = await fetch(`${server.url}/parties/world/world-default${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

test("connectionWorld gets a shard from signe-world", async () => {
  const server = await startServer(secrets, process.env.SIGNE_WORLD);
  try {
    const world = await connectionWorld(
      { host: server.url, room: "game", WebSocket, maxRetries: 0, startClosed: true },
      {},
    );
    world.close();
    assert.match(world.shardInfo.shardId, /^game:world-default:\d+-\d+$/);
    assert.equal(world.shardInfo.url, world.shardInfo.shardId);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test("admin endpoints accept a JWT signed by Node and refuse forgeries", async () => {
  const server = await startServer(secrets, process.env.SIGNE_WORLD);
  try {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const room = { name: "arena", balancingStrategy: "least-connections", public: true, maxPlayersPerShard: 2, minShards: 2 };
    const ok = await post(server, "/register-room", room, { Authorization: `Bearer ${jwt({ worlds: ["world-default"], exp })}` });
    assert.deepEqual(ok, { status: 200, body: {} });
    for (const auth of [
      jwt({ worlds: ["*"], exp }, "wrong-secret"),
      jwt({ worlds: ["*"], exp: Math.floor(Date.now() / 1000) - 10 }),
      jwt({ worlds: ["world-eu"], exp }),
      jwt({ exp }),
      `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from('{"worlds":["*"]}').toString("base64url")}.`,
    ]) {
      assert.deepEqual(await post(server, "/register-room", room, { Authorization: auth }), {
        status: 403,
        body: { error: "Not permitted" },
      });
    }
    const first = await post(server, "/connect", { roomId: "arena", autoCreate: false });
    const second = await post(server, "/connect", { roomId: "arena", autoCreate: false });
    assert.equal(first.status, 200);
    assert.notEqual(first.body.shardId, second.body.shardId);
    const heartbeat = await post(
      server,
      "/update-shard",
      { shardId: first.body.shardId, worldId: "world-default", connections: 1 },
      { "x-access-shard": secrets.SHARD_SECRET },
    );
    assert.deepEqual(heartbeat, { status: 200, body: {} });
    assert.deepEqual(await post(server, "/connect", "null"), { status: 400, body: { error: "roomId parameter is required" } });
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test("an admin socket's state holds the registry: rooms and shards, then their changes", async () => {
  const server = await startServer(secrets, process.env.SIGNE_WORLD);
  let admin;
  try {
    const token = jwt({ worlds: ["world-default"], exp: Math.floor(Date.now() / 1000) + 600 });
    admin = await joinRoom(server, "world-default", { party: "world", query: { "world-auth-token": token } });
    // The initial sync has {"rooms":{},"shards":{}}: load() makes nothing of empty objects.
    assert.deepEqual(admin.frames[0].value.rooms, {});
    assert.deepEqual(admin.frames[0].value.shards, {});

    const room = { name: "arena", balancingStrategy: "least-connections", public: false, maxPlayersPerShard: 4, minShards: 2, maxShards: 3 };
    assert.equal((await post(server, "/register-room", room, { Authorization: token })).status, 200);
    await admin.waitFor(() => Object.keys(admin.state.shards ?? {}).length === 2, "two shards in the admin's state");
    assert.deepEqual(admin.state.rooms, { arena: room });
    const ids = Object.keys(admin.state.shards);
    for (const id of ids) {
      assert.match(id, /^arena:world-default:\d+-\d+$/);
      const { lastHeartbeat, ...shard } = admin.state.shards[id];
      assert.deepEqual(shard, { roomId: "arena", worldId: "world-default", url: id, currentConnections: 0, maxConnections: 4, status: "active" });
      assert.equal(typeof lastHeartbeat, "number");
    }

    // A heartbeat's count arrives; a drained shard reporting 0 is deleted ("$delete").
    const shardHeaders = { "x-access-shard": secrets.SHARD_SECRET };
    await post(server, "/update-shard", { shardId: ids[0], connections: 3 }, shardHeaders);
    await admin.waitFor(() => admin.state.shards[ids[0]].currentConnections === 3, "the heartbeat's count");
    await post(server, "/update-shard", { shardId: ids[1], connections: 0, status: "draining" }, shardHeaders);
    await admin.waitFor(() => !(ids[1] in admin.state.shards), "the drained shard deleted");
    assert.deepEqual(Object.keys(admin.state.shards), [ids[0]]);
  } finally {
    if (admin) {
      admin.close(); // before the stop, or PartySocket keeps reconnecting
      await admin.waitFor(() => admin.closes.length > 0, "the admin socket closed");
    }
    assert.equal(await server.stop(), 0);
  }
});

// One deployment on loopback, every part a real process: redis-server, a World with its registry
// in Redis, two room servers placing rooms in Redis, two shard processes, and a TCP balancer in
// front of the shards (standing in for haproxy/nginx). 200 clients join one room through
// connectionWorld — 100 real @signe/sync clients, 100 signe::clients (signe-world-clients) — and
// see each other's moves; no shard ever holds more than maxPlayersPerShard (50); kill -9 of a
// shard process brings its clients back on the other one with their users; a drained shard gets
// no new clients and is removed once empty.
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { connectionWorld } from "@signe/sync/client";
import { startBalancer } from "./balancer.mjs";
import { joinRoom, startServer } from "./helpers.mjs";
import { startRedis } from "../redis/redis_server.mjs";

const ROOM = "game-scale";
const WORLD = "world-default";
const MAX_PER_SHARD = 50;
const JS_CLIENTS = 100;
const CPP_CLIENTS = 100;
const TOTAL = JS_CLIENTS + CPP_CLIENTS;
const LEASE_MS = 1500; // placement lease of room servers and shard processes
const WORLD_SHARD_TIMEOUT_MS = 6000; // the World forgets a shard silent this long
const secrets = { AUTH_JWT_SECRET: "scale-jwt-secret", SHARD_SECRET: "scale-shard-secret" };

let redis, world, roomServers, shards, balancer, cpp;
const js = [];

function adminToken() {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ worlds: [WORLD], exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${input}.${createHmac("sha256", secrets.AUTH_JWT_SECRET).update(input).digest("base64url")}`;
}

async function admin(path, body) {
  const res = await fetch(`${world.url}/parties/world/${WORLD}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${adminToken()}` },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, `${path}: ${await res.text()}`);
}

// What a shard process serves: {shardId: {clients, peak, adopted}}.
async function served(shard) {
  const res = await fetch(`${shard.url}/signe/stats`);
  return (await res.json()).shards;
}

// Polls another process's state until `check()` holds (no event to wait on across processes).
async function eventually(check, label, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out: ${label}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// signe-world-clients: commands on stdin, one JSON event per line on stdout.
function startCppClients(count) {
  const child = spawn(
    process.env.SIGNE_WORLD_CLIENTS,
    [`--host=${balancer.host}`, `--room=${ROOM}`, `--world=${WORLD}`, `--count=${count}`, "--id-prefix=cpp-",
      "--reconnect-min-ms=100", "--reconnect-max-ms=500", "--start-timeout-ms=60000"],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const events = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    const event = JSON.parse(line);
    const i = waiters.findIndex((w) => w.name === event.event);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(event);
    else events.push(event);
  });
  const next = (name) => {
    const i = events.findIndex((e) => e.event === name);
    if (i >= 0) return Promise.resolve(events.splice(i, 1)[0]);
    return new Promise((resolve) => waiters.push({ name, resolve }));
  };
  return {
    next,
    async ask(command, answer) {
      child.stdin.write(`${command}\n`);
      return next(answer);
    },
    async quit() {
      child.stdin.end("quit\n");
      await new Promise((r) => child.on("exit", r));
    },
  };
}

before(async () => {
  redis = await startRedis();
  world = await startServer(secrets, process.env.SIGNE_WORLD_BIN, [
    `--registry=${redis.url}`, `--shard-timeout-ms=${WORLD_SHARD_TIMEOUT_MS}`, "--cleanup-every-ms=500",
  ]);
  const placed = { SIGNE_PLACEMENT: redis.url, SIGNE_PLACEMENT_LEASE_MS: String(LEASE_MS) };
  roomServers = [];
  for (let i = 0; i < 2; i++) {
    roomServers.push(await startServer({ ...placed, SHARD_SECRET: secrets.SHARD_SECRET, SIGNE_STORAGE: redis.url }));
  }
  shards = [];
  for (let i = 0; i < 2; i++) {
    shards.push(await startServer(
      { ...placed, SHARD_SECRET: secrets.SHARD_SECRET, SIGNE_WORLD: world.url,
        SIGNE_UPSTREAM: roomServers.map((s) => s.url).join(",") },
      process.env.SIGNE_SHARD,
      ["--stats-interval=300"],
    ));
  }
  balancer = await startBalancer(shards.map((s) => s.host));
  await admin("register-room", {
    name: ROOM, balancingStrategy: "least-connections", public: true,
    maxPlayersPerShard: MAX_PER_SHARD, minShards: 0, maxShards: 12,
  });
});

after(async () => {
  for (const c of js) c.close();
  if (cpp) await cpp.quit();
  await balancer?.close();
  for (const s of shards ?? []) await s.kill();
  for (const s of roomServers ?? []) assert.equal(await s.stop(), 0);
  if (world) assert.equal(await world.stop(), 0);
  await redis?.close();
});

const joinJs = (id) =>
  joinRoom(balancer, ROOM, { host: balancer.url, worldId: WORLD, id }, connectionWorld);

// Every shard id either process has served, with its most clients at any moment.
async function peaks() {
  const all = {};
  for (const s of shards.filter((x) => x.alive())) {
    for (const [id, { peak }] of Object.entries(await served(s))) all[id] = Math.max(all[id] ?? 0, peak);
  }
  return all;
}

const seesAll = (client, x) =>
  Object.values(client.state.players ?? {}).filter((p) => p.x === x).length >= TOTAL;

async function everyoneSeesEveryMove(x, timeoutMs) {
  for (const [i, c] of js.entries()) c.emit("move", { x, y: i });
  const waited = await cpp.ask(`move ${x}`, "moved").then(() => cpp.ask(`wait-players ${x} ${TOTAL} ${timeoutMs}`, "waited"));
  assert.equal(waited.ok, true, `every signe::client sees ${TOTAL} players at x=${x}: ${JSON.stringify(waited)}`);
  for (const c of js) await c.waitFor(() => seesAll(c, x), `a JS client sees ${TOTAL} players at x=${x}`, timeoutMs);
}

test("200 clients join one room through the World and see each other's moves", async () => {
  for (let i = 0; i < JS_CLIENTS; i += 20) {
    js.push(...(await Promise.all(Array.from({ length: 20 }, (_, k) => joinJs(`js-${i + k}`)))));
  }
  cpp = startCppClients(CPP_CLIENTS);
  const started = await cpp.next("started");
  assert.equal(started.event, "started");
  await everyoneSeesEveryMove(500, 30000);

  const p = await peaks();
  console.log("shards and their peak clients:", JSON.stringify(p));
  assert.ok(Object.keys(p).length >= TOTAL / MAX_PER_SHARD, "at least 4 shards for 200 clients");
  for (const [id, peak] of Object.entries(p)) assert.ok(peak <= MAX_PER_SHARD, `${id} peaked at ${peak}`);
  let now = 0;
  for (const s of shards) for (const { clients } of Object.values(await served(s))) now += clients;
  assert.equal(now, TOTAL, "every client is on a shard");
});

test("kill -9 a shard process: its clients come back on the other one with their users", async () => {
  const load = await Promise.all(shards.map(async (s) => Object.values(await served(s)).reduce((n, x) => n + x.clients, 0)));
  const victim = load[0] >= load[1] ? 0 : 1;
  const survivor = shards[1 - victim];
  assert.ok(load[victim] > 0, "the killed process had clients");
  const jsPids = js.map((c) => c.state.pId);
  const cppPids = (await cpp.ask("status", "status")).pIds;
  const joinsBefore = (await cpp.ask("status", "status")).joins;
  const opensBefore = js.map((c) => c.opened);

  const killedAt = Date.now();
  await shards[victim].kill();
  shards.splice(victim, 1);
  // Everyone who was on the dead process reconnects (JS: PartySocket to the same URL through the
  // balancer; signe::client: asks the World again), and is served by the survivor.
  await eventually(async () => {
    const now = Object.values(await served(survivor)).reduce((n, x) => n + x.clients, 0);
    return now === TOTAL;
  }, "all 200 clients on the surviving shard process", 30000);
  const open = await cpp.ask(`wait-open ${CPP_CLIENTS} 30000`, "open");
  assert.equal(open.ok, true, `every signe::client joined again: ${JSON.stringify(open)}`);
  const served200 = Date.now() - killedAt;
  // Proof that every client is back: each one's move reaches the room, and each sees all 200.
  await everyoneSeesEveryMove(600, 30000);
  const everyoneMoved = Date.now() - killedAt;
  const status = await cpp.ask("status", "status");
  console.log(
    `${load[victim]} clients were on the killed process; all ${TOTAL} served by the other ${served200} ms ` +
    `after kill -9, every move seen by everyone ${everyoneMoved} ms after (placement lease ${LEASE_MS} ms); ` +
    `signe::client rejoins: ${status.joins - joinsBefore}, ` +
    `JS reconnects: ${js.filter((c, i) => c.opened > opensBefore[i]).length}`,
  );
  assert.ok(status.joins > joinsBefore || js.some((c, i) => c.opened > opensBefore[i]), "some clients had to come back");
  assert.deepEqual(status.pIds, cppPids, "every signe::client kept its user");
  assert.deepEqual(js.map((c) => c.state.pId), jsPids, "every JS client kept its user");
  for (const [id, peak] of Object.entries(await peaks())) assert.ok(peak <= MAX_PER_SHARD, `${id} peaked at ${peak}`);
});

test("a drained shard gets no new clients and is removed once empty", async () => {
  const [survivor] = shards;
  const before = await served(survivor);
  // One of its own shards (those it took over from the dead process are draining already).
  const [drained, { clients }] = Object.entries(before).find(([, s]) => s.clients > 0 && !s.adopted);
  await admin("update-shard", { shardId: drained, worldId: WORLD, connections: clients, status: "draining" });

  const newcomers = [];
  for (let i = 0; i < 20; i++) newcomers.push(await joinJs(`late-${i}`));
  for (const c of newcomers) assert.notEqual(c.room.shardInfo.shardId, drained, "no new client on a draining shard");
  js.push(...newcomers);

  // Its clients leave; the World then removes it, and its process stops serving it.
  for (const c of js.filter((x) => x.room.shardInfo.shardId === drained)) c.close();
  await cpp.ask(`close-on ${drained}`, "closed");
  await eventually(async () => !(drained in (await served(survivor))), "the drained shard is gone from its process", 15000);
  const registered = execFileSync("redis-cli", ["-p", String(redis.port), "ZSCORE", `signe:world:{${WORLD}}:shards`, drained]).toString().trim();
  assert.equal(registered, "", "the World's registry no longer lists it");
});

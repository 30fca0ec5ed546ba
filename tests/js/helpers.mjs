// Shared helpers: start the fixture server as a real process, connect the real
// @signe/sync client to it, and wait for conditions on what clients received.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { connectionRoom } from "@signe/sync/client";
import WebSocket from "ws";

const DEFAULT_TIMEOUT_MS = 5000;

// Starts a server program (the fixture by default) on a free port. `env` adds to the process
// environment, `args` are its command line.
export async function startServer(env = {}, binary = process.env.SIGNE_FIXTURE, args = []) {
  if (!binary) throw new Error("the server binary is not set (run the tests through ctest)");
  const child = spawn(binary, args, {
    env: { ...process.env, PORT: "0", SIGNE_ADDRESS: "127.0.0.1", SIGNE_THREADS: "2", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const port = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), DEFAULT_TIMEOUT_MS);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/[^:]+:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  const exited = once(child, "exit");
  return {
    port,
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr: () => stderr,
    // SIGTERM, then the exit code (0 when the shutdown was clean).
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = await exited;
      return code;
    },
    // SIGKILL: no chance to flush anything.
    async kill() {
      if (child.exitCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

// Resolves when `check()` is true, re-checking whenever `source` reports a change.
function waiter(source) {
  return (check, label, timeoutMs = DEFAULT_TIMEOUT_MS) =>
    new Promise((resolve, reject) => {
      if (check()) return resolve();
      const timer = setTimeout(() => {
        source.listeners.delete(test);
        reject(new Error(`timed out waiting for: ${label}`));
      }, timeoutMs);
      function test() {
        if (check()) {
          clearTimeout(timer);
          source.listeners.delete(test);
          resolve();
        }
      }
      source.listeners.add(test);
    });
}

// Connects the real client (PartySocket + load()) to a room. `options` go to connectionRoom
// (id, query, ...). The returned object keeps the synced state and every frame received.
export async function joinRoom(server, roomId, options = {}, connect = connectionRoom) {
  const state = {};
  const client = {
    state,
    frames: [],
    listeners: new Set(),
    opened: 0,
    closes: [],
  };
  const room = await connect(
    {
      host: server.host,
      party: "main",
      room: roomId,
      WebSocket,
      minReconnectionDelay: 50,
      maxReconnectionDelay: 200,
      ...options,
    },
    state,
  );
  const changed = () => client.listeners.forEach((fn) => fn());
  room.conn.addEventListener("message", (event) => {
    client.frames.push(JSON.parse(event.data));
    queueMicrotask(changed); // after load() has applied the frame
  });
  room.conn.addEventListener("open", () => {
    client.opened += 1;
    changed();
  });
  room.conn.addEventListener("close", (event) => {
    client.closes.push({ code: event.code, reason: event.reason });
    changed();
  });
  client.room = room;
  client.waitFor = waiter(client);
  client.emit = (action, value) => room.emit(action, value);
  client.close = () => room.close();
  await client.waitFor(() => state.pId !== undefined, `initial sync in ${roomId}`);
  return client;
}

// A raw WebSocket (no PartySocket), for sending what the real client never would.
export async function rawSocket(server, path) {
  const ws = new WebSocket(`ws://${server.host}${path}`);
  const client = { ws, frames: [], listeners: new Set(), closed: null };
  ws.on("message", (data) => {
    client.frames.push(JSON.parse(data.toString()));
    client.listeners.forEach((fn) => fn());
  });
  ws.on("close", (code, reason) => {
    client.closed = { code, reason: reason.toString() };
    client.listeners.forEach((fn) => fn());
  });
  client.waitFor = waiter(client);
  await once(ws, "open");
  await client.waitFor(() => client.frames.length > 0, "raw socket initial sync");
  return client;
}

export async function getJson(server, path) {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, body: await res.json() };
}

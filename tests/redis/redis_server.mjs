// A private redis-server for a Node test (the twin of redis_server.hpp): a free loopback port,
// a scratch directory, nothing saved unless `args` say so. `start()` resolves once the server
// logged "Ready to accept connections"; `stop()` sends SIGTERM and resolves on the exit.
//
//   const redis = await startRedis();   // redis.url === "redis://127.0.0.1:<port>"
//   await redis.stop(); await redis.start();   // same port, same directory
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const READY_TIMEOUT_MS = 20000;

export async function freePort() {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

export async function startRedis(args = []) {
  const binary = process.env.SIGNE_REDIS_SERVER || "redis-server";
  const dir = mkdtempSync(join(tmpdir(), "signe-redis-"));
  let port = 0;
  let child = null;
  let exited = null;
  let log = "";

  // Resolves true when ready, false when the process exited first (port taken).
  function launch() {
    log = "";
    child = spawn(
      binary,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
        "--daemonize", "no", "--logfile", "", ...args],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    exited = once(child, "exit");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), READY_TIMEOUT_MS);
      const onData = (data) => {
        log += data;
        if (log.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on("exit", () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  const redis = {
    get port() {
      return port;
    },
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    log: () => log,
    async start() {
      const first = port === 0;
      for (let attempt = 0; ; attempt++) {
        if (first) port = await freePort();
        if (await launch()) return;
        if (!first || attempt >= 5) throw new Error(`redis-server did not start:\n${log}`);
      }
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
    async close() {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}

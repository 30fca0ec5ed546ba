// signe-loadtest end to end against the benchmark server, briefly: every client joins, every
// action is delivered and counted, no errors, the report has its fields. Not a performance test.
//   node loadtest_smoke.mjs <signe-loadtest> <signe-bench-rooms>
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { promisify } from "node:util";

const [loadtest, server] = process.argv.slice(2);
const run = promisify(execFile);

const child = spawn(server, [], {
  env: { ...process.env, PORT: "0", SIGNE_ADDRESS: "127.0.0.1", SIGNE_THREADS: "1" },
  stdio: ["ignore", "pipe", "inherit"],
});
const exited = once(child, "exit");
const port = await new Promise((resolve, reject) => {
  let out = "";
  const timer = setTimeout(() => reject(new Error("the server printed no address")), 10000);
  child.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/listening on http:\/\/[^:]+:(\d+)/);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
});

const failures = [];
function check(name, condition, report) {
  if (!condition) failures.push(`${name}: ${JSON.stringify(report)}`);
}

async function loadtestReport(args) {
  const { stdout } = await run(loadtest, args, { timeout: 30000 });
  return JSON.parse(stdout);
}

const common = ["--clients", "5", "--rate", "20", "--duration", "1", "--drain", "2", "--server-pid", String(child.pid)];
for (const room of ["game-smoke", "counter"]) {
  const r = await loadtestReport(["--url", `ws://127.0.0.1:${port}/parties/main/${room}`, ...common, "--ping-rate", "5"]);
  const expected = room === "counter" ? r.actions_sent * 5 : r.actions_sent * 4;
  check(`${room} clients`, r.clients_connected === 5, r);
  check(`${room} actions`, r.actions_sent >= 80, r);
  check(`${room} every update delivered`, r.updates_expected === expected && r.updates_delivered === expected, r);
  check(`${room} latencies`, r.fanout_ms.samples === expected && r.fanout_ms.p50 >= 0, r);
  check(`${room} no errors`, Object.values(r.errors).every((n) => n === 0), r);
  check(`${room} server figures`, r.server.cpu_s >= 0 && r.server.peak_rss_kb > 0, r);
  if (room === "game-smoke") check("pings answered", r.ping_rtt_ms && r.ping_rtt_ms.samples > 0, r);
}
const idle = await loadtestReport(["--url", `ws://127.0.0.1:${port}/parties/main/counter`, "--scenario", "idle", "--clients", "20", "--duration", "0.2", "--server-pid", String(child.pid)]);
check("idle clients", idle.clients_connected === 20 && idle.actions_sent === 0, idle);
check("idle memory figure", typeof idle.server.bytes_per_connection === "number", idle);

const self = await loadtestReport(["--self-test", "--clients", "4", "--duration", "0.3"]);
check("self-test frames", self.frames_received > 1000 && self.generator.frames_per_cpu_s > 0, self);

child.kill("SIGTERM");
await exited;
if (failures.length > 0) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log("ok: game, counter, idle and self-test reports are complete and consistent");

// Writes bench/RESULTS.md from the reports bench/compare-node.sh left in bench/results/:
// medians per scenario and server, side by side, the issue's targets checked, the load
// generator's own capacity and the micro-benchmarks.
//   node summarize.mjs <results dir> <RESULTS.md> [--started T] [--duration S] [--command C] [--build-type B]
import { execSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

const [dir, outFile, ...rest] = process.argv.slice(2);
const opts = {};
for (let i = 0; i < rest.length; i += 2) opts[rest[i].replace(/^--/, "")] = rest[i + 1];

const SCENARIOS = {
  "game-25": "game, 25 clients × 10 moves/s",
  "game-50": "game, 50 clients × 10 moves/s",
  "game-200": "game, 200 clients × 10 moves/s",
  "game-500": "game, 500 clients × 10 moves/s",
  "counter-100": "counter, 100 clients × 20 increments/s",
  "idle-10000": "10,000 idle connections (counter room)",
  "connect-1000": "1,000 clients connect (counter room)",
};

const reports = {};
for (const file of readdirSync(dir)) {
  const m = file.match(/^(signe|node)-(.+)-(\d+)\.json$/);
  if (!m) continue;
  const [, server, scenario] = m;
  ((reports[scenario] ??= { signe: [], node: [] })[server]).push(JSON.parse(readFileSync(join(dir, file), "utf8")));
}

const median = (xs) => {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const med = (runs, get) => median(runs.map((r) => { try { return get(r); } catch { return undefined; } }));

function fmt(v, digits = 1) {
  if (v === undefined) return "–";
  if (Math.abs(v) >= 100000) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 100) return v.toFixed(0);
  return v.toFixed(digits);
}
// How many times better signe is: `higher` when a larger value is better.
function ratio(s, n, higher) {
  if (s === undefined || n === undefined || s === 0 || n === 0) return "–";
  const r = higher ? s / n : n / s;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(1)}×`;
}

const METRICS = {
  traffic: [
    ["clients connected", (r) => r.clients_connected, true, 0],
    ["delivered updates/s", (r) => r.delivered_per_s, true, 0],
    ["updates delivered (of expected)", (r) => 100 * r.delivered_ratio, true, 2, "%"],
    ["fan-out p50 (ms)", (r) => r.fanout_ms.p50, false, 2],
    ["fan-out p99 (ms)", (r) => r.fanout_ms.p99, false, 2],
    ["fan-out max (ms)", (r) => r.fanout_ms.max, false, 1],
    ["server CPU s per million delivered", (r) => r.server.cpu_s_per_million_delivered, false, 2],
    ["server CPU s (action phase)", (r) => r.server.cpu_s, undefined, 2],
    ["peak RSS (MB)", (r) => r.server.peak_rss_kb / 1024, false, 1],
    ["connect time, all clients (ms)", (r) => r.connect_all_ms, false, 0],
    ["frames received/s", (r) => r.frames_per_s, undefined, 0],
  ],
  idle: [
    ["clients connected", (r) => r.clients_connected, true, 0],
    ["memory per connection (bytes RSS)", (r) => r.server.bytes_per_connection, false, 0],
    ["peak RSS (MB)", (r) => r.server.peak_rss_kb / 1024, false, 1],
    ["connect time, all clients (ms)", (r) => r.connect_all_ms, false, 0],
    ["first sync p50 (ms)", (r) => r.ready_ms.p50, false, 1],
    ["first sync p99 (ms)", (r) => r.ready_ms.p99, false, 1],
    ["server CPU s to accept them", (r) => r.server.connect_cpu_s, false, 2],
  ],
};

function table(scenario) {
  const { signe = [], node = [] } = reports[scenario];
  const kind = scenario.startsWith("idle") || scenario.startsWith("connect") ? "idle" : "traffic";
  const lines = [
    `| | signe (C++) | @signe/room (Node) | signe better by |`,
    `|---|---:|---:|---:|`,
  ];
  for (const [label, get, higher, digits, unit = ""] of METRICS[kind]) {
    const s = med(signe, get);
    const n = med(node, get);
    const better = higher === undefined ? "" : ratio(s, n, higher);
    lines.push(`| ${label} | ${fmt(s, digits)}${s === undefined ? "" : unit} | ${fmt(n, digits)}${n === undefined ? "" : unit} | ${better} |`);
  }
  const sat = (runs) => runs.filter((r) => r.generator.saturated).length;
  const bg = (runs) => Math.max(0, ...runs.map((r) => r.background_cpu_s ?? 0));
  lines.push(
    "",
    `Runs: ${signe.length} (signe), ${node.length} (Node); load generator saturated in ${sat(signe)} and ${sat(node)} of them; ` +
      `most CPU time other programs took during a run: ${fmt(bg([...signe, ...node]), 2)} s.`,
  );
  return lines.join("\n");
}

// --- the issue's targets ----------------------------------------------------------------------
const S = (sc, get) => (reports[sc] ? med(reports[sc].signe, get) : undefined);
const N = (sc, get) => (reports[sc] ? med(reports[sc].node, get) : undefined);
const targets = [];
function target(text, ok, detail) {
  targets.push(`| ${text} | ${ok === undefined ? "not run" : ok ? "**met**" : "**missed**"} | ${detail} |`);
}
for (const [sc, limit] of [["game-200", 20], ["game-500", 50]]) {
  const ratioDelivered = S(sc, (r) => r.delivered_ratio);
  const p99 = S(sc, (r) => r.fanout_ms.p99);
  target(
    `${SCENARIOS[sc]}: every move delivered to every other client, p99 fan-out ≤ ${limit} ms, one core`,
    ratioDelivered === undefined ? undefined : ratioDelivered >= 1 && p99 <= limit,
    ratioDelivered === undefined ? "" : `${fmt(100 * ratioDelivered, 3)}% delivered, p99 ${fmt(p99, 2)} ms`,
  );
}
for (const sc of ["game-25", "game-50", "game-200", "game-500", "counter-100"]) {
  const s = S(sc, (r) => r.server.cpu_s_per_million_delivered);
  const n = N(sc, (r) => r.server.cpu_s_per_million_delivered);
  target(
    `${SCENARIOS[sc]}: server CPU per million delivered ≤ 1/20 of Node's`,
    s === undefined || n === undefined ? undefined : n / s >= 20,
    s === undefined || n === undefined ? "" : `${fmt(s, 2)} s vs ${fmt(n, 2)} s: 1/${fmt(n / s, 1)}`,
  );
}
{
  const b = S("idle-10000", (r) => r.server.bytes_per_connection);
  target("10,000 idle connections cost at most 4 KB each", b === undefined ? undefined : b <= 4096, b === undefined ? "" : `${fmt(b, 0)} bytes each`);
  const c = S("connect-1000", (r) => r.connect_all_ms);
  const ready = S("connect-1000", (r) => r.clients_connected);
  target("1,000 clients connect and receive their first sync in under 1 s", c === undefined ? undefined : c < 1000 && ready === 1000, c === undefined ? "" : `${fmt(c, 0)} ms for ${fmt(ready, 0)} clients`);
}

// --- machine, generator, micro-benchmarks -------------------------------------------------------
const sh = (cmd) => { try { return execSync(cmd, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim(); } catch { return "?"; } };
const machine = [
  `- CPU: ${cpus()[0]?.model ?? "?"}, ${cpus().length} cores; ${Math.round(totalmem() / 2 ** 30)} GB; Linux ${sh("uname -r")}`,
  `- signe: commit ${sh("git rev-parse --short HEAD")}, ${sh("c++ --version | head -1")}, ${opts["build-type"] ?? "?"}, Boost 1.81`,
  `- Node ${process.version}, @signe/room 3.2.1 (bench/peer/package-lock.json)`,
  `- server pinned to core 0 (\`taskset -c 0\`, signe with SIGNE_THREADS=1), signe-loadtest pinned to core 1; loopback only`,
];

let generator = "";
const selftest = join(dir, "selftest.json");
if (existsSync(selftest)) {
  const r = JSON.parse(readFileSync(selftest, "utf8"));
  generator =
    `signe-loadtest --self-test (100 clients flooded by an in-process fake server): ` +
    `**${fmt(r.generator.frames_per_cpu_s, 0)} frames per CPU second** of the generator ` +
    `(${fmt(r.frames_per_s, 0)} frames/s wall clock, limited by the fake server's thread), every frame parsed, scanned and applied to its client's mirror: ` +
    `the generator needs ${fmt(2.5, 1)} M frames/s for the 500-client game.`;
}

let micro = "";
const microFile = join(dir, "micro.json");
if (existsSync(microFile)) {
  const m = JSON.parse(readFileSync(microFile, "utf8"));
  micro = [
    "| benchmark | time per iteration | items/s |",
    "|---|---:|---:|",
    ...m.benchmarks.map((b) => `| ${b.name} | ${fmt(b.real_time, 0)} ${b.time_unit} | ${b.items_per_second ? fmt(b.items_per_second, 0) : ""} |`),
  ].join("\n");
}

const order = Object.keys(SCENARIOS).filter((s) => reports[s]);
const md = `# Benchmark results: signe (C++) vs the original @signe/room (Node)

Generated by \`bench/compare-node.sh\` (${opts.started ?? "?"}); see [docs/performance.md](../docs/performance.md)
for what each figure means and how the run works. Medians of the runs of each scenario; every
run starts a fresh server process.

\`\`\`sh
${opts.command ?? "bench/compare-node.sh"}
\`\`\`

${machine.join("\n")}
- ${opts.duration ?? 10} s of actions per run, then up to 3 s for late updates

## Targets of issue 4

| target | | measured |
|---|---|---|
${targets.join("\n")}

Why the missed ones are missed, what the profiles show and what would close them:
[docs/performance.md, "What limits the server"](../docs/performance.md#what-limits-the-server).

${order.map((s) => `## ${SCENARIOS[s]}\n\n${table(s)}\n`).join("\n")}
## The load generator

${generator || "(not run)"}

## Micro-benchmarks (signe-bench-micro, one core)

${micro || "(not built: configure with -DSIGNE_BUILD_BENCH=ON)"}
`;
writeFileSync(outFile, md);

// Differential test: random sync packets applied by @signe/sync's own load(root, packet, true)
// and by signe::apply_packet (through the signe-apply-packets tool) must leave the same state,
// including packets where load() throws part-way.
//   node apply_packet_diff.mjs <signe-apply-packets>   (run from tests/js, for its node_modules)
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

// @signe/sync as tests/js installed it (npm ci there, pinned by its package-lock.json).
const sync = resolve(process.cwd(), "node_modules/@signe/sync/dist/index.js");
const { load } = await import(pathToFileURL(sync).href);

const tool = process.argv[2];
const PACKETS = 3000;

// A small deterministic PRNG (mulberry32), so a failure can be replayed.
let seed = 20240611;
function random() {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (items) => items[Math.floor(random() * items.length)];
const KEYS = ["a", "b", "players", "x", "0", "1", "2", "10", "pId", "list"];

function leaf() {
  return pick([
    () => Math.floor(random() * 100),
    () => Math.round(random() * 1000) / 8,
    () => pick(["s", "hello", ""]),
    () => "$delete",
    () => ["$delete"],
    () => null,
    () => random() < 0.5,
    () => [1, "two", null],
    () => [],
  ])();
}

function node(depth) {
  if (depth > 3 || random() < 0.35) return leaf();
  const out = {};
  const n = Math.floor(random() * 4);
  for (let i = 0; i < n; i++) out[pick(KEYS)] = node(depth + 1);
  return out;
}

// Arrays with holes are where the two differ by design (a hole is null in C++): start over.
function hasHole(v) {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v) || hasHole(v[i])) return true;
    return false;
  }
  if (v && typeof v === "object") return Object.values(v).some(hasHole);
  return false;
}

function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical(v[k]);
    return out;
  }
  return v;
}

const child = spawn(tool, [], { stdio: ["pipe", "pipe", "inherit"] });
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
async function apply(text) {
  child.stdin.write(text + "\n");
  const { value } = await lines.next();
  const space = value.indexOf(" ");
  return { complete: value.slice(0, space) === "ok", state: JSON.parse(value.slice(space + 1)) };
}

let state = {};
let partial = 0;
let resets = 0;
for (let i = 0; i < PACKETS; i++) {
  if (hasHole(state) || random() < 0.05) {
    state = {};
    resets++;
    await apply("reset");
  }
  const packet = node(0);
  const text = JSON.stringify(packet);
  let complete = true;
  try {
    load(state, JSON.parse(text), true);
  } catch {
    complete = false; // load() threw: what it applied before stays
    partial++;
  }
  state = JSON.parse(JSON.stringify(state)); // as JSON sees it
  const got = await apply(text);
  const want = JSON.stringify(canonical(state));
  const have = JSON.stringify(canonical(got.state));
  if (want !== have || got.complete !== complete) {
    console.error(`packet ${i}: ${text}\n  JS   (${complete ? "complete" : "threw"}): ${want}\n  C++ (${got.complete ? "complete" : "partial"}): ${have}`);
    child.kill();
    process.exit(1);
  }
}
child.stdin.end();
console.log(`ok: ${PACKETS} packets, ${partial} where load() threw part-way, ${resets} resets`);

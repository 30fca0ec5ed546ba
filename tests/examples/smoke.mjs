// Smoke test of an example program: start it on a free port, request one path, compare the
// body (or, with a leading "~", look for a part of it), stop it with SIGTERM and expect exit
// status 0.
//   node smoke.mjs <binary> <path> <expected body | ~expected part>
import { spawn } from "node:child_process";
import { once } from "node:events";

const [binary, path, expected] = process.argv.slice(2);
const child = spawn(binary, [], { env: { ...process.env, PORT: "0" }, stdio: ["ignore", "pipe", "inherit"] });
const exited = once(child, "exit");
let output = "";
const port = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no "listening" line from ${binary}`)), 10000);
  child.stdout.on("data", (d) => {
    output += d;
    const m = output.match(/listening on http:\/\/[^:]+:(\d+)/);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
});
const res = await fetch(`http://127.0.0.1:${port}${path}`);
const body = (await res.text()).trim();
child.kill("SIGTERM");
const [code] = await exited;
const matches = expected.startsWith("~") ? body.includes(expected.slice(1)) : body === expected;
if (res.status !== 200 || !matches || code !== 0) {
  console.error(`FAIL ${binary} ${path}: status ${res.status}, body ${JSON.stringify(body)}, exit ${code}; expected ${JSON.stringify(expected)}`);
  process.exit(1);
}
console.log(`ok ${binary} ${path} -> ${body.slice(0, 80)} (exit ${code})`);

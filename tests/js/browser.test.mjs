// The game example's page in a real browser (Debian's Chromium, driven by playwright-core):
// the page bundles the unchanged @signe/sync client; two players in two browser profiles see
// each other move.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { once } from "node:events";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
let server;
let port;
let browser;

before(async () => {
  const binary = process.env.SIGNE_GAME_EXAMPLE;
  assert.ok(binary, "SIGNE_GAME_EXAMPLE is not set (run through ctest)");
  assert.ok(existsSync(new URL("../../examples/game/public/app.js", import.meta.url)), "the page bundle is missing: run `make test` (it builds it)");
  server = spawn(binary, [], { env: { ...process.env, PORT: "0", SIGNE_ADDRESS: "127.0.0.1" }, stdio: ["ignore", "pipe", "inherit"] });
  port = await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/[^:]+:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    server.on("exit", (code) => reject(new Error(`game example exited with ${code}`)));
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    const [code] = await once(server, "exit");
    assert.equal(code, 0);
  }
});

async function openPlayer(name) {
  const context = await browser.newContext(); // its own localStorage: its own session
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${port}/?room=game-browser&name=${name}`);
  await page.getByText("connected to game-browser").waitFor();
  return { page, errors };
}

test("two browser players see each other move", async () => {
  const alice = await openPlayer("Alice");
  const bob = await openPlayer("Bob");
  await alice.page.locator("#players li", { hasText: "Bob" }).waitFor();

  await alice.page.locator("#arena").click({ position: { x: 300, y: 200 } });
  await bob.page.locator("#players li", { hasText: "Alice — 300, 200" }).waitFor();

  await bob.page.locator("#arena").click({ position: { x: 120, y: 80 } });
  await alice.page.locator("#players li", { hasText: "Bob — 120, 80" }).waitFor();

  await bob.page.context().close();
  await alice.page.locator("#players li", { hasText: "Bob — 120, 80 (offline)" }).waitFor();
  assert.deepEqual([...alice.errors, ...bob.errors], []);
});

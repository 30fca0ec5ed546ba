// The game's browser page: the real @signe/sync client, unchanged, against the C++ server.
import { connectionRoom } from "@signe/sync/client";

const params = new URLSearchParams(location.search);
const roomId = params.get("room") || "game-1";
const sessionKey = "signe-game-session";
let sessionId = localStorage.getItem(sessionKey);
if (!sessionId) {
  sessionId = crypto.randomUUID();
  localStorage.setItem(sessionKey, sessionId);
}
const name = params.get("name") || localStorage.getItem("signe-game-name") || "Player";

// load() writes every sync packet into this plain object: {pId, players: {<id>: {x, y, ...}}}.
const state = { players: {} };
const status = document.getElementById("status");
const canvas = document.getElementById("arena");
const ctx = canvas.getContext("2d");

const room = await connectionRoom(
  { host: location.host, party: "main", room: roomId, id: sessionId, query: { name } },
  state,
);
room.conn.addEventListener("open", () => (status.textContent = `connected to ${roomId}`));
room.conn.addEventListener("close", () => (status.textContent = "reconnecting…"));
room.on("pong", ({ t }) => (document.getElementById("latency").textContent = `${Math.round(performance.now() - t)} ms`));

canvas.addEventListener("click", (event) => {
  room.emit("move", { x: event.offsetX, y: event.offsetY }); // offset: inside the canvas border
});
setInterval(() => room.emit("ping", { t: performance.now() }), 2000);

function color(id) {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be123c", "#4f46e5"][h % 8];
}

function draw() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const list = document.getElementById("players");
  list.innerHTML = "";
  for (const [id, p] of Object.entries(state.players || {})) {
    ctx.globalAlpha = p.connected ? 1 : 0.35;
    ctx.fillStyle = color(id);
    ctx.beginPath();
    ctx.arc(p.x, p.y, id === state.pId ? 18 : 14, 0, Math.PI * 2);
    ctx.fill();
    ctx.fillStyle = "#111";
    ctx.fillText(p.name, p.x + 20, p.y + 4);
    const item = document.createElement("li");
    item.textContent = `${p.name}${id === state.pId ? " (you)" : ""} — ${Math.round(p.x)}, ${Math.round(p.y)}${p.connected ? "" : " (offline)"}`;
    list.appendChild(item);
  }
  ctx.globalAlpha = 1;
  requestAnimationFrame(draw);
}
draw();

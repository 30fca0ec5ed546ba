// The original @signe/room 3.2.1 on its Node adapter, with exactly the rooms of
// examples/bench-rooms (the C++ server bench/compare-node.sh compares it with). Plain ES
// modules: the decorators are applied as the functions they are, as TypeScript would.
//
//   PORT=3000 node server.mjs     -> prints "signe listening on http://127.0.0.1:PORT"
import { createServer } from "node:http";
import { signal } from "@signe/reactive";
import { Action, Request, Room, Server } from "@signe/room";
import { createMemoryNodeRoomStorage, createNodeRoomTransport } from "@signe/room/node";
import { sync, users } from "@signe/sync";
import { WebSocketServer } from "ws";
import { z } from "zod";

// counter: synced `count`; `increment` with an optional {amount}; GET /count.
class CounterRoom {
  constructor() {
    this.count = signal(0); // through the @sync setter, as a TypeScript field initialiser
  }
  increment(_user, value) {
    this.count.update((count) => count + (value?.amount ?? 1));
  }
  getCount() {
    return { count: this.count() };
  }
}
sync()(CounterRoom.prototype, "count");
Action("increment", z.object({ amount: z.number().optional() }).optional())(CounterRoom.prototype, "increment");
Request({ path: "/count" })(CounterRoom.prototype, "getCount");
Room({ path: "counter" })(CounterRoom);

// game-{id}: users with synced x, y; `move {x, y}`; `ping {t}` answered to the sender only.
class Player {
  constructor() {
    this.x = signal(0);
    this.y = signal(0);
  }
}
sync()(Player.prototype, "x");
sync()(Player.prototype, "y");

class GameRoom {
  constructor() {
    this.players = signal({});
  }
  move(player, value) {
    player.x.set(value.x);
    player.y.set(value.y);
  }
  ping(_player, value, conn) {
    this.$send(conn, { type: "pong", value: { t: value.t } });
  }
}
users(Player)(GameRoom.prototype, "players");
Action("move", z.object({ x: z.number(), y: z.number() }))(GameRoom.prototype, "move");
Action("ping", z.object({ t: z.number() }))(GameRoom.prototype, "ping");
Room({ path: "game-{id}" })(GameRoom);

class BenchServer extends Server {
  rooms = [CounterRoom, GameRoom];
}

const transport = createNodeRoomTransport(BenchServer, {
  partiesPath: "/parties/main",
  storage: createMemoryNodeRoomStorage(),
});
const server = createServer((req, res) => void transport.handleNodeRequest(req, res));
const wsServer = new WebSocketServer({ noServer: true });
server.on("upgrade", (request, socket, head) => transport.handleUpgrade(wsServer, request, socket, head));

const host = process.env.SIGNE_ADDRESS || "127.0.0.1";
server.listen(Number(process.env.PORT || 3000), host, () => {
  console.log(`signe listening on http://${host}:${server.address().port}`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));

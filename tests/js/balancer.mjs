// A TCP load balancer for tests, standing in for haproxy or nginx in front of shard processes:
// each incoming connection goes to the next backend, round-robin; a backend that refuses the
// connection is skipped (each tried at most once per connection); then bytes flow both ways
// untouched (WebSocket upgrades included) until either side ends.
//
//   const lb = await startBalancer(["127.0.0.1:4001", "127.0.0.1:4002"]);
//   lb.host; lb.setBackends(["127.0.0.1:4002"]); await lb.close();
import net from "node:net";
import { once } from "node:events";

function dial(backend) {
  const at = backend.lastIndexOf(":");
  const socket = net.connect({ host: backend.slice(0, at), port: Number(backend.slice(at + 1)) });
  return new Promise((resolve) => {
    socket.once("connect", () => resolve(socket));
    socket.once("error", () => resolve(null)); // refused, unreachable, reset: try the next one
  });
}

export async function startBalancer(backends) {
  let list = [...backends];
  let next = 0;
  const sockets = new Set();

  async function accept(client) {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    client.pause(); // keep the first bytes (the upgrade request) until a backend is there
    const pool = list;
    const first = next++;
    for (let i = 0; i < pool.length && !client.destroyed; i++) {
      const backend = await dial(pool[(first + i) % pool.length]);
      if (!backend) continue;
      if (client.destroyed) return backend.destroy(); // the client left while we dialed
      sockets.add(backend);
      backend.on("close", () => sockets.delete(backend));
      const end = () => (client.destroy(), backend.destroy());
      for (const s of [client, backend]) s.on("error", end).on("close", end);
      client.pipe(backend).on("error", end);
      backend.pipe(client).on("error", end);
      client.resume();
      return;
    }
    client.destroy();
  }

  const server = net.createServer(accept);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  return {
    port,
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    setBackends(backendsNow) {
      list = [...backendsNow];
    },
    // Stops listening and cuts every connection still open.
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/**
 * A deliberately broken stand-in for app/main.ts, used only by test/bench/chaos.test.ts to
 * prove that the chaos run's verdicts can fail: it answers like the real server while every memcached
 * node is reachable, and breaks a must-not-fail rule as soon as one is not.
 *
 *   BROKEN_MODE=5xx  (default) item requests are answered 500 {"error":{"code":"internal_error",...}}
 *   BROKEN_MODE=hang item requests are never answered
 *
 * Environment: MEMCACHED_SERVERS (host:port,...), PORT (0 = any). Prints the same
 * {"message":"listening","url":...} line as main.ts; SIGTERM/SIGINT stop it.
 */
import * as http from "node:http";
import * as net from "node:net";

const servers = (process.env.MEMCACHED_SERVERS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
const mode = process.env.BROKEN_MODE === "hang" ? "hang" : "5xx";
const state = { allUp: true };

function reachable(address: string): Promise<boolean> {
  const [host, port] = address.split(":");
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host);
    s.setTimeout(200, () => { s.destroy(); resolve(false); });
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

const poll = setInterval(() => {
  void Promise.all(servers.map(reachable)).then((ok) => { state.allUp = ok.every(Boolean); });
}, 100);

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  if (url.pathname === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"ok"}');
    return;
  }
  const m = /^\/items\/([A-Za-z0-9][A-Za-z0-9_.-]{0,63})$/.exec(url.pathname);
  if (!m) {
    res.writeHead(404, { "content-type": "application/json" });
    res.end('{"error":{"code":"not_found","message":"no such route"}}');
    return;
  }
  if (!state.allUp) {
    if (mode === "hang") return;
    res.writeHead(500, { "content-type": "application/json" });
    res.end('{"error":{"code":"internal_error","message":"memcached is down and this server gives up"}}');
    return;
  }
  res.writeHead(200, { "content-type": "application/json", "x-cache": /^[0-9]+$/.test(m[1]) ? "HIT-L1" : "MISS" });
  res.end(JSON.stringify({ id: m[1], lang: url.searchParams.get("lang") ?? "en" }));
});
server.keepAliveTimeout = 65000;

server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const { port } = server.address() as net.AddressInfo;
  console.log(JSON.stringify({ level: "INFO", message: "listening", port, url: `http://127.0.0.1:${port}`, pid: process.pid, broken: mode }));
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    clearInterval(poll);
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

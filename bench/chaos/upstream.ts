/**
 * The chaos run's upstream: a loopback HTTP server whose behaviour the timeline switches.
 *
 *   ok    200 with the item's JSON, at once
 *   fail  500 {"error":"injected failure"}, at once
 *   slow  200 with the item's JSON after `slowMs`
 *   hang  accepts the request and never answers (the caller's timeout has to end it)
 *
 * It counts requests and the requests it holds open at the same time (the peak per interval is what
 * a bulkhead in the server bounds). A request keeps the behaviour it arrived with: a hung request
 * stays hung after the mode changes, as a real hung backend would.
 */
import * as http from "node:http";
import * as net from "node:net";

export type UpstreamMode = "ok" | "fail" | "slow" | "hang";

export interface ChaosUpstream {
  readonly url: string;
  mode: UpstreamMode;
  slowMs: number;
  /** Requests received so far. */
  requests(): number;
  /** Requests open right now. */
  inFlight(): number;
  /** Highest number of open requests since the last call (then restarts from the current number). */
  takePeak(): number;
  close(): Promise<void>;
}

export async function startChaosUpstream(body: (url: string) => string, slowMs = 2000): Promise<ChaosUpstream> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let total = 0;
  let open = 0;
  let peak = 0;
  const state = { mode: "ok" as UpstreamMode, slowMs };
  const server = http.createServer((req, res) => {
    total += 1;
    open += 1;
    if (open > peak) peak = open;
    let closed = false;
    res.once("close", () => {
      if (!closed) {
        closed = true;
        open -= 1;
      }
    });
    const mode = state.mode;
    const answer = (status: number, text: string): void => {
      if (res.destroyed || res.writableEnded) return;
      res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
      res.end(text);
    };
    switch (mode) {
      case "ok":
        answer(200, body(req.url ?? "/"));
        break;
      case "fail":
        answer(500, '{"error":"injected failure"}');
        break;
      case "slow": {
        const t = setTimeout(() => {
          timers.delete(t);
          answer(200, body(req.url ?? "/"));
        }, state.slowMs);
        timers.add(t);
        break;
      }
      case "hang":
        // Read the request, answer nothing; the socket stays open until the caller gives up.
        break;
    }
  });
  server.keepAliveTimeout = 65000;
  server.headersTimeout = 66000;
  server.requestTimeout = 0;
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(m: UpstreamMode) {
      state.mode = m;
    },
    get slowMs() {
      return state.slowMs;
    },
    set slowMs(ms: number) {
      state.slowMs = ms;
    },
    requests: () => total,
    inFlight: () => open,
    takePeak: () => {
      const p = peak;
      peak = open;
      return p;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

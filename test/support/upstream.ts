import * as http from "node:http";
import * as net from "node:net";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** What the upstream answers; tests change it between calls. */
export interface UpstreamBehaviour {
  status: number;
  body: string;
  contentType: string;
  /** Delay before answering, to simulate a slow upstream. */
  delayMs: number;
}

/** A real HTTP server on a free loopback port standing in for the upstream API. */
export interface Upstream {
  readonly url: string;
  readonly requests: RecordedRequest[];
  behaviour: UpstreamBehaviour;
  /** Optional per-request override. */
  handler?: (req: http.IncomingMessage) => Partial<UpstreamBehaviour> | undefined;
  close(): Promise<void>;
}

export async function startUpstream(initial: Partial<UpstreamBehaviour> = {}): Promise<Upstream> {
  const sockets = new Set<net.Socket>();
  const state: Upstream = {
    url: "",
    requests: [],
    behaviour: { status: 200, body: '{"hello":"world"}', contentType: "application/json", delayMs: 0, ...initial },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    state.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const b = { ...state.behaviour, ...(state.handler?.(req) ?? {}) };
    const answer = (): void => {
      if (res.destroyed) return;
      res.writeHead(b.status, { "content-type": b.contentType });
      res.end(b.body);
    };
    if (b.delayMs > 0) setTimeout(answer, b.delayMs); else answer();
  });
  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  (state as { url: string }).url = `http://127.0.0.1:${port}`;
  return state;
}

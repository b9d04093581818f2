import * as http from "node:http";
import type * as net from "node:net";

/** What the S3 stand-in has stored, keyed by the request's raw path ("/bucket/key", path-style). */
export interface FakeS3 {
  url: string;
  objects: Map<string, { body: Buffer; headers: http.IncomingHttpHeaders }>;
  /** GET request targets in arrival order (presigned query strings included). */
  gets: string[];
  /** TCP connections accepted so far (keep-alive reuse shows as no new connection). */
  connections: number;
  /** Status to answer PUTs with: 200 stores; anything else answers S3's AccessDenied XML and stores nothing. */
  putStatus: number;
  close(): Promise<void>;
}

/**
 * A minimal S3-compatible server on loopback (real HTTP, path-style PUT and GET; 404 NoSuchKey for a
 * missing object, 405 for any other method) that records what it is sent and what was read.
 */
export async function startFakeS3(): Promise<FakeS3> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const { pathname } = new URL(req.url ?? "/", "http://s3.local");
      if (req.method === "PUT") {
        if (state.putStatus !== 200) {
          res.writeHead(state.putStatus, { "content-type": "application/xml" });
          res.end("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
          return;
        }
        state.objects.set(pathname, { body: Buffer.concat(chunks), headers: req.headers });
        res.writeHead(200, { etag: '"fake"' });
        res.end();
        return;
      }
      if (req.method === "GET") {
        state.gets.push(req.url ?? "");
        const o = state.objects.get(pathname);
        if (!o) {
          res.writeHead(404, { "content-type": "application/xml" });
          res.end("<Error><Code>NoSuchKey</Code></Error>");
          return;
        }
        res.writeHead(200, { "content-type": String(o.headers["content-type"] ?? "application/octet-stream"), "content-length": o.body.length });
        res.end(o.body);
        return;
      }
      res.writeHead(405);
      res.end();
    });
  });
  server.on("connection", () => { state.connections += 1; });
  const state: FakeS3 = {
    url: "",
    objects: new Map(),
    gets: [],
    connections: 0,
    putStatus: 200,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return state;
}

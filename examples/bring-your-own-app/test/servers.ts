/**
 * The two servers the app's artifacts talk to in the runtime tests: a real memcached (from
 * `serverless-cache/testing`; the `memcached` binary, e.g. `apt-get install memcached`) and a stand-in
 * for the catalogue service, both on loopback.
 */
import * as http from "node:http";
import type * as net from "node:net";
export { startMemcached, type MemcachedServer as Memcached } from "serverless-cache/testing";

export interface Catalogue {
  url: string;
  /** Requests received, as "METHOD path?query". */
  hits: string[];
  /** Make every request answer this status (undefined: normal answers). */
  failWith?: number;
  close(): Promise<void>;
}

/** The catalogue service: /products/{sku}, /categories/{id}/products?page=, /rates?base=. */
export async function startCatalogue(): Promise<Catalogue> {
  const state: Catalogue = { url: "", hits: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    state.hits.push(`${req.method} ${req.url}`);
    const u = new URL(req.url ?? "/", "http://catalogue");
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (state.failWith) return send(state.failWith, { error: "down" });
    let m = /^\/products\/([A-Z0-9-]+)$/.exec(u.pathname);
    if (m) return m[1] === "MISSING-1" ? send(404, { error: "no such product" }) : send(200, { sku: m[1], name: `Product ${m[1]}`, price: 12.5, currency: u.searchParams.get("currency") });
    m = /^\/categories\/([a-z0-9-]+)\/products$/.exec(u.pathname);
    if (m) return send(200, { category: m[1], page: Number(u.searchParams.get("page")), items: [`${m[1]}-1`, `${m[1]}-2`] });
    if (u.pathname === "/rates") return send(200, { base: u.searchParams.get("base"), rates: { USD: 1.08, GBP: 0.86 } });
    return send(404, { error: "unknown path" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  state.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return state;
}

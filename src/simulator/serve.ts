/**
 * The only socket of the simulator: HTTPS on a loopback address.
 *
 * Served with `node:https` rather than `Deno.serve`: Deno.serve's TLS connections keep Nagle's
 * algorithm on (no TCP_NODELAY option), which adds ~40 ms to every response larger than a few
 * kilobytes on loopback. `node:https` sets `noDelay` and also sends PVE's reason phrases
 * ("595 no such cluster node 'pve9'"), which Deno.serve drops.
 *
 * @module
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../util/log.ts";
import { simulatorServerCert, simulatorServerKey } from "./tls/certs.ts";

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/** A running HTTPS listener. */
export interface Listener {
  hostname: string;
  port: number;
  close(): Promise<void>;
}

/** Throws unless `hostname` is a loopback address (the simulator never listens elsewhere). */
export function assertLoopback(hostname: string): void {
  if (!LOOPBACK.has(hostname)) {
    throw new Error(
      `Refusing to serve the simulator on ${hostname}: only loopback addresses are allowed (127.0.0.1, ::1, localhost)`,
    );
  }
}

async function toRequest(req: IncomingMessage, origin: string): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(name === "cookie" ? "; " : ", ") : value);
  }
  const method = req.method ?? "GET";
  let body: Uint8Array<ArrayBuffer> | undefined;
  if (method !== "GET" && method !== "HEAD") {
    const chunks: Uint8Array[] = [];
    for await (const chunk of req) chunks.push(chunk as Uint8Array);
    const size = chunks.reduce((n, c) => n + c.length, 0);
    body = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      body.set(c, at);
      at += c.length;
    }
  }
  return new Request(`${origin}${req.url ?? "/"}`, { method, headers, body });
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  const body = new Uint8Array(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  headers["content-length"] = String(body.length);
  res.writeHead(response.status, response.statusText || undefined, headers);
  res.end(body);
}

/** Serves `handler` over HTTPS with the bundled test certificate on a loopback address. */
export function serveHttps(
  hostname: string,
  port: number,
  handler: (request: Request) => Promise<Response>,
  logger: Logger,
): Promise<Listener> {
  assertLoopback(hostname);
  const bind = hostname === "localhost" ? "127.0.0.1" : hostname;
  const server = https.createServer({
    cert: simulatorServerCert,
    key: simulatorServerKey,
    noDelay: true,
  }, (req, res) => {
    const origin = `https://${bind.includes(":") ? `[${bind}]` : bind}:${actualPort}`;
    toRequest(req, origin)
      .then(handler)
      .then((response) => send(res, response))
      .catch((error) => {
        logger.log("error", "Simulator request failed", { message: String(error) });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
  });
  let actualPort = port;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, bind, () => {
      const addr = server.address();
      actualPort = typeof addr === "object" && addr ? addr.port : port;
      server.off("error", reject);
      resolve({
        hostname: bind,
        port: actualPort,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/**
 * The only socket of the simulator: HTTPS on a loopback address.
 *
 * It uses `node:https` rather than `Deno.serve` for one reason: `Deno.serve` over TLS leaves
 * Nagle's algorithm on, so answers of about 1 to 16 KB wait ~40 ms for the client's delayed
 * ACK, which would make the simulator (and every benchmark against it) 100 times slower than
 * a real `pveproxy`. `node:https` sets `TCP_NODELAY` on accepted sockets.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../util/log.ts";
import { LOSE_ANSWER_HEADER } from "./faults.ts";
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

/** Serves `handler` over HTTPS with the bundled test certificate on a loopback address. */
export function serveHttps(
  hostname: string,
  port: number,
  handler: (request: Request) => Promise<Response>,
  logger: Logger,
): Promise<Listener> {
  assertLoopback(hostname);
  const host = hostname === "localhost" ? "127.0.0.1" : hostname;
  const server: Server = createServer(
    { cert: simulatorServerCert, key: simulatorServerKey, noDelay: true },
    (req, res) => {
      answer(host, req, res, handler).catch((error) => {
        logger.log("error", "Simulator request failed", { message: String(error) });
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    },
  );
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const addr = server.address();
      if (addr === null || typeof addr === "string") {
        reject(new Error("Simulator listener has no TCP address"));
        return;
      }
      resolve({
        hostname: addr.address,
        port: addr.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Turns a Node request into a web `Request`, runs `handler`, writes its `Response`. */
async function answer(
  host: string,
  req: IncomingMessage,
  res: ServerResponse,
  handler: (request: Request) => Promise<Response>,
): Promise<void> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of req) chunks.push(chunk as Uint8Array);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  const method = req.method ?? "GET";
  const authority = host.includes(":") ? `[${host}]` : host;
  const request = new Request(`https://${authority}:${req.socket.localPort}${req.url ?? "/"}`, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" || chunks.length === 0
      ? undefined
      : Buffer.concat(chunks),
  });
  const response = await handler(request);
  const lost = response.headers.get(LOSE_ANSWER_HEADER);
  if (lost === "reset") {
    req.socket.destroy();
    return;
  }
  if (lost === "hang") return; // never answered; the socket closes with the listener
  const body = Buffer.from(await response.arrayBuffer());
  const out: Record<string, string> = {};
  response.headers.forEach((v, k) => (out[k] = v));
  out["content-length"] = String(body.length);
  res.writeHead(response.status, response.statusText || undefined, out);
  res.end(body);
}

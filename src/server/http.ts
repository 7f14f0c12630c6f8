/**
 * MCP over Streamable HTTP on `Deno.serve`: one MCP server and one session transport
 * (`http_transport.ts`) per session, at `/mcp`. Every request passes the
 * Host and Origin allowlists and, when a token is set, the bearer check before MCP sees it;
 * bodies are size-limited; `/healthz` answers probes; {@link HttpServer.shutdown} drains.
 *
 * @module
 */
import type { Logger } from "../util/log.ts";
import { hostPort, isLoopback } from "./http_address.ts";
import {
  type Allowlist,
  allowlistFor,
  bearerMatches,
  endpointUrl,
  hostProblem,
  jsonRpcError,
  malformedHost,
  originProblem,
} from "./http_guard.ts";
import { RequestCounter, type Session, SessionTable } from "./http_sessions.ts";
import { screenLine } from "./jsonrpc_guard.ts";
import { checkRequestParams } from "./request_params.ts";
import { NarrowingError, narrowingFromHeaders, type SessionNarrowing } from "./listing.ts";
import type { JSONRPCMessage, McpServer } from "./sdk.ts";

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** Address to listen on; non-loopback addresses need `bearerToken`. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /**
   * Builds the MCP server of a new session. `stopCalls` aborts when shutdown's grace period
   * ends: calls still running are cancelled so their clients get an answer. `narrow` is what
   * the initialize request's `X-MCP-Toolsets` / `X-MCP-Readonly` headers ask for (it may only
   * narrow what the server offers).
   */
  createServer: (stopCalls: AbortSignal, narrow?: SessionNarrowing) => McpServer;
  /** Token every request must carry as `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** Accepted Host header values (see {@link allowlistFor} for the defaults). */
  allowedHosts?: readonly string[];
  /** Accepted Origin header values (see {@link allowlistFor} for the defaults). */
  allowedOrigins?: readonly string[];
  /** Largest accepted request body in bytes; default 1 MiB. */
  maxBodyBytes?: number;
  /** How long shutdown waits for calls in flight, in ms; default 10 000. */
  shutdownGraceMs?: number;
  /** Most concurrent sessions; default 256. */
  maxSessions?: number;
  /** Sessions unused this long (ms) are closed; default 30 minutes. */
  sessionIdleMs?: number;
  /** Serves `/approvals` and below (the approvals page, with its own credential). */
  approvals?: (req: Request) => Promise<Response>;
  logger: Logger;
}

/** A running HTTP transport. */
export interface HttpServer extends AsyncDisposable {
  /** The MCP endpoint, e.g. `http://127.0.0.1:8080/mcp`. */
  readonly url: string;
  readonly hostname: string;
  readonly port: number;
  /** Open sessions. */
  readonly sessions: number;
  /** Requests to `/mcp` whose response has not finished. */
  readonly inFlight: number;
  /**
   * Stops accepting requests, waits up to the grace period for calls in flight, then closes
   * every session and the listener. Idempotent.
   */
  shutdown(): Promise<void>;
  /** Settles when the listener has closed. */
  readonly finished: Promise<void>;
}

/** The transport cannot start with these options. */
export class HttpSetupError extends Error {
  /** @param message What is wrong and how to fix it. */
  constructor(message: string) {
    super(message);
    this.name = "HttpSetupError";
  }
}

const DEFAULT_MAX_BODY = 1024 * 1024;

/** How long cancelled calls get to send their answer at shutdown, in ms. */
const CANCEL_ANSWER_MS = 2_000;

/** Refuses options that would expose the tools: no token off loopback, or a short token. */
function checkSetup(opts: HttpServerOptions): void {
  if (!opts.bearerToken && !isLoopback(opts.hostname)) {
    throw new HttpSetupError(
      `Refusing to listen on ${opts.hostname} without a bearer token: anyone who can reach it ` +
        "could call the tools. Set PROXMOX_MCP_HTTP_TOKEN or --bearer-token-file, or listen " +
        "on 127.0.0.1",
    );
  }
  if (opts.bearerToken !== undefined && opts.bearerToken.length < 16) {
    throw new HttpSetupError(
      "The bearer token is too short: use at least 16 characters (e.g. openssl rand -hex 32)",
    );
  }
}

/** What the request handlers share. */
interface Served {
  opts: HttpServerOptions;
  maxBody: number;
  maxSessions: number;
  sessions: SessionTable;
  requests: RequestCounter;
  stopCalls: AbortController;
  draining: boolean;
  allow: Allowlist;
}

/** Starts serving MCP over Streamable HTTP; resolves once listening. */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  checkSetup(opts);
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const idleMs = opts.sessionIdleMs ?? 30 * 60_000;
  const served: Served = {
    opts,
    maxBody,
    maxSessions: opts.maxSessions ?? 256,
    sessions: new SessionTable(opts.logger),
    requests: new RequestCounter(),
    stopCalls: new AbortController(),
    draining: false,
    allow: { origins: [] },
  };

  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: opts.hostname,
    port: opts.port,
    onListen: (addr) => listening.resolve(addr),
    onError: (e) => {
      opts.logger.log("error", "HTTP request failed", {
        error: e instanceof Error ? e.message : String(e),
      });
      return jsonRpcError(500, "Internal server error");
    },
  }, (req, info) => route(served, req, info.completed));
  const addr = await listening.promise;
  served.allow = allowlistFor(opts.hostname, addr.port, {
    hosts: opts.allowedHosts,
    origins: opts.allowedOrigins,
  });

  const sweep = setInterval(
    () => served.sessions.sweep(Date.now() - idleMs),
    Math.min(idleMs, 60_000),
  );
  Deno.unrefTimer(sweep);

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    stopping ??= (async () => {
      served.draining = true;
      clearInterval(sweep);
      await drain(served, opts.shutdownGraceMs ?? 10_000);
      await served.sessions.closeAll();
      await server.shutdown();
    })();

  return {
    url: endpointUrl(opts.hostname, addr.port),
    hostname: opts.hostname,
    port: addr.port,
    get sessions() {
      return served.sessions.size;
    },
    get inFlight() {
      return served.requests.count;
    },
    shutdown,
    finished: server.finished,
    [Symbol.asyncDispose]: shutdown,
  };
}

/** Admission (Host, Origin), then `/healthz` or `/mcp`. */
async function route(s: Served, req: Request, completed: Promise<void>): Promise<Response> {
  // A malformed Host header makes the request URL unparsable: refuse it like any bad Host.
  const host = req.headers.get("host");
  const malformed = malformedHost(host);
  const path = malformed ? undefined : pathOf(req.url);
  if (path === undefined) {
    return jsonRpcError(403, `Forbidden: ${malformed ?? "the request URL is not valid"}`);
  }
  // Probes (often by IP) pass without the Host allowlist; they learn only ok or not.
  if (path === "/healthz") return health(s, req);
  const hostWhy = hostProblem(host, s.allow);
  if (hostWhy) return jsonRpcError(403, `Forbidden: ${hostWhy}`);
  const originWhy = originProblem(req.headers.get("origin"), s.allow);
  if (originWhy) return jsonRpcError(403, `Forbidden: ${originWhy}`);
  if (s.opts.approvals && /^\/approvals(\/|$)/.test(path)) return await s.opts.approvals(req);
  if (path !== "/mcp") return jsonRpcError(404, "Not found: the MCP endpoint is /mcp");
  return await handleMcp(s, req, completed);
}

/** `ok` (or 503 `shutting down`) for probes; the details only with the bearer token. */
function health(s: Served, req: Request): Response {
  const status = s.draining ? 503 : 200;
  const word = s.draining ? "shutting down" : "ok";
  const headers = { "Cache-Control": "no-store" };
  const token = s.opts.bearerToken;
  if (token === undefined || !bearerMatches(req.headers.get("authorization"), token)) {
    return new Response(word, { status, headers: { ...headers, "Content-Type": "text/plain" } });
  }
  return new Response(
    JSON.stringify({ status: word, sessions: s.sessions.size, in_flight: s.requests.count }),
    { status, headers: { ...headers, "Content-Type": "application/json" } },
  );
}

/** The MCP endpoint: bearer token, then POST (messages), GET (stream) or DELETE (end). */
async function handleMcp(s: Served, req: Request, completed: Promise<void>): Promise<Response> {
  const token = s.opts.bearerToken;
  if (token && !bearerMatches(req.headers.get("authorization"), token)) {
    return jsonRpcError(401, "Unauthorized: send the bearer token as Authorization: Bearer", {
      "WWW-Authenticate": 'Bearer realm="proxmox-mcp"',
    });
  }
  if (s.draining) {
    return jsonRpcError(503, "Service unavailable: the server is shutting down", {
      "Retry-After": "1",
      Connection: "close",
    });
  }
  if (req.method === "POST") {
    // In flight from here until the answer (maybe an SSE stream) has been delivered or the
    // client went away, so that shutdown waits for a call whose body is still being read.
    s.requests.begin();
    const end = () => s.requests.end();
    try {
      const res = await handlePost(s, req);
      completed.then(end, end);
      return res;
    } catch (e) {
      end();
      throw e;
    }
  }
  if (req.method === "GET" || req.method === "DELETE") {
    const sessionId = req.headers.get("mcp-session-id");
    if (!sessionId) return jsonRpcError(400, "Bad Request: Mcp-Session-Id header is required");
    const session = s.sessions.get(sessionId);
    if (!session) return jsonRpcError(404, "Session not found: initialize a new session");
    session.lastSeen = Date.now();
    if (req.method === "GET") return session.transport.handleGet(req);
    const res = await session.transport.handleDelete(req);
    if (res.ok) void s.sessions.close(session);
    return res;
  }
  return jsonRpcError(405, "Method not allowed: use POST, GET or DELETE", {
    Allow: "POST, GET, DELETE",
  });
}

/** One POSTed message: size limit, JSON-RPC screening, session lookup or creation. */
async function handlePost(s: Served, req: Request): Promise<Response> {
  const read = await readLimited(req, s.maxBody);
  if (read === "too large") {
    return jsonRpcError(413, `Payload too large: request bodies are limited to ${s.maxBody} bytes`);
  }
  // The same screening as stdio: malformed JSON-RPC gets a readable JSON-RPC error.
  const screened = screenLine(read.trim() ? read : "(empty body)", {
    initialized: true,
    checkParams: checkRequestParams,
  });
  if (screened.replies.length) {
    const answer = screened.replies.length === 1 ? screened.replies[0] : screened.replies;
    return new Response(JSON.stringify(answer), {
      status: 400,
      headers: { "Content-Type": "application/json" },
    });
  }
  if (!screened.forward.length) return new Response(null, { status: 202 });
  const body: unknown = screened.forward[0];
  const sessionId = req.headers.get("mcp-session-id");
  let session: Session | undefined;
  if (sessionId) {
    session = s.sessions.get(sessionId);
    if (!session) return jsonRpcError(404, "Session not found: initialize a new session");
  } else if (isInitialize(body)) {
    if (s.sessions.total >= s.maxSessions) {
      return jsonRpcError(503, `Too many sessions: at most ${s.maxSessions} are open at once`);
    }
    let narrow: SessionNarrowing;
    try {
      narrow = narrowingFromHeaders(req.headers);
    } catch (e) {
      if (!(e instanceof NarrowingError)) throw e;
      return jsonRpcError(400, `Bad Request: ${e.message}`);
    }
    session = await s.sessions.create(s.opts.createServer(s.stopCalls.signal, narrow));
  } else {
    return jsonRpcError(400, "Bad Request: Mcp-Session-Id header is required");
  }
  session.lastSeen = Date.now();
  const res = await session.transport.handlePost(req, body as JSONRPCMessage);
  if (!session.id) void s.sessions.close(session); // initialization failed
  return res;
}

/**
 * Shutdown's wait: up to `graceMs` for requests in flight, then cancels the calls still
 * running and gives them a moment to send their answer.
 */
async function drain(s: Served, graceMs: number): Promise<void> {
  const log = s.opts.logger;
  if (!s.requests.count) return;
  log.log("info", `Shutting down: waiting up to ${graceMs} ms for ${s.requests.count} request(s)`);
  const left = await s.requests.settle(graceMs);
  if (!left) return;
  log.log("warning", `Shutdown: cancelling ${left} call(s) past the grace period`);
  s.stopCalls.abort(new DOMException("the server is shutting down", "AbortError"));
  const cut = await s.requests.settle(CANCEL_ANSWER_MS);
  if (cut) log.log("warning", `Shutdown: ${cut} request(s) cut off`);
}

/** The path of a request URL; undefined when the URL does not parse. */
function pathOf(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

/** The `host:port` shown for a listener. */
export function listenLabel(server: HttpServer): string {
  return hostPort(server.hostname, server.port);
}

function isInitialize(body: unknown): boolean {
  const one = (m: unknown) =>
    typeof m === "object" && m !== null && (m as { method?: unknown }).method === "initialize";
  return Array.isArray(body) ? body.some(one) : one(body);
}

/** Reads a body as text unless it is larger than `max` bytes (declared or actual). */
async function readLimited(req: Request, max: number): Promise<string | "too large"> {
  const declared = Number(req.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > max) {
    await req.body?.cancel().catch(() => {});
    return "too large";
  }
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return "too large";
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

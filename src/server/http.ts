/**
 * MCP over Streamable HTTP on `Deno.serve`: one MCP server and one SDK transport
 * (`WebStandardStreamableHTTPServerTransport`) per session, at `/mcp`. Every request passes the
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
  originProblem,
} from "./http_guard.ts";
import { NarrowingError, narrowingFromHeaders, type SessionNarrowing } from "./listing.ts";
import { type McpServer, WebStandardStreamableHTTPServerTransport } from "./sdk.ts";

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** Address to listen on; non-loopback addresses need `bearerToken`. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Builds the MCP server of a new session. */
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

interface Session {
  id?: string;
  server: McpServer;
  transport: WebStandardStreamableHTTPServerTransport;
  lastSeen: number;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

/** How long cancelled calls get to send their answer at shutdown, in ms. */
const CANCEL_ANSWER_MS = 2_000;

/** Starts serving MCP over Streamable HTTP; resolves once listening. */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
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
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const graceMs = opts.shutdownGraceMs ?? 10_000;
  const maxSessions = opts.maxSessions ?? 256;
  const idleMs = opts.sessionIdleMs ?? 30 * 60_000;
  const log = opts.logger;
  const sessions = new Map<string, Session>();
  const pending = new Set<Session>();
  let inFlight = 0;
  const stopCalls = new AbortController();
  let idle = Promise.withResolvers<void>();
  idle.resolve();
  let draining = false;
  let allow: Allowlist = { origins: [] };

  const begin = () => {
    if (inFlight++ === 0) idle = Promise.withResolvers<void>();
  };
  const end = () => {
    if (--inFlight === 0) idle.resolve();
  };

  const closeSession = async (session: Session) => {
    if (session.id) sessions.delete(session.id);
    pending.delete(session);
    try {
      await session.server.close();
    } catch (e) {
      log.log("debug", "closing an MCP session failed", { error: String(e) });
    }
  };

  const newSession = async (narrow?: SessionNarrowing): Promise<Session> => {
    const server = opts.createServer(stopCalls.signal, narrow);
    const session = { server, lastSeen: Date.now() } as Session;
    session.transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (id) => {
        session.id = id;
        pending.delete(session);
        sessions.set(id, session);
        log.log("debug", "MCP session opened", { sessions: sessions.size });
      },
      // The SDK reads bodies itself only when no parsed body is given; we always give one.
      maxRequestBodySize: maxBody,
    });
    session.transport.onclose = () => {
      if (session.id) sessions.delete(session.id);
      pending.delete(session);
    };
    pending.add(session);
    await server.connect(session.transport);
    return session;
  };

  const handleMcp = async (req: Request): Promise<Response> => {
    if (opts.bearerToken && !bearerMatches(req.headers.get("authorization"), opts.bearerToken)) {
      return jsonRpcError(401, "Unauthorized: send the bearer token as Authorization: Bearer", {
        "WWW-Authenticate": 'Bearer realm="proxmox-mcp"',
      });
    }
    if (draining) {
      return jsonRpcError(503, "Service unavailable: the server is shutting down", {
        "Retry-After": "1",
        Connection: "close",
      });
    }
    const sessionId = req.headers.get("mcp-session-id");
    if (req.method === "POST") {
      const read = await readLimited(req, maxBody);
      if (read === "too large") {
        return jsonRpcError(
          413,
          `Payload too large: request bodies are limited to ${maxBody} bytes`,
        );
      }
      let body: unknown;
      try {
        body = JSON.parse(read);
      } catch {
        return new Response(
          JSON.stringify({
            jsonrpc: "2.0",
            error: { code: -32700, message: "Parse error: the body is not JSON" },
            id: null,
          }),
          { status: 400, headers: { "Content-Type": "application/json" } },
        );
      }
      let session: Session | undefined;
      if (sessionId) {
        session = sessions.get(sessionId);
        if (!session) return jsonRpcError(404, "Session not found: initialize a new session");
      } else if (isInitialize(body)) {
        if (sessions.size + pending.size >= maxSessions) {
          return jsonRpcError(503, `Too many sessions: at most ${maxSessions} are open at once`);
        }
        let narrow: SessionNarrowing;
        try {
          narrow = narrowingFromHeaders(req.headers);
        } catch (e) {
          if (!(e instanceof NarrowingError)) throw e;
          return jsonRpcError(400, `Bad Request: ${e.message}`);
        }
        session = await newSession(narrow);
      } else {
        return jsonRpcError(400, "Bad Request: Mcp-Session-Id header is required");
      }
      session.lastSeen = Date.now();
      begin();
      try {
        const res = await session.transport.handleRequest(req, { parsedBody: body });
        if (!session.id) void closeSession(session); // initialization failed
        return onBodyDone(res, end);
      } catch (e) {
        end();
        throw e;
      }
    }
    if (req.method === "GET" || req.method === "DELETE") {
      if (!sessionId) return jsonRpcError(400, "Bad Request: Mcp-Session-Id header is required");
      const session = sessions.get(sessionId);
      if (!session) return jsonRpcError(404, "Session not found: initialize a new session");
      session.lastSeen = Date.now();
      const res = await session.transport.handleRequest(req);
      if (req.method === "DELETE" && res.ok) void closeSession(session);
      return res;
    }
    return jsonRpcError(405, "Method not allowed: use POST, GET or DELETE", {
      Allow: "POST, GET, DELETE",
    });
  };

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname === "/healthz") {
      const status = draining ? 503 : 200;
      return new Response(
        JSON.stringify({ status: draining ? "shutting down" : "ok", sessions: sessions.size }),
        { status, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } },
      );
    }
    const hostWhy = hostProblem(req.headers.get("host"), allow);
    if (hostWhy) return jsonRpcError(403, `Forbidden: ${hostWhy}`);
    const originWhy = originProblem(req.headers.get("origin"), allow);
    if (originWhy) return jsonRpcError(403, `Forbidden: ${originWhy}`);
    if (opts.approvals && /^\/approvals(\/|$)/.test(url.pathname)) return await opts.approvals(req);
    if (url.pathname !== "/mcp") return jsonRpcError(404, "Not found: the MCP endpoint is /mcp");
    return await handleMcp(req);
  };

  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: opts.hostname,
    port: opts.port,
    onListen: (addr) => listening.resolve(addr),
    onError: (e) => {
      log.log("error", "HTTP request failed", {
        error: e instanceof Error ? e.message : String(e),
      });
      return jsonRpcError(500, "Internal server error");
    },
  }, handler);
  const addr = await listening.promise;
  allow = allowlistFor(opts.hostname, addr.port, {
    hosts: opts.allowedHosts,
    origins: opts.allowedOrigins,
  });

  const sweep = setInterval(() => {
    const cutoff = Date.now() - idleMs;
    for (const s of sessions.values()) if (s.lastSeen < cutoff) void closeSession(s);
  }, Math.min(idleMs, 60_000));
  Deno.unrefTimer(sweep);

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    stopping ??= (async () => {
      draining = true;
      clearInterval(sweep);
      if (inFlight > 0) {
        log.log("info", `Shutting down: waiting up to ${graceMs} ms for ${inFlight} request(s)`);
        const timer = Promise.withResolvers<void>();
        const id = setTimeout(timer.resolve, graceMs);
        await Promise.race([idle.promise, timer.promise]);
        clearTimeout(id);
        if (inFlight > 0) {
          log.log("warning", `Shutdown: cancelling ${inFlight} call(s) past the grace period`);
          stopCalls.abort(new DOMException("the server is shutting down", "AbortError"));
          const answered = Promise.withResolvers<void>();
          const last = setTimeout(answered.resolve, CANCEL_ANSWER_MS);
          await Promise.race([idle.promise, answered.promise]);
          clearTimeout(last);
          if (inFlight > 0) log.log("warning", `Shutdown: ${inFlight} request(s) cut off`);
        }
      }
      await Promise.all([...sessions.values(), ...pending].map(closeSession));
      await server.shutdown();
    })();

  return {
    url: endpointUrl(opts.hostname, addr.port),
    hostname: opts.hostname,
    port: addr.port,
    get sessions() {
      return sessions.size;
    },
    get inFlight() {
      return inFlight;
    },
    shutdown,
    finished: server.finished,
    [Symbol.asyncDispose]: shutdown,
  };
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

/** Returns `res` with a body that calls `done` once, when it ends, fails or is cancelled. */
function onBodyDone(res: Response, done: () => void): Response {
  let called = false;
  const finish = () => {
    if (!called) {
      called = true;
      done();
    }
  };
  if (!res.body) {
    finish();
    return res;
  }
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          finish();
        } else {
          controller.enqueue(value);
        }
      } catch (e) {
        controller.error(e);
        finish();
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  });
  return new Response(body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
}

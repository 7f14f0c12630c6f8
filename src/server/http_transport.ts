/**
 * The server side of MCP's Streamable HTTP transport for one session, in place of the SDK's
 * `WebStandardStreamableHTTPServerTransport`. `http.ts` has already checked the Host, Origin,
 * token and body size, screened the message (`jsonrpc_guard.ts`) and found the session; this
 * module checks the headers the protocol asks for and carries messages:
 *
 * - A POSTed request is answered as `application/json` when its answer is the first thing the
 *   server sends for it, which is the common case. When a notification or a request of the
 *   server's comes first (progress, a log message, an elicitation), or no answer is ready after
 *   {@link SSE_AFTER_MS}, the answer becomes an SSE stream that carries them and then the
 *   answer. Both are what the specification allows; every client must accept both.
 * - A POSTed notification or response gets 202.
 * - GET opens the session's one standalone SSE stream, for messages related to no request
 *   (list changes, resource updates); DELETE ends the session.
 *
 * The SDK's transport parses every message again with zod, builds a `ZodError` for each request
 * that is not `initialize`, and streams every answer as SSE; this one does none of that.
 *
 * @module
 */
import type { JSONRPCMessage, Transport } from "./sdk.ts";
import { SUPPORTED_PROTOCOL_VERSIONS } from "./protocol_versions.ts";

/** How long a request waits for its answer before the response becomes an SSE stream, ms. */
export const SSE_AFTER_MS = 1_000;

/** How often an open SSE stream gets a comment line, so proxies keep it open, ms. */
export const KEEP_ALIVE_MS = 15_000;

/**
 * Events an SSE stream may hold that its client has not read; past that the stream is closed
 * (the client can open another), so a client that stops reading cannot make the server buffer
 * without end.
 */
export const MAX_UNREAD_EVENTS = 1_000;

type Id = string | number;

/** A JSON-RPC error answer, as the SDK's transport gives it (`id: null`, code -32000/-32001). */
function errorResponse(status: number, message: string, code = -32000): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

const SSE_HEADERS = {
  "Content-Type": "text/event-stream",
  "Cache-Control": "no-cache, no-transform",
  Connection: "keep-alive",
  "X-Accel-Buffering": "no",
};

const encoder = new TextEncoder();

/** One SSE response body: events are written as they come, closed once. */
class EventStream {
  #controller?: ReadableStreamDefaultController<Uint8Array>;
  #keepAlive?: ReturnType<typeof setInterval>;
  #closed = false;
  readonly body: ReadableStream<Uint8Array>;

  /** @param onCancel Runs when the client goes away. */
  constructor(onCancel: () => void) {
    this.body = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#controller = c;
      },
      cancel: () => {
        this.#stop();
        onCancel();
      },
    });
    const keepAlive = setInterval(() => this.#enqueue(": keepalive\n\n"), KEEP_ALIVE_MS);
    Deno.unrefTimer(keepAlive);
    this.#keepAlive = keepAlive;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Writes one message as an SSE `message` event. */
  write(message: JSONRPCMessage): void {
    this.#enqueue(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  close(): void {
    if (this.#closed) return;
    this.#stop();
    try {
      this.#controller?.close();
    } catch {
      // Already cancelled by the client.
    }
  }

  #enqueue(text: string): void {
    if (this.#closed || !this.#controller) return;
    // The queue's high-water mark is one event: desiredSize is 1 minus the events queued.
    if ((this.#controller.desiredSize ?? 0) <= 1 - MAX_UNREAD_EVENTS) {
      this.close();
      return;
    }
    try {
      this.#controller.enqueue(encoder.encode(text));
    } catch {
      this.#stop();
    }
  }

  #stop(): void {
    this.#closed = true;
    clearInterval(this.#keepAlive);
  }
}

/** A POSTed request waiting for its answer: a plain JSON response until it needs a stream. */
class Exchange {
  #respond: (res: Response) => void;
  #headers: Record<string, string>;
  #timer?: ReturnType<typeof setTimeout>;
  stream?: EventStream;
  /** Whether the HTTP response has been given (JSON or the start of a stream). */
  responded = false;

  constructor(
    respond: (res: Response) => void,
    headers: Record<string, string>,
    sseAfterMs: number,
    gone: () => void,
  ) {
    this.#respond = respond;
    this.#headers = headers;
    this.#timer = setTimeout(() => this.openStream(gone), sseAfterMs);
  }

  /** Answers with `message` as JSON, or ends the stream with it. */
  finish(message: JSONRPCMessage): void {
    clearTimeout(this.#timer);
    if (this.stream) {
      this.stream.write(message);
      this.stream.close();
      return;
    }
    this.responded = true;
    this.#respond(
      new Response(JSON.stringify(message), {
        status: 200,
        headers: { ...this.#headers, "Content-Type": "application/json" },
      }),
    );
  }

  /** Turns the response into an SSE stream (once); `gone` runs if the client leaves it. */
  openStream(gone: () => void): EventStream {
    clearTimeout(this.#timer);
    if (this.stream) return this.stream;
    this.stream = new EventStream(gone);
    this.responded = true;
    this.#respond(
      new Response(this.stream.body, {
        status: 200,
        headers: { ...SSE_HEADERS, ...this.#headers },
      }),
    );
    return this.stream;
  }

  /** Ends the exchange without an answer (the client cancelled it): an empty, ended stream. */
  cancel(): void {
    clearTimeout(this.#timer);
    (this.stream ?? this.openStream(() => {})).close();
  }

  /** Ends the exchange without an answer (the session closed). */
  abandon(): void {
    clearTimeout(this.#timer);
    if (this.stream) this.stream.close();
    else if (!this.responded) {
      this.responded = true;
      this.#respond(errorResponse(404, "Session not found: the session was closed", -32001));
    }
  }
}

/** Options of an {@link HttpSessionTransport}. */
export interface HttpSessionOptions {
  /** The session's id, sent as `Mcp-Session-Id` from the `initialize` answer on. */
  sessionId: string;
  /** Called once the session's `initialize` request has been accepted. */
  onInitialized?: (sessionId: string) => void;
  /** How long an answer may take before its response becomes a stream; default {@link SSE_AFTER_MS}. */
  sseAfterMs?: number;
}

/** One MCP session over Streamable HTTP (see the module documentation). */
export class HttpSessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly sessionId: string;

  readonly #onInitialized?: (sessionId: string) => void;
  readonly #sseAfterMs: number;
  readonly #exchanges = new Map<Id, Exchange>();
  #standalone?: EventStream;
  #initialized = false;
  #closed = false;

  constructor(opts: HttpSessionOptions) {
    this.sessionId = opts.sessionId;
    this.#onInitialized = opts.onInitialized;
    this.#sseAfterMs = opts.sseAfterMs ?? SSE_AFTER_MS;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Whether `initialize` has been accepted. */
  get initialized(): boolean {
    return this.#initialized;
  }

  /**
   * Handles a POST carrying `message` (one JSON-RPC message, already screened). Resolves with
   * the HTTP response: 202 for notifications and responses, the answer for a request.
   */
  handlePost(req: Request, message: JSONRPCMessage): Promise<Response> {
    if (this.#closed) return Promise.resolve(errorResponse(404, "Session not found", -32001));
    const accept = req.headers.get("accept") ?? "";
    if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
      return Promise.resolve(errorResponse(
        406,
        "Not Acceptable: Client must accept both application/json and text/event-stream",
      ));
    }
    if (!isJsonType(req.headers.get("content-type"))) {
      return Promise.resolve(
        errorResponse(415, "Unsupported Media Type: Content-Type must be application/json"),
      );
    }
    const m = message as { method?: unknown; id?: unknown };
    const isRequest = typeof m.method === "string" && m.id !== undefined;
    if (m.method === "initialize") {
      if (this.#initialized) {
        return Promise.resolve(
          errorResponse(400, "Invalid Request: Server already initialized", -32600),
        );
      }
      this.#initialized = true;
      this.#onInitialized?.(this.sessionId);
    } else {
      const problem = this.#checkSession(req);
      if (problem) return Promise.resolve(problem);
    }
    if (!isRequest) {
      if (m.method === "notifications/cancelled") this.#cancelled(message);
      this.onmessage?.(message);
      return Promise.resolve(new Response(null, { status: 202 }));
    }
    const id = m.id as Id;
    if (this.#exchanges.has(id)) {
      return Promise.resolve(errorResponse(
        400,
        `Invalid Request: request id ${JSON.stringify(id)} is already in use in this session`,
        -32600,
      ));
    }
    const answered = Promise.withResolvers<Response>();
    const forget = () => {
      if (this.#exchanges.get(id) === exchange) this.#exchanges.delete(id);
    };
    const exchange = new Exchange(
      answered.resolve,
      { "mcp-session-id": this.sessionId },
      this.#sseAfterMs,
      forget,
    );
    // A client that hangs up before the answer costs the exchange until the call ends, or
    // until its stream is cancelled after SSE_AFTER_MS.
    this.#exchanges.set(id, exchange);
    try {
      this.onmessage?.(message);
    } catch (e) {
      forget();
      exchange.abandon();
      throw e;
    }
    return answered.promise;
  }

  /** Handles a GET: the standalone SSE stream (one per session). */
  handleGet(req: Request): Response {
    if (!(req.headers.get("accept") ?? "").includes("text/event-stream")) {
      return errorResponse(406, "Not Acceptable: Client must accept text/event-stream");
    }
    const problem = this.#checkSession(req);
    if (problem) return problem;
    if (this.#standalone && !this.#standalone.closed) {
      return errorResponse(409, "Conflict: Only one SSE stream is allowed per session");
    }
    const stream = new EventStream(() => {
      if (this.#standalone === stream) this.#standalone = undefined;
    });
    this.#standalone = stream;
    return new Response(stream.body, {
      headers: { ...SSE_HEADERS, "mcp-session-id": this.sessionId },
    });
  }

  /** Handles a DELETE: ends the session. */
  async handleDelete(req: Request): Promise<Response> {
    const problem = this.#checkSession(req);
    if (problem) return problem;
    await this.close();
    return new Response(null, { status: 200 });
  }

  /** Sends `message`: on its request's response, else on the standalone stream (if open). */
  send(
    message: JSONRPCMessage,
    options?: { relatedRequestId?: Id },
  ): Promise<void> {
    const m = message as { id?: Id; method?: unknown };
    const isAnswer = m.method === undefined && m.id !== undefined;
    const related = isAnswer ? m.id : options?.relatedRequestId;
    if (related === undefined) {
      this.#standalone?.write(message);
      return Promise.resolve();
    }
    const exchange = this.#exchanges.get(related);
    if (!exchange) {
      // As the SDK's transport: the request's client is gone, so is the way to it.
      return Promise.reject(
        new Error(`No connection established for request ID: ${String(related)}`),
      );
    }
    if (isAnswer) {
      this.#exchanges.delete(related);
      exchange.finish(message);
    } else {
      exchange.openStream(() => this.#exchanges.delete(related)).write(message);
    }
    return Promise.resolve();
  }

  /** Closes every stream and answer in progress; reports the close once. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const exchange of this.#exchanges.values()) exchange.abandon();
    this.#exchanges.clear();
    this.#standalone?.close();
    this.#standalone = undefined;
    this.onclose?.();
    return Promise.resolve();
  }

  /**
   * A cancelled request gets no answer (the server stops it and sends nothing), so its response
   * ends here, empty, instead of staying open.
   */
  #cancelled(message: JSONRPCMessage): void {
    const id = (message as { params?: { requestId?: unknown } }).params?.requestId;
    if (typeof id !== "string" && typeof id !== "number") return;
    const exchange = this.#exchanges.get(id);
    if (!exchange) return;
    this.#exchanges.delete(id);
    exchange.cancel();
  }

  /** The session and protocol-version checks of every request after `initialize`. */
  #checkSession(req: Request): Response | undefined {
    if (!this.#initialized) return errorResponse(400, "Bad Request: Server not initialized");
    const version = req.headers.get("mcp-protocol-version");
    if (
      version !== null && !(SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(version)
    ) {
      return errorResponse(
        400,
        `Bad Request: Unsupported protocol version: ${version} (supported versions: ${
          SUPPORTED_PROTOCOL_VERSIONS.join(", ")
        })`,
      );
    }
    return undefined;
  }
}

/** Whether a Content-Type header names JSON (`application/json`, any parameters). */
function isJsonType(value: string | null): boolean {
  return value !== null && value.split(";")[0].trim().toLowerCase() === "application/json";
}

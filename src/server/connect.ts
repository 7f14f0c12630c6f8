/**
 * Connects an MCP server to a transport with a shorter path for requests. The SDK sorts each
 * incoming message by trying the response schemas first; for a request both zod parses fail,
 * and each failure builds a full error object — about 0.15 ms of every tool call. A message of
 * exactly the request's shape (the transports have already screened JSON-RPC 2.0) goes
 * straight to the SDK's request handling; everything else takes the SDK's own path.
 *
 * `tools/call` goes straight to the server's own handler ({@link directHandlers}): the SDK
 * would parse the request again and copy the answer through its result schema, though the
 * handler already checks its parameters and builds the answer in that shape. Cancellation,
 * progress and the answer or error are handled here as the SDK does.
 *
 * @module
 */
import type {
  McpServer,
  RequestHandlerExtra,
  ServerNotification,
  ServerRequest,
  Transport,
} from "./sdk.ts";

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A request handler the server answers without the SDK's dispatch. */
export type DirectHandler = (request: { params?: unknown }, extra: Extra) => Promise<unknown>;

/** The handlers of each server that {@link connectServer} calls directly, by method. */
export const directHandlers: WeakMap<McpServer, Record<string, DirectHandler>> = new WeakMap();

type OnMessage = NonNullable<Transport["onmessage"]>;

const REQUEST_KEYS = new Set(["jsonrpc", "id", "method", "params"]);

/** Whether `m` has exactly the shape of a JSON-RPC 2.0 request (what the SDK's schema accepts). */
function isRequest(m: Record<string, unknown>): boolean {
  if (m.jsonrpc !== "2.0" || typeof m.method !== "string") return false;
  if (typeof m.id !== "string" && !(typeof m.id === "number" && Number.isInteger(m.id))) {
    return false;
  }
  if (m.params !== undefined && (typeof m.params !== "object" || m.params === null)) return false;
  for (const k in m) if (!REQUEST_KEYS.has(k)) return false;
  return true;
}

/** `server.connect(transport)`, then requests skip the SDK's response-first sorting. */
export async function connectServer(server: McpServer, transport: Transport): Promise<void> {
  await server.connect(transport);
  const sdk = transport.onmessage;
  const protocol = server.server as unknown as { _onrequest?: OnMessage };
  const onrequest = protocol._onrequest;
  // An SDK without this internal keeps its own path.
  if (!sdk || typeof onrequest !== "function") return;
  const direct = directHandlers.get(server) ?? {};
  const running = new Map<string | number, AbortController>();
  transport.onmessage = (message, extra) => {
    const m = message as unknown as Record<string, unknown>;
    if (isRequest(m)) {
      const handler = direct[m.method as string];
      if (handler) runDirect(server, transport, running, handler, m, extra);
      else onrequest.call(server.server, message, extra);
      return;
    }
    if (m.method === "notifications/cancelled") {
      const id = (m.params as { requestId?: string | number } | undefined)?.requestId;
      const reason = (m.params as { reason?: unknown } | undefined)?.reason;
      if (id !== undefined) running.get(id)?.abort(reason);
    }
    sdk(message, extra);
  };
  const closed = transport.onclose;
  transport.onclose = () => {
    for (const c of running.values()) c.abort(new Error("Connection closed"));
    running.clear();
    closed?.();
  };
}

type Incoming = Parameters<OnMessage>[1];

/** Runs `handler` for request `m` and sends its answer, as the SDK's `_onrequest` would. */
function runDirect(
  server: McpServer,
  transport: Transport,
  running: Map<string | number, AbortController>,
  handler: DirectHandler,
  m: Record<string, unknown>,
  incoming: Incoming,
): void {
  const id = m.id as string | number;
  const params = m.params as { _meta?: Extra["_meta"] } | undefined;
  const controller = new AbortController();
  running.set(id, controller);
  const extra: Extra = {
    signal: controller.signal,
    sessionId: transport.sessionId,
    _meta: params?._meta,
    requestId: id,
    authInfo: incoming?.authInfo,
    requestInfo: incoming?.requestInfo,
    sendNotification: async (notification) => {
      if (controller.signal.aborted) return;
      await server.server.notification(notification, { relatedRequestId: id });
    },
    sendRequest: (request, schema, options) =>
      server.server.request(request, schema, { ...options, relatedRequestId: id }),
  } as Extra;
  Promise.resolve().then(() => handler({ params: m.params }, extra)).then(
    (result) => {
      if (controller.signal.aborted) return;
      return transport.send({ jsonrpc: "2.0", id, result } as never);
    },
    (error) => {
      if (controller.signal.aborted) return;
      const e = error as { code?: unknown; message?: unknown; data?: unknown };
      return transport.send({
        jsonrpc: "2.0",
        id,
        error: {
          code: Number.isSafeInteger(e?.code) ? e.code as number : -32603,
          message: typeof e?.message === "string" ? e.message : "Internal error",
          ...(e?.data !== undefined ? { data: e.data } : {}),
        },
      } as never);
    },
  ).catch((err) => transport.onerror?.(err instanceof Error ? err : new Error(String(err))))
    .finally(() => {
      if (running.get(id) === controller) running.delete(id);
    });
}

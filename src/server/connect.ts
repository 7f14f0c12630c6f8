/**
 * Connects an MCP server to a transport with a shorter path for requests. The SDK sorts each
 * incoming message by trying the response schemas first; for a request both zod parses fail,
 * and each failure builds a full error object — about 0.15 ms of every tool call. A message of
 * exactly the request's shape (the transports have already screened JSON-RPC 2.0) goes
 * straight to the SDK's request handling; everything else takes the SDK's own path.
 *
 * @module
 */
import type { McpServer, Transport } from "./sdk.ts";

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
  transport.onmessage = (message, extra) => {
    if (isRequest(message as unknown as Record<string, unknown>)) {
      onrequest.call(server.server, message, extra);
    } else sdk(message, extra);
  };
}

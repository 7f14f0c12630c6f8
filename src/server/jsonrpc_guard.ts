/**
 * Screens incoming JSON-RPC text before the SDK sees it, so every request that carries an id gets
 * an answer (JSON-RPC 2.0), with a readable message: parse errors, batches (MCP has none), two
 * messages on one line, a missing or non-string `method`, `jsonrpc` other than "2.0", `params`
 * that is not an object, parameters that do not fit the method, and requests sent before
 * `initialize`. What passes goes on to the SDK unchanged. The check of each method's parameters
 * is plugged in (`GuardState.checkParams`, see `request_params.ts`), because the SDK schemas it
 * uses take a tenth of a second to load, which a server answering its first `tools/list` early
 * does not wait for.
 *
 * @module
 */
/** JSON-RPC error codes used here. */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  invalidParams: -32602,
} as const;

/** A JSON-RPC id as MCP allows it. */
export type RequestId = string | number;

/** An error answer. */
export interface RpcErrorAnswer {
  jsonrpc: "2.0";
  id: RequestId | null;
  error: { code: number; message: string };
}

/** What to do with one line of input: messages for the SDK, answers to send back. */
export interface Screened {
  forward: Record<string, unknown>[];
  /** Answers to send, each one message (an array is the answer to a batch). */
  replies: (RpcErrorAnswer | RpcErrorAnswer[])[];
  /** Problems with notifications, which get no answer: for the log. */
  dropped: string[];
}

/** Per-connection state: requests other than initialize and ping wait for `initialize`. */
export interface GuardState {
  initialized: boolean;
  /** Checks a request's parameters against its method; a problem comes back as -32602. */
  checkParams?: ParamsCheck;
}

/** What is wrong with the parameters of `request` (method and params), or undefined. */
export type ParamsCheck = (request: { method: string; params?: unknown }) => string | undefined;

const BEFORE_INIT = new Set(["initialize", "ping"]);

/** An error answer with `id` (null when the id is unknown). */
export function rpcError(id: RequestId | null, code: number, message: string): RpcErrorAnswer {
  return { jsonrpc: "2.0", id, error: { code, message } };
}

/** The id of a message when it is a valid JSON-RPC id, else null. */
function idOf(value: unknown): RequestId | null {
  if (typeof value !== "object" || value === null || !("id" in value)) return null;
  const id = (value as { id: unknown }).id;
  return typeof id === "string" || (typeof id === "number" && Number.isFinite(id)) ? id : null;
}

function hasId(value: unknown): boolean {
  return typeof value === "object" && value !== null && "id" in value;
}

/**
 * Splits `text` into top-level JSON texts (`{...}{...}` is two); undefined when it is not a
 * sequence of objects and arrays (then it is parsed as one value).
 */
function splitValues(text: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{" || c === "[") {
      if (depth++ === 0) start = i;
    } else if (c === "}" || c === "]") {
      if (--depth === 0) parts.push(text.slice(start, i + 1));
      if (depth < 0) return undefined;
    } else if (depth === 0 && !/\s/.test(c)) return undefined;
  }
  return depth === 0 && parts.length ? parts : undefined;
}

/** Screens one message (already parsed); returns the answer when it must not go on. */
function screenOne(
  value: unknown,
  state: GuardState,
  out: Screened,
): RpcErrorAnswer | undefined {
  const id = idOf(value);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return rpcError(null, RPC.invalidRequest, "Invalid Request: a message must be a JSON object");
  }
  const msg = value as Record<string, unknown>;
  const isNotification = !hasId(msg);
  const refuse = (code: number, message: string) => {
    if (isNotification) {
      out.dropped.push(message);
      return undefined;
    }
    return rpcError(id, code, message);
  };
  if (hasId(msg) && id === null) {
    return rpcError(null, RPC.invalidRequest, "Invalid Request: id must be a string or a number");
  }
  if (msg.jsonrpc !== "2.0") {
    return refuse(
      RPC.invalidRequest,
      `Invalid Request: jsonrpc must be "2.0", got ${JSON.stringify(msg.jsonrpc) ?? "nothing"}`,
    );
  }
  if (!("method" in msg)) {
    if (!isNotification && ("result" in msg || "error" in msg)) return undefined; // a response
    return refuse(RPC.invalidRequest, "Invalid Request: method is missing");
  }
  if (typeof msg.method !== "string") {
    return refuse(
      RPC.invalidRequest,
      `Invalid Request: method must be a string, got ${JSON.stringify(msg.method)}`,
    );
  }
  if (
    "params" in msg && (typeof msg.params !== "object" || msg.params === null ||
      Array.isArray(msg.params))
  ) {
    return refuse(
      RPC.invalidParams,
      `Invalid params for ${msg.method}: params must be an object, got ${
        JSON.stringify(msg.params)
      }`,
    );
  }
  if (isNotification) return undefined;
  if (!state.initialized && !BEFORE_INIT.has(msg.method)) {
    return rpcError(
      id,
      RPC.invalidRequest,
      `Invalid Request: ${msg.method} before initialize: the session starts with an initialize request`,
    );
  }
  const problem = state.checkParams?.(msg as { method: string; params?: unknown });
  if (problem) {
    return rpcError(id, RPC.invalidParams, `Invalid params for ${msg.method}: ${problem}`);
  }
  if (msg.method === "initialize") state.initialized = true;
  return undefined;
}

/** Screens one line of input. */
export function screenLine(line: string, state: GuardState): Screened {
  const out: Screened = { forward: [], replies: [], dropped: [] };
  const text = line.trim();
  if (!text) return out;
  const values: unknown[] = [];
  try {
    // One message per line is the rule; only a line that does not parse is split up.
    values.push(JSON.parse(text));
  } catch (first) {
    const parts = splitValues(text);
    if (!parts || parts.length < 2) {
      out.replies.push(
        rpcError(null, RPC.parseError, `Parse error: ${(first as Error).message}`),
      );
      return out;
    }
    for (const part of parts) {
      try {
        values.push(JSON.parse(part));
      } catch (e) {
        out.replies.push(
          rpcError(null, RPC.parseError, `Parse error: ${(e as Error).message}`),
        );
        return out;
      }
    }
  }
  if (values.length > 1) {
    for (const v of values) {
      if (!hasId(v)) continue;
      out.replies.push(rpcError(
        idOf(v),
        RPC.invalidRequest,
        `Invalid Request: ${values.length} messages on one line: end each message with a newline`,
      ));
    }
    if (!out.replies.length) out.dropped.push(`${values.length} messages on one line`);
    return out;
  }
  const value = values[0];
  if (Array.isArray(value)) {
    const answers = value.length
      ? value.filter((v) => hasId(v) || typeof v !== "object" || v === null).map((v) =>
        rpcError(
          idOf(v),
          RPC.invalidRequest,
          "Invalid Request: batches are not supported by MCP: send each message on its own line",
        )
      )
      : [rpcError(null, RPC.invalidRequest, "Invalid Request: an empty batch")];
    if (answers.length) out.replies.push(answers);
    else out.dropped.push("a batch of notifications");
    return out;
  }
  const refused = screenOne(value, state, out);
  if (refused) out.replies.push(refused);
  else if (!out.dropped.length) out.forward.push(value as Record<string, unknown>);
  return out;
}

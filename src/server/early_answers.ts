/**
 * The first answers of a stdio session, given before the MCP server has loaded. Loading the
 * MCP SDK, the safety stages, resources and prompts takes about 200 ms, and a client's first
 * two requests (`initialize`, `tools/list`) need none of it: the tool list comes from the
 * generated manifest. {@link EarlyAnswers} sits between the line transport and the server:
 * it answers `initialize`, `ping` and `tools/list` itself and holds every other message. Once
 * the server is connected to it, {@link EarlyAnswers.release} replays the client's
 * `initialize` to the server (whose answer is dropped: the client has one), then the held
 * messages in their order, and from then on passes everything through.
 *
 * @module
 */
import { type ParamsCheck, RPC, rpcError } from "./jsonrpc_guard.ts";
import type { JSONRPCMessage, Transport } from "./sdk.ts";
import { negotiateVersion } from "./protocol_versions.ts";

/** What the early answers are made of. */
export interface EarlyReplies {
  /** The `initialize` result, without `protocolVersion` (negotiated here). */
  initialize(): Record<string, unknown>;
  /** The `tools/list` result. */
  toolsList(): Promise<Record<string, unknown>>;
}

/** Id of the replayed `initialize`, whose answer is dropped. */
const REPLAY_ID = "proxmox-mcp:replayed-initialize";

type Message = Record<string, unknown> & { id?: string | number; method?: string };

/** What is wrong with the params of an `initialize` request, as the SDK's schema would say. */
function initializeProblem(params: unknown): string | undefined {
  const p = (params ?? {}) as Record<string, unknown>;
  if (typeof p.protocolVersion !== "string") return "protocolVersion: expected a string";
  if (typeof p.capabilities !== "object" || p.capabilities === null) {
    return "capabilities: expected an object";
  }
  const info = p.clientInfo as Record<string, unknown> | undefined;
  if (typeof info !== "object" || info === null) return "clientInfo: expected an object";
  if (typeof info.name !== "string") return "clientInfo.name: expected a string";
  if (typeof info.version !== "string") return "clientInfo.version: expected a string";
  return undefined;
}

/** Answers the handshake and the tool list while the server loads; see the module doc. */
export class EarlyAnswers implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #inner: Transport;
  readonly #replies: EarlyReplies;
  readonly #held: Message[] = [];
  readonly #needed = Promise.withResolvers<void>();
  #initialize?: Message;
  #released = false;

  constructor(inner: Transport, replies: EarlyReplies) {
    this.#inner = inner;
    this.#replies = replies;
  }

  /** Starts reading from the inner transport and answering what can be answered now. */
  async listen(): Promise<void> {
    this.#inner.onmessage = (m) => this.#receive(m as unknown as Message);
    this.#inner.onclose = () => this.onclose?.();
    this.#inner.onerror = (e) => this.onerror?.(e);
    await this.#inner.start();
  }

  /**
   * Settles when the rest of the server is wanted: the first `tools/list` was answered, or a
   * message came that only the server can answer.
   */
  get needed(): Promise<void> {
    return this.#needed.promise;
  }

  #receive(m: Message): void {
    if (this.#released) {
      this.onmessage?.(m as unknown as JSONRPCMessage);
      return;
    }
    const request = typeof m.method === "string" && m.id !== undefined;
    if (request && m.method === "initialize" && !this.#initialize) {
      const problem = initializeProblem(m.params);
      if (problem) {
        return this.#reply(m.id!, { error: `Invalid params for initialize: ${problem}` });
      }
      this.#initialize = m;
      const params = m.params as { protocolVersion: string };
      return this.#reply(m.id!, {
        result: {
          protocolVersion: negotiateVersion(params.protocolVersion),
          ...this.#replies.initialize(),
        },
      });
    }
    if (request && m.method === "ping") return this.#reply(m.id!, { result: {} });
    if (request && m.method === "tools/list" && this.#initialize) {
      const cursor = (m.params as { cursor?: unknown } | undefined)?.cursor;
      if (cursor !== undefined && typeof cursor !== "string") {
        return this.#reply(m.id!, {
          error: "Invalid params for tools/list: cursor: expected a string",
        });
      }
      this.#replies.toolsList().then(
        (result) => this.#reply(m.id!, { result }),
        (err) =>
          this.#send(rpcError(m.id!, -32603, `Internal error: ${(err as Error)?.message ?? err}`)),
      ).finally(() => this.#needed.resolve());
      return;
    }
    this.#held.push(m);
    if (m.method !== "notifications/initialized") this.#needed.resolve();
  }

  #reply(id: string | number, answer: { result: unknown } | { error: string }): void {
    this.#send(
      "result" in answer
        ? { jsonrpc: "2.0", id, result: answer.result }
        : rpcError(id, RPC.invalidParams, answer.error),
    );
  }

  #send(message: unknown): void {
    this.#inner.send(message as JSONRPCMessage).catch((e) => this.onerror?.(e));
  }

  /** The inner transport is already started by {@link listen}. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  send(message: JSONRPCMessage): Promise<void> {
    if ((message as Message).id === REPLAY_ID && !("method" in message)) {
      return Promise.resolve();
    }
    return this.#inner.send(message);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /**
   * Hands the session to the server connected to this transport: the client's `initialize`
   * (so the server knows the client's capabilities), then the held messages, each request's
   * parameters checked with `check` first.
   */
  release(check: ParamsCheck): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#initialize) {
      this.onmessage?.({ ...this.#initialize, id: REPLAY_ID } as unknown as JSONRPCMessage);
    }
    for (const m of this.#held.splice(0)) {
      const problem = m.id !== undefined && typeof m.method === "string"
        ? check(m as { method: string; params?: unknown })
        : undefined;
      if (problem) {
        this.#send(
          rpcError(m.id!, RPC.invalidParams, `Invalid params for ${m.method}: ${problem}`),
        );
      } else this.onmessage?.(m as unknown as JSONRPCMessage);
    }
  }
}

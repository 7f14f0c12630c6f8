/**
 * A bare JSON-RPC session over an MCP SDK client transport. Unlike the SDK's `Client`, it does
 * no client-side schema validation, so timings measure the server and the transport only.
 *
 * @module
 */
import type { JSONRPCMessage } from "./sdk.ts";
import { byteSize } from "./stats.ts";

/** What the session needs from an SDK transport. */
export interface MessageTransport {
  start(): Promise<void>;
  send(message: JSONRPCMessage): Promise<void>;
  close(): Promise<void>;
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
}

/** An answer; `bytes()` is the size of its `result` as JSON text (computed on demand). */
export interface Answer<T = Record<string, unknown>> {
  result: T;
  bytes(): number;
}

/** A JSON-RPC error answer. */
export class RpcError extends Error {
  /** @param code JSON-RPC error code. @param message Its message. */
  constructor(readonly code: number, message: string) {
    super(`JSON-RPC error ${code}: ${message}`);
    this.name = "RpcError";
  }
}

type Pending = { resolve: (a: Answer) => void; reject: (e: Error) => void };

/** Sends requests over `transport` and matches answers by id; many may be in flight. */
export class RpcSession implements AsyncDisposable {
  #transport: MessageTransport;
  #next = 1;
  #pending = new Map<number, Pending>();
  #closed = false;

  constructor(transport: MessageTransport) {
    this.#transport = transport;
    transport.onmessage = (msg) => this.#receive(msg as Record<string, unknown>);
    transport.onclose = () => this.#failAll(new Error("Server transport closed"));
    transport.onerror = (e) => this.#failAll(e);
  }

  /** Starts the transport (spawns the process for stdio). */
  start(): Promise<void> {
    return this.#transport.start();
  }

  /** Sends request `method` and resolves with its result and size. */
  request<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<Answer<T>> {
    const id = this.#next++;
    const { promise, resolve, reject } = Promise.withResolvers<Answer>();
    this.#pending.set(id, { resolve, reject });
    this.#transport.send({ jsonrpc: "2.0", id, method, params }).catch((e) => {
      this.#pending.delete(id);
      reject(e);
    });
    return promise as Promise<Answer<T>>;
  }

  /** Sends notification `method`. */
  notify(method: string, params: Record<string, unknown> = {}): Promise<void> {
    return this.#transport.send({ jsonrpc: "2.0", method, params });
  }

  /** The MCP handshake: `initialize`, then `notifications/initialized`. */
  async initialize(): Promise<Answer> {
    const answer = await this.request("initialize", {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "proxmox-mcp-bench", version: "1" },
    });
    await this.notify("notifications/initialized");
    return answer;
  }

  /** Calls tool `name`; throws when the result is an error. */
  async call(name: string, args: Record<string, unknown> = {}): Promise<Answer<ToolResult>> {
    const answer = await this.request<ToolResult>("tools/call", { name, arguments: args });
    if (answer.result.isError) {
      throw new Error(`Tool ${name} failed: ${answer.result.content?.[0]?.text ?? "?"}`);
    }
    return answer;
  }

  /** Closes the transport (ends the stdio child). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#transport.close().catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #receive(msg: Record<string, unknown>): void {
    if (typeof msg.id !== "number") return;
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    if (msg.error) {
      const e = msg.error as { code: number; message: string };
      pending.reject(new RpcError(e.code, e.message));
      return;
    }
    const result = msg.result as Record<string, unknown>;
    pending.resolve({ result, bytes: () => byteSize(JSON.stringify(result)) });
  }

  #failAll(e: Error): void {
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }
}

/** The result of `tools/call`. */
export interface ToolResult {
  content?: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

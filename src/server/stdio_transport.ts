/**
 * MCP over stdio, in place of the SDK's `StdioServerTransport`, which never notices the end of
 * stdin and ends the process on a message of 10 MiB. This one:
 * - reports the end of stdin (`onEnd`) at once, so the server can finish its calls and exit;
 * - refuses a message longer than {@link MAX_MESSAGE_BYTES} with a JSON-RPC error and goes on
 *   reading, without holding the oversized message in memory;
 * - screens every line with `jsonrpc_guard.ts`, so malformed requests get an answer.
 *
 * @module
 */
import { type GuardState, type ParamsCheck, RPC, rpcError, screenLine } from "./jsonrpc_guard.ts";
import type { JSONRPCMessage, Transport } from "./sdk.ts";
import type { Logger } from "../util/log.ts";

/** The longest message accepted, in bytes (tool arguments are far smaller). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Where the transport reads and writes; default stdin and stdout. */
export interface StdioStreams {
  input: ReadableStream<Uint8Array>;
  write(bytes: Uint8Array): Promise<unknown>;
}

const NEWLINE = 10;
/** How much of an oversized message is kept to find its id. */
const ID_PREFIX_BYTES = 64 * 1024;

/** The id of a request from the first bytes of its text, if it shows there. */
function idFromPrefix(prefix: string): string | number | null {
  const m = /"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,15})/.exec(prefix);
  if (!m) return null;
  return m[1].startsWith('"') ? JSON.parse(m[1]) : Number(m[1]);
}

/** A stdio server transport that ends with stdin and answers what the SDK would drop. */
export class LineTransport implements Transport {
  onclose?: () => void;
  /** Called once when stdin ends (the client is gone or done); `close()` is up to the owner. */
  onEnd?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #streams: StdioStreams;
  readonly #logger?: Logger;
  readonly #state: GuardState = { initialized: false };
  readonly #encoder = new TextEncoder();
  #reader?: ReadableStreamDefaultReader<Uint8Array>;
  /** Lines waiting for the write in progress to end; written together, as one write. */
  #queued?: { chunks: Uint8Array[]; done: PromiseWithResolvers<void> };
  #writing: Promise<void> = Promise.resolve();
  #draining = false;
  #closed = false;
  #outputGone = false;
  /** Ids of requests passed to the SDK and not answered yet. */
  readonly #unanswered = new Set<string | number>();
  #answered?: () => void;

  constructor(opts: { streams?: StdioStreams; logger?: Logger; checkParams?: ParamsCheck } = {}) {
    this.#streams = opts.streams ?? {
      input: Deno.stdin.readable,
      write: (bytes) => writeAll(Deno.stdout, bytes),
    };
    this.#logger = opts.logger;
    this.#state.checkParams = opts.checkParams;
  }

  /**
   * Checks the parameters of every request read from now on with `check` (before, only the
   * JSON-RPC shape is checked: see `EarlyAnswers`, which checks what it held back).
   */
  checkParamsWith(check: ParamsCheck): void {
    this.#state.checkParams = check;
  }

  /** Starts reading; returns at once (reading goes on in the background). */
  start(): Promise<void> {
    this.#reader = this.#streams.input.getReader();
    this.#read().catch((e) => {
      if (!this.#closed) this.onerror?.(e instanceof Error ? e : new Error(String(e)));
    }).finally(() => this.onEnd?.());
    return Promise.resolve();
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let pending: Uint8Array[] = [];
    let size = 0;
    let oversized: { prefix: string; bytes: number } | undefined;
    for (;;) {
      const { done, value } = await this.#reader!.read();
      if (done) break;
      let from = 0;
      while (from <= value.length) {
        const nl = value.indexOf(NEWLINE, from);
        const end = nl === -1 ? value.length : nl;
        const piece = value.subarray(from, end);
        if (oversized) {
          oversized.bytes += piece.length;
        } else if (size + piece.length > MAX_MESSAGE_BYTES) {
          const head = concat([...pending, piece]).subarray(0, ID_PREFIX_BYTES);
          oversized = { prefix: decoder.decode(head), bytes: size + piece.length };
          pending = [];
          size = 0;
        } else if (piece.length) {
          pending.push(piece.slice());
          size += piece.length;
        }
        if (nl === -1) break;
        if (oversized) {
          this.#refuseOversized(oversized.prefix, oversized.bytes);
          oversized = undefined;
        } else {
          this.#handleLine(decoder.decode(concat(pending)));
          pending = [];
          size = 0;
        }
        from = nl + 1;
      }
    }
    if (oversized) this.#refuseOversized(oversized.prefix, oversized.bytes);
    else if (size) this.#handleLine(decoder.decode(concat(pending)));
  }

  #refuseOversized(prefix: string, bytes: number): void {
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    const message = `Invalid Request: the message is ${mib(bytes)}; the limit is ${
      mib(MAX_MESSAGE_BYTES)
    }: nothing was done`;
    this.#logger?.log("warning", `Refused a stdio message: ${message}`);
    this.#reply(rpcError(idFromPrefix(prefix), RPC.invalidRequest, message));
  }

  #handleLine(line: string): void {
    const screened = screenLine(line.replace(/\r$/, ""), this.#state);
    for (const reason of screened.dropped) {
      this.#logger?.log("warning", `Ignored a malformed notification: ${reason}`);
    }
    for (const reply of screened.replies) this.#reply(reply);
    for (const message of screened.forward) {
      if ("method" in message && "id" in message) {
        this.#unanswered.add(message.id as string | number);
      }
      this.onmessage?.(message as JSONRPCMessage);
    }
  }

  #reply(message: unknown): void {
    this.#write(JSON.stringify(message) + "\n").catch(() => {});
  }

  /**
   * Writes `text` after what is already being written. Lines queued while a write is in progress
   * go out together in the next write, so many answers at once cost few writes.
   */
  #write(text: string): Promise<void> {
    const batch = this.#queued ??= { chunks: [], done: Promise.withResolvers<void>() };
    batch.chunks.push(this.#encoder.encode(text));
    if (!this.#draining) this.#writing = this.#drain();
    return batch.done.promise;
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    while (this.#queued) {
      const batch = this.#queued;
      this.#queued = undefined;
      try {
        if (!this.#outputGone) await this.#streams.write(concat(batch.chunks));
        batch.done.resolve();
      } catch (e) {
        // The client went away (broken pipe): nothing more can be delivered.
        this.#outputGone = true;
        batch.done.reject(e);
      }
    }
    this.#draining = false;
  }

  /** Sends one message as one line. */
  async send(message: JSONRPCMessage): Promise<void> {
    await this.#write(JSON.stringify(message) + "\n").finally(() => {
      if (
        !("method" in message) && "id" in message &&
        this.#unanswered.delete(message.id as string | number)
      ) {
        if (!this.#unanswered.size) this.#answered?.();
      }
    });
  }

  /** Waits until every request read so far is answered, or `ms` passed; returns how many are not. */
  async answered(ms: number): Promise<number> {
    if (!this.#unanswered.size) return 0;
    const done = Promise.withResolvers<void>();
    this.#answered = done.resolve;
    const timer = setTimeout(done.resolve, ms);
    await done.promise;
    clearTimeout(timer);
    this.#answered = undefined;
    return this.#unanswered.size;
  }

  /** Stops reading and reports the close once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reader?.cancel().catch(() => {});
    await this.#writing;
    this.onclose?.();
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function writeAll(w: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array) {
  let done = 0;
  while (done < bytes.length) done += await w.write(bytes.subarray(done));
}

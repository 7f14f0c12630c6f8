/**
 * The audit log: one JSON line per decision about a mutating call (refused, dry run,
 * confirmation requested, executing, result), secrets redacted. Each line carries the hash of
 * the previous line (`prev`) and its own hash (`hash`, over the line without it), so an edited,
 * removed or inserted line breaks the chain; {@link verifyAuditChain} finds the first break.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import { sha256Hex } from "./canonical.ts";

/** `prev` of the first line of a log. */
export const GENESIS = "0".repeat(64);

/** One audit record before chaining. */
export type AuditRecord = Record<string, unknown>;

/** Appends hash-chained JSON lines to a file (or keeps them in memory when no file is set). */
export class AuditLog {
  readonly path?: string;
  #clock: Clock;
  #prev: string;
  #queue: Promise<unknown> = Promise.resolve();
  #memory: string[] = [];
  #file?: Deno.FsFile;

  private constructor(path: string | undefined, prev: string, clock: Clock, file?: Deno.FsFile) {
    this.path = path;
    this.#prev = prev;
    this.#clock = clock;
    this.#file = file;
  }

  /**
   * Opens (creating it with mode 0600) the log at `path` and continues its chain; without a
   * path, lines are kept in memory only.
   */
  static async open(path: string | undefined, clock: Clock): Promise<AuditLog> {
    if (!path) return AuditLog.memory(clock);
    const prev = await lastHash(path);
    const file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
    return new AuditLog(path, prev, clock, file);
  }

  /** A log kept in memory only (the last 1000 lines). */
  static memory(clock: Clock): AuditLog {
    return new AuditLog(undefined, GENESIS, clock);
  }

  /** Lines written by this process (the last 1000 when writing to memory only). */
  get lines(): readonly string[] {
    return this.#memory;
  }

  /** Appends `record` with `time`, `prev` and `hash`; resolves once written (and synced). */
  append(record: AuditRecord): Promise<string> {
    const run = this.#queue.then(() => this.#write(record));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #write(record: AuditRecord): Promise<string> {
    const body = JSON.stringify({
      time: new Date(this.#clock.now()).toISOString(),
      ...record,
      prev: this.#prev,
    });
    const hash = sha256Hex(body);
    const line = `${body.slice(0, -1)},"hash":"${hash}"}`;
    if (this.#file) {
      const data = new TextEncoder().encode(line + "\n");
      let written = 0;
      while (written < data.length) written += await this.#file.write(data.subarray(written));
      await this.#file.syncData();
    }
    this.#prev = hash;
    this.#memory.push(line);
    if (this.#memory.length > 1000) this.#memory.shift();
    return line;
  }

  /** Closes the file. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

/** The `hash` of the last line of the log at `path`, or {@link GENESIS} for a new log. */
async function lastHash(path: string): Promise<string> {
  let text: string;
  try {
    const file = await Deno.open(path, { read: true });
    try {
      const size = (await file.stat()).size;
      const start = Math.max(0, size - 65536);
      await file.seek(start, Deno.SeekMode.Start);
      const buf = new Uint8Array(size - start);
      let read = 0;
      while (read < buf.length) {
        const n = await file.read(buf.subarray(read));
        if (n === null) break;
        read += n;
      }
      text = new TextDecoder().decode(buf.subarray(0, read));
    } finally {
      file.close();
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return GENESIS;
    throw e;
  }
  const last = text.split("\n").filter((l) => l.trim() !== "").at(-1);
  if (!last) return GENESIS;
  const m = /,"hash":"([0-9a-f]{64})"\}$/.exec(last);
  return m ? m[1] : sha256Hex(last);
}

/** The outcome of checking a whole audit log. */
export type ChainCheck =
  | { ok: true; lines: number }
  | { ok: false; lines: number; line: number; reason: string };

/** Checks every line's own hash and its link to the previous line; reports the first break. */
export function verifyAuditChain(text: string): ChainCheck {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let prev = GENESIS;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fail = (reason: string): ChainCheck => ({
      ok: false,
      lines: lines.length,
      line: i + 1,
      reason,
    });
    const m = /^(\{.*),"hash":"([0-9a-f]{64})"\}$/.exec(line);
    if (!m) return fail("not an audit line (no trailing hash)");
    let parsed: { prev?: unknown };
    try {
      parsed = JSON.parse(line);
    } catch {
      return fail("not valid JSON");
    }
    const body = `${m[1]}}`;
    if (sha256Hex(body) !== m[2]) return fail("its content does not match its hash (edited)");
    if (parsed.prev !== prev) {
      return fail(
        i === 0
          ? "the first line does not start the chain (lines before it were removed?)"
          : "it does not follow the previous line (a line was removed, inserted or reordered)",
      );
    }
    prev = m[2];
  }
  return { ok: true, lines: lines.length };
}

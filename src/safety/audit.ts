/**
 * The audit log: one JSON line per decision about a mutating call (refused, dry run,
 * confirmation requested, executing, result), secrets redacted, chained by HMAC under a key kept
 * outside the log, with a signed head beside it (see `audit_chain.ts` for the format).
 *
 * Files, for a log at `audit.jsonl`: the key `audit.jsonl.key` (or `audit_key_file`; 32 random
 * bytes, created with mode 0600 on first use), the head `audit.jsonl.head` (lines, bytes and the
 * last MAC, signed; replaced atomically through `audit.jsonl.head.tmp`).
 *
 * The log is checked against its head when it is opened; a log that fails (truncated, emptied,
 * replaced, edited, key missing) is not continued: every append is refused with the reason, so
 * changes are refused while reads go on. Appends take an exclusive lock on the log file and
 * first catch up with lines other processes appended (checking them), so several server
 * processes can share one log without forking its chain. A write that fails or is cut short is
 * rolled back and fails the change.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import {
  type AuditHead,
  type ChainCheck,
  checkHead,
  GENESIS,
  openHead,
  sealHead,
  sealLine,
  verifyLines,
} from "./audit_chain.ts";

export { GENESIS } from "./audit_chain.ts";

/** One audit record before chaining. */
export type AuditRecord = Record<string, unknown>;

/** The files of a log at `path`. */
export interface AuditFiles {
  log: string;
  key: string;
  head: string;
}

/** Where the key and head of the log at `path` live (the key may be elsewhere). */
export function auditFiles(path: string, keyFile?: string): AuditFiles {
  return { log: path, key: keyFile ?? `${path}.key`, head: `${path}.head` };
}

/** The audit log failed its integrity check; no change may be made until it is resolved. */
export class AuditIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuditIntegrityError";
  }
}

/** Appends keyed, chained JSON lines to a file (or keeps them in memory when no file is set). */
export class AuditLog {
  /** The log file; undefined for a log kept in memory. */
  readonly path?: string;
  #files?: AuditFiles;
  #key: Uint8Array;
  #clock: Clock;
  #state: AuditHead = { lines: 0, bytes: 0, last: GENESIS };
  #queue: Promise<unknown> = Promise.resolve();
  #memory: string[] = [];
  #file?: Deno.FsFile;
  #problem?: string;

  private constructor(clock: Clock, key: Uint8Array, files?: AuditFiles, file?: Deno.FsFile) {
    this.path = files?.log;
    this.#files = files;
    this.#clock = clock;
    this.#key = key;
    this.#file = file;
  }

  /**
   * Opens (creating it, its key and its head with mode 0600) the log at `path`, checks it
   * against its head and continues its chain; without a path, lines are kept in memory only.
   * A log that fails the check opens in a refusing state (see {@link problem}).
   */
  static async open(
    path: string | undefined,
    clock: Clock,
    opts: { keyFile?: string } = {},
  ): Promise<AuditLog> {
    if (!path) return AuditLog.memory(clock);
    const files = auditFiles(path, opts.keyFile);
    const file = await Deno.open(files.log, { read: true, write: true, create: true, mode: 0o600 });
    let audit: AuditLog;
    try {
      await file.lock(true);
      try {
        audit = await AuditLog.#check(clock, files, file);
      } finally {
        await file.unlock();
      }
    } catch (err) {
      file.close();
      throw err;
    }
    // A log that failed its check is not kept open: nothing will be appended to it.
    if (!audit.#file) file.close();
    return audit;
  }

  static async #check(clock: Clock, files: AuditFiles, file: Deno.FsFile): Promise<AuditLog> {
    const size = (await file.stat()).size;
    const head = await readOptional(files.head);
    let key = await readKey(files.key);
    const fresh = size === 0 && head === undefined;
    if (!key) {
      if (!fresh) {
        const broken = new AuditLog(clock, new Uint8Array(32), files);
        broken.#problem = `the audit key file ${files.key} is missing, so the audit log ` +
          `${files.log} can be neither checked nor continued: restore the key, or move the log ` +
          `and ${files.head} aside to start a new log`;
        return broken;
      }
      key = await createKey(files.key);
    }
    const audit = new AuditLog(clock, key, files, file);
    if (fresh) {
      await audit.#writeHead(audit.#state);
      return audit;
    }
    const check = await verifyFile(key, file, head);
    if (!check.ok) {
      audit.#file = undefined;
      audit.#problem =
        `the audit log ${files.log} failed its check: ${
          check.line ? `line ${check.line}: ` : ""
        }${check.reason}. Keep it as evidence, run proxmox-mcp audit verify ${files.log}, and ` +
        `move the log and ${files.head} aside to start a new log`;
      return audit;
    }
    audit.#state = { lines: check.lines, bytes: size, last: check.last };
    return audit;
  }

  /** A log kept in memory only (the last 1000 lines), keyed with a random per-process key. */
  static memory(clock: Clock): AuditLog {
    return new AuditLog(clock, crypto.getRandomValues(new Uint8Array(32)));
  }

  /** A log that could not be opened: it refuses every change with `problem`; reads go on. */
  static refusing(clock: Clock, problem: string): AuditLog {
    const log = AuditLog.memory(clock);
    log.#problem = problem;
    return log;
  }

  /** Why nothing can be appended (the log failed its check), or undefined when it is fine. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /** Lines written by this process (the last 1000). */
  get lines(): readonly string[] {
    return this.#memory;
  }

  /**
   * Appends `record` with `time`, `seq`, `prev` and `mac`; resolves once written and synced
   * (log and head), rejects when it was not (nothing of it is left in the log then).
   */
  append(record: AuditRecord): Promise<string> {
    const run = this.#queue.then(() => this.#append(record));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #append(record: AuditRecord): Promise<string> {
    if (this.#problem) throw new AuditIntegrityError(this.#problem);
    const file = this.#file;
    if (!file) {
      if (this.#files) throw new AuditIntegrityError(`the audit log ${this.path} is closed`);
      const { line, mac } = this.#seal(record);
      this.#state = { lines: this.#state.lines + 1, bytes: 0, last: mac };
      return this.#remember(line);
    }
    await file.lock(true);
    try {
      await this.#catchUp(file);
      const before = this.#state;
      const { line, mac } = this.#seal(record);
      const data = new TextEncoder().encode(line + "\n");
      try {
        await file.seek(before.bytes, Deno.SeekMode.Start);
        let written = 0;
        while (written < data.length) written += await file.write(data.subarray(written));
        await file.syncData();
        const next = { lines: before.lines + 1, bytes: before.bytes + data.length, last: mac };
        await this.#writeHead(next);
        this.#state = next;
      } catch (err) {
        await this.#rollBack(file, before.bytes);
        throw err;
      }
      return this.#remember(line);
    } finally {
      await file.unlock().catch(() => {});
    }
  }

  #seal(record: AuditRecord): { line: string; mac: string } {
    const timed = { time: new Date(this.#clock.now()).toISOString(), ...record };
    return sealLine(this.#key, timed, this.#state.lines + 1, this.#state.last);
  }

  #remember(line: string): string {
    this.#memory.push(line);
    if (this.#memory.length > 1000) this.#memory.shift();
    return line;
  }

  /** Removes a partly written line; if even that fails, the log refuses further appends. */
  async #rollBack(file: Deno.FsFile, bytes: number): Promise<void> {
    try {
      await file.truncate(bytes);
      await file.syncData();
    } catch (err) {
      this.#problem = `an audit line could not be written and the partial line could not be ` +
        `removed from ${this.path} (${err instanceof Error ? err.message : String(err)})`;
    }
  }

  /** Takes in lines other processes appended since our last write, checking each. */
  async #catchUp(file: Deno.FsFile): Promise<void> {
    const files = this.#files!;
    const fail = (why: string): never => {
      this.#problem = `the audit log ${files.log} changed outside this server: ${why}. Keep it ` +
        `as evidence, run proxmox-mcp audit verify ${files.log}, and move the log and ` +
        `${files.head} aside to start a new log`;
      throw new AuditIntegrityError(this.#problem);
    };
    const text = await readOptional(files.head);
    if (text === undefined) return fail("its head file is missing");
    const head = openHead(this.#key, text);
    if (typeof head === "string") return fail(head);
    const size = (await file.stat()).size;
    if (size !== head.bytes) {
      return fail(`it has ${size} bytes but its head says ${head.bytes}`);
    }
    const s = this.#state;
    if (head.lines === s.lines && head.last === s.last && head.bytes === s.bytes) return;
    if (head.lines < s.lines || head.bytes < s.bytes) {
      return fail("its head went back to fewer lines (an older head restored?)");
    }
    await file.seek(s.bytes, Deno.SeekMode.Start);
    const added = await readAll(file, head.bytes - s.bytes);
    const check = verifyLines(this.#key, new TextDecoder().decode(added), {
      seq: s.lines,
      prev: s.last,
    });
    if (!check.ok) return fail(`line ${check.line ?? "?"}: ${check.reason}`);
    if (check.lines !== head.lines || check.last !== head.last) {
      return fail("the lines appended since do not match its head");
    }
    this.#state = head;
  }

  async #writeHead(head: AuditHead): Promise<void> {
    const files = this.#files!;
    const tmp = `${files.head}.tmp`;
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
    try {
      const data = new TextEncoder().encode(sealHead(this.#key, head));
      let written = 0;
      while (written < data.length) written += await f.write(data.subarray(written));
      await f.syncData();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, files.head);
  }

  /** Closes the file. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

/**
 * Checks the log in `file` against its head, reading it in pieces (the server runs with a small
 * heap; a log grows for years).
 */
export async function verifyFile(
  key: Uint8Array,
  file: Deno.FsFile,
  head: string | undefined,
): Promise<ChainCheck> {
  await file.seek(0, Deno.SeekMode.Start);
  const decoder = new TextDecoder();
  let from = { seq: 0, prev: GENESIS };
  let pending = "";
  let bytes = 0;
  const buf = new Uint8Array(1 << 20);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    bytes += n;
    pending += decoder.decode(buf.subarray(0, n), { stream: true });
    const cut = pending.lastIndexOf("\n");
    if (cut < 0) continue;
    const check = verifyLines(key, pending.slice(0, cut + 1), from);
    if (!check.ok) return check;
    from = { seq: check.lines, prev: check.last };
    pending = pending.slice(cut + 1);
  }
  pending += decoder.decode();
  const check = verifyLines(key, pending, from);
  return check.ok ? checkHead(key, check, bytes, head) : check;
}

/** Reads `file` from its current position: `limit` bytes, or to the end. */
async function readAll(file: Deno.FsFile, limit?: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (limit === undefined || total < limit) {
    const buf = new Uint8Array(limit === undefined ? 65536 : Math.min(65536, limit - total));
    const n = await file.read(buf);
    if (n === null) break;
    chunks.push(buf.subarray(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** The key in `path`: 64 hex digits; undefined when the file does not exist. */
export async function readKey(path: string): Promise<Uint8Array | undefined> {
  const text = await readOptional(path);
  if (text === undefined) return undefined;
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/i.test(hex)) {
    throw new AuditIntegrityError(
      `The audit key file ${path} does not hold a key: expected 64 hex digits`,
    );
  }
  return Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));
}

async function createKey(path: string): Promise<Uint8Array> {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const hex = Array.from(key, (b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.writeTextFile(path, hex + "\n", { createNew: true, mode: 0o600 });
  return key;
}

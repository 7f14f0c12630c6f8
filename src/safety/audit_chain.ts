/**
 * The format of a keyed audit log and how to check it, without any file access.
 *
 * Each line is a JSON object ending in `"seq":N,"prev":"<MAC of line N-1>","mac":"<MAC>"`, where
 * the MAC is an HMAC-SHA256, under a key kept outside the log, of the line without its `mac`
 * field. The head (a small JSON file beside the log) names the number of lines, the size of the
 * log in bytes and the MAC of the last line, and is itself signed with the key. A line edited,
 * removed, inserted or moved breaks the chain; lines removed at the end, an emptied or replaced
 * log and forged lines are caught by the head and the MACs, which nobody without the key can
 * compute.
 *
 * @module
 */
import { hmacSha256, toHex } from "../util/sha256.ts";

/** `prev` of the first line of a log. */
export const GENESIS = "0".repeat(64);

/** Version of the head format. */
const HEAD_VERSION = 1;

/** What the head of a log says. */
export interface AuditHead {
  /** Lines in the log. */
  lines: number;
  /** Size of the log in bytes. */
  bytes: number;
  /** MAC of the last line ({@link GENESIS} for an empty log). */
  last: string;
}

/** HMAC-SHA256 of `text` under `key`, hex. */
export function macHex(key: Uint8Array, text: string): string {
  return toHex(hmacSha256(key, text));
}

/** The line for `record` as line `seq` after `prev`, with its MAC. */
export function sealLine(
  key: Uint8Array,
  record: Record<string, unknown>,
  seq: number,
  prev: string,
): {
  line: string;
  mac: string;
} {
  const body = JSON.stringify({ ...record, seq, prev });
  const mac = macHex(key, body);
  return { line: `${body.slice(0, -1)},"mac":"${mac}"}`, mac };
}

/** The signed head file's text for `head`. */
export function sealHead(key: Uint8Array, head: AuditHead): string {
  return JSON.stringify({ v: HEAD_VERSION, ...head, mac: macHex(key, headText(head)) }) + "\n";
}

function headText(h: AuditHead): string {
  return `proxmox-mcp audit head v${HEAD_VERSION}\0${h.lines}\0${h.bytes}\0${h.last}`;
}

/** Reads a head file's text; a string says why it is not a valid head signed with `key`. */
export function openHead(key: Uint8Array, text: string): AuditHead | string {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text);
  } catch {
    return "the head file is not valid JSON";
  }
  const { v, lines, bytes, last, mac } = parsed ?? {};
  if (
    v !== HEAD_VERSION || !Number.isSafeInteger(lines) || !Number.isSafeInteger(bytes) ||
    typeof last !== "string" || typeof mac !== "string"
  ) {
    return "the head file is not a proxmox-mcp audit head";
  }
  const head = { lines: lines as number, bytes: bytes as number, last };
  if (macHex(key, headText(head)) !== mac) {
    return "the head file is not signed with this key (replaced, edited, or another key)";
  }
  return head;
}

/** The outcome of checking a whole audit log. */
export type ChainCheck =
  | { ok: true; lines: number; last: string }
  | {
    ok: false;
    lines: number;
    /** The first bad line; absent when the lines chain but do not match the head. */
    line?: number;
    reason: string;
  };

const LINE = /^(\{.*),"mac":"([0-9a-f]{64})"\}$/;

/** Checks each line of `text` (a log without its head): MAC, sequence and link. */
export function verifyLines(key: Uint8Array, text: string, from: { seq: number; prev: string } = {
  seq: 0,
  prev: GENESIS,
}): ChainCheck {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let prev = from.prev;
  for (let i = 0; i < lines.length; i++) {
    const fail = (reason: string): ChainCheck => ({
      ok: false,
      lines: from.seq + lines.length,
      line: from.seq + i + 1,
      reason,
    });
    const m = LINE.exec(lines[i]);
    if (!m) {
      return fail(
        /,"hash":"[0-9a-f]{64}"\}$/.test(lines[i])
          ? "it has no MAC (written by an older version without a key): move this log aside"
          : "not an audit line (no trailing MAC)",
      );
    }
    let parsed: { seq?: unknown; prev?: unknown };
    try {
      parsed = JSON.parse(lines[i]);
    } catch {
      return fail("not valid JSON");
    }
    if (macHex(key, `${m[1]}}`) !== m[2]) {
      return fail("its MAC does not match its content (edited, forged, or another key)");
    }
    if (parsed.seq !== from.seq + i + 1 || parsed.prev !== prev) {
      return fail(
        i === 0 && from.seq === 0
          ? "the first line does not start the chain (lines before it were removed?)"
          : "it does not follow the previous line (a line was removed, inserted or reordered)",
      );
    }
    prev = m[2];
  }
  return { ok: true, lines: from.seq + lines.length, last: prev };
}

/**
 * Checks a whole log against its head: every line, then that the head names exactly this many
 * lines, bytes and last MAC. `head` is the head file's text, undefined when it is missing.
 */
export function verifyAuditLog(
  key: Uint8Array,
  log: Uint8Array,
  head: string | undefined,
): ChainCheck {
  const chain = verifyLines(key, new TextDecoder().decode(log));
  return chain.ok ? checkHead(key, chain, log.length, head) : chain;
}

/** Checks that `head` (the head file's text, undefined when missing) names exactly `chain`. */
export function checkHead(
  key: Uint8Array,
  chain: { lines: number; last: string },
  bytes: number,
  head: string | undefined,
): ChainCheck {
  const fail = (reason: string): ChainCheck => ({ ok: false, lines: chain.lines, reason });
  if (head === undefined) {
    return fail(
      "the head file is missing, so the end of the log cannot be checked (truncated or replaced?)",
    );
  }
  const h = openHead(key, head);
  if (typeof h === "string") return fail(h);
  if (h.lines > chain.lines) {
    return fail(
      `the head counts ${h.lines} lines but the log has ${chain.lines}: ` +
        `${h.lines - chain.lines} lines were removed at the end (or the log was replaced)`,
    );
  }
  if (h.lines < chain.lines) {
    return fail(
      `the head counts ${h.lines} lines but the log has ${chain.lines}: lines were added`,
    );
  }
  if (h.last !== chain.last) return fail("the last line is not the one the head names (replaced)");
  if (h.bytes !== bytes) {
    return fail(`the head says ${h.bytes} bytes but the log has ${bytes} (edited)`);
  }
  return { ok: true, lines: chain.lines, last: chain.last };
}

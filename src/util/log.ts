/**
 * Logging to stderr only: stdout belongs to the MCP protocol.
 *
 * @module
 */
import { maskSecretLike, redact } from "../safety/redact.ts";

/** Severity levels, lowest first. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/**
 * A sink for log records; `fields` must never contain secrets (the stderr logger still hides
 * secret fields, URL secrets and token-shaped values as a second line of defence).
 */
export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3 };

/** Writes one line per record to stderr, at or above `minLevel`. */
export class StderrLogger implements Logger {
  #min: number;
  #encoder = new TextEncoder();
  /** `minLevel` defaults to `debug` when `DEBUG=1`, else `info`. */
  constructor(minLevel?: LogLevel) {
    this.#min = ORDER[minLevel ?? (debugEnabled() ? "debug" : "info")];
  }
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < this.#min) return;
    const extra = fields && Object.keys(fields).length ? " " + JSON.stringify(redact(fields)) : "";
    const line = maskSecretLike(`[proxmox-mcp] ${level}: ${message}${extra}`);
    Deno.stderr.writeSync(this.#encoder.encode(`${line}\n`));
  }
}

/** A logger that drops everything. */
export const silentLogger: Logger = { log() {} };

/** True when the `DEBUG` environment variable is `1` or `true` (and readable). */
export function debugEnabled(): boolean {
  try {
    const v = Deno.env.get("DEBUG");
    return v === "1" || v === "true";
  } catch {
    return false;
  }
}

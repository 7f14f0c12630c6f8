/**
 * Logging to stderr only: stdout belongs to the MCP protocol.
 *
 * @module
 */

/** Severity levels, lowest first. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** A sink for log records; `fields` must never contain secrets. */
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
    const extra = fields && Object.keys(fields).length ? " " + JSON.stringify(fields) : "";
    Deno.stderr.writeSync(this.#encoder.encode(`[proxmox-mcp] ${level}: ${message}${extra}\n`));
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

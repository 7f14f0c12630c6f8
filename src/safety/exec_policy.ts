/**
 * Which commands may run inside guests (`guest_exec`): the operator's `exec_allowlist` of
 * program names or command-line patterns, each optionally marked read-only (runs without a
 * confirmation). An empty list allows nothing.
 *
 * @module
 */

/** One allowlist entry. */
export interface ExecRule {
  /** A program name (`df`) or a command-line pattern with `*` wildcards (`systemctl status *`). */
  pattern: string;
  /** Runs without a confirmation when true. */
  readOnly: boolean;
}

/** Exec settings from the configuration. */
export interface ExecSettings {
  allowlist: readonly ExecRule[];
  /** Longest wait for a command, in ms. */
  timeoutMs: number;
  /** Output kept per stream, in bytes; the rest is cut and flagged. */
  maxOutputBytes: number;
}

/** The defaults: nothing allowed, 30 s, 64 KiB per stream. */
export const DEFAULT_EXEC: ExecSettings = {
  allowlist: [],
  timeoutMs: 30_000,
  maxOutputBytes: 64 * 1024,
};

function globToRegExp(glob: string): RegExp {
  const body = glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`, "s");
}

/** The allowlist rule that admits `argv`, or undefined when none does. */
export function matchExec(
  allowlist: readonly ExecRule[],
  argv: readonly string[],
): ExecRule | undefined {
  if (!argv.length) return undefined;
  const program = argv[0];
  const base = program.split("/").pop() ?? program;
  const line = argv.join(" ");
  let best: ExecRule | undefined;
  for (const rule of allowlist) {
    const p = rule.pattern.trim();
    const matches = /\s/.test(p)
      ? globToRegExp(p).test(line)
      : globToRegExp(p).test(program) || globToRegExp(p).test(base);
    if (!matches) continue;
    // A read-only match wins over one that needs a confirmation.
    if (!best || (rule.readOnly && !best.readOnly)) best = rule;
  }
  return best;
}

/** Parses config entries: `"df"` or `{ "pattern": "df -h", "read_only": true }`. */
export function execRules(
  entries: readonly (string | { pattern: string; read_only?: boolean })[] | undefined,
): ExecRule[] {
  return (entries ?? []).map((e) =>
    typeof e === "string"
      ? { pattern: e, readOnly: false }
      : { pattern: e.pattern, readOnly: e.read_only === true }
  );
}

/**
 * The error thrown when configuration is invalid.
 *
 * @module
 */

/** One problem with one configuration field or environment variable. */
export interface ConfigIssue {
  /** The field (`port`), environment variable (`PROXMOX_PORT`) or file the problem is in. */
  field: string;
  /** What is wrong: what was given (secrets masked) and what is allowed. */
  message: string;
}

/** Invalid configuration; lists every problem found, not just the first. */
export class ConfigError extends Error {
  /** Every problem found. */
  readonly issues: ConfigIssue[];
  /** Where the configuration came from (file path and/or environment). */
  readonly source: string;

  constructor(issues: ConfigIssue[], source: string) {
    const lines = issues.map((i) => `  - ${i.field}: ${i.message}`);
    const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
    super(`Invalid configuration from ${source} (${count}):\n${lines.join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
    this.source = source;
  }
}

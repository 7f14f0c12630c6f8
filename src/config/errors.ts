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

  /** One line per problem, as `doctor` prints them: `config <field>: <what is wrong and the fix>`. */
  problemLines(): string[] {
    return this.issues.map((i) => `config ${i.field}: ${i.message}`);
  }

  /** What to tell an assistant (and its user) when the server cannot start with this config. */
  forAssistant(): string {
    return `proxmox-mcp cannot reach Proxmox: its configuration (from ${this.source}) is invalid:\n${
      this.problemLines().map((l) => `- ${l}`).join("\n")
    }\nFix this in the MCP client's settings for this server (its PROXMOX_* environment ` +
      "variables or the --config file), then restart the server; `proxmox-mcp doctor` checks " +
      "the configuration.";
  }
}

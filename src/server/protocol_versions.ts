/**
 * The MCP protocol versions this server speaks, and the version it answers `initialize` with.
 *
 * @module
 */

/**
 * The protocol versions the SDK's server accepts, newest first (its `SUPPORTED_PROTOCOL_VERSIONS`,
 * which `tests/early_answers_test.ts` compares with this list).
 */
export const SUPPORTED_PROTOCOL_VERSIONS = [
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
  "2024-10-07",
] as const;

/** The version a server answers `initialize` with: the client's when supported, else the newest. */
export function negotiateVersion(requested: unknown): string {
  return (SUPPORTED_PROTOCOL_VERSIONS as readonly unknown[]).includes(requested)
    ? requested as string
    : SUPPORTED_PROTOCOL_VERSIONS[0];
}

/**
 * Admission checks of the HTTP transport, run before a request reaches MCP: the Host and Origin
 * allowlists (which defeat DNS rebinding) and the bearer token, compared in constant time.
 *
 * @module
 */
import { hostPort, isLoopback } from "./http_address.ts";

/** Which Host and Origin header values are accepted. */
export interface Allowlist {
  /**
   * Accepted Host header values, lower case: `name` (any port) or `name:port`. Undefined
   * accepts every Host (only for non-loopback listeners, where the bearer token protects).
   */
  hosts?: readonly string[];
  /** Accepted Origin header values (`scheme://host[:port]`); requests without Origin pass. */
  origins: readonly string[];
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

/**
 * The allowlist for a listener: the configured values, or for a loopback listener the loopback
 * names with its port (Host) and their `http://` origins (Origin).
 */
export function allowlistFor(
  hostname: string,
  port: number,
  configured: { hosts?: readonly string[]; origins?: readonly string[] } = {},
): Allowlist {
  const loopback = isLoopback(hostname);
  const names = loopback ? LOOPBACK_NAMES.map((n) => `${n}:${port}`) : [];
  const hosts = configured.hosts?.length
    ? configured.hosts.map((h) => h.toLowerCase())
    : loopback
    ? names
    : undefined;
  const origins = configured.origins?.length
    ? configured.origins.map(normalizeOrigin)
    : names.flatMap((n) => [`http://${n}`, `https://${n}`]);
  if (configured.hosts?.length && loopback) {
    // A loopback listener always accepts its own address, so local clients keep working.
    return { hosts: [...new Set([...hosts!, ...names])], origins };
  }
  return { hosts, origins };
}

/** Lower-cases an origin and drops a trailing slash. */
export function normalizeOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, "");
}

/** A Host header as RFC 9110 allows it: a name or IPv4 address, or `[IPv6]`, and a port. */
const HOST_SYNTAX =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/** Why a Host header is malformed (not a host name with an optional port), if it is. */
export function malformedHost(host: string | null): string | undefined {
  if (host === null || HOST_SYNTAX.test(host)) return undefined;
  return `Host ${JSON.stringify(host)} is not a valid host name`;
}

/** Why the Host header is refused, or undefined when it is accepted. Malformed ones always are. */
export function hostProblem(host: string | null, allow: Allowlist): string | undefined {
  const malformed = malformedHost(host);
  if (malformed) return malformed;
  if (!allow.hosts) return undefined;
  if (!host) return "Missing Host header";
  const value = host.toLowerCase();
  const name = value.replace(/:\d+$/, "");
  if (allow.hosts.includes(value) || allow.hosts.includes(name)) return undefined;
  return `Host ${JSON.stringify(host)} is not allowed`;
}

/** Why the Origin header is refused, or undefined when it is absent or accepted. */
export function originProblem(origin: string | null, allow: Allowlist): string | undefined {
  if (origin === null) return undefined;
  if (allow.origins.includes(normalizeOrigin(origin))) return undefined;
  return `Origin ${JSON.stringify(origin)} is not allowed`;
}

const encoder = new TextEncoder();

/**
 * True when `authorization` is `Bearer <token>`. The comparison takes the same time whatever
 * the first differing byte is, so the token cannot be guessed byte by byte from timings.
 */
export function bearerMatches(authorization: string | null, token: string): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? "");
  const given = encoder.encode(match?.[1] ?? "");
  const expected = encoder.encode(token);
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= expected[i] ^ (given[i] ?? 0);
  return diff === 0 && match !== null;
}

/** A JSON-RPC error response with an HTTP status, as the SDK's transport answers. */
export function jsonRpcError(
  status: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(
    JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }),
    { status, headers: { "Content-Type": "application/json", ...headers } },
  );
}

/** The URL of the MCP endpoint of a listener. */
export function endpointUrl(hostname: string, port: number): string {
  return `http://${hostPort(hostname, port)}/mcp`;
}

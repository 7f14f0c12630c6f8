/**
 * Which TLS check the client uses for a configuration: a pinned fingerprint, the cluster CA,
 * the system's trusted CAs, or none at all (`verify_ssl: false`).
 *
 * @module
 */
import type { HttpTransport } from "./client.ts";
import type { NodeTlsMode } from "./tls_pin.ts";

/** How the node certificate is checked. */
export type TlsMode = "pin" | "ca" | "system" | "insecure";

/** The chosen mode and, for `pin` and `insecure`, the `node:tls` transport that enforces it. */
export interface TlsChoice {
  mode: TlsMode;
  /** Set for `pin` and `insecure`; `ca` and `system` use `fetch`. */
  transport?: HttpTransport;
  /** One line for startup messages and `doctor`. */
  description: string;
}

/** The TLS fields of a configuration. */
export interface TlsSettings {
  verify_ssl: boolean;
  ca_file?: string;
  /** SHA-256, colon hex, upper case (as the config schema normalises it). */
  fingerprint?: string;
}

/**
 * Picks the TLS check: `fingerprint` wins (it is the most specific), then `ca_file`, then
 * `verify_ssl: false`, else the system's trusted CAs.
 */
export function chooseTls(settings: TlsSettings): TlsChoice {
  if (settings.fingerprint) {
    return {
      mode: "pin",
      transport: nodeTls({ kind: "pin", fingerprint: settings.fingerprint }),
      description: `certificate pinned to SHA-256 ${settings.fingerprint}`,
    };
  }
  if (settings.ca_file) {
    return { mode: "ca", description: `certificate verified against ${settings.ca_file}` };
  }
  if (!settings.verify_ssl) {
    return {
      mode: "insecure",
      transport: nodeTls({ kind: "insecure" }),
      description: "certificate NOT verified (verify_ssl: false)",
    };
  }
  return { mode: "system", description: "certificate verified against the system's CAs" };
}

/**
 * The `node:tls` transport for `mode`, loaded on the first request: Node's TLS layer costs
 * about 6 MB and 25 ms to load, which the `ca` and `system` modes never need.
 */
function nodeTls(mode: NodeTlsMode): HttpTransport {
  let transport: Promise<HttpTransport> | undefined;
  return async (request) => {
    transport ??= import("./tls_pin.ts").then(
      (m) => m.nodeTlsTransport(mode),
      (err) => {
        transport = undefined;
        throw err;
      },
    );
    return (await transport)(request);
  };
}

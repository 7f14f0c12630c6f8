/**
 * Typed errors of the Proxmox VE API client. Messages never contain secrets.
 *
 * @module
 */
import type { HttpMethod } from "./api_schema/schema.ts";

/** Base class of every error the client throws (besides the caller's own abort reason). */
export class ProxmoxError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProxmoxError";
  }
}

/** Fields of a {@link ProxmoxApiError}. */
export interface ApiErrorInit {
  status: number;
  method: HttpMethod;
  path: string;
  /** Proxmox's message (body `message` or the HTTP reason), trimmed. */
  apiMessage: string;
  /** Per-parameter messages of a 400 "Parameter verification failed.". */
  errors?: Record<string, string>;
  /** What to check or do, appended to the message. */
  hint?: string;
}

/** The Proxmox VE API answered with an HTTP error status. */
export class ProxmoxApiError extends ProxmoxError {
  /** HTTP status code. */
  readonly status: number;
  /** HTTP method of the failed request. */
  readonly method: HttpMethod;
  /** API path (after `/api2/json`, without query string). */
  readonly path: string;
  /** Proxmox's message (body `message` or the HTTP reason), trimmed. */
  readonly apiMessage: string;
  /** Per-parameter messages of a 400 "Parameter verification failed.", when given. */
  readonly errors?: Record<string, string>;

  constructor(init: ApiErrorInit, options?: ErrorOptions) {
    const details = init.errors && Object.keys(init.errors).length
      ? ": " + Object.entries(init.errors).map(([k, v]) => `${k}: ${v}`).join("; ")
      : "";
    const hint = init.hint ? `: ${init.hint}` : "";
    super(
      `Proxmox API error ${init.status} on ${init.method} ${init.path}: ${init.apiMessage}${details}${hint}`,
      options,
    );
    this.name = "ProxmoxApiError";
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.apiMessage = init.apiMessage;
    if (init.errors) this.errors = init.errors;
  }
}

/** Authentication failed (HTTP 401, a refused login, or a login that needs a second factor). */
export class ProxmoxAuthError extends ProxmoxApiError {
  constructor(init: ApiErrorInit, options?: ErrorOptions) {
    super(init, options);
    this.name = "ProxmoxAuthError";
  }
}

/** What kind of network or TLS failure a {@link ProxmoxConnectionError} is. */
export type ConnectionFailure = "dns" | "refused" | "tls" | "reset" | "timeout" | "other";

/** Fields of a {@link ProxmoxConnectionError}. */
export interface ConnectionErrorInit {
  kind: ConnectionFailure;
  /** `host:port` the client tried to reach. */
  target: string;
  method: HttpMethod;
  path: string;
  /** What went wrong, in words. */
  reason: string;
  /** What to check or do. */
  hint: string;
}

/** No HTTP answer: DNS, refused connection, TLS failure, reset or timeout. */
export class ProxmoxConnectionError extends ProxmoxError {
  /** Failure category; `timeout` for {@link ProxmoxTimeoutError}. */
  readonly kind: ConnectionFailure;
  /** `host:port` the client tried to reach. */
  readonly target: string;
  /** HTTP method of the failed request. */
  readonly method: HttpMethod;
  /** API path of the failed request. */
  readonly path: string;
  /** What went wrong, in words (e.g. "connection refused"). */
  readonly reason: string;
  /** What to check or do. */
  readonly hint: string;

  constructor(init: ConnectionErrorInit, options?: ErrorOptions) {
    super(
      `Cannot reach Proxmox VE at ${init.target} (${init.method} ${init.path}): ${init.reason}: ${init.hint}`,
      options,
    );
    this.name = "ProxmoxConnectionError";
    this.kind = init.kind;
    this.target = init.target;
    this.method = init.method;
    this.path = init.path;
    this.reason = init.reason;
    this.hint = init.hint;
  }
}

/** The request did not complete within the client's timeout. */
export class ProxmoxTimeoutError extends ProxmoxConnectionError {
  /** The timeout that elapsed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(
    init: { target: string; method: HttpMethod; path: string; timeoutMs: number },
    options?: ErrorOptions,
  ) {
    super({
      kind: "timeout",
      target: init.target,
      method: init.method,
      path: init.path,
      reason: `no answer within ${formatSeconds(init.timeoutMs)}`,
      hint: "check that the host is reachable (firewall, VPN, routing) and the node is not " +
        "overloaded, or raise timeout in the configuration",
    }, options);
    this.name = "ProxmoxTimeoutError";
    this.timeoutMs = init.timeoutMs;
  }
}

/** How one endpoint failed, as listed by {@link ProxmoxEndpointsError}. */
export interface EndpointFailure {
  /** `host:port` of the endpoint. */
  target: string;
  /** What went wrong there, in words (e.g. "connection refused", "HTTP 503 Service unavailable"). */
  reason: string;
  /** The error the endpoint gave. */
  error: Error;
}

/**
 * No endpoint of the cluster could serve a request: each was unreachable (or, for a GET,
 * answered 502/503). Lists every endpoint with its failure.
 */
export class ProxmoxEndpointsError extends ProxmoxConnectionError {
  /** One entry per endpoint tried, in the order tried. */
  readonly failures: readonly EndpointFailure[];

  constructor(
    init: { method: HttpMethod; path: string; failures: readonly EndpointFailure[] },
    options?: ErrorOptions,
  ) {
    const { method, path, failures } = init;
    const kinds = new Set(
      failures.map((f) => f.error instanceof ProxmoxConnectionError ? f.error.kind : "other"),
    );
    const reason = failures.map((f) => `${f.target}: ${f.reason}`).join("; ");
    const hint = "check that the nodes are up and pveproxy runs on them (systemctl status " +
      "pveproxy), and host, fallback_hosts and port in the configuration";
    super({
      kind: kinds.size === 1 ? [...kinds][0] : "other",
      target: failures.map((f) => f.target).join(", "),
      method,
      path,
      reason,
      hint,
    }, options);
    this.name = "ProxmoxEndpointsError";
    this.message = `No Proxmox VE endpoint could serve ${method} ${path} (${failures.length} ` +
      `tried): ${reason}: ${hint}`;
    this.failures = failures;
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(3).replace(/0+$/, "")} s`;
}

/** Classifies a `fetch` failure message into a kind, a reason and an actionable hint. */
export function classifyNetworkFailure(
  error: unknown,
): { kind: ConnectionFailure; reason: string; hint: string } {
  const text = stripUrls(errorChainText(error));
  if (/close_notify/i.test(text)) {
    // The peer dropped an established TLS connection (node or pveproxy went away).
    return {
      kind: "reset",
      reason: "the connection was closed unexpectedly",
      hint: "check the network path and pveproxy on the node; retrying may help",
    };
  }
  if (
    /UnknownIssuer|self[- ]signed|unable to get local issuer|certificate verify failed/i.test(text)
  ) {
    return {
      kind: "tls",
      reason: "the server certificate is not trusted (unknown issuer)",
      hint: "set ca_file to the cluster CA (/etc/pve/pve-root-ca.pem, copied from a node) or " +
        "fingerprint to the node certificate's SHA-256 fingerprint",
    };
  }
  if (/NotValidForName|not valid for name|hostname mismatch|CertNotValidForName/i.test(text)) {
    return {
      kind: "tls",
      reason: "the server certificate does not name this host",
      hint: "set host to a name the certificate lists (see pvecm updatecerts), or use a " +
        "fingerprint",
    };
  }
  if (
    /certificate|tls|ssl|handshake|corrupt message/i.test(text) &&
    !/connection (refused|reset)/i.test(text)
  ) {
    return {
      kind: "tls",
      reason: "the TLS handshake failed",
      hint: "check that the port speaks HTTPS (pveproxy on 8006) and that ca_file or " +
        "fingerprint match the node certificate",
    };
  }
  if (
    /dns error|failed to lookup|Name or service not known|nodename nor servname|no such host|getaddrinfo/i
      .test(text)
  ) {
    return {
      kind: "dns",
      reason: "the host name could not be resolved",
      hint: "check host in the configuration and the DNS of this machine",
    };
  }
  if (/refused/i.test(text)) {
    return {
      kind: "refused",
      reason: "connection refused",
      hint: "check port (8006 by default) and that pveproxy runs on the node " +
        "(systemctl status pveproxy)",
    };
  }
  if (/reset|broken pipe|connection closed|unexpected eof|incomplete message/i.test(text)) {
    return {
      kind: "reset",
      reason: "the connection was closed unexpectedly",
      hint: "check the network path and pveproxy on the node; retrying may help",
    };
  }
  if (/invalid HTTP version/i.test(text)) {
    return {
      kind: "other",
      reason: "the server did not answer plain HTTP",
      hint: "use an https:// base URL: pveproxy speaks only HTTPS",
    };
  }
  return {
    kind: "other",
    reason: stripUrls(firstLine(error instanceof Error ? error.message : String(error))),
    hint: "check host, port and the network path to the node",
  };
}

function errorChainText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    parts.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(" | ");
}

function firstLine(text: string): string {
  return text.split("\n")[0].trim() || "network error";
}

/** Removes URLs (which may carry query parameters) from a message. */
function stripUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s)]+/gi, "<url>");
}

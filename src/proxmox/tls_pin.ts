/**
 * An {@link HttpTransport} over `node:tls` for the two TLS modes Deno's `fetch` cannot do:
 * pinning the node certificate by its SHA-256 fingerprint, and (loudly discouraged) not
 * verifying it at all (`verify_ssl: false`).
 *
 * Why not `fetch`: Deno's `fetch` verifies against a CA list or not at all, process-wide
 * (`--unsafely-ignore-certificate-errors`, which also stops `caCerts` clients trusting their CA
 * for other hosts); it offers no hook to look at the peer certificate before the request is
 * sent. `node:tls` hands us the certificate on `secureConnect`, before we have written a single
 * byte, and needs only `--allow-net`. This is the one place the client does not use `fetch`;
 * everything else (CA files, public CAs) goes through `fetch` with `Deno.createHttpClient`.
 *
 * The transport speaks a minimal HTTP/1.1: one request per connection (`Connection: close`),
 * bodies by `Content-Length`, chunked encoding or connection close.
 *
 * @module
 */
import { isIP } from "node:net";
import { connect, type TLSSocket } from "node:tls";
import type { HttpTransport } from "./client.ts";
import { ProxmoxConnectionError } from "./errors.ts";
import type { HttpMethod } from "./api_schema/schema.ts";

/** How {@link nodeTlsTransport} checks the server. */
export type NodeTlsMode =
  | { kind: "pin"; /** SHA-256, colon hex, upper case. */ fingerprint: string }
  | { kind: "insecure" };

/** The peer certificate as seen in a TLS handshake. */
export interface PeerCertificate {
  /** SHA-256 fingerprint, colon hex, upper case. */
  fingerprint256: string;
  /** Issuer distinguished name, e.g. `CN=Proxmox Virtual Environment, O=PVE Cluster Manager CA`. */
  issuer: string;
  /** Subject distinguished name. */
  subject: string;
  /** Expiry date as the certificate states it. */
  validTo: string;
}

/** Builds a transport that checks the server certificate per `mode` before sending anything. */
export function nodeTlsTransport(mode: NodeTlsMode): HttpTransport {
  return (request) => send(request, mode);
}

/** Connects, completes the handshake and returns the server's certificate, then disconnects. */
export async function inspectCertificate(
  host: string,
  port: number,
  signal?: AbortSignal,
): Promise<PeerCertificate> {
  const socket = await handshake(host, port, signal);
  try {
    return peerCertificate(socket);
  } finally {
    socket.destroy();
  }
}

function peerCertificate(socket: TLSSocket): PeerCertificate {
  const cert = socket.getPeerCertificate();
  return {
    fingerprint256: String(cert?.fingerprint256 ?? "").toUpperCase(),
    issuer: distinguishedName(cert?.issuer),
    subject: distinguishedName(cert?.subject),
    validTo: String(cert?.valid_to ?? ""),
  };
}

function distinguishedName(dn: unknown): string {
  if (typeof dn !== "object" || dn === null) return "";
  return Object.entries(dn as Record<string, unknown>)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : String(v)}`)
    .reverse()
    .join(", ");
}

/** Opens a TLS connection without chain verification; resolves after the handshake. */
function handshake(host: string, port: number, signal?: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const bare = host.replace(/^\[(.*)\]$/, "$1");
    const socket = connect({
      host: bare,
      port,
      // SNI only for names; Proxmox nodes are often reached by IP.
      servername: isIP(bare) ? undefined : bare,
      // Verification is ours: the fingerprint is compared on secureConnect below.
      rejectUnauthorized: false,
      ALPNProtocols: ["http/1.1"],
    });
    const onAbort = () => {
      socket.destroy();
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("secureConnect", () => {
      signal?.removeEventListener("abort", onAbort);
      socket.removeListener("error", onError);
      resolve(socket);
    });
    const onError = (e: Error) => {
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(e);
    };
    socket.once("error", onError);
  });
}

function apiPathOf(url: URL): string {
  return url.pathname.replace(/^\/api2\/json/, "") || "/";
}

async function send(request: Request, mode: NodeTlsMode): Promise<Response> {
  const url = new URL(request.url);
  if (url.protocol !== "https:") {
    throw new TypeError(`The node:tls transport needs an https URL, got ${url.protocol}`);
  }
  const port = Number(url.port || 443);
  const body = request.body ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array();
  const signal = request.signal;
  const socket = await handshake(url.hostname, port, signal);
  if (mode.kind === "pin") {
    const seen = peerCertificate(socket);
    if (seen.fingerprint256 !== mode.fingerprint) {
      // Nothing has been written yet: the credentials never leave this process.
      socket.destroy();
      throw new ProxmoxConnectionError({
        kind: "tls",
        target: `${url.hostname}:${port}`,
        method: request.method as HttpMethod,
        path: apiPathOf(url),
        reason: `the certificate fingerprint ${seen.fingerprint256} does not match the pinned ` +
          `fingerprint ${mode.fingerprint} (issuer ${seen.issuer || "unknown"})`,
        hint: "if the node certificate was renewed on purpose, update fingerprint (shown by " +
          "proxmox-mcp doctor, or pvenode cert info on the node); otherwise something is " +
          "intercepting the connection",
      });
    }
  }
  return await exchange(socket, request, url, body, signal);
}

function exchange(
  socket: TLSSocket,
  request: Request,
  url: URL,
  body: Uint8Array,
  signal: AbortSignal,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let settled = false;
    const finish = (result: Response | Error, ok: boolean) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      if (ok) resolve(result as Response);
      else reject(result);
    };
    const onAbort = () => finish(signal.reason, false);
    signal.addEventListener("abort", onAbort, { once: true });
    const tryParse = (ended: boolean) => {
      const parsed = parseResponse(concat(chunks), ended);
      if (parsed instanceof Error) finish(parsed, false);
      else if (parsed) finish(parsed, true);
      else if (ended) finish(new Error("connection closed before a complete HTTP answer"), false);
    };
    socket.on("data", (d: Uint8Array) => {
      chunks.push(new Uint8Array(d));
      tryParse(false);
    });
    socket.once("end", () => tryParse(true));
    socket.once("close", () => tryParse(true));
    socket.once("error", (e: Error) => finish(e, false));

    const headers = new Headers(request.headers);
    headers.set("Host", url.host);
    headers.set("Connection", "close");
    headers.delete("Transfer-Encoding");
    if (body.byteLength > 0 || !["GET", "HEAD", "DELETE"].includes(request.method)) {
      headers.set("Content-Length", String(body.byteLength));
    }
    let head = `${request.method} ${url.pathname}${url.search} HTTP/1.1\r\n`;
    for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
    socket.write(new TextEncoder().encode(head + "\r\n"));
    if (body.byteLength) socket.write(body);
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const size = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  chunks.splice(0, chunks.length, out);
  return out;
}

const HEAD_END = new Uint8Array([13, 10, 13, 10]);

function indexOf(buf: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= buf.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (buf[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Parses a complete HTTP/1.1 response from `buf`; undefined while incomplete. `ended` says the
 * connection closed (a body without length then ends there).
 */
export function parseResponse(buf: Uint8Array, ended: boolean): Response | Error | undefined {
  const headEnd = indexOf(buf, HEAD_END);
  if (headEnd < 0) return undefined;
  const lines = new TextDecoder().decode(buf.subarray(0, headEnd)).split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!status) return new Error(`not an HTTP/1.1 answer: ${lines[0].slice(0, 40)}`);
  const code = Number(status[1]);
  if (code >= 100 && code < 200) {
    return parseResponse(buf.subarray(headEnd + 4), ended);
  }
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const rest = buf.subarray(headEnd + 4);
  let body: Uint8Array | undefined;
  if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
    const decoded = dechunk(rest);
    if (decoded instanceof Error) return decoded;
    body = decoded;
    headers.delete("transfer-encoding");
  } else if (headers.has("content-length")) {
    const length = Number(headers.get("content-length"));
    if (rest.byteLength >= length) body = rest.subarray(0, length);
  } else if (code === 204 || code === 304 || ended) {
    body = rest;
  }
  if (!body) return undefined;
  if (code < 200 || code > 599) return new Error(`unexpected HTTP status ${code}`);
  const nullBody = code === 204 || code === 304;
  return new Response(nullBody ? null : body.slice(), {
    status: code,
    statusText: status[2] ?? "",
    headers,
  });
}

/** Decodes a chunked body; undefined until the final chunk has arrived. */
function dechunk(buf: Uint8Array): Uint8Array | Error | undefined {
  const parts: Uint8Array[] = [];
  let at = 0;
  const crlf = new Uint8Array([13, 10]);
  for (;;) {
    const lineEnd = indexOf(buf, crlf, at);
    if (lineEnd < 0) return undefined;
    const sizeText = new TextDecoder().decode(buf.subarray(at, lineEnd)).split(";")[0].trim();
    const size = parseInt(sizeText, 16);
    if (!Number.isFinite(size) || !/^[0-9a-f]+$/i.test(sizeText)) {
      return new Error(`bad chunk size ${JSON.stringify(sizeText)}`);
    }
    const start = lineEnd + 2;
    if (size === 0) {
      if (indexOf(buf, crlf, start) < 0) return undefined;
      return concat(parts.length ? [...parts] : [new Uint8Array()]);
    }
    if (buf.byteLength < start + size + 2) return undefined;
    parts.push(buf.subarray(start, start + size));
    at = start + size + 2;
  }
}

/**
 * The listen address of the HTTP transport: parsing `HOST:PORT` and telling loopback apart.
 *
 * @module
 */
import { denoEnv } from "../config/env.ts";

/** Where the HTTP transport listens. */
export interface ListenAddress {
  /** Host name or IP address, IPv6 without brackets. */
  hostname: string;
  /** TCP port; 0 picks a free one. */
  port: number;
}

/** An unusable `--http` value; the message says what is allowed. */
export class ListenAddressError extends Error {
  /** @param message What was wrong and what is allowed. */
  constructor(message: string) {
    super(message);
    this.name = "ListenAddressError";
  }
}

/** Parses `HOST:PORT` (`127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:8080`, `localhost:0`). */
export function parseListenAddress(value: string): ListenAddress {
  const text = value.trim();
  const bracketed = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text);
  const plain = /^([^:\[\]\s/]+):(\d+)$/.exec(text);
  const match = bracketed ?? plain;
  if (!match) {
    throw new ListenAddressError(
      `Invalid listen address "${value}": expected HOST:PORT, e.g. 127.0.0.1:8080, ` +
        "0.0.0.0:8080 or [::1]:8080",
    );
  }
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ListenAddressError(`Invalid listen port in "${value}": expected 0–65535`);
  }
  return { hostname: match[1], port };
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return v4 !== null && v4.slice(1).every((o) => Number(o) <= 255);
}

/** `host:port` as it appears in a URL or Host header (IPv6 in brackets). */
export function hostPort(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/**
 * The listen address from `PROXMOX_MCP_LISTEN` (`HOST:PORT`), if set: `serve` then speaks HTTP
 * there, and `healthcheck` probes it, so a container's health check follows its address.
 */
export function listenFromEnv(env: (name: string) => string | undefined = denoEnv) {
  return env("PROXMOX_MCP_LISTEN")?.trim() || undefined;
}

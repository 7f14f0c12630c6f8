/**
 * Tickets, CSRF tokens and API-token headers, signed and checked the way PVE does it
 * (HMAC-signed here instead of RSA; same formats and lifetimes).
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Clock } from "../util/clock.ts";
import type { ClusterState } from "./state.ts";
import type { Identity } from "./privileges.ts";

/** Tickets and CSRF tokens live this long (seconds). */
export const TICKET_LIFETIME_S = 7200;
/** Tolerated clock skew for tickets issued "in the future" (seconds). */
const MAX_SKEW_S = 300;

function hexTime(seconds: number): string {
  return seconds.toString(16).toUpperCase().padStart(8, "0");
}

function safeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Issues and verifies tickets and CSRF tokens; rotating the key invalidates all of them. */
export class TicketAuthority {
  #key: Uint8Array;
  #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#key = crypto.getRandomValues(new Uint8Array(32));
  }

  /** Invalidates every ticket and CSRF token issued so far. */
  rotate(): void {
    this.#key = crypto.getRandomValues(new Uint8Array(32));
  }

  #sign(text: string): string {
    return createHmac("sha256", this.#key).update(text).digest("base64");
  }

  #nowS(): number {
    return Math.floor(this.#clock.now() / 1000);
  }

  #fresh(seconds: number): boolean {
    const age = this.#nowS() - seconds;
    return age <= TICKET_LIFETIME_S && age >= -MAX_SKEW_S;
  }

  /** A ticket `PVE:<userid>:<hex time>::<signature>` for `userid`. */
  issueTicket(userid: string): string {
    const plain = `PVE:${userid}:${hexTime(this.#nowS())}`;
    return `${plain}::${this.#sign(plain)}`;
  }

  /** The user id of a valid, unexpired ticket, or null. */
  verifyTicket(ticket: string): string | null {
    const m = /^(PVE:([^:]+):([0-9A-F]{8}))::(.+)$/.exec(ticket);
    if (!m) return null;
    if (!safeEqual(this.#sign(m[1]), m[4])) return null;
    return this.#fresh(parseInt(m[3], 16)) ? m[2] : null;
  }

  /** A CSRF prevention token `<hex time>:<signature>` bound to `userid`. */
  issueCsrf(userid: string): string {
    const t = hexTime(this.#nowS());
    return `${t}:${this.#sign(`${t}:${userid}`).replace(/=+$/, "")}`;
  }

  /** True when `token` is a valid CSRF token for `userid`. */
  verifyCsrf(token: string, userid: string): boolean {
    const m = /^([0-9A-F]{8}):(.+)$/.exec(token);
    if (!m) return false;
    if (!safeEqual(this.#sign(`${m[1]}:${userid}`).replace(/=+$/, ""), m[2])) return false;
    return this.#fresh(parseInt(m[1], 16));
  }
}

/** Outcome of authenticating a request. */
export type AuthResult =
  | { ok: true; identity: Identity }
  | { ok: false; reason: string };

/** Reads the `PVEAuthCookie` value from a Cookie header. */
export function ticketFromCookie(cookie: string | null): string | null {
  if (!cookie) return null;
  for (const part of cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === "PVEAuthCookie") {
      const raw = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    }
  }
  return null;
}

/** Authenticates by `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET` or ticket cookie. */
export function authenticate(
  headers: Headers,
  state: ClusterState,
  tickets: TicketAuthority,
): AuthResult {
  const authz = headers.get("authorization");
  if (authz !== null) {
    const m = /^PVEAPIToken=([^!\s]+)!([^=\s]+)=(\S+)$/.exec(authz.trim());
    if (!m) return { ok: false, reason: "invalid authorization header" };
    const [, userid, tokenid, secret] = m;
    const user = state.users.get(userid);
    const token = user?.tokens.get(tokenid);
    if (!token || !safeEqual(token.secret, secret)) {
      return { ok: false, reason: "invalid token value!" };
    }
    if (user?.enable === false) return { ok: false, reason: "user account disabled" };
    return {
      ok: true,
      identity: { userid, tokenid, principal: `${userid}!${tokenid}`, byTicket: false },
    };
  }
  const ticket = ticketFromCookie(headers.get("cookie"));
  if (ticket === null) return { ok: false, reason: "No ticket" };
  const userid = tickets.verifyTicket(ticket);
  if (userid === null || !state.users.has(userid) || state.users.get(userid)?.enable === false) {
    return { ok: false, reason: "invalid ticket" };
  }
  return { ok: true, identity: { userid, principal: userid, byTicket: true } };
}

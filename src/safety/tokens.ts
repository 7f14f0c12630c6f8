/**
 * One-time confirmation tokens: an HMAC (per-process secret) over the tool name, the exact
 * arguments and the plan, with an expiry. Each token executes at most one call.
 *
 * Format: `pmc1.<base64url payload>.<base64url HMAC-SHA256>`; the payload names the tool, the
 * hash of the canonical arguments, the hash of the plan, the expiry and a random nonce.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Clock } from "../util/clock.ts";

/** Why a token was not accepted. */
export type TokenProblem =
  | "malformed"
  | "forged"
  | "other-tool"
  | "expired"
  | "altered-args"
  | "plan-changed"
  | "used";

/** The outcome of checking a token. */
export type TokenCheck =
  | { ok: true; nonce: string; expiresAt: number }
  | { ok: false; problem: TokenProblem; message: string; tool?: string };

interface Payload {
  t: string;
  a: string;
  p: string;
  e: number;
  n: string;
}

const PREFIX = "pmc1";

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** Issues and checks confirmation tokens; remembers spent ones until they expire. */
export class ConfirmationTokens {
  #secret: Uint8Array;
  #clock: Clock;
  #ttlMs: number;
  /** Spent nonces → expiry (ms), pruned as they expire. */
  #spent = new Map<string, number>();

  /**
   * @param opts.ttlMs How long a token stays valid.
   * @param opts.secret HMAC key; default 32 random bytes (per process).
   */
  constructor(opts: { clock: Clock; ttlMs: number; secret?: Uint8Array }) {
    this.#clock = opts.clock;
    this.#ttlMs = opts.ttlMs;
    this.#secret = opts.secret ?? crypto.getRandomValues(new Uint8Array(32));
  }

  /** How long a new token stays valid, in ms. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** A token for `tool` bound to `argsHash` and `planHash`. */
  issue(tool: string, argsHash: string, planHash: string): { token: string; expiresAt: number } {
    const expiresAt = this.#clock.now() + this.#ttlMs;
    const nonce = b64url(crypto.getRandomValues(new Uint8Array(12)));
    const payload: Payload = { t: tool, a: argsHash, p: planHash, e: expiresAt, n: nonce };
    const body = b64url(new TextEncoder().encode(JSON.stringify(payload)));
    return { token: `${PREFIX}.${body}.${this.#sign(body)}`, expiresAt };
  }

  /** Checks `token` for `tool`, `argsHash` and `planHash` without spending it. */
  check(token: string, tool: string, argsHash: string, planHash: string): TokenCheck {
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== PREFIX) {
      return { ok: false, problem: "malformed", message: "it is not a confirmation token" };
    }
    const [, body, mac] = parts;
    const given = fromB64url(mac);
    const want = fromB64url(this.#sign(body))!;
    if (!given || given.length !== want.length || !timingSafeEqual(given, want)) {
      return {
        ok: false,
        problem: "forged",
        message: "it was not issued by this server (or the server restarted since)",
      };
    }
    let payload: Payload;
    try {
      payload = JSON.parse(new TextDecoder().decode(fromB64url(body)));
    } catch {
      return { ok: false, problem: "malformed", message: "its payload is unreadable" };
    }
    if (payload.t !== tool) {
      return {
        ok: false,
        problem: "other-tool",
        message: `it was issued for ${payload.t}, not ${tool}`,
        tool: payload.t,
      };
    }
    const now = this.#clock.now();
    if (now >= payload.e) {
      const ago = Math.round((now - payload.e) / 1000);
      return { ok: false, problem: "expired", message: `it expired ${ago} s ago` };
    }
    if (payload.a !== argsHash) {
      return {
        ok: false,
        problem: "altered-args",
        message: "it was issued for different arguments",
      };
    }
    if (this.#spent.has(payload.n)) {
      return { ok: false, problem: "used", message: "it was already used (tokens work once)" };
    }
    if (payload.p !== planHash) {
      return {
        ok: false,
        problem: "plan-changed",
        message: "the cluster changed since it was issued, so the plan is different now",
      };
    }
    return { ok: true, nonce: payload.n, expiresAt: payload.e };
  }

  /** Spends a checked token; false when it was spent already (a concurrent call won). */
  spend(nonce: string, expiresAt: number): boolean {
    this.#prune();
    if (this.#spent.has(nonce)) return false;
    this.#spent.set(nonce, expiresAt);
    return true;
  }

  #prune(): void {
    const now = this.#clock.now();
    for (const [nonce, exp] of this.#spent) if (exp <= now) this.#spent.delete(nonce);
  }

  #sign(body: string): string {
    return b64url(createHmac("sha256", this.#secret).update(body).digest());
  }
}

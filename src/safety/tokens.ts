/**
 * One-time confirmation tokens: an HMAC (per-process secret) over the tool name, the exact
 * arguments, the plan and the MCP session that received the plan, with an expiry. Each token
 * executes at most one call, and only in the session it was issued to.
 *
 * Format: `pmc1.<base64url payload>.<base64url HMAC-SHA256>`; the payload names the tool, the
 * hash of the canonical arguments, the hash of the plan, the hash of the session, the expiry and
 * a random nonce. Both parts must be canonical unpadded base64url: a variant spelling of the same
 * bytes (e.g. other padding bits in the last character) is refused.
 *
 * @module
 */
import { equalBytes, hmacSha256 } from "../util/sha256.ts";
import type { Clock } from "../util/clock.ts";

/** Why a token was not accepted. */
export type TokenProblem =
  | "malformed"
  | "forged"
  | "other-session"
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
  /** Hash of the session the token was issued to. */
  s: string;
  e: number;
  n: string;
}

const PREFIX = "pmc1";

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes canonical unpadded base64url; undefined for anything else (including variants). */
function fromB64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  let bytes: Uint8Array;
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  // atob ignores the unused low bits of the last character: only the canonical spelling counts.
  return b64url(bytes) === text ? bytes : undefined;
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

  /** A token for `tool` bound to `argsHash`, `planHash` and the caller's `session`. */
  issue(
    tool: string,
    argsHash: string,
    planHash: string,
    session: string,
  ): { token: string; expiresAt: number } {
    const expiresAt = this.#clock.now() + this.#ttlMs;
    const nonce = b64url(crypto.getRandomValues(new Uint8Array(12)));
    const payload: Payload = {
      t: tool,
      a: argsHash,
      p: planHash,
      s: this.#sessionHash(session),
      e: expiresAt,
      n: nonce,
    };
    const body = b64url(new TextEncoder().encode(JSON.stringify(payload)));
    return { token: `${PREFIX}.${body}.${this.#sign(body)}`, expiresAt };
  }

  /** Checks `token` for `tool`, `argsHash`, `planHash` and `session` without spending it. */
  check(
    token: string,
    tool: string,
    argsHash: string,
    planHash: string,
    session: string,
  ): TokenCheck {
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== PREFIX) {
      return { ok: false, problem: "malformed", message: "it is not a confirmation token" };
    }
    const [, body, mac] = parts;
    const given = fromB64url(mac);
    const want = this.#mac(body);
    if (
      !given || fromB64url(body) === undefined || given.length !== want.length ||
      !equalBytes(given, want)
    ) {
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
    if (payload.s !== this.#sessionHash(session)) {
      return {
        ok: false,
        problem: "other-session",
        message: "it was issued to another MCP session (a token works only in the session " +
          "that received the plan)",
      };
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

  /** What a token carries for `session` (keyed, so the session's identity never appears). */
  #sessionHash(session: string): string {
    return b64url(hmacSha256(this.#secret, `session\0${session}`).subarray(0, 16));
  }

  #mac(body: string): Uint8Array {
    return hmacSha256(this.#secret, body);
  }

  #sign(body: string): string {
    return b64url(this.#mac(body));
  }
}

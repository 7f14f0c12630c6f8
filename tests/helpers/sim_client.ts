/**
 * A tiny HTTP client for simulator tests: token or ticket auth, form bodies, parsed JSON.
 *
 * @module
 */
import type { Simulator } from "../../src/simulator/mod.ts";

/** One parsed API answer. */
export interface SimAnswer {
  status: number;
  /** Parsed JSON body, or null for an empty body. */
  body:
    | { data?: unknown; message?: string; errors?: Record<string, string>; total?: number }
    | null;
  /** Raw body text. */
  text: string;
}

/** How requests authenticate. */
export type SimAuth =
  | { kind: "token"; tokenId: string; secret: string }
  | { kind: "ticket"; ticket: string; csrf?: string }
  | { kind: "none" };

/** Calls the simulator's API over HTTPS, trusting its test CA. */
export class SimApi implements Disposable {
  readonly client: Deno.HttpClient;
  constructor(readonly sim: Simulator, public auth: SimAuth = adminToken(sim)) {
    this.client = Deno.createHttpClient({ caCerts: [sim.caCert] });
  }

  /** Sends `method path` with params (query for GET/DELETE, form body otherwise). */
  async call(
    method: string,
    path: string,
    params: Record<string, string | number | string[]> = {},
    extraHeaders: Record<string, string> = {},
  ): Promise<SimAnswer> {
    const headers: Record<string, string> = { ...extraHeaders };
    if (this.auth.kind === "token") {
      headers.Authorization = `PVEAPIToken=${this.auth.tokenId}=${this.auth.secret}`;
    } else if (this.auth.kind === "ticket") {
      headers.Cookie = `PVEAuthCookie=${encodeURIComponent(this.auth.ticket)}`;
      if (this.auth.csrf && method !== "GET") headers.CSRFPreventionToken = this.auth.csrf;
    }
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      for (const item of Array.isArray(v) ? v : [v]) form.append(k, String(item));
    }
    const inQuery = method === "GET" || method === "DELETE";
    const qs = inQuery && [...form].length ? `?${form}` : "";
    const init: RequestInit & { client: Deno.HttpClient } = {
      method,
      headers,
      client: this.client,
    };
    if (!inQuery) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      init.body = form.toString();
    }
    const res = await fetch(`${this.sim.url}/api2/json${path}${qs}`, init);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, text };
  }

  /** GET and return `data`, failing on a non-200 status. */
  async data<T = unknown>(path: string, params: Record<string, string | number> = {}): Promise<T> {
    const r = await this.call("GET", path, params);
    if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}: ${r.text}`);
    return r.body!.data as T;
  }

  [Symbol.dispose](): void {
    this.client.close();
  }
}

/** Token auth as root@pam!mcp. */
export function adminToken(sim: Simulator): SimAuth {
  return {
    kind: "token",
    tokenId: sim.credentials.admin.tokenId,
    secret: sim.credentials.admin.tokenSecret,
  };
}

/** Token auth as auditor@pve!ro. */
export function auditorToken(sim: Simulator): SimAuth {
  return {
    kind: "token",
    tokenId: sim.credentials.auditor.tokenId,
    secret: sim.credentials.auditor.tokenSecret,
  };
}

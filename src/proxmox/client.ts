/**
 * The Proxmox VE API client: authentication (API token or ticket + CSRF), per-request
 * timeouts, bounded retries for idempotent GETs, and typed errors.
 *
 * @module
 */
import type { HttpMethod } from "./api_schema/schema.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import { type LoginForm, type Ticket, TicketSession } from "./auth.ts";
import { encodeParams, type Params } from "./encode.ts";
import {
  classifyNetworkFailure,
  ProxmoxApiError,
  ProxmoxAuthError,
  ProxmoxConnectionError,
  ProxmoxTimeoutError,
} from "./errors.ts";

export type { HttpMethod } from "./api_schema/schema.ts";
export { apiPath, type Params } from "./encode.ts";

/** Sends one HTTP request; the default uses `fetch` with a `Deno.HttpClient`. */
export type HttpTransport = (request: Request) => Promise<Response>;

/** How to authenticate. */
export type ClientAuth =
  | { type: "token"; /** `USER@REALM!TOKENID` */ tokenId: string; secret: string }
  | {
    type: "ticket";
    /** `user@realm`, or a bare user name with `realm`. */
    username: string;
    password: string;
    realm?: string;
  };

/** Retry policy for idempotent GETs. */
export interface RetryPolicy {
  /** Total attempts including the first (1 disables retries). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Options of a {@link ProxmoxClient}. */
export interface ClientOptions {
  /** Origin of the API, e.g. `https://pve1.example.lan:8006`. */
  baseUrl: string;
  auth: ClientAuth;
  /** PEM certificates to trust (the cluster CA); used by the default transport. */
  caCerts?: string[];
  /** Per-request timeout in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Time source for ticket age (default the system clock). */
  clock?: Clock;
  /** Receives one debug record per HTTP exchange (default silent). */
  logger?: Logger;
  /** Retries for GETs (default 3 attempts, 250 ms base, 4 s cap). */
  retry?: RetryPolicy;
  /** Replaces the default `fetch` transport (pinning, tests). */
  transport?: HttpTransport;
  /** Waits between retries (injectable for tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1) (injectable for tests). */
  random?: () => number;
}

/** Per-call options. */
export interface RequestOptions {
  /** Aborts the request; the abort reason is thrown as is. */
  signal?: AbortSignal;
}

/** HTTP statuses a GET is retried on: bad gateway, unavailable, and Proxmox's proxy failure. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([502, 503, 596]);

const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 250, maxDelayMs: 4000 };
const API_PREFIX = "/api2/json";

type Outcome = { data: unknown } | { unauthorized: ProxmoxAuthError; ticket?: Ticket };

/** A client for one Proxmox VE API endpoint. Methods return the `data` member of answers. */
export class ProxmoxClient implements AsyncDisposable {
  /** Origin of the API, without trailing slash. */
  readonly baseUrl: string;
  /** `host:port` reached, for messages. */
  readonly target: string;
  #auth: ClientAuth;
  #session?: TicketSession;
  #transport: HttpTransport;
  #httpClient?: Deno.HttpClient;
  #timeoutMs: number;
  #logger: Logger;
  #retry: RetryPolicy;
  #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  #random: () => number;

  constructor(options: ClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new TypeError(`baseUrl must be an http(s) URL, got protocol ${url.protocol}`);
    }
    this.baseUrl = url.origin;
    this.target = `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
    this.#auth = options.auth;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#logger = options.logger ?? silentLogger;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#sleep = options.sleep ?? abortableSleep;
    this.#random = options.random ?? Math.random;
    if (options.transport) {
      this.#transport = options.transport;
    } else {
      const client = options.caCerts?.length
        ? Deno.createHttpClient({ caCerts: options.caCerts })
        : undefined;
      this.#httpClient = client;
      this.#transport = client ? (req) => fetch(req, { client }) : (req) => fetch(req);
    }
    if (options.auth.type === "ticket") {
      const { username, password, realm } = options.auth;
      this.#session = new TicketSession({
        username,
        password,
        realm,
        clock: options.clock ?? systemClock,
        logger: this.#logger,
        login: (form) => this.#postTicket(form),
      });
    }
  }

  /** GET `path` with `params` as query string; retried on transient failures. */
  get<T = unknown>(path: string, params?: Params, opts?: RequestOptions): Promise<T> {
    return this.request<T>("GET", path, params, opts);
  }

  /** POST `params` as a form to `path`; never retried except once after a re-login. */
  post<T = unknown>(path: string, params?: Params, opts?: RequestOptions): Promise<T> {
    return this.request<T>("POST", path, params, opts);
  }

  /** PUT `params` as a form to `path`; never retried except once after a re-login. */
  put<T = unknown>(path: string, params?: Params, opts?: RequestOptions): Promise<T> {
    return this.request<T>("PUT", path, params, opts);
  }

  /** DELETE `path` with `params` as query string; never retried except once after a re-login. */
  delete<T = unknown>(path: string, params?: Params, opts?: RequestOptions): Promise<T> {
    return this.request<T>("DELETE", path, params, opts);
  }

  /**
   * Sends one API request and returns the answer's `data` member. `path` is the API path
   * after `/api2/json` with segments already encoded (see `apiPath`).
   */
  async request<T = unknown>(
    method: HttpMethod,
    path: string,
    params?: Params,
    opts: RequestOptions = {},
  ): Promise<T> {
    if (!path.startsWith("/") || path.includes("?")) {
      throw new TypeError(`API path must start with "/" and carry no query string: ${path}`);
    }
    const signal = opts.signal;
    const attempts = method === "GET" ? Math.max(1, this.#retry.attempts) : 1;
    let reloggedIn = false;
    for (let attempt = 1;; attempt++) {
      let outcome: Outcome;
      try {
        outcome = await this.#attempt(method, path, params, signal, attempt);
      } catch (e) {
        if (signal?.aborted || attempt >= attempts || !isTransient(e)) throw e;
        await this.#sleep(this.#backoff(attempt), signal);
        continue;
      }
      if ("data" in outcome) return outcome.data as T;
      if (!this.#session || reloggedIn || !outcome.ticket) throw outcome.unauthorized;
      reloggedIn = true;
      this.#logger.log("debug", "proxmox ticket refused, logging in again", { method, path });
      await abortable(this.#session.refreshAfterUnauthorized(outcome.ticket), signal);
      attempt--; // the retry after a re-login does not use up a transient-failure attempt
    }
  }

  /** Releases the HTTP client (pooled connections). */
  close(): void {
    this.#httpClient?.close();
    this.#httpClient = undefined;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #backoff(attempt: number): number {
    const { baseDelayMs, maxDelayMs } = this.#retry;
    const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    return Math.round(cap / 2 + this.#random() * (cap / 2));
  }

  async #attempt(
    method: HttpMethod,
    path: string,
    params: Params | undefined,
    signal: AbortSignal | undefined,
    attempt: number,
  ): Promise<Outcome> {
    const headers = new Headers({ Accept: "application/json" });
    let ticket: Ticket | undefined;
    if (this.#auth.type === "token") {
      headers.set("Authorization", `PVEAPIToken=${this.#auth.tokenId}=${this.#auth.secret}`);
    } else if (this.#session) {
      ticket = await abortable(this.#session.current(), signal);
      headers.set("Cookie", `PVEAuthCookie=${ticket.ticket}`);
      if (method !== "GET") headers.set("CSRFPreventionToken", ticket.csrfToken);
    }
    const { status, reason, text } = await this.#exchange(method, path, params, headers, signal, {
      attempt,
    });
    if (status === 401) {
      return { unauthorized: this.#unauthorized(method, path, reason, text, ticket), ticket };
    }
    return { data: parseAnswer(status, reason, text, method, path) };
  }

  /** Sends a request and reads the whole body, mapping network failures to typed errors. */
  async #exchange(
    method: HttpMethod,
    path: string,
    params: Params | undefined,
    headers: Headers,
    signal: AbortSignal | undefined,
    logFields: Record<string, unknown>,
  ): Promise<{ status: number; reason: string; text: string }> {
    const encoded = encodeParams(params);
    let url = `${this.baseUrl}${API_PREFIX}${path}`;
    let body: string | undefined;
    if (method === "GET" || method === "DELETE") {
      const query = encoded.toString();
      if (query) url += `?${query}`;
    } else {
      body = encoded.toString();
      headers.set("Content-Type", "application/x-www-form-urlencoded");
    }
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const started = performance.now();
    try {
      const response = await this.#transport(
        new Request(url, { method, headers, body, signal: combined }),
      );
      const text = await abortable(response.text(), combined, () => response.body?.cancel());
      this.#logger.log("debug", "proxmox request", {
        method,
        path,
        status: response.status,
        ms: Math.round(performance.now() - started),
        ...logFields,
      });
      return { status: response.status, reason: response.statusText, text };
    } catch (e) {
      const error = this.#networkError(e, method, path, signal, timeout);
      this.#logger.log("debug", "proxmox request failed", {
        method,
        path,
        error: error instanceof ProxmoxConnectionError ? error.kind : "aborted",
        ms: Math.round(performance.now() - started),
        ...logFields,
      });
      throw error;
    }
  }

  #networkError(
    e: unknown,
    method: HttpMethod,
    path: string,
    signal: AbortSignal | undefined,
    timeout: AbortSignal,
  ): unknown {
    if (signal?.aborted) return signal.reason;
    if (timeout.aborted) {
      return new ProxmoxTimeoutError({
        target: this.target,
        method,
        path,
        timeoutMs: this.#timeoutMs,
      });
    }
    if (e instanceof ProxmoxConnectionError || e instanceof ProxmoxApiError) return e;
    const { kind, reason, hint } = classifyNetworkFailure(e);
    return new ProxmoxConnectionError(
      { kind, target: this.target, method, path, reason, hint },
      { cause: e },
    );
  }

  #unauthorized(
    method: HttpMethod,
    path: string,
    reason: string,
    text: string,
    ticket: Ticket | undefined,
  ): ProxmoxAuthError {
    const { apiMessage } = readErrorBody(401, reason, text);
    const hint = this.#auth.type === "token"
      ? "authentication failed: check token_id (USER@REALM!TOKENID: user, realm and token name " +
        "must exist), token_secret (the token's secret) and that the token has not expired or " +
        "been removed; privilege-separated tokens also need their own permissions"
      : `authentication failed for ${this.#session?.user ?? "the user"}${
        ticket ? " even after logging in again" : ""
      }: check username, realm and password`;
    return new ProxmoxAuthError({ status: 401, method, path, apiMessage, hint });
  }

  /** `POST /access/ticket` without authentication; never logs or reports the form. */
  async #postTicket(form: LoginForm): Promise<Omit<Ticket, "obtainedAt">> {
    const path = "/access/ticket";
    const params: Params = { username: form.username, password: form.password, realm: form.realm };
    const headers = new Headers({ Accept: "application/json" });
    const { status, reason, text } = await this.#exchange(
      "POST",
      path,
      params,
      headers,
      undefined,
      {
        login: true,
      },
    );
    const user = form.username.includes("@") || !form.realm
      ? form.username
      : `${form.username}@${form.realm}`;
    if (status === 401) {
      throw new ProxmoxAuthError({
        status,
        method: "POST",
        path,
        apiMessage: readErrorBody(status, reason, text).apiMessage,
        hint: `login failed for ${user}: check username, realm and password`,
      });
    }
    const data = parseAnswer(status, reason, text, "POST", path) as Record<string, unknown> | null;
    if (data && (data.NeedTFA === 1 || data.NeedTFA === true || data.NeedTFA === "1")) {
      throw new ProxmoxAuthError({
        status: 401,
        method: "POST",
        path,
        apiMessage: "second factor required",
        hint: `${user} has two-factor authentication enabled: create an API token for it ` +
          "(token_id and token_secret) instead of using the password",
      });
    }
    const ticket = data?.ticket;
    const csrf = data?.CSRFPreventionToken;
    if (typeof ticket !== "string" || typeof csrf !== "string") {
      throw new ProxmoxApiError({
        status,
        method: "POST",
        path,
        apiMessage: "the login answer has no ticket or CSRFPreventionToken",
      });
    }
    const username = typeof data?.username === "string" ? data.username : user;
    return { ticket, csrfToken: csrf, username };
  }
}

/** True for failures worth retrying an idempotent request on. */
export function isTransient(error: unknown): boolean {
  if (error instanceof ProxmoxConnectionError) return error.kind !== "tls" && error.kind !== "dns";
  if (error instanceof ProxmoxAuthError) return false;
  return error instanceof ProxmoxApiError && RETRY_STATUSES.has(error.status);
}

/** Returns `data` of a successful answer or throws a {@link ProxmoxApiError}. */
function parseAnswer(
  status: number,
  reason: string,
  text: string,
  method: HttpMethod,
  path: string,
): unknown {
  if (status < 200 || status > 299) {
    const { apiMessage, errors } = readErrorBody(status, reason, text);
    throw new ProxmoxApiError({ status, method, path, apiMessage, errors, hint: hintFor(status) });
  }
  if (text.trim() === "") return null;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProxmoxApiError({
      status,
      method,
      path,
      apiMessage: "the answer is not JSON",
      hint: "check that host and port point at the Proxmox VE API (pveproxy, port 8006)",
    });
  }
  return isRecord(body) ? body.data ?? null : null;
}

function hintFor(status: number): string | undefined {
  if (status === 403) {
    return "the user or token lacks this privilege (API tokens with privilege separation need " +
      "their own ACL entries: pveum acl modify)";
  }
  if (status === 595) return "the node is unknown to the cluster or offline";
  return undefined;
}

/** Extracts Proxmox's message and per-parameter errors from an error answer. */
function readErrorBody(
  status: number,
  reason: string,
  text: string,
): { apiMessage: string; errors?: Record<string, string> } {
  let message: string | undefined;
  let errors: Record<string, string> | undefined;
  try {
    const body: unknown = JSON.parse(text);
    if (isRecord(body)) {
      if (typeof body.message === "string" && body.message.trim()) message = body.message.trim();
      if (isRecord(body.errors)) {
        errors = {};
        for (const [k, v] of Object.entries(body.errors)) {
          errors[k] = (typeof v === "string" ? v : JSON.stringify(v)).trim();
        }
      }
    }
  } catch {
    // Not JSON: the HTTP reason carries the message.
  }
  const apiMessage = message ?? (reason.trim() || `HTTP ${status}`);
  return errors ? { apiMessage, errors } : { apiMessage };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Waits for `promise` unless `signal` aborts first (then rejects with its reason). */
function abortable<T>(
  promise: Promise<T>,
  signal?: AbortSignal,
  onAbort?: () => unknown,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    onAbort?.();
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      try {
        const result = onAbort?.();
        if (result instanceof Promise) result.catch(() => {});
      } catch {
        // Cancelling a body that is already closed is fine.
      }
      reject(signal.reason);
    };
    signal.addEventListener("abort", abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", abort);
        reject(error);
      },
    );
  });
}

/** `setTimeout` as a promise that rejects with the signal's reason on abort. */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(id);
      reject(signal?.reason);
    };
    const id = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

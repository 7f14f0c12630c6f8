/**
 * The Proxmox VE API client: authentication (API token or ticket + CSRF), per-request
 * timeouts, bounded retries for idempotent GETs, failover between the API endpoints of several
 * nodes of one cluster, and typed errors.
 *
 * @module
 */
import type { HttpMethod } from "./api_schema/schema.ts";
import { abortable, abortableSleep } from "../util/abort.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import { type LoginForm, type Ticket, TicketSession } from "./auth.ts";
import { encodeParams, type Params } from "./encode.ts";
import { DataListReader, NotJsonError } from "./json_list.ts";
import {
  classifyNetworkFailure,
  type EndpointFailure,
  ProxmoxApiError,
  ProxmoxAuthError,
  ProxmoxConnectionError,
  ProxmoxEndpointsError,
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
  /** Origin of the API, e.g. `https://pve1.example.lan:8006`: the endpoint tried first. */
  baseUrl: string;
  /**
   * Origins of other nodes of the same cluster (every node serves the whole API), tried in
   * order when an endpoint cannot be reached; see {@link ProxmoxClient.request}.
   */
  fallbackUrls?: readonly string[];
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

/** Turns one element of an answer's `data` list into an item, or drops it (undefined). */
export type ElementParser<T> = (element: unknown) => T | undefined;

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

/** One API endpoint: an origin and its `host:port` for messages. */
interface Endpoint {
  origin: string;
  target: string;
}

/** Failover bookkeeping of one request. */
interface Progress {
  /** Rounds allowed: retry attempts for GETs, 1 for writes. */
  rounds: number;
  /** The current round (a round tries each endpoint at most once). */
  round: number;
  /** Endpoints that failed in the current round, in order. */
  failed: { index: number; error: Error }[];
}

/**
 * A client for the Proxmox VE API of one cluster, reached through one endpoint or several.
 * Methods return the `data` member of answers.
 */
export class ProxmoxClient implements AsyncDisposable {
  /** Origins of every endpoint, the primary first, without trailing slash. */
  readonly endpoints: readonly string[];
  #endpoints: readonly Endpoint[];
  /** Index of the endpoint in use: the one that last answered. */
  #current = 0;
  #auth: ClientAuth;
  #session?: TicketSession;
  /** Sends one exchange: `fetch` itself by default, else the configured transport. */
  #send: (url: string, init: RequestInit & { client?: Deno.HttpClient }) => Promise<Response>;
  #httpClient?: Deno.HttpClient;
  #timeoutMs: number;
  #logger: Logger;
  #retry: RetryPolicy;
  #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  #random: () => number;

  /** Who requests authenticate as: `user@realm`, or `user@realm!token` for an API token. */
  get identity(): string {
    if (this.#auth.type === "token") return this.#auth.tokenId;
    const { username, realm } = this.#auth;
    return username.includes("@") || !realm ? username : `${username}@${realm}`;
  }

  constructor(options: ClientOptions) {
    const endpoints: Endpoint[] = [];
    for (const raw of [options.baseUrl, ...(options.fallbackUrls ?? [])]) {
      const endpoint = parseEndpoint(raw, endpoints.length ? "fallbackUrls" : "baseUrl");
      if (!endpoints.some((e) => e.origin === endpoint.origin)) endpoints.push(endpoint);
    }
    this.#endpoints = endpoints;
    this.endpoints = endpoints.map((e) => e.origin);
    this.#auth = options.auth;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#logger = options.logger ?? silentLogger;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#sleep = options.sleep ?? abortableSleep;
    this.#random = options.random ?? Math.random;
    const transport = options.transport;
    if (transport) {
      this.#send = (url, init) => transport(new Request(url, init));
    } else {
      const client = options.caCerts?.length
        ? Deno.createHttpClient({ caCerts: options.caCerts })
        : undefined;
      this.#httpClient = client;
      // No Request object in between: fetch() takes the URL and options as they are.
      this.#send = (url, init) => {
        if (client) init.client = client;
        return fetch(url, init);
      };
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

  /**
   * GET `path` whose answer's `data` is a list, read element by element as the body arrives
   * (see `json_list.ts`: the answer is never held whole) and turned into items by `parse`.
   * Retried like {@link get}; a `data` that is not a list gives no items. A malformed answer is
   * refused like by {@link get}.
   */
  getList<T>(
    path: string,
    params: Params | undefined,
    parse: ElementParser<T>,
    opts: RequestOptions = {},
  ): Promise<T[]> {
    return this.#request<T[]>("GET", path, params, opts, parse as ElementParser<unknown>);
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

  /** Origin of the endpoint in use (the one that last answered), without trailing slash. */
  get baseUrl(): string {
    return this.#endpoints[this.#current].origin;
  }

  /** `host:port` of the endpoint in use, for messages. */
  get target(): string {
    return this.#endpoints[this.#current].target;
  }

  /**
   * Sends one API request and returns the answer's `data` member. `path` is the API path
   * after `/api2/json` with segments already encoded (see `apiPath`).
   *
   * With several endpoints the client stays on the one that last answered and moves to the
   * next when it cannot be reached. A GET moves on after any connection failure but a TLS one
   * (a trust problem, reported as is) and after a 502 or 503. A write moves on only when it
   * provably never reached a server (DNS failure, refused connection, or a failed login before
   * it): after a reset or a timeout it may have run, so it is not sent again. Any other answer,
   * including a 595 or 596 about another node, is the answer. When every endpoint failed, a
   * {@link ProxmoxEndpointsError} lists each one.
   */
  request<T = unknown>(
    method: HttpMethod,
    path: string,
    params?: Params,
    opts: RequestOptions = {},
  ): Promise<T> {
    return this.#request<T>(method, path, params, opts);
  }

  /** {@link request}; with `list`, a successful answer's `data` list is read into items. */
  async #request<T>(
    method: HttpMethod,
    path: string,
    params: Params | undefined,
    opts: RequestOptions,
    list?: ElementParser<unknown>,
  ): Promise<T> {
    if (!path.startsWith("/") || path.includes("?")) {
      throw new TypeError(`API path must start with "/" and carry no query string: ${path}`);
    }
    const signal = opts.signal;
    const progress: Progress = {
      rounds: method === "GET" ? Math.max(1, this.#retry.attempts) : 1,
      round: 1,
      failed: [],
    };
    let reloggedIn = false;
    for (;;) {
      const index = this.#current;
      let ticket: Ticket | undefined;
      let outcome: Outcome;
      try {
        if (this.#session) ticket = await abortable(this.#session.current(), signal);
      } catch (e) {
        await this.#recover(e, index, true, method, path, progress, signal);
        continue;
      }
      try {
        outcome = await this.#attempt(
          index,
          method,
          path,
          params,
          ticket,
          signal,
          progress.round,
          list,
        );
      } catch (e) {
        await this.#recover(e, index, false, method, path, progress, signal);
        continue;
      }
      if ("data" in outcome) return outcome.data as T;
      if (!this.#session || reloggedIn || !outcome.ticket) throw outcome.unauthorized;
      reloggedIn = true;
      this.#logger.log("debug", "proxmox ticket refused, logging in again", { method, path });
      await abortable(this.#session.refreshAfterUnauthorized(outcome.ticket), signal);
    }
  }

  /**
   * Decides what follows a failure on endpoint `index`: returns after moving to another
   * endpoint or waiting for a retry, or throws. `beforeSend` says the request itself was not
   * sent (the login failed).
   */
  async #recover(
    e: unknown,
    index: number,
    beforeSend: boolean,
    method: HttpMethod,
    path: string,
    progress: Progress,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (signal?.aborted) throw e;
    const count = this.#endpoints.length;
    if (count > 1 && e instanceof Error && mayFailOver(e, method, beforeSend)) {
      progress.failed.push({ index, error: e });
      const tried = new Set(progress.failed.map((f) => f.index));
      for (let step = 1; step < count; step++) {
        const next = (index + step) % count;
        if (!tried.has(next)) return this.#moveTo(index, next, e, method, path);
      }
      // Every endpoint failed in this round: another round only if a failure was transient.
      const retry = progress.failed.some((f) => isTransient(f.error));
      if (progress.round >= progress.rounds || !retry) {
        throw new ProxmoxEndpointsError({
          method,
          path,
          failures: progress.failed.map((f) => this.#failure(f.index, f.error)),
        });
      }
      await this.#sleep(this.#backoff(progress.round), signal);
      progress.round++;
      progress.failed = [];
      return this.#moveTo(index, (index + 1) % count, e, method, path);
    }
    if (progress.round >= progress.rounds || !isTransient(e)) throw e;
    await this.#sleep(this.#backoff(progress.round), signal);
    progress.round++;
  }

  /** Makes endpoint `to` the one in use and logs why (never a secret). */
  #moveTo(from: number, to: number, error: Error, method: HttpMethod, path: string): void {
    this.#current = to;
    this.#logger.log("debug", "proxmox endpoint failover", {
      method,
      path,
      from: this.#endpoints[from].target,
      to: this.#endpoints[to].target,
      reason: this.#failure(from, error).reason,
    });
  }

  #failure(index: number, error: Error): EndpointFailure {
    const target = this.#endpoints[index].target;
    if (error instanceof ProxmoxApiError) {
      return { target, reason: `HTTP ${error.status} ${error.apiMessage}`, error };
    }
    if (error instanceof ProxmoxConnectionError) return { target, reason: error.reason, error };
    return { target, reason: error.message, error };
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
    index: number,
    method: HttpMethod,
    path: string,
    params: Params | undefined,
    ticket: Ticket | undefined,
    signal: AbortSignal | undefined,
    attempt: number,
    list: ElementParser<unknown> | undefined,
  ): Promise<Outcome> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.#auth.type === "token") {
      headers.Authorization = `PVEAPIToken=${this.#auth.tokenId}=${this.#auth.secret}`;
    } else if (ticket) {
      headers.Cookie = `PVEAuthCookie=${ticket.ticket}`;
      if (method !== "GET") headers.CSRFPreventionToken = ticket.csrfToken;
    }
    const logFields: Record<string, unknown> = { attempt };
    if (this.#endpoints.length > 1) logFields.endpoint = this.#endpoints[index].target;
    const { status, reason, text, items } = await this.#exchange(
      index,
      method,
      path,
      params,
      headers,
      signal,
      logFields,
      list,
    );
    if (status === 401) {
      return { unauthorized: this.#unauthorized(method, path, reason, text, ticket), ticket };
    }
    if (items === "not JSON") throw notJson(status, method, path);
    if (items) return { data: items };
    return { data: parseAnswer(status, reason, text, method, path) };
  }

  /**
   * Sends a request and reads the whole body, mapping network failures to typed errors. With
   * `list`, a successful answer's `data` list is read into `items` as it arrives instead.
   */
  async #exchange(
    index: number,
    method: HttpMethod,
    path: string,
    params: Params | undefined,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    logFields: Record<string, unknown>,
    list?: ElementParser<unknown>,
  ): Promise<{ status: number; reason: string; text: string; items?: unknown[] | "not JSON" }> {
    const endpoint = this.#endpoints[index];
    const encoded = encodeParams(params);
    let url = `${endpoint.origin}${API_PREFIX}${path}`;
    let body: string | undefined;
    if (method === "GET" || method === "DELETE") {
      const query = encoded.toString();
      if (query) url += `?${query}`;
    } else {
      body = encoded.toString();
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
    const timeout = requestTimeout(this.#timeoutMs, signal);
    const combined = timeout.signal;
    const started = performance.now();
    try {
      const response = await this.#send(url, { method, headers, body, signal: combined });
      const cancel = () => response.body?.cancel();
      const ok = response.status >= 200 && response.status <= 299;
      const items = list && ok
        ? await abortable(readList(response, list), combined, cancel)
        : undefined;
      const text = items ? "" : await abortable(response.text(), combined, cancel);
      this.#logger.log("debug", "proxmox request", {
        method,
        path,
        status: response.status,
        ms: Math.round(performance.now() - started),
        ...logFields,
      });
      return { status: response.status, reason: response.statusText, text, items };
    } catch (e) {
      const error = this.#networkError(e, endpoint.target, method, path, signal, timeout.timedOut);
      this.#logger.log("debug", "proxmox request failed", {
        method,
        path,
        error: error instanceof ProxmoxConnectionError ? error.kind : "aborted",
        ms: Math.round(performance.now() - started),
        ...logFields,
      });
      throw error;
    } finally {
      timeout.clear();
    }
  }

  #networkError(
    e: unknown,
    target: string,
    method: HttpMethod,
    path: string,
    signal: AbortSignal | undefined,
    timedOut: () => boolean,
  ): unknown {
    if (signal?.aborted) return signal.reason;
    if (timedOut()) {
      return new ProxmoxTimeoutError({
        target,
        method,
        path,
        timeoutMs: this.#timeoutMs,
      });
    }
    if (e instanceof ProxmoxConnectionError || e instanceof ProxmoxApiError) return e;
    const { kind, reason, hint } = classifyNetworkFailure(e);
    return new ProxmoxConnectionError(
      { kind, target, method, path, reason, hint },
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

  /**
   * `POST /access/ticket` to the endpoint in use, without authentication; never logs or
   * reports the form. The ticket is valid on every node of the cluster.
   */
  async #postTicket(form: LoginForm): Promise<Omit<Ticket, "obtainedAt">> {
    const path = "/access/ticket";
    const params: Params = { username: form.username, password: form.password, realm: form.realm };
    const headers = { Accept: "application/json" };
    const { status, reason, text } = await this.#exchange(
      this.#current,
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

/**
 * The signal of one exchange: it aborts with a `TimeoutError` after `ms`, like
 * `AbortSignal.timeout()`, or with `outer`'s reason when `outer` aborts. `clear()` stops the
 * timer and detaches from `outer`, so nothing outlives the exchange: `AbortSignal.timeout()`
 * lived for the whole timeout (30 s) with the request's signals and listeners attached, and
 * `AbortSignal.any()` costs more than one listener.
 */
function requestTimeout(
  ms: number,
  outer?: AbortSignal,
): { signal: AbortSignal; timedOut(): boolean; clear(): void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException("Signal timed out.", "TimeoutError"));
  }, ms);
  Deno.unrefTimer(timer);
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onAbort();
  else outer?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    clear() {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * True when a request that failed with `error` may go to another endpoint: the failure is
 * the endpoint's, not the request's, and (for writes) the request never reached a server.
 */
function mayFailOver(error: Error, method: HttpMethod, beforeSend: boolean): boolean {
  const idempotent = method === "GET" || beforeSend;
  if (error instanceof ProxmoxConnectionError) {
    if (error.kind === "tls") return false;
    return idempotent || error.kind === "dns" || error.kind === "refused";
  }
  if (error instanceof ProxmoxAuthError) return false;
  return idempotent && error instanceof ProxmoxApiError &&
    (error.status === 502 || error.status === 503);
}

/** Parses one endpoint origin; `option` names it in the error. */
function parseEndpoint(raw: string, option: string): Endpoint {
  const url = new URL(raw);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(`${option} must be an http(s) URL, got protocol ${url.protocol}`);
  }
  const target = `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
  return { origin: url.origin, target };
}

/** True for failures worth retrying an idempotent request on. */
export function isTransient(error: unknown): boolean {
  if (error instanceof ProxmoxConnectionError) return error.kind !== "tls" && error.kind !== "dns";
  if (error instanceof ProxmoxAuthError) return false;
  return error instanceof ProxmoxApiError && RETRY_STATUSES.has(error.status);
}

/** The items of a successful answer's `data` list, read from the body chunk by chunk. */
async function readList(
  response: Response,
  parse: ElementParser<unknown>,
): Promise<unknown[] | "not JSON"> {
  const items: unknown[] = [];
  const reader = new DataListReader((element) => {
    const item = parse(element);
    if (item !== undefined) items.push(item);
  });
  try {
    if (response.body) await readText(response.body, (text) => reader.push(text));
    reader.end();
  } catch (e) {
    if (!(e instanceof NotJsonError)) throw e;
    await response.body?.cancel().catch(() => {});
    return "not JSON";
  }
  return items;
}

/** Size of the buffer a byte-stream body is read into. */
const READ_BUFFER_BYTES = 256 * 1024;

/**
 * Hands `body` to `each` as text, piece by piece. A byte stream (what `fetch` gives) is read
 * into one reused buffer, which costs fewer and cheaper reads than the default reader; any
 * other stream is read as it comes.
 */
async function readText(body: ReadableStream<Uint8Array>, each: (text: string) => void) {
  const decoder = new TextDecoder();
  let reader: ReadableStreamBYOBReader | undefined;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream.
  }
  if (!reader) {
    for await (const chunk of body) each(decoder.decode(chunk, { stream: true }));
  } else {
    try {
      let buffer = new ArrayBuffer(READ_BUFFER_BYTES);
      for (;;) {
        const { done, value } = await reader.read(new Uint8Array(buffer));
        if (done || !value) break;
        each(decoder.decode(value, { stream: true }));
        buffer = value.buffer as ArrayBuffer;
      }
    } catch (e) {
      await reader.cancel().catch(() => {});
      throw e;
    }
  }
  each(decoder.decode());
}

function notJson(status: number, method: HttpMethod, path: string): ProxmoxApiError {
  return new ProxmoxApiError({
    status,
    method,
    path,
    apiMessage: "the answer is not JSON",
    hint: "check that host and port point at the Proxmox VE API (pveproxy, port 8006)",
  });
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
    throw notJson(status, method, path);
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

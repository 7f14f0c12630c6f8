/**
 * A ProxmoxApi wrapper that records every request it passes on, for contract tests.
 *
 * @module
 */
import type { ApiParams, ApiRequestOptions, ProxmoxApi } from "../../src/tools/context.ts";

/** One request as sent. */
export interface RecordedRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  params: ApiParams;
}

/** Passes requests to `inner` and keeps a copy of each. */
export class RecordingApi implements ProxmoxApi {
  readonly requests: RecordedRequest[] = [];
  /** Called synchronously with each write request, before it is passed on. */
  onWrite?: (r: RecordedRequest) => void;
  #inner: ProxmoxApi;

  constructor(inner: ProxmoxApi) {
    this.#inner = inner;
  }

  /** The wrapped client's identity. */
  get identity(): string | undefined {
    return this.#inner.identity;
  }

  #record(method: RecordedRequest["method"], path: string, params?: ApiParams) {
    const r = { method, path, params: { ...params } };
    this.requests.push(r);
    if (method !== "GET") this.onWrite?.(r);
    return method;
  }

  get<T>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T> {
    this.#record("GET", path, params);
    return this.#inner.get<T>(path, params, opts);
  }
  post<T>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T> {
    this.#record("POST", path, params);
    return this.#inner.post<T>(path, params, opts);
  }
  put<T>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T> {
    this.#record("PUT", path, params);
    return this.#inner.put<T>(path, params, opts);
  }
  delete<T>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T> {
    this.#record("DELETE", path, params);
    return this.#inner.delete<T>(path, params, opts);
  }
}

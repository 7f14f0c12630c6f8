/**
 * What a tool handler gets to work with: the API, the cluster inventory, the request's signal.
 *
 * @module
 */
import type { Logger } from "../util/log.ts";
import type { Inventory } from "./inventory.ts";

/** Request parameters as the Proxmox API takes them. */
export type ApiParams = Record<string, string | number | boolean | string[] | undefined>;

/** Per-request options. */
export interface ApiRequestOptions {
  signal?: AbortSignal;
}

/** The part of the Proxmox client that tools use. */
export interface ProxmoxApi {
  get<T = unknown>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T>;
  post<T = unknown>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T>;
  put<T = unknown>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T>;
  delete<T = unknown>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T>;
}

/** The context of one tool call. */
export interface ToolContext {
  api: ProxmoxApi;
  inventory: Inventory;
  /** The configured default node, if any. */
  defaultNode?: string;
  /** Aborts when the client cancels the request. */
  signal: AbortSignal;
  logger: Logger;
}

/** A problem with the caller's arguments; its message says what is allowed. */
export class ToolInputError extends Error {
  /** @param message What was wrong and what is allowed. */
  constructor(message: string) {
    super(message);
    this.name = "ToolInputError";
  }
}

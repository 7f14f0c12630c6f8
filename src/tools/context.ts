/**
 * What a tool handler gets to work with: the API, the cluster inventory, the request's signal.
 *
 * @module
 */
import type { ElicitAnswer, ElicitRequest } from "../safety/confirm.ts";
import type { Scope } from "../safety/scope.ts";
import type { SafetySettings } from "../safety/settings.ts";
import type { Clock } from "../util/clock.ts";
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
  /**
   * GET of an answer whose `data` is a list, read element by element into items by `parse`
   * (undefined drops an element); without it, callers read the list with `get`.
   */
  getList?<T>(
    path: string,
    params: ApiParams | undefined,
    parse: (element: unknown) => T | undefined,
    opts?: ApiRequestOptions,
  ): Promise<T[]>;
  /** Who requests authenticate as (`user@realm` or `user@realm!token`), when known. */
  readonly identity?: string;
}

/** The context of one tool call. */
export interface ToolContext {
  api: ProxmoxApi;
  inventory: Inventory;
  /** The configured default node, if any. */
  defaultNode?: string;
  /** Base URL of the cluster's web UI (`https://host:8006`), when known. */
  webUrl?: string;
  /** Aborts when the client cancels the request. */
  signal: AbortSignal;
  logger: Logger;
  /** Sends a progress notification; set only when the client asked for progress. */
  progress?: (p: { progress: number; total?: number; message?: string }) => Promise<void>;
  /** Asks the human a question (MCP elicitation); set only when the client supports it. */
  elicit?: (request: ElicitRequest) => Promise<ElicitAnswer>;
  /** The scope mutating tools resolve targets and pick VMIDs within. */
  scope?: Scope;
  /** How long-running tasks are waited for. */
  tasks?: TaskWaitSettings;
  /** Operator policy plans consult: the exec allowlist and the server's own addresses. */
  policy?: Pick<SafetySettings, "exec" | "adminSources">;
  /**
   * Who is calling: the MCP session (and, over HTTP, the authenticated caller). Confirmation
   * tokens work only for the caller they were issued to.
   */
  session?: string;
}

/** Settings of the task waiter. */
export interface TaskWaitSettings {
  /** Longest wait for a task before answering "still running". */
  timeoutMs: number;
  /** Time between status polls. */
  pollMs: number;
  clock: Clock;
  /** Waits `ms` unless `signal` aborts first (then rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** A problem with the caller's arguments; its message says what is allowed. */
export class ToolInputError extends Error {
  /** @param message What was wrong and what is allowed. */
  constructor(message: string) {
    super(message);
    this.name = "ToolInputError";
  }
}

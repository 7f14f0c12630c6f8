/**
 * Fault injection for reliability tests: latency, failing responses, answers lost after the
 * request was carried out, nodes going down and tickets expiring.
 *
 * @module
 */
import type { ClusterState } from "./state.ts";

/** What an injected failure answers with, and which requests it hits. */
export interface FailSpec {
  /** HTTP status; default 500. 501 answers like an older PVE without the method. */
  status?: 500 | 501 | 502 | 503 | 596;
  /** Message in the body and status text; default depends on the status. */
  message?: string;
  /** Only requests whose API path (after `/api2/json`) starts with this. */
  pathPrefix?: string;
  /** Only requests with this HTTP method. */
  method?: string;
}

interface ArmedFailure {
  remaining: number;
  spec: FailSpec;
}

/** How an answer is lost after the request was carried out, and which requests it hits. */
export interface LoseSpec {
  /** `reset`: the connection is closed without an answer; `hang`: no answer is ever sent. */
  how?: "reset" | "hang";
  /** Only requests whose API path (after `/api2/json`) starts with this. */
  pathPrefix?: string;
  /** Only requests with this HTTP method. */
  method?: string;
}

/** Header of the marker response that tells the HTTPS listener to lose the answer. */
export const LOSE_ANSWER_HEADER = "x-simulator-lose-answer";

function matches(spec: FailSpec | LoseSpec, method: string, path: string): boolean {
  return (!spec.method || spec.method.toUpperCase() === method) &&
    (!spec.pathPrefix || path.startsWith(spec.pathPrefix.replace(/^\/api2\/json/, "")));
}

const DEFAULT_MESSAGES: Record<number, string> = {
  500: "Internal server error (injected fault)",
  501: "Method not implemented (injected fault)",
  502: "Bad gateway (injected fault)",
  503: "Service unavailable (injected fault)",
  596: "Connection timed out (injected fault)",
};

/** Fault switches of one simulator. */
export class Faults {
  /** Milliseconds added (real time) before every response. */
  latencyMs = 0;
  /** Milliseconds (real time) to wait before answering an authentication failure. */
  delayAuthFailureMs = 0;
  #armed: ArmedFailure[] = [];
  #lost: { remaining: number; spec: LoseSpec }[] = [];
  #state: ClusterState;
  #expire: () => void;

  /** Bound to a cluster state and a callback that invalidates all tickets. */
  constructor(state: ClusterState, expireTickets: () => void) {
    this.#state = state;
    this.#expire = expireTickets;
  }

  /** The next `count` matching requests fail with `spec` (status 500 by default). */
  failNext(count: number, spec: FailSpec = {}): void {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`Invalid fault count: ${count} (expected a positive integer)`);
    }
    this.#armed.push({ remaining: count, spec });
  }

  /**
   * The next `count` matching requests are carried out (state changed, task started) but their
   * answer is lost: the connection is reset, or never answered (the client times out).
   */
  loseAnswerNext(count: number, spec: LoseSpec = {}): void {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`Invalid fault count: ${count} (expected a positive integer)`);
    }
    this.#lost.push({ remaining: count, spec });
  }

  /** Consumes the lost-answer fault for this request, if one is armed and matches. */
  takeLost(method: string, path: string): "reset" | "hang" | undefined {
    const i = this.#lost.findIndex(({ spec }) => matches(spec, method, path));
    if (i < 0) return undefined;
    const armed = this.#lost[i];
    if (--armed.remaining === 0) this.#lost.splice(i, 1);
    return armed.spec.how ?? "reset";
  }

  /** Takes the node offline: listed as offline, its API paths answer 595. */
  nodeDown(name: string): void {
    this.#node(name).online = false;
  }

  /** Brings a node back online. */
  nodeUp(name: string): void {
    this.#node(name).online = true;
  }

  /** Invalidates every ticket and CSRF token issued so far (the next request gets 401). */
  expireTickets(): void {
    this.#expire();
  }

  /** Clears latency, delays and pending failures (nodes stay as they are). */
  reset(): void {
    this.latencyMs = 0;
    this.delayAuthFailureMs = 0;
    this.#armed = [];
    this.#lost = [];
  }

  /** Consumes and returns the failure for this request, if one is armed and matches. */
  take(method: string, path: string): { status: number; message: string } | undefined {
    const i = this.#armed.findIndex(({ spec }) => matches(spec, method, path));
    if (i < 0) return undefined;
    const armed = this.#armed[i];
    if (--armed.remaining === 0) this.#armed.splice(i, 1);
    const status = armed.spec.status ?? 500;
    return { status, message: armed.spec.message ?? DEFAULT_MESSAGES[status] };
  }

  #node(name: string) {
    const node = this.#state.nodes.get(name);
    if (!node) throw new Error(`Unknown simulator node: ${name}`);
    return node;
  }
}

/**
 * Out-of-band approval: a plan waits on the approval board until a person approves or rejects
 * it through a channel the model cannot reach (the `/approvals` page with its own credential,
 * or `proxmox-mcp approvals` in a terminal through the 0600 state folder), or until it expires.
 *
 * The board is one interface ({@link ApprovalBoard}) so a shared store can replace memory; the
 * local board keeps pending requests in memory and mirrors them into the state folder when
 * there is one (see `approval_folder.ts`).
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import {
  decisionPath,
  readDecisionFile,
  removeRequestFiles,
  writeRequestFile,
} from "./approval_folder.ts";
import type { PlanView } from "./change.ts";
import type { StateDir } from "./state_dir.ts";

/** How a change is confirmed. */
export type ApprovalMode = "auto" | "elicitation" | "token" | "human";

/** The approval mode per risk level. */
export interface ApprovalPolicy {
  /** Changes that can lose data or interrupt service. */
  destructive: ApprovalMode;
  /** Other changes that need a confirmation (guests with protected tags). */
  protected: ApprovalMode;
}

/** The default: destructive changes `auto`, protected ones as before (elicitation or token). */
export const DEFAULT_APPROVAL: ApprovalPolicy = { destructive: "auto", protected: "elicitation" };

/** A plan waiting for a person. */
export interface ApprovalRequest {
  id: string;
  tool: string;
  summary: string;
  /** The plan as the model was shown it: targets, exact requests, what is lost. */
  plan: PlanView;
  /** Why it needs approval. */
  reasons: string[];
  /** Hash of the plan; an approval is for exactly this plan. */
  fingerprint: string;
  /** ISO times. */
  createdAt: string;
  expiresAt: string;
}

/** A person's answer. */
export interface ApprovalDecision {
  decision: "approved" | "rejected";
  /** Who answered (approver name, or the terminal user). */
  by: string;
  /** Through which channel: `page`, `terminal`, `webhook`. */
  channel: string;
  /** ISO time. */
  at: string;
  note?: string;
}

/** How a wait ended. */
export type ApprovalOutcome =
  | ApprovalDecision
  | { decision: "expired" }
  | { decision: "withdrawn" };

/** Why a decision was not taken. */
export type DecideProblem = "unknown" | "fingerprint";

/** Where plans wait for approval. */
export interface ApprovalBoard {
  /** Channels people can approve through, as shown to the model (`http://…/approvals`). */
  channels(): string[];
  /** Registers a channel (e.g. the approvals page once the HTTP server listens). */
  addChannel(description: string): void;
  /** Puts `req` up for approval. */
  submit(req: ApprovalRequest): Promise<void>;
  /** Waits for the outcome of request `id`; `signal` aborting withdraws it. */
  wait(id: string, signal: AbortSignal): Promise<ApprovalOutcome>;
  /** Requests still waiting, oldest first. */
  pending(): ApprovalRequest[];
  /** Answers request `id`, which must still have `fingerprint`. */
  decide(
    id: string,
    fingerprint: string,
    decision: Omit<ApprovalDecision, "at">,
  ): DecideProblem | undefined;
  /** Stops timers; pending requests end as withdrawn. */
  close(): void;
}

interface Entry {
  req: ApprovalRequest;
  done: PromiseWithResolvers<ApprovalOutcome>;
  timer: ReturnType<typeof setTimeout>;
}

/** How often the state folder is read for terminal decisions while requests wait. */
const FOLDER_POLL_MS = 250;

/** The approval channels a process has by itself: the terminal, when there is a state folder. */
export function localChannels(dir: StateDir | undefined): string[] {
  return dir ? ["terminal: proxmox-mcp approvals"] : [];
}

/** The board of this process; mirrors requests into the state folder when given one. */
export class LocalApprovals implements ApprovalBoard {
  #entries = new Map<string, Entry>();
  #channels: string[] = [];
  #poll: ReturnType<typeof setInterval> | undefined;
  #clock: Clock;
  #dir?: StateDir;

  constructor(opts: { clock: Clock; dir?: StateDir }) {
    this.#clock = opts.clock;
    this.#dir = opts.dir;
    this.#channels.push(...localChannels(opts.dir));
  }

  channels(): string[] {
    return [...this.#channels];
  }

  addChannel(description: string): void {
    if (!this.#channels.includes(description)) this.#channels.unshift(description);
  }

  async submit(req: ApprovalRequest): Promise<void> {
    const ms = Math.max(0, Date.parse(req.expiresAt) - this.#clock.now());
    const done = Promise.withResolvers<ApprovalOutcome>();
    const timer = setTimeout(() => this.#finish(req.id, { decision: "expired" }), ms);
    this.#entries.set(req.id, { req, done, timer });
    if (this.#dir) {
      await writeRequestFile(this.#dir, req);
      this.#poll ??= setInterval(() => void this.#readFolder(), FOLDER_POLL_MS);
    }
  }

  wait(id: string, signal: AbortSignal): Promise<ApprovalOutcome> {
    const e = this.#entries.get(id);
    if (!e) return Promise.resolve({ decision: "withdrawn" });
    if (signal.aborted) this.#finish(id, { decision: "withdrawn" });
    else {
      signal.addEventListener("abort", () => this.#finish(id, { decision: "withdrawn" }), {
        once: true,
      });
    }
    return e.done.promise;
  }

  pending(): ApprovalRequest[] {
    return [...this.#entries.values()].map((e) => e.req);
  }

  decide(
    id: string,
    fingerprint: string,
    decision: Omit<ApprovalDecision, "at">,
  ): DecideProblem | undefined {
    const e = this.#entries.get(id);
    if (!e) return "unknown";
    if (e.req.fingerprint !== fingerprint) return "fingerprint";
    this.#finish(id, { ...decision, at: new Date(this.#clock.now()).toISOString() });
    return undefined;
  }

  close(): void {
    for (const id of [...this.#entries.keys()]) this.#finish(id, { decision: "withdrawn" });
  }

  #finish(id: string, outcome: ApprovalOutcome): void {
    const e = this.#entries.get(id);
    if (!e) return;
    this.#entries.delete(id);
    clearTimeout(e.timer);
    if (this.#dir) void removeRequestFiles(this.#dir, id);
    if (!this.#entries.size && this.#poll !== undefined) {
      clearInterval(this.#poll);
      this.#poll = undefined;
    }
    e.done.resolve(outcome);
  }

  async #readFolder(): Promise<void> {
    const dir = this.#dir;
    if (!dir) return;
    for (const e of [...this.#entries.values()]) {
      const d = await readDecisionFile(decisionPath(dir, e.req.id));
      if (!d) continue;
      if (d.fingerprint !== e.req.fingerprint) continue;
      this.decide(e.req.id, d.fingerprint, {
        decision: d.decision,
        by: d.by,
        channel: "terminal",
        note: d.note,
      });
    }
  }
}

/**
 * Simulated PVE tasks: UPIDs, status moving from running to stopped by the injected clock, logs
 * that grow over the task's life, and state changes applied when a task ends.
 * Settling is lazy: callers invoke {@link TaskEngine.settle} on each request.
 *
 * @module
 */
import { formatUpid } from "../proxmox/upid.ts";
import type { Clock } from "../util/clock.ts";
import type { ClusterState, TaskState } from "./state.ts";

/** What a new task does. */
export interface TaskSpec {
  node: string;
  /** Worker type, e.g. `qmstart`, `vzdump`, `qmclone`. */
  type: string;
  /** Worker id, usually the VMID; may be empty. */
  id?: string;
  /** Principal, e.g. `root@pam` or `root@pam!mcp`. */
  user: string;
  /** Log lines spread over the task's life (the first appears at once). */
  lines?: string[];
  /** Outcome: "OK" (default), "WARNINGS: N" or an error message. */
  outcome?: string;
  /** Overrides the engine's default duration. */
  durationMs?: number;
  /** Start time (epoch ms); defaults to now. Used for scenario history. */
  startAt?: number;
  /** Applied when the task stops OK or with warnings. */
  onSuccess?: () => void;
  /** Applied when the task stops for any reason, with its exit status. */
  onEnd?: (exitstatus: string) => void;
}

/** Runs simulated tasks for one cluster state. */
export class TaskEngine {
  #state: ClusterState;
  #clock: Clock;
  #pids = new Map<string, number>();
  /** Default duration of new tasks in ms (0 = they end at the next settle). */
  durationMs: number;

  constructor(state: ClusterState, clock: Clock, durationMs: number) {
    this.#state = state;
    this.#clock = clock;
    this.durationMs = durationMs;
  }

  /** Starts a task and returns it (already stopped if its start time plus duration passed). */
  start(spec: TaskSpec): TaskState {
    const now = this.#clock.now();
    const startAt = spec.startAt ?? now;
    const node = this.#state.nodes.get(spec.node);
    const pid = (this.#pids.get(spec.node) ?? 0x10000 + (node?.nodeid ?? 1) * 0x1000) + 17;
    this.#pids.set(spec.node, pid);
    const pstart = Math.max(0, Math.floor((startAt - (node?.bootedAt ?? startAt)) / 10));
    const starttime = Math.floor(startAt / 1000);
    const id = spec.id ?? "";
    const upid = formatUpid({
      node: spec.node,
      pid,
      pstart,
      starttime,
      type: spec.type,
      id,
      user: spec.user,
    });
    const duration = spec.durationMs ?? this.durationMs;
    const lines = spec.lines ?? [];
    const task: TaskState = {
      upid,
      node: spec.node,
      pid,
      pstart,
      starttime,
      type: spec.type,
      id,
      user: spec.user,
      status: "running",
      endsAt: startAt + duration,
      lines: lines.map((text, i) => ({
        at: startAt + Math.floor((duration * i) / Math.max(lines.length, 1)),
        text,
      })),
      outcome: spec.outcome ?? "OK",
      onSuccess: spec.onSuccess,
      onEnd: spec.onEnd,
    };
    this.#state.tasks.set(upid, task);
    return task;
  }

  /** Stops every task whose planned end has passed, in end order, applying its effects. */
  settle(now = this.#clock.now()): void {
    const due = [...this.#state.tasks.values()]
      .filter((t) => t.status === "running" && t.endsAt <= now)
      .sort((a, b) => a.endsAt - b.endsAt);
    for (const task of due) this.#finish(task, task.outcome, task.endsAt);
  }

  /** Interrupts a running task (`DELETE /nodes/{node}/tasks/{upid}`); no-op when stopped. */
  abort(task: TaskState): void {
    if (task.status !== "running") return;
    const now = this.#clock.now();
    task.lines = task.lines.filter((l) => l.at <= now);
    task.lines.push({ at: now, text: "received interrupt" });
    this.#finish(task, "interrupted by signal", now);
  }

  /** The log lines visible now (all of them once stopped). */
  visibleLines(task: TaskState, now = this.#clock.now()): string[] {
    if (task.status === "stopped") return task.lines.map((l) => l.text);
    return task.lines.filter((l) => l.at <= now).map((l) => l.text);
  }

  #finish(task: TaskState, outcome: string, at: number): void {
    task.status = "stopped";
    task.exitstatus = outcome;
    task.endtime = Math.floor(at / 1000);
    task.endsAt = at;
    const success = outcome === "OK" || outcome.startsWith("WARNINGS:");
    try {
      if (success) task.onSuccess?.();
    } finally {
      task.onEnd?.(outcome);
    }
    const last = task.lines.at(-1)?.at ?? at;
    task.lines.push({
      at: Math.max(at, last),
      text: success ? (outcome === "OK" ? "TASK OK" : `TASK ${outcome}`) : `TASK ERROR: ${outcome}`,
    });
  }
}

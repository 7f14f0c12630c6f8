/**
 * Storage replication: job configs (`/cluster/replication`) and per-node job state with last
 * sync, failures and the last run's log (`/nodes/{node}/replication/…`).
 *
 * @module
 */
import { nextRun } from "../calendar.ts";
import { ApiError } from "../errors.ts";
import type { ReplicationJobState } from "../ops_state.ts";
import { node, optInt, type RouteContext, type RouteHandler, str } from "./context.ts";

function config(job: ReplicationJobState) {
  return {
    id: job.id,
    type: "local",
    guest: job.guest,
    jobnum: Number(job.id.split("-")[1]),
    target: job.target,
    source: job.source,
    schedule: job.schedule,
    ...(job.comment ? { comment: job.comment } : {}),
    ...(job.disable ? { disable: 1 } : {}),
    ...(job.rate ? { rate: job.rate } : {}),
  };
}

function stateOf(ctx: RouteContext, job: ReplicationJobState) {
  const vmtype = ctx.sim.state.guests.get(job.guest)?.type ?? "qemu";
  const out: Record<string, unknown> = {
    ...config(job),
    vmtype,
    last_sync: job.lastSync,
    last_try: job.lastTry,
    duration: job.duration,
    fail_count: job.failCount,
    next_sync: nextRun(job.schedule, Math.floor(ctx.now / 1000)),
  };
  if (job.error) out.error = job.error;
  return out;
}

function jobOn(ctx: RouteContext): ReplicationJobState {
  const id = str(ctx, "id");
  const job = ctx.sim.state.ops.replication.find((j) => j.id === id && j.source === node(ctx).name);
  if (!job) throw new ApiError(500, `replication job '${id}' does not exist`);
  return job;
}

const list: RouteHandler = (ctx) => ctx.sim.state.ops.replication.map(config);

const onNode: RouteHandler = (ctx) => {
  const guest = optInt(ctx, "guest");
  return ctx.sim.state.ops.replication
    .filter((j) => j.source === node(ctx).name && (guest === undefined || j.guest === guest))
    .map((j) => stateOf(ctx, j));
};

const status: RouteHandler = (ctx) => stateOf(ctx, jobOn(ctx));

const log: RouteHandler = (ctx) => {
  const job = jobOn(ctx);
  const start = optInt(ctx, "start") ?? 0;
  const limit = optInt(ctx, "limit") ?? 50;
  const stamp = new Date(job.lastTry * 1000).toISOString().slice(0, 19).replace("T", " ");
  const lines = job.log.map((t, i) => ({ n: i + 1, t: `${stamp} ${job.id}: ${t}` }));
  return lines.slice(start, start + limit);
};

/** Replication routes. */
export const replicationRoutes: Record<string, RouteHandler> = {
  "GET /cluster/replication": list,
  "GET /nodes/{node}/replication": onNode,
  "GET /nodes/{node}/replication/{id}/status": status,
  "GET /nodes/{node}/replication/{id}/log": log,
};

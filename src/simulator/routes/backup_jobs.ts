/**
 * Scheduled backup jobs (`/cluster/backup`) and the guests no job covers
 * (`/cluster/backup-info/not-backed-up`).
 *
 * @module
 */
import { nextRun } from "../calendar.ts";
import { ApiError } from "../errors.ts";
import type { BackupJobState } from "../ops_state.ts";
import type { ClusterState } from "../state.ts";
import { type RouteContext, type RouteHandler, str } from "./context.ts";

/** The VMIDs a job selects. */
export function jobGuests(state: ClusterState, job: BackupJobState): number[] {
  const guests = [...state.guests.values()].filter((g) => !job.node || g.node === job.node);
  let ids: number[];
  if (job.all) ids = guests.map((g) => g.vmid).filter((id) => !job.exclude?.includes(id));
  else if (job.pool) ids = guests.filter((g) => g.pool === job.pool).map((g) => g.vmid);
  else ids = (job.vmid ?? []).filter((id) => state.guests.has(id));
  return ids.sort((a, b) => a - b);
}

function prune(spec: string | undefined): Record<string, number> | undefined {
  if (!spec) return undefined;
  return Object.fromEntries(
    spec.split(",").map((kv) => {
      const [k, v] = kv.split("=");
      return [k, Number(v)];
    }),
  );
}

function render(ctx: RouteContext, job: BackupJobState) {
  const out: Record<string, unknown> = {
    id: job.id,
    type: "vzdump",
    schedule: job.schedule,
    enabled: job.enabled ? 1 : 0,
    storage: job.storage,
    mode: job.mode,
  };
  if (job.enabled) out["next-run"] = nextRun(job.schedule, Math.floor(ctx.now / 1000));
  if (job.compress) out.compress = job.compress;
  if (job.comment) out.comment = job.comment;
  if (job.vmid) out.vmid = job.vmid.join(",");
  if (job.pool) out.pool = job.pool;
  if (job.all) out.all = 1;
  if (job.exclude?.length) out.exclude = job.exclude.join(",");
  if (job.node) out.node = job.node;
  if (job.notesTemplate) out["notes-template"] = job.notesTemplate;
  if (job.prune) out["prune-backups"] = prune(job.prune);
  if (job.mailnotification) out.mailnotification = job.mailnotification;
  return out;
}

const list: RouteHandler = (ctx) => ctx.sim.state.ops.backupJobs.map((j) => render(ctx, j));

const one: RouteHandler = (ctx) => {
  const id = str(ctx, "id");
  const job = ctx.sim.state.ops.backupJobs.find((j) => j.id === id);
  if (!job) throw new ApiError(500, `job '${id}' does not exist`);
  return render(ctx, job);
};

const notBackedUp: RouteHandler = (ctx) => {
  const state = ctx.sim.state;
  const covered = new Set(state.ops.backupJobs.flatMap((j) => jobGuests(state, j)));
  return [...state.guests.values()]
    .filter((g) => !covered.has(g.vmid))
    .sort((a, b) => a.vmid - b.vmid)
    .map((g) => ({ vmid: g.vmid, type: g.type, name: g.name }));
};

/** Backup job routes. */
export const backupJobRoutes: Record<string, RouteHandler> = {
  "GET /cluster/backup": list,
  "GET /cluster/backup/{id}": one,
  "GET /cluster/backup-info/not-backed-up": notBackedUp,
};

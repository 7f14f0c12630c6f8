/**
 * Backup schedule tools: the scheduled jobs with their selection and next run (`backup_jobs`),
 * and coverage: guests in no job, and per guest the age and result of the last backup, flagged
 * over a threshold (`backup_coverage`).
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { flag, num } from "../proxmox/resources.ts";
import { args, limit } from "./args.ts";
import type { ToolContext } from "./context.ts";
import { table, time } from "./format.ts";
import { rows } from "./listing.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { nowMs } from "./timespec.ts";

const Job = z.object({
  id: z.string(),
  enabled: flag.optional(),
  schedule: z.string().optional(),
  "next-run": num.optional(),
  storage: z.string().optional(),
  mode: z.string().optional(),
  compress: z.string().optional(),
  comment: z.string().optional(),
  vmid: z.string().optional(),
  pool: z.string().optional(),
  all: flag.optional(),
  exclude: z.string().optional(),
  node: z.string().optional(),
  "prune-backups": z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  mailnotification: z.string().optional(),
  "notification-mode": z.string().optional(),
}).loose();
type Job = z.infer<typeof Job>;

const ids = (list?: string) =>
  (list ?? "").split(/[,;\s]+/).filter(Boolean).map(Number).filter(Number.isInteger);

/** The VMIDs a job selects among `guests`. */
function selected(job: Job, guests: { vmid: number; node?: string; pool?: string }[]): number[] {
  const here = guests.filter((g) => !job.node || g.node === job.node);
  if (job.all) {
    const ex = new Set(ids(job.exclude));
    return here.filter((g) => !ex.has(g.vmid)).map((g) => g.vmid);
  }
  if (job.pool) return here.filter((g) => g.pool === job.pool).map((g) => g.vmid);
  const wanted = new Set(ids(job.vmid));
  return here.filter((g) => wanted.has(g.vmid)).map((g) => g.vmid);
}

function selectionText(job: Job): string {
  if (job.all) return job.exclude ? `all except ${job.exclude}` : "all guests";
  if (job.pool) return `pool ${job.pool}`;
  return `vmid ${job.vmid ?? "(none)"}`;
}

function retention(p: Job["prune-backups"]): string | undefined {
  if (!p) return undefined;
  if (typeof p === "string") return p;
  return Object.entries(p).map(([k, v]) => `${k}=${v}`).join(",");
}

async function guestsOf(ctx: ToolContext) {
  const snapshot = await ctx.inventory.resources(ctx.signal);
  return snapshot.all
    .filter((r) => (r.type === "qemu" || r.type === "lxc") && r.vmid !== undefined)
    .map((r) => ({
      vmid: r.vmid!,
      name: r.name,
      node: r.node,
      pool: r.pool,
      type: r.type,
      template: r.template,
    }))
    .sort((a, b) => a.vmid - b.vmid);
}

async function jobsOf(ctx: ToolContext): Promise<Job[]> {
  return z.array(Job).parse(
    await ctx.api.get("/cluster/backup", undefined, { signal: ctx.signal }),
  );
}

const backupJobs = defineTool({
  name: "backup_jobs",
  title: "Backup jobs",
  description:
    "Scheduled backup jobs: schedule and next run, storage, mode, retention, which guests they select.",
  toolset: "backups",
  privilege: "Sys.Audit on /",
  annotations: READ_ONLY,
  input: args({}),
  output: z.object({
    jobs: rows(
      "id, enabled, schedule, next_run, storage, mode, compress, retention, selection, node, guests, comment",
    ),
  }),
  async handler(_a, ctx) {
    const [jobs, guests] = await Promise.all([jobsOf(ctx), guestsOf(ctx)]);
    const out = jobs.map((j) => ({
      id: j.id,
      enabled: j.enabled !== false,
      schedule: j.schedule,
      next_run: j["next-run"] ? time(j["next-run"]) : undefined,
      storage: j.storage,
      mode: j.mode ?? "snapshot",
      compress: j.compress,
      retention: retention(j["prune-backups"]),
      selection: selectionText(j),
      node: j.node,
      guests: selected(j, guests),
      comment: j.comment?.trim() || undefined,
    }));
    const text = out.length
      ? table(out, [
        "id",
        ["on", (j) => (j.enabled ? "yes" : "no")],
        "schedule",
        "next_run",
        "storage",
        "mode",
        "selection",
        ["guests", (j) => j.guests.length],
        "comment",
      ])
      : "no backup jobs are scheduled";
    return { structured: { jobs: out }, text };
  },
});

const StorageRes = z.object({ storage: z.string(), node: z.string(), shared: z.boolean() });

const BackupVolume = z.object({
  volid: z.string(),
  vmid: num.optional(),
  ctime: num.optional(),
}).loose();

const TaskEntry = z.object({
  upid: z.string().optional(),
  node: z.string().optional(),
  type: z.string().optional(),
  id: z.string().optional(),
  status: z.string().optional(),
  starttime: num.optional(),
  endtime: num.optional(),
}).loose();

/** Most failed multi-guest job runs whose logs one coverage call reads. */
const MAX_JOB_LOGS = 10;

/** True for a finished task that ended in an error (not OK, not warnings). */
function failedStatus(status: string | undefined): boolean {
  return !!status && status !== "OK" && status !== "running" && !status.startsWith("WARNINGS");
}

const backupCoverage = defineTool({
  name: "backup_coverage",
  title: "Backup coverage",
  description:
    "Which guests are in no backup job, and per guest the age and result of the last backup, flagged over max_age_hours.",
  toolset: "backups",
  privilege: "Sys.Audit on /, Datastore.Audit on backup storages",
  annotations: READ_ONLY,
  input: args({
    max_age_hours: z.number().positive().max(24 * 366).default(36)
      .describe("Flag backups older than this"),
    only_flagged: z.boolean().default(true).describe("List only guests with a problem"),
    limit: limit(100, 1000),
  }),
  output: z.object({
    max_age_hours: z.number(),
    not_in_any_job: rows("vmid, name"),
    guests: rows(
      "vmid, name, node, jobs, last_backup, age_hours, last_result, flags",
    ),
    checked: z.number(),
    flagged: z.number(),
    storages: z.array(z.string()),
  }),
  async handler(a, ctx) {
    const opts = { signal: ctx.signal };
    const nowSec = Math.floor(nowMs(ctx) / 1000);
    const [jobs, guests, missing, snapshot] = await Promise.all([
      jobsOf(ctx),
      guestsOf(ctx),
      ctx.api.get("/cluster/backup-info/not-backed-up", undefined, opts)
        .then((d) =>
          z.array(z.object({ vmid: num, name: z.string().optional() }).loose()).parse(d)
        ),
      ctx.inventory.resources(ctx.signal),
    ]);
    // Each backup storage once: shared ones from one node, local ones from every node.
    const seen = new Set<string>();
    const storages = snapshot.all
      .filter((r) =>
        r.type === "storage" && r.storage && r.node && (r.content ?? "").includes("backup") &&
        r.status === "available"
      )
      .map((r) => StorageRes.parse({ storage: r.storage, node: r.node, shared: !!r.shared }))
      .filter((s) => {
        const key = s.shared ? s.storage : `${s.node}/${s.storage}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    const last = new Map<number, number>();
    const lists = await Promise.all(
      storages.map((s) =>
        ctx.api.get(
          apiPath`/nodes/${s.node}/storage/${s.storage}/content`,
          { content: "backup" },
          opts,
        )
          .then((d) => z.array(BackupVolume).parse(d))
      ),
    );
    for (const list of lists) {
      for (const v of list) {
        const id = v.vmid ?? Number(/-(\d+)-\d{4}_/.exec(v.volid)?.[1]);
        if (!Number.isInteger(id) || v.ctime === undefined) continue;
        last.set(id, Math.max(last.get(id) ?? 0, v.ctime));
      }
    }
    const tasks = z.array(TaskEntry).parse(await ctx.api.get("/cluster/tasks", undefined, opts));
    const lastTask = new Map<number, z.infer<typeof TaskEntry>>();
    for (const t of tasks) {
      if (t.type !== "vzdump" || !t.id || !/^\d+$/.test(t.id)) continue;
      const id = Number(t.id);
      const prev = lastTask.get(id);
      if (!prev || (t.starttime ?? 0) > (prev.starttime ?? 0)) lastTask.set(id, t);
    }
    // Scheduled job runs back up several guests in one task (id ""): read the logs of the newest
    // failed ones to see which guests failed and why.
    const jobFailures = new Map<number, { at: number; error: string }>();
    const failedRuns = tasks
      .filter((t) => t.type === "vzdump" && !/^\d+$/.test(t.id ?? "") && failedStatus(t.status))
      .filter((t) => t.upid && t.node && (t.starttime ?? 0) > nowSec - 8 * 86_400)
      .sort((x, y) => (y.starttime ?? 0) - (x.starttime ?? 0))
      .slice(0, MAX_JOB_LOGS);
    await Promise.all(failedRuns.map(async (t) => {
      const log = z.array(z.object({ t: z.string() }).loose()).parse(
        await ctx.api.get(apiPath`/nodes/${t.node!}/tasks/${t.upid!}/log`, { limit: 5000 }, opts),
      );
      for (const line of log) {
        const m = /ERROR: Backup of VM (\d+) failed - (.*)$/.exec(line.t);
        if (!m) continue;
        const id = Number(m[1]);
        const at = t.starttime ?? 0;
        if ((jobFailures.get(id)?.at ?? -1) < at) {
          jobFailures.set(id, { at, error: m[2].slice(0, 200) });
        }
      }
    }));
    const notIn = new Set(missing.map((m) => m.vmid));
    const rows = guests.map((g) => {
      const inJobs = jobs.filter((j) => j.enabled !== false && selected(j, guests).includes(g.vmid))
        .map((j) => j.id);
      const at = last.get(g.vmid);
      const age = at === undefined ? undefined : Math.round(((nowSec - at) / 3600) * 10) / 10;
      const task = lastTask.get(g.vmid);
      const inRun = jobFailures.get(g.vmid);
      const ownFailed = task && failedStatus(task.status) && (task.starttime ?? 0) >= (at ?? 0);
      const runFailed = inRun && inRun.at >= (at ?? 0) && inRun.at >= (task?.starttime ?? 0);
      const failed = ownFailed || runFailed;
      const flags = [
        ...(notIn.has(g.vmid) || !inJobs.length ? ["no_job"] : []),
        ...(at === undefined ? ["no_backup"] : age! > a.max_age_hours ? ["too_old"] : []),
        ...(failed ? ["last_failed"] : []),
      ];
      return {
        vmid: g.vmid,
        name: g.name,
        node: g.node,
        jobs: inJobs,
        last_backup: at === undefined ? undefined : time(at),
        age_hours: age,
        last_result: runFailed ? `failed in a job run: ${inRun!.error}` : task?.status,
        flags,
      };
    });
    const flagged = rows.filter((r) => r.flags.length);
    const shown = (a.only_flagged ? flagged : rows).slice(0, a.limit);
    const out = {
      max_age_hours: a.max_age_hours,
      not_in_any_job: missing.map((m) => ({ vmid: m.vmid, name: m.name })),
      guests: shown,
      checked: rows.length,
      flagged: flagged.length,
      storages: storages.map((s) => (s.shared ? s.storage : `${s.node}/${s.storage}`)),
    };
    const text = [
      `${flagged.length} of ${rows.length} guests flagged (max age ${a.max_age_hours}h); in no job: ${
        out.not_in_any_job.map((m) => `${m.vmid} ${m.name ?? ""}`.trim()).join(", ") || "none"
      }`,
      shown.length
        ? table(shown, [
          "vmid",
          "name",
          ["last_backup", (r) => r.last_backup ?? "never"],
          ["age_h", (r) => r.age_hours],
          ["last_result", (r) => r.last_result],
          ["flags", (r) => r.flags.join(",")],
          ["jobs", (r) => r.jobs.join(",")],
        ])
        : "",
      shown.length < (a.only_flagged ? flagged.length : rows.length)
        ? `(limited to ${a.limit})`
        : "",
    ].filter(Boolean).join("\n");
    return { structured: out, text };
  },
});

/** Backup schedule and coverage tools. */
export const backupJobTools: Tool[] = [backupJobs, backupCoverage];

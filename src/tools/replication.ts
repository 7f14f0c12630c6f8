/**
 * `replication_status`: storage replication jobs with last and next sync, duration, fail count
 * and, for a failing job, its error and the tail of its last log.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { flag, num } from "../proxmox/resources.ts";
import { args, vmid } from "./args.ts";
import { duration, table, time } from "./format.ts";
import { rows } from "./listing.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { nowMs } from "./timespec.ts";

const JobConfig = z.object({
  id: z.string(),
  guest: num,
  target: z.string(),
  source: z.string().optional(),
  schedule: z.string().optional(),
  disable: flag.optional(),
  comment: z.string().optional(),
}).loose();

const JobState = z.object({
  id: z.string(),
  last_sync: num.optional(),
  last_try: num.optional(),
  next_sync: num.optional(),
  duration: num.optional(),
  fail_count: num.optional(),
  error: z.string().optional(),
}).loose();

const LogLines = z.array(z.object({ n: num, t: z.string() }).loose());

const replicationStatus = defineTool({
  name: "replication_status",
  title: "Replication status",
  description:
    "Storage replication jobs: source → target, last and next sync, duration, fail count, and the error and log tail of failing jobs.",
  toolset: "replication",
  privilege: "VM.Audit on /vms/{vmid}",
  annotations: READ_ONLY,
  input: args({ guest: vmid("guest", "Only jobs of this guest ID").optional() }),
  output: z.object({
    jobs: rows(
      "id, guest, name, source, target, schedule, state, last_sync, last_sync_ago_s, next_sync, duration_s, fail_count, error, log_tail",
    ),
  }),
  async handler(a, ctx) {
    const opts = { signal: ctx.signal };
    const nowSec = Math.floor(nowMs(ctx) / 1000);
    const configs = z.array(JobConfig).parse(
      await ctx.api.get("/cluster/replication", undefined, opts),
    ).filter((j) => a.guest === undefined || j.guest === a.guest);
    const snapshot = await ctx.inventory.resources(ctx.signal);
    const sourceOf = (j: z.infer<typeof JobConfig>) => j.source ?? snapshot.guest(j.guest)?.node;
    const nodes = [...new Set(configs.map(sourceOf).filter((n): n is string => !!n))];
    const states = new Map<string, z.infer<typeof JobState>>();
    await Promise.all(nodes.map(async (node) => {
      const list = z.array(JobState).parse(
        await ctx.api.get(apiPath`/nodes/${node}/replication`, undefined, opts),
      );
      for (const s of list) states.set(s.id, s);
    }));
    const jobs = await Promise.all(configs.map(async (c) => {
      const s = states.get(c.id);
      const failing = (s?.fail_count ?? 0) > 0 || !!s?.error;
      const state = c.disable
        ? "disabled" as const
        : !s
        ? "unknown" as const
        : failing
        ? "failing" as const
        : s.last_sync
        ? "ok" as const
        : "never_synced" as const;
      const source = sourceOf(c);
      let log_tail: string[] | undefined;
      if (failing && source) {
        log_tail = LogLines.parse(
          await ctx.api.get(apiPath`/nodes/${source}/replication/${c.id}/log`, undefined, opts),
        ).slice(-8).map((l) => l.t);
      }
      return {
        id: c.id,
        guest: c.guest,
        name: snapshot.guest(c.guest)?.name,
        source,
        target: c.target,
        schedule: c.schedule ?? "*/15",
        state,
        last_sync: s?.last_sync ? time(s.last_sync) : undefined,
        last_sync_ago_s: s?.last_sync ? nowSec - s.last_sync : undefined,
        next_sync: s?.next_sync ? time(s.next_sync) : undefined,
        duration_s: s?.duration,
        fail_count: s?.fail_count ?? 0,
        error: s?.error,
        log_tail,
      };
    }));
    const text = jobs.length
      ? [
        table(jobs, [
          "id",
          "name",
          ["route", (j) => `${j.source ?? "?"}→${j.target}`],
          "state",
          ["last_sync", (j) =>
            j.last_sync ? `${j.last_sync} (${duration(j.last_sync_ago_s)} ago)` : "never"],
          "next_sync",
          ["fails", (j) =>
            j.fail_count],
        ]),
        ...jobs.filter((j) => j.error).map((j) => `${j.id} error: ${j.error}`),
      ].join("\n")
      : "no replication jobs" + (a.guest ? ` for guest ${a.guest}` : "");
    return { structured: { jobs }, text };
  },
});

/** The replication toolset. */
export const replicationTools: Tool[] = [replicationStatus];

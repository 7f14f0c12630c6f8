/**
 * Ceph endpoints: `ceph status` (with health detail, as PVE merges it in), the OSD tree, pools
 * and monitors. Without `state.ops.ceph` they fail the way an uninitialised pveceph does.
 * A `nautilus` release answers with the nested pre-Octopus `osdmap.osdmap` layout.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import type { CephState } from "../ops_state.ts";
import type { RouteContext, RouteHandler } from "./context.ts";

function cephOf(ctx: RouteContext): CephState {
  const ceph = ctx.sim.state.ops.ceph;
  if (!ceph) throw new ApiError(500, "pveceph configuration not initialized");
  return ceph;
}

const status: RouteHandler = (ctx) => {
  const c = cephOf(ctx);
  const up = c.osds.filter((o) => o.up).length;
  const inn = c.osds.filter((o) => o.in).length;
  const osdmap = {
    epoch: 1742,
    num_osds: c.osds.length,
    num_up_osds: up,
    num_in_osds: inn,
    num_remapped_pgs: 2,
  };
  const numPgs = Object.values(c.pgStates).reduce((a, b) => a + b, 0);
  const total = c.osds.reduce((a, o) => a + o.size, 0);
  const used = c.osds.reduce((a, o) => a + o.used, 0);
  const worst = c.checks.some((k) => k.severity === "HEALTH_ERR")
    ? "HEALTH_ERR"
    : c.checks.length
    ? "HEALTH_WARN"
    : "HEALTH_OK";
  const nautilus = c.release === "nautilus";
  return {
    fsid: c.fsid,
    health: {
      status: worst,
      checks: Object.fromEntries(c.checks.map((k) => [k.code, {
        severity: k.severity,
        summary: { message: k.message, count: k.count },
        detail: k.details.map((message) => ({ message })),
        muted: false,
      }])),
      mutes: [],
    },
    election_epoch: 48,
    quorum: c.monitors.map((_, i) => i).filter((i) => c.monitors[i].inQuorum),
    quorum_names: c.monitors.filter((m) => m.inQuorum).map((m) => m.name),
    quorum_age: 3_561_223,
    monmap: { epoch: 3, min_mon_release_name: c.release, num_mons: c.monitors.length },
    osdmap: nautilus ? { osdmap: { ...osdmap, full: false, nearfull: false } } : osdmap,
    pgmap: {
      pgs_by_state: Object.entries(c.pgStates).map(([state_name, count]) => ({
        state_name,
        count,
      })),
      num_pgs: numPgs,
      num_pools: c.pools.length,
      num_objects: 65_784,
      data_bytes: Math.floor(used / 3),
      bytes_used: Math.floor(used),
      bytes_avail: Math.floor(total - used),
      bytes_total: Math.floor(total),
    },
    mgrmap: nautilus
      ? {
        active_name: c.managers.find((m) => m.active)?.name ?? "",
        available: c.managers.some((m) => m.active),
        standbys: c.managers.filter((m) => !m.active).map((m) => ({ name: m.name })),
      }
      : {
        available: c.managers.some((m) => m.active),
        num_standbys: c.managers.filter((m) => !m.active).length,
        modules: ["iostat", "nfs", "restful"],
        services: {},
      },
    fsmap: { epoch: 1, by_rank: [], up: 0, in: 0, max: 0 },
    servicemap: { epoch: 12, modified: "2026-01-01T00:00:00.000000+0000", services: {} },
  };
};

const osdTree: RouteHandler = (ctx) => {
  const c = cephOf(ctx);
  const hosts = [...new Set(c.osds.map((o) => o.host))];
  return {
    flags: "sortbitwise,recovery_deletes,purged_snapdirs,pglog_hardlimit",
    root: {
      leaf: 0,
      children: [{
        id: -1,
        name: "default",
        type: "root",
        leaf: 0,
        children: hosts.map((host, i) => ({
          id: -(i + 2),
          name: host,
          type: "host",
          leaf: 0,
          children: c.osds.filter((o) => o.host === host).map((o) => ({
            id: o.id,
            name: `osd.${o.id}`,
            type: "osd",
            leaf: 1,
            host,
            status: o.up ? "up" : "down",
            in: o.in ? 1 : 0,
            device_class: o.deviceClass,
            crush_weight: Math.round((o.size / 2 ** 40) * 1000) / 1000,
            total_space: Math.floor(o.size),
            bytes_used: Math.floor(o.used),
            percent_used: Math.round((o.used / o.size) * 10_000) / 100,
            osdtype: "bluestore",
            ceph_version_short: c.version,
          })),
        })),
      }],
    },
  };
};

const pools: RouteHandler = (ctx) =>
  cephOf(ctx).pools.map((p) => ({
    pool: p.id,
    pool_name: p.name,
    size: p.size,
    min_size: p.minSize,
    pg_num: p.pgNum,
    pg_autoscale_mode: "on",
    crush_rule: 0,
    crush_rule_name: "replicated_rule",
    bytes_used: Math.floor(p.bytesUsed),
    percent_used: p.percentUsed,
    type: "replicated",
    application_metadata: { [p.application]: {} },
  }));

const mons: RouteHandler = (ctx) => {
  const c = cephOf(ctx);
  return c.monitors.map((m, rank) => ({
    name: m.name,
    addr: m.addr,
    host: true,
    quorum: m.inQuorum,
    rank,
    state: "running",
    service: 1,
    direxists: "1",
    ceph_version: `ceph version ${c.version} (${c.release} stable)`,
    ceph_version_short: c.version,
  }));
};

/** Ceph routes. */
export const cephRoutes: Record<string, RouteHandler> = {
  "GET /cluster/ceph/status": status,
  "GET /nodes/{node}/ceph/status": status,
  "GET /nodes/{node}/ceph/osd": osdTree,
  "GET /nodes/{node}/ceph/pool": pools,
  "GET /nodes/{node}/ceph/mon": mons,
};

/**
 * Cluster-wide and node read endpoints: version, cluster status and resources, next free VMID,
 * nodes, node status and network.
 *
 * @module
 */
import { paramError } from "../errors.ts";
import { PVE_VERSION } from "../scenario_common.ts";
import type { Guest, NodeState, StorageState } from "../state.ts";
import { storageOnNode, storageTotal } from "../usage.ts";
import { node, optInt, optStr, type RouteContext, type RouteHandler } from "./context.ts";
import { taskListEntry } from "./tasks.ts";

/** Resource entry of one guest, as in `/cluster/resources` (also used by pools). */
export function guestResource(ctx: RouteContext, g: Guest): Record<string, unknown> {
  const online = ctx.sim.state.nodes.get(g.node)?.online ?? false;
  const u = ctx.view.guest(g);
  const entry: Record<string, unknown> = {
    id: `${g.type}/${g.vmid}`,
    type: g.type,
    vmid: g.vmid,
    name: g.name,
    node: g.node,
    status: online ? g.status : "unknown",
    template: g.template ? 1 : 0,
  };
  if (online) {
    Object.assign(entry, {
      cpu: u.cpu,
      maxcpu: u.cpus,
      mem: u.mem,
      maxmem: u.maxmem,
      disk: u.disk,
      maxdisk: u.maxdisk,
      netin: u.netin,
      netout: u.netout,
      diskread: u.diskread,
      diskwrite: u.diskwrite,
      uptime: u.uptime,
    });
  }
  if (g.config.tags) entry.tags = g.config.tags;
  if (g.pool) entry.pool = g.pool;
  if (g.config.lock) entry.lock = g.config.lock;
  return entry;
}

function nodeResource(ctx: RouteContext, n: NodeState): Record<string, unknown> {
  const base = { id: `node/${n.name}`, type: "node", node: n.name, level: "" };
  if (!n.online) return { ...base, status: "offline" };
  const u = ctx.view.node(n);
  return {
    ...base,
    status: "online",
    cpu: u.cpu,
    maxcpu: n.cpus,
    mem: u.mem,
    maxmem: n.memory,
    disk: u.rootfsUsed,
    maxdisk: n.rootfs,
    uptime: u.uptime,
    "cgroup-mode": 2,
  };
}

/** Resource entry of a storage on a node. */
export function storageResource(
  ctx: RouteContext,
  s: StorageState,
  nodeName: string,
): Record<string, unknown> {
  const online = ctx.sim.state.nodes.get(nodeName)?.online ?? false;
  const available = online && s.enabled;
  return {
    id: `storage/${nodeName}/${s.storage}`,
    type: "storage",
    storage: s.storage,
    node: nodeName,
    status: available ? "available" : "unknown",
    plugintype: s.type,
    content: s.content.join(","),
    shared: s.shared ? 1 : 0,
    disk: available ? ctx.view.used(s, nodeName) : 0,
    maxdisk: available ? storageTotal(s, nodeName) : 0,
  };
}

const version: RouteHandler = () => ({ ...PVE_VERSION });

const clusterStatus: RouteHandler = (ctx) => {
  const nodes = [...ctx.sim.state.nodes.values()];
  const online = nodes.filter((n) => n.online).length;
  return [
    {
      type: "cluster",
      id: "cluster",
      name: ctx.sim.state.clusterName,
      nodes: nodes.length,
      quorate: online * 2 > nodes.length ? 1 : 0,
      version: 3 + nodes.length,
    },
    ...nodes.map((n) => ({
      type: "node",
      id: `node/${n.name}`,
      name: n.name,
      nodeid: n.nodeid,
      ip: n.ip,
      online: n.online ? 1 : 0,
      local: n.name === ctx.sim.localNode ? 1 : 0,
      level: "",
    })),
  ];
};

const resources: RouteHandler = (ctx) => {
  const type = optStr(ctx, "type");
  const st = ctx.sim.state;
  const out: Record<string, unknown>[] = [];
  if (!type || type === "vm") {
    for (const g of st.guests.values()) out.push(guestResource(ctx, g));
  }
  if (!type || type === "node") {
    for (const n of st.nodes.values()) out.push(nodeResource(ctx, n));
  }
  if (!type || type === "storage") {
    for (const n of st.nodes.values()) {
      for (const s of st.storages.values()) {
        if (storageOnNode(s, n.name)) out.push(storageResource(ctx, s, n.name));
      }
    }
  }
  if (!type) {
    for (const p of st.pools.values()) {
      out.push({ id: `/pool/${p.poolid}`, type: "pool", pool: p.poolid });
    }
  }
  if (!type || type === "sdn") {
    for (const n of st.nodes.values()) {
      out.push({
        id: `sdn/${n.name}/localnetwork`,
        type: "sdn",
        sdn: "localnetwork",
        node: n.name,
        status: n.online ? "ok" : "unknown",
      });
    }
  }
  return out;
};

/** The lowest free VMID from 100 (a numeric string, as PVE returns it). */
export function nextFreeVmid(ctx: RouteContext): number {
  let id = 100;
  while (ctx.sim.state.guests.has(id)) id++;
  return id;
}

const nextid: RouteHandler = (ctx) => {
  const wanted = optInt(ctx, "vmid");
  if (wanted !== undefined) {
    if (ctx.sim.state.guests.has(wanted)) throw paramError({ vmid: `VM ${wanted} already exists` });
    return String(wanted);
  }
  return String(nextFreeVmid(ctx));
};

const clusterTasks: RouteHandler = (ctx) => {
  const all = [...ctx.sim.state.tasks.values()].sort((a, b) => b.starttime - a.starttime);
  return all.slice(0, 200).map((t) => ({
    ...taskListEntry(t),
    saved: t.status === "stopped" ? "1" : "0",
  }));
};

const nodesList: RouteHandler = (ctx) =>
  [...ctx.sim.state.nodes.values()].map((n) => {
    const r = nodeResource(ctx, n);
    if (n.online) r.ssl_fingerprint = ctx.sim.fingerprint;
    return r;
  });

const nodeStatus: RouteHandler = (ctx) => {
  const n = node(ctx);
  const u = ctx.view.node(n);
  const rootUsed = u.rootfsUsed;
  return {
    uptime: u.uptime,
    cpu: u.cpu,
    wait: Math.round(u.cpu * 0.02 * 1e6) / 1e6,
    idle: 0,
    loadavg: u.loadavg,
    kversion: `Linux ${n.kernel} #1 SMP PREEMPT_DYNAMIC PMX ${n.kernel.replace("-pve", "")}`,
    "current-kernel": {
      sysname: "Linux",
      release: n.kernel,
      version: `#1 SMP PREEMPT_DYNAMIC PMX ${n.kernel.replace("-pve", "")} (2025-10-21T11:55Z)`,
      machine: "x86_64",
    },
    "boot-info": { mode: "efi", secureboot: 0 },
    pveversion: `pve-manager/${PVE_VERSION.version}/${PVE_VERSION.repoid}`,
    cpuinfo: {
      model: n.cpuModel,
      cpus: n.cpus,
      sockets: n.sockets,
      cores: Math.max(1, Math.floor(n.cpus / n.sockets / 2)),
      mhz: "3200.000",
      hvm: "1",
      user_hz: 100,
      flags:
        "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx lm constant_tsc rep_good nopl xtopology cpuid pni pclmulqdq ssse3 fma cx16 sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm avx2 bmi1 bmi2 svm vmx",
    },
    memory: {
      total: n.memory,
      used: u.mem,
      free: n.memory - u.mem,
      available: Math.floor((n.memory - u.mem) * 0.97),
    },
    swap: { total: n.swap, used: u.swapUsed, free: n.swap - u.swapUsed },
    rootfs: {
      total: n.rootfs,
      used: rootUsed,
      free: n.rootfs - rootUsed,
      avail: n.rootfs - rootUsed,
    },
    ksm: { shared: 0 },
  };
};

/** Read endpoints of the cluster and nodes. */
export const clusterRoutes: Record<string, RouteHandler> = {
  "GET /version": version,
  "GET /cluster/status": clusterStatus,
  "GET /cluster/resources": resources,
  "GET /cluster/nextid": nextid,
  "GET /cluster/tasks": clusterTasks,
  "GET /nodes": nodesList,
  "GET /nodes/{node}/status": nodeStatus,
};

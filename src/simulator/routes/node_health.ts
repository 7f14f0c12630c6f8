/**
 * Node maintenance endpoints: pending apt updates and repositories, disks with SMART, ZFS pools,
 * LVM thin pools, systemd services and certificates.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import type { NodeOps } from "../ops_state.ts";
import { bool, node, type RouteContext, type RouteHandler, str } from "./context.ts";

const EMPTY: NodeOps = {
  journal: [],
  updates: [],
  repositories: [],
  disks: [],
  zfs: [],
  lvmthin: [],
  services: [],
  certificates: [],
};

function opsOf(ctx: RouteContext): NodeOps {
  return ctx.sim.state.ops.nodes.get(node(ctx).name) ?? EMPTY;
}

const aptUpdates: RouteHandler = (ctx) =>
  opsOf(ctx).updates.map((u) => ({
    Package: u.package,
    Title: u.title,
    Description: `${u.title}.`,
    OldVersion: u.oldVersion,
    Version: u.version,
    Origin: u.origin,
    Priority: u.priority,
    Section: u.section,
    Arch: "amd64",
  }));

const aptRepositories: RouteHandler = (ctx) => {
  const repos = opsOf(ctx).repositories;
  const paths = [...new Set(repos.map((r) => r.path))];
  const files = paths.map((path, f) => ({
    path,
    "file-type": "sources",
    digest: Array.from({ length: 32 }, (_, i) => (i * 31 + f * 7) & 0xff),
    repositories: repos.filter((r) => r.path === path).map((r) => ({
      Types: r.types,
      URIs: r.uris,
      Suites: r.suites,
      Components: r.components,
      Enabled: r.enabled ? 1 : 0,
      FileType: "sources",
    })),
  }));
  const has = (component: string) => repos.find((r) => r.components.includes(component))?.enabled;
  const infos = files.flatMap((file) =>
    file.repositories.map((r, index) => ({
      path: file.path,
      index: String(index),
      kind: "origin",
      message: r.URIs[0].includes("proxmox") ? "Proxmox" : "Debian",
    }))
  );
  return {
    files,
    errors: [],
    infos,
    digest: "9f1c2e".padEnd(64, "0"),
    "standard-repos": [
      { handle: "enterprise", name: "Enterprise", status: has("pve-enterprise") },
      { handle: "no-subscription", name: "No-Subscription", status: has("pve-no-subscription") },
      { handle: "test", name: "Test" },
    ].map((r) =>
      r.status === undefined ? { handle: r.handle, name: r.name } : {
        ...r,
        status: r.status ? 1 : 0,
      }
    ),
  };
};

const diskList: RouteHandler = (ctx) => {
  const skipSmart = bool(ctx, "skipsmart");
  return opsOf(ctx).disks.map((d) => ({
    devpath: d.devpath,
    model: d.model,
    serial: d.serial,
    ...(d.vendor ? { vendor: d.vendor } : {}),
    type: d.type,
    size: d.size,
    ...(d.rpm ? { rpm: d.rpm } : {}),
    wearout: d.wearout ?? "N/A",
    health: skipSmart ? "UNKNOWN" : d.health,
    used: d.used,
    osdid: d.osdid ?? -1,
    "osdid-list": d.osdid === undefined ? [] : [d.osdid],
    gpt: 1,
    mounted: 0,
    wwn: "unknown",
    by_id_link: `/dev/disk/by-id/${d.type === "nvme" ? "nvme" : "ata"}-${
      d.model.replaceAll(" ", "_")
    }_${d.serial}`,
  }));
};

const smart: RouteHandler = (ctx) => {
  const dev = str(ctx, "disk");
  const disk = opsOf(ctx).disks.find((d) => d.devpath === dev);
  if (!disk) throw new ApiError(500, `no such disk '${dev}'`);
  if (bool(ctx, "healthonly")) return { health: disk.health };
  if (disk.smart.text !== undefined) {
    return { health: disk.health, type: "text", text: disk.smart.text };
  }
  return {
    health: disk.health,
    type: "ata",
    attributes: (disk.smart.attributes ?? []).map((a) => ({
      id: String(a.id).padStart(3, " "),
      name: a.name,
      value: a.value,
      worst: a.worst,
      threshold: a.threshold,
      raw: a.raw,
      fail: a.fail,
      flags: "PO--CK",
      normalized: a.value,
    })),
  };
};

const zfsList: RouteHandler = (ctx) =>
  opsOf(ctx).zfs.map((z) => ({
    name: z.name,
    size: z.size,
    alloc: z.alloc,
    free: z.size - z.alloc,
    frag: z.frag,
    dedup: z.dedup,
    health: z.health,
  }));

const zfsDetail: RouteHandler = (ctx) => {
  const name = str(ctx, "name");
  const pool = opsOf(ctx).zfs.find((z) => z.name === name);
  if (!pool) throw new ApiError(500, `zpool '${name}' does not exist`);
  const degraded = pool.health !== "ONLINE";
  return {
    name: pool.name,
    state: pool.health,
    ...(degraded
      ? {
        status:
          "One or more devices are faulted in response to persistent errors. Sufficient replicas exist for the pool to continue functioning in a degraded state.",
        action: "Replace the faulted device, or use 'zpool clear' to mark the device repaired.",
      }
      : {}),
    scan: pool.scan,
    errors: "No known data errors",
    children: [{
      name: pool.name,
      state: pool.health,
      read: 0,
      write: 0,
      cksum: 0,
      msg: "",
      children: pool.devices.map((d) => ({
        name: d.name,
        state: d.state,
        read: d.read,
        write: d.write,
        cksum: d.cksum,
        msg: d.state === "FAULTED" ? "too many errors" : "",
        leaf: d.name.startsWith("mirror") ? 0 : 1,
      })),
    }],
  };
};

const lvmthin: RouteHandler = (ctx) =>
  opsOf(ctx).lvmthin.map((t) => ({
    vg: t.vg,
    lv: t.lv,
    lv_size: t.size,
    used: t.used,
    metadata_size: t.metadataSize,
    metadata_used: t.metadataUsed,
  }));

const services: RouteHandler = (ctx) =>
  opsOf(ctx).services.map((s) => ({
    service: s.name,
    name: s.name,
    desc: s.desc,
    state: s.state,
    "active-state": s.activeState,
    "unit-state": s.unitState,
  }));

const certificates: RouteHandler = (ctx) =>
  opsOf(ctx).certificates.map((c) => ({
    filename: c.filename,
    subject: c.subject,
    issuer: c.issuer,
    san: c.san,
    notbefore: c.notbefore,
    notafter: c.notafter,
    fingerprint: c.fingerprint,
    "public-key-type": c.keyType,
    "public-key-bits": c.keyBits,
  }));

/** Node maintenance routes. */
export const nodeHealthRoutes: Record<string, RouteHandler> = {
  "GET /nodes/{node}/apt/update": aptUpdates,
  "GET /nodes/{node}/apt/repositories": aptRepositories,
  "GET /nodes/{node}/disks/list": diskList,
  "GET /nodes/{node}/disks/smart": smart,
  "GET /nodes/{node}/disks/zfs": zfsList,
  "GET /nodes/{node}/disks/zfs/{name}": zfsDetail,
  "GET /nodes/{node}/disks/lvmthin": lvmthin,
  "GET /nodes/{node}/services": services,
  "GET /nodes/{node}/certificates/info": certificates,
};

/**
 * Guest lifecycle: create (QEMU and LXC, including restore from a backup), clone, convert to
 * template, migrate and destroy. Each runs as a task; state changes land when the task ends.
 *
 * @module
 */
import { configDisks, formatPropString, getProp, parsePropString, setProp } from "../conf.ts";
import { ApiError, paramError } from "../errors.ts";
import { lxcConfig, macFor, qemuConfig, seededUuid } from "../scenario_common.ts";
import { Guest, type GuestConfig, type GuestType, type VolumeState } from "../state.ts";
import {
  bool,
  checkLock,
  guestOf,
  kindWord,
  node,
  optBool,
  optInt,
  optStr,
  rawValue,
  type RouteContext,
  type RouteHandler,
  startTask,
  str,
} from "./context.ts";
import { nextVolname, prepareValue, requireStorage, volumeExists } from "./disks.ts";
import { markStarted } from "./guest_power.ts";

const CREATE_META = new Set([
  "node",
  "vmid",
  "archive",
  "force",
  "pool",
  "start",
  "storage",
  "unique",
  "bwlimit",
  "live-restore",
  "import-working-storage",
  "ha-managed",
  "ostemplate",
  "password",
  "ssh-public-keys",
  "restore",
  "ignore-unpack-errors",
]);

function requirePool(ctx: RouteContext, pool: string | undefined): void {
  if (pool !== undefined && !ctx.sim.state.pools.has(pool)) {
    throw new ApiError(500, `pool '${pool}' does not exist`);
  }
}

function refuseExisting(ctx: RouteContext, vmid: number): void {
  const existing = ctx.sim.state.guests.get(vmid);
  if (existing) {
    throw new ApiError(
      500,
      `${kindWord(existing.type)} ${vmid} already exists on node '${existing.node}'`,
    );
  }
}

/** Rewrites every disk of `cfg` to a new VMID and (optionally) storage, allocating names. */
function relocateDisks(
  type: GuestType,
  cfg: GuestConfig,
  vmid: number,
  storage: string | undefined,
  prefix: "vm" | "base" = "vm",
): GuestConfig {
  const out: GuestConfig = { ...cfg };
  const used = new Set<string>();
  for (const disk of configDisks(type, cfg)) {
    if (disk.key.startsWith("unused")) {
      delete out[disk.key];
      continue;
    }
    const target = storage ?? disk.storage;
    const name = nextVolname(vmid, used, prefix);
    const volname = disk.volname.endsWith(".qcow2") ? `${vmid}/${name}.qcow2` : name;
    const pairs = parsePropString(cfg[disk.key]);
    const at = pairs.findIndex(([k]) => k === null || k === "file" || k === "volume");
    pairs[at] = [pairs[at][0], `${target}:${volname}`];
    out[disk.key] = formatPropString(pairs);
  }
  return out;
}

function freshIdentity(type: GuestType, cfg: GuestConfig, seed: number, vmid: number): void {
  for (const key of Object.keys(cfg)) {
    if (!/^net\d+$/.test(key)) continue;
    const index = Number(key.slice(3)) + 31;
    const mac = macFor(seed, vmid, index);
    if (type === "lxc") cfg[key] = setProp(cfg[key], "hwaddr", mac);
    else {
      const pairs = parsePropString(cfg[key]).map(([k, v]): [string | null, string] =>
        k !== null && /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/i.test(v) && !["bridge", "tag"].includes(k)
          ? [k, mac]
          : [k, v]
      );
      cfg[key] = formatPropString(pairs);
    }
  }
  if (type === "qemu") {
    cfg.smbios1 = `uuid=${seededUuid(seed, vmid * 7 + 1 + 0x10000)}`;
    cfg.vmgenid = seededUuid(seed, vmid * 7 + 2 + 0x10000);
  }
}

function registerNew(
  ctx: RouteContext,
  vmid: number,
  type: GuestType,
  nodeName: string,
  cfg: GuestConfig,
  pool?: string,
): Guest {
  const g = new Guest({ vmid, type, node: nodeName, status: "stopped", pool }, cfg);
  ctx.sim.state.guests.set(vmid, g);
  return g;
}

/** Removes a guest that never finished creating (task failed or aborted). */
function dropIfUnfinished(ctx: RouteContext, g: Guest, lock: string): () => void {
  return () => {
    if (g.config.lock === lock && ctx.sim.state.guests.get(g.vmid) === g) {
      ctx.sim.state.guests.delete(g.vmid);
    }
  };
}

function backupVolume(
  ctx: RouteContext,
  volid: string,
  nodeName: string,
  type: GuestType,
): VolumeState {
  if (!volumeExists(ctx.sim.state, volid, nodeName)) {
    throw new ApiError(500, `volume '${volid}' does not exist`);
  }
  const storageId = volid.slice(0, volid.indexOf(":"));
  const shared = ctx.sim.state.storages.get(storageId)?.shared ?? false;
  const v = ctx.sim.state.volumes.find((x) =>
    x.volid === volid && (shared || x.node === nodeName)
  )!;
  if (v.content !== "backup") throw new ApiError(500, `volume '${volid}' is not a backup archive`);
  if (v.subtype && v.subtype !== type) {
    throw new ApiError(
      500,
      `archive '${volid}' is a ${v.subtype === "qemu" ? "VM" : "CT"} backup, not a ${
        kindWord(type)
      } backup`,
    );
  }
  return v;
}

function archiveConfig(ctx: RouteContext, v: VolumeState, type: GuestType): GuestConfig {
  if (v.config) return { ...v.config };
  const original = v.vmid !== undefined ? ctx.sim.state.guests.get(v.vmid) : undefined;
  if (original && original.type === type) {
    const cfg = { ...original.config };
    delete cfg.lock;
    delete cfg.parent;
    return cfg;
  }
  const name = v.notes?.split(/\s/)[0] || `restored-${v.vmid ?? 0}`;
  return type === "qemu"
    ? qemuConfig(ctx.sim.state.seed, {
      vmid: v.vmid ?? 100,
      name,
      memory: 2048,
      cores: 2,
      diskGiB: 32,
      createdAt: v.ctime * 1000,
    })
    : lxcConfig(ctx.sim.state.seed, {
      vmid: v.vmid ?? 100,
      hostname: name,
      memory: 512,
      cores: 1,
      diskGiB: 8,
    });
}

function restore(ctx: RouteContext, type: GuestType, volid: string): string {
  const n = node(ctx);
  const vmid = optInt(ctx, "vmid")!;
  const force = bool(ctx, "force");
  const storage = optStr(ctx, "storage");
  const pool = optStr(ctx, "pool");
  requirePool(ctx, pool);
  const existing = ctx.sim.state.guests.get(vmid);
  if (existing && !force) {
    throw new ApiError(
      500,
      `unable to restore ${kindWord(type)} ${vmid} - ${
        kindWord(existing.type)
      } ${vmid} already exists on node '${existing.node}'`,
    );
  }
  if (existing && (existing.node !== n.name || existing.type !== type)) {
    throw new ApiError(
      500,
      `unable to restore ${kindWord(type)} ${vmid} - it exists on node '${existing.node}'`,
    );
  }
  if (existing?.status === "running") {
    throw new ApiError(
      500,
      `unable to restore ${kindWord(type)} ${vmid} - ${kindWord(type)} is running`,
    );
  }
  if (existing?.config.protection === "1") {
    throw new ApiError(
      500,
      `unable to restore ${kindWord(type)} ${vmid} - protection mode enabled`,
    );
  }
  const v = backupVolume(ctx, volid, n.name, type);
  if (storage) {
    requireStorage(ctx.sim.state, storage, n.name, type === "qemu" ? "images" : "rootdir");
  }
  let cfg = relocateDisks(type, archiveConfig(ctx, v, type), vmid, storage);
  delete cfg.lock;
  delete cfg.parent;
  if (bool(ctx, "unique") || !existing) freshIdentity(type, cfg, ctx.sim.state.seed, vmid);
  for (const [key, value] of Object.entries(ctx.values)) {
    if (CREATE_META.has(key) || value === undefined) continue;
    cfg[key] = rawValue(value);
  }
  cfg = { ...cfg, lock: "create" };
  if (existing) ctx.sim.state.guests.delete(vmid);
  const g = registerNew(ctx, vmid, type, n.name, cfg, pool ?? existing?.pool);
  const start = bool(ctx, "start");
  const file = `/mnt/pve/${v.storage}/dump/${v.volid.split("/").pop()}`;
  const lines = type === "qemu"
    ? [
      `restore vma archive: zstd -q -d -c ${file} | vma extract -v -r /var/tmp/vzdumptmp.fifo - /var/tmp/vzdumptmp`,
      ...configDisks(type, cfg).map((d) => `  Logical volume "${d.volname}" created.`),
      "progress 50% (read 1073741824 bytes, duration 3 sec)",
      "progress 100% (read 2147483648 bytes, duration 6 sec)",
      "total bytes read 2147483648, sparse bytes 1073741824 (50%)",
      "rescan volumes...",
    ]
    : [
      "recovering backed-up configuration from '" + v.volid + "'",
      ...configDisks(type, cfg).map((d) => `  Logical volume "${d.volname}" created.`),
      `restoring '${file}' now..`,
      "Total bytes read: 1073741824 (1.0GiB, 310MiB/s)",
      "merging backed-up and given configuration..",
    ];
  return startTask(ctx, {
    type: type === "qemu" ? "qmrestore" : "vzrestore",
    id: String(vmid),
    lines,
    onSuccess: () => {
      delete g.config.lock;
      if (start) markStarted(g, ctx.sim.clock.now());
    },
    onEnd: dropIfUnfinished(ctx, g, "create"),
  });
}

const createQemu: RouteHandler = (ctx) => {
  const archive = optStr(ctx, "archive");
  if (archive !== undefined) return restore(ctx, "qemu", archive);
  const n = node(ctx);
  const vmid = optInt(ctx, "vmid")!;
  refuseExisting(ctx, vmid);
  const pool = optStr(ctx, "pool");
  requirePool(ctx, pool);
  const used = new Set<string>();
  const target = { vmid, type: "qemu" as const, node: n.name };
  const cfg: GuestConfig = {};
  for (const [key, value] of Object.entries(ctx.values)) {
    if (CREATE_META.has(key) || value === undefined) continue;
    cfg[key] = prepareValue(ctx.sim.state, target, key, rawValue(value), used);
  }
  const now = ctx.sim.clock.now();
  cfg.smbios1 ??= `uuid=${seededUuid(ctx.sim.state.seed, vmid * 7 + 1 + now)}`;
  cfg.vmgenid ??= seededUuid(ctx.sim.state.seed, vmid * 7 + 2 + now);
  cfg.meta ??= `creation-qemu=9.2.0,ctime=${Math.floor(now / 1000)}`;
  cfg.lock = "create";
  const g = registerNew(ctx, vmid, "qemu", n.name, cfg, pool);
  const start = bool(ctx, "start");
  return startTask(ctx, {
    type: "qmcreate",
    id: String(vmid),
    lines: configDisks("qemu", cfg).map((d) => `  Logical volume "${d.volname}" created.`),
    onSuccess: () => {
      delete g.config.lock;
      if (start) markStarted(g, ctx.sim.clock.now());
    },
    onEnd: dropIfUnfinished(ctx, g, "create"),
  });
};

const OSTYPES = [
  "debian",
  "devuan",
  "ubuntu",
  "centos",
  "fedora",
  "opensuse",
  "archlinux",
  "alpine",
  "gentoo",
  "nixos",
];

const createLxc: RouteHandler = (ctx) => {
  const n = node(ctx);
  const vmid = optInt(ctx, "vmid")!;
  const ostemplate = str(ctx, "ostemplate");
  if (bool(ctx, "restore")) return restore(ctx, "lxc", ostemplate);
  refuseExisting(ctx, vmid);
  const pool = optStr(ctx, "pool");
  requirePool(ctx, pool);
  if (!ostemplate.includes(":")) throw paramError({ ostemplate: "unable to parse volume ID" });
  if (!volumeExists(ctx.sim.state, ostemplate, n.name)) {
    throw new ApiError(500, `volume '${ostemplate}' does not exist`);
  }
  const storage = optStr(ctx, "storage") ?? "local";
  const used = new Set<string>();
  const target = { vmid, type: "lxc" as const, node: n.name };
  const tplName = ostemplate.slice(ostemplate.indexOf("/") + 1);
  const distro = tplName.split(/[-_]/)[0];
  const cfg: GuestConfig = {
    arch: "amd64",
    hostname: `CT${vmid}`,
    memory: "512",
    swap: "512",
    ostype: OSTYPES.includes(distro)
      ? distro
      : distro === "rockylinux" || distro === "almalinux"
      ? "centos"
      : "unmanaged",
  };
  for (const [key, value] of Object.entries(ctx.values)) {
    if (CREATE_META.has(key) || value === undefined) continue;
    cfg[key] = rawValue(value);
  }
  cfg.rootfs = prepareValue(ctx.sim.state, target, "rootfs", cfg.rootfs ?? `${storage}:4`, used);
  for (const key of Object.keys(cfg)) {
    if (key !== "rootfs") cfg[key] = prepareValue(ctx.sim.state, target, key, cfg[key], used);
  }
  cfg.lock = "create";
  const g = registerNew(ctx, vmid, "lxc", n.name, cfg, pool);
  const start = bool(ctx, "start");
  const rootfs = configDisks("lxc", cfg).find((d) => d.key === "rootfs");
  return startTask(ctx, {
    type: "vzcreate",
    id: String(vmid),
    lines: [
      `  Logical volume "${rootfs?.volname ?? `vm-${vmid}-disk-0`}" created.`,
      "Creating filesystem with 1048576 4k blocks and 262144 inodes",
      `extracting archive '/var/lib/vz/template/cache/${tplName}'`,
      "Total bytes read: 529694720 (506MiB, 212MiB/s)",
      `Detected container architecture: ${cfg.arch}`,
      "Creating SSH host key 'ssh_host_ed25519_key' - this may take some time ...",
    ],
    onSuccess: () => {
      delete g.config.lock;
      if (start) markStarted(g, ctx.sim.clock.now());
    },
    onEnd: dropIfUnfinished(ctx, g, "create"),
  });
};

const clone: RouteHandler = (ctx) => {
  const src = guestOf(ctx);
  const type = src.type;
  const newid = optInt(ctx, "newid")!;
  refuseExisting(ctx, newid);
  const targetNode = optStr(ctx, "target") ?? src.node;
  const tn = ctx.sim.state.nodes.get(targetNode);
  if (!tn) throw new ApiError(500, `no such cluster node '${targetNode}'`);
  if (!tn.online) throw new ApiError(500, `target node '${targetNode}' is not online`);
  const pool = optStr(ctx, "pool");
  requirePool(ctx, pool);
  const snapname = optStr(ctx, "snapname");
  const snap = snapname === undefined ? undefined : src.snapshots.find((s) => s.name === snapname);
  if (snapname !== undefined && !snap) {
    throw new ApiError(500, `snapshot '${snapname}' does not exist`);
  }
  if (src.config.lock && !src.template) checkLock(ctx, src);
  const full = optBool(ctx, "full") ?? !src.template;
  if (!full && !src.template) {
    throw new ApiError(500, "linked clone is only possible from a template");
  }
  const storage = optStr(ctx, "storage");
  if (!full && storage !== undefined) {
    throw new ApiError(500, "parameter 'storage' not allowed for linked clones");
  }
  if (storage) {
    requireStorage(ctx.sim.state, storage, targetNode, type === "qemu" ? "images" : "rootdir");
  }
  const base = { ...(snap?.config ?? src.config) };
  delete base.lock;
  delete base.parent;
  delete base.template;
  delete base.vmstate;
  delete base.runningmachine;
  const disks = configDisks(type, base).filter((d) => !d.key.startsWith("unused"));
  if (targetNode !== src.node) {
    const storages = ctx.sim.state.storages;
    const local = disks.some((d) => {
      const effective = full && storage ? storage : d.storage;
      return !storages.get(effective)?.shared;
    });
    if (local) {
      throw new ApiError(
        500,
        `can't clone ${kindWord(type)} to node '${targetNode}' (${
          kindWord(type)
        } uses local storage)`,
      );
    }
  }
  let cfg: GuestConfig;
  const lines: string[] = [];
  if (full) {
    cfg = relocateDisks(type, base, newid, storage);
    for (const d of disks) {
      lines.push(`create full clone of drive ${d.key} (${d.storage}:${d.volname})`);
    }
    for (const d of configDisks(type, cfg)) lines.push(`  Logical volume "${d.volname}" created.`);
    lines.push("transferred 100.0% of the data");
  } else {
    cfg = { ...base };
    const used = new Set<string>();
    for (const d of disks) {
      const name = nextVolname(newid, used);
      const pairs = parsePropString(cfg[d.key]);
      const at = pairs.findIndex(([k]) => k === null || k === "file" || k === "volume");
      pairs[at] = [pairs[at][0], `${d.storage}:${d.volname}/${name}`];
      cfg[d.key] = formatPropString(pairs);
      lines.push(`create linked clone of drive ${d.key} (${d.storage}:${d.volname})`);
      lines.push(`  Logical volume "${name}" created.`);
    }
  }
  for (const key of Object.keys(cfg)) if (key.startsWith("unused")) delete cfg[key];
  freshIdentity(type, cfg, ctx.sim.state.seed, newid);
  if (type === "qemu") cfg.name = optStr(ctx, "name") ?? `Copy-of-VM-${src.name}`;
  else cfg.hostname = optStr(ctx, "hostname") ?? src.name;
  const description = optStr(ctx, "description");
  if (description !== undefined) cfg.description = description;
  cfg.lock = "clone";
  const g = registerNew(ctx, newid, type, targetNode, cfg, pool);
  const srcLock = !src.template && !src.config.lock ? "clone" : undefined;
  if (srcLock) src.config.lock = srcLock;
  return startTask(ctx, {
    type: type === "qemu" ? "qmclone" : "vzclone",
    id: String(src.vmid),
    lines,
    onSuccess: () => {
      delete g.config.lock;
    },
    onEnd: () => {
      if (srcLock && src.config.lock === srcLock) delete src.config.lock;
      dropIfUnfinished(ctx, g, "clone")();
    },
  });
};

function templateConfig(g: Guest): GuestConfig {
  const cfg = { ...g.config };
  for (const d of configDisks(g.type, cfg)) {
    if (!d.volname.includes(`vm-${g.vmid}-disk-`)) continue;
    const pairs = parsePropString(cfg[d.key]);
    const at = pairs.findIndex(([k]) => k === null || k === "file" || k === "volume");
    pairs[at] = [
      pairs[at][0],
      `${d.storage}:${d.volname.replace(`vm-${g.vmid}-disk-`, `base-${g.vmid}-disk-`)}`,
    ];
    cfg[d.key] = formatPropString(pairs);
  }
  cfg.template = "1";
  return cfg;
}

function checkTemplatable(ctx: RouteContext, g: Guest): void {
  checkLock(ctx, g);
  if (g.template) throw new ApiError(500, `you can't convert a template to a template`);
  if (g.status === "running") {
    throw new ApiError(
      500,
      g.type === "qemu"
        ? "you can't convert a VM to template if VM is running"
        : "you can't convert a CT to template if the CT is running",
    );
  }
}

const templateQemu: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  checkTemplatable(ctx, g);
  const disk = optStr(ctx, "disk");
  if (disk !== undefined && g.config[disk] === undefined) {
    throw new ApiError(500, `disk '${disk}' does not exist`);
  }
  return startTask(ctx, {
    type: "qmtemplate",
    id: String(g.vmid),
    lines: configDisks("qemu", g.config).map((d) =>
      `  Renamed "${d.volname}" to "${d.volname.replace("vm-", "base-")}" in volume group "pve"`
    ),
    onSuccess: () => {
      g.config = templateConfig(g);
    },
  });
};

const templateLxc: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  checkTemplatable(ctx, g);
  g.config = templateConfig(g);
  return null;
};

const migrate: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const target = str(ctx, "target");
  if (target === g.node) throw new ApiError(500, "target is local node.");
  const tn = ctx.sim.state.nodes.get(target);
  if (!tn) throw new ApiError(500, `no such cluster node '${target}'`);
  if (!tn.online) throw new ApiError(500, `target node '${target}' is not online`);
  checkLock(ctx, g);
  const online = bool(ctx, "online");
  const restart = bool(ctx, "restart");
  const running = g.status === "running";
  if (g.type === "qemu" && running && !online) {
    throw new ApiError(500, "can't migrate running VM without --online");
  }
  if (g.type === "lxc" && running && !restart) {
    throw new ApiError(
      500,
      online
        ? "lxc live migration is currently not implemented"
        : `CT ${g.vmid} is running - use online migration`,
    );
  }
  const storages = ctx.sim.state.storages;
  const disks = configDisks(g.type, g.config);
  for (const key of Object.keys(g.config)) {
    if (getProp(g.config[key], "media") !== "cdrom") continue;
    const file = getProp(g.config[key], null) ?? "";
    const st = storages.get(file.split(":")[0]);
    if (file.includes(":") && st && !st.shared) {
      throw new ApiError(500, `can't migrate local cdrom drive (${key}: ${file})`);
    }
  }
  const local = disks.filter((d) => !storages.get(d.storage)?.shared);
  for (const d of local) {
    const st = storages.get(d.storage);
    if (st && st.nodes && !st.nodes.includes(target)) {
      throw new ApiError(500, `storage '${d.storage}' is not available on node '${target}'`);
    }
  }
  if (g.type === "qemu" && running && local.length && !bool(ctx, "with-local-disks")) {
    throw new ApiError(
      500,
      "can't live migrate attached local disks without with-local-disks option",
    );
  }
  const word = kindWord(g.type);
  const lines = [
    `starting migration of ${word} ${g.vmid} to node '${target}' (${tn.ip})`,
    ...local.map((d) => `found local disk '${d.storage}:${d.volname}' (attached)`),
    ...(running && g.type === "qemu"
      ? [
        `starting VM ${g.vmid} on remote node '${target}'`,
        "start remote tunnel",
        "migration active, transferred 1.2 GiB of 4.0 GiB VM-state, 410.5 MiB/s",
        "migration completed, transferred 3.9 GiB VM-state",
      ]
      : local.map((d) => `copying local disk '${d.storage}:${d.volname}'`)),
    ...(g.type === "lxc" && running ? [`shutdown CT ${g.vmid}`, `start final cleanup`] : []),
    "migration finished successfully (duration 00:00:47)",
  ];
  const release = (() => {
    g.config.lock = "migrate";
    return () => {
      if (g.config.lock === "migrate") delete g.config.lock;
    };
  })();
  return startTask(ctx, {
    type: g.type === "qemu" ? "qmigrate" : "vzmigrate",
    id: String(g.vmid),
    lines,
    onSuccess: () => {
      g.node = target;
      if (g.type === "lxc" && running) g.startedAt = ctx.sim.clock.now();
    },
    onEnd: release,
  });
};

const destroy: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const word = kindWord(g.type);
  if (g.config.protection === "1") {
    throw new ApiError(500, `can't remove ${word} ${g.vmid} - protection mode enabled`);
  }
  checkLock(ctx, g);
  const force = g.type === "lxc" && bool(ctx, "force");
  if (g.status === "running" && !force) {
    throw new ApiError(
      500,
      g.type === "qemu"
        ? `VM ${g.vmid} is running - destroy failed`
        : `unable to destroy CT ${g.vmid} - container is running`,
    );
  }
  const lock = g.type === "lxc" ? "destroyed" : undefined;
  if (lock) g.config.lock = lock;
  const lines = configDisks(g.type, g.config).map((d) =>
    `  Logical volume "${d.volname}" successfully removed.`
  );
  if (bool(ctx, "purge")) lines.push(`purging ${word} ${g.vmid} from related configurations..`);
  return startTask(ctx, {
    type: g.type === "qemu" ? "qmdestroy" : "vzdestroy",
    id: String(g.vmid),
    lines,
    onSuccess: () => {
      if (ctx.sim.state.guests.get(g.vmid) === g) ctx.sim.state.guests.delete(g.vmid);
    },
    onEnd: () => {
      if (lock && g.config.lock === lock) delete g.config.lock;
    },
  });
};

/** Lifecycle endpoints. */
export const guestLifecycleRoutes: Record<string, RouteHandler> = {
  "POST /nodes/{node}/qemu": createQemu,
  "POST /nodes/{node}/lxc": createLxc,
  "POST /nodes/{node}/qemu/{vmid}/clone": clone,
  "POST /nodes/{node}/lxc/{vmid}/clone": clone,
  "POST /nodes/{node}/qemu/{vmid}/template": templateQemu,
  "POST /nodes/{node}/lxc/{vmid}/template": templateLxc,
  "POST /nodes/{node}/qemu/{vmid}/migrate": migrate,
  "POST /nodes/{node}/lxc/{vmid}/migrate": migrate,
  "DELETE /nodes/{node}/qemu/{vmid}": destroy,
  "DELETE /nodes/{node}/lxc/{vmid}": destroy,
};

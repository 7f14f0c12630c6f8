/**
 * Storage endpoints: per-node storage list and status, content listing and single volumes
 * (read, notes/protection, delete), downloads from a URL, backups (vzdump) and the appliance
 * (container template) catalogue.
 *
 * @module
 */
import { configDisks } from "../conf.ts";
import { ApiError, paramError } from "../errors.ts";
import { backupStamp, logStamp } from "../scenario_common.ts";
import { hash32 } from "../rng.ts";
import type { Guest, StorageState, VolumeContent, VolumeState } from "../state.ts";
import { storageOnNode, storageTotal } from "../usage.ts";
import {
  bool,
  kindWord,
  node,
  optBool,
  optInt,
  optStr,
  type RouteContext,
  type RouteHandler,
  startTask,
  str,
} from "./context.ts";
import { requireStorage } from "./disks.ts";

function storageEntry(
  ctx: RouteContext,
  s: StorageState,
  nodeName: string,
): Record<string, unknown> {
  const e: Record<string, unknown> = {
    storage: s.storage,
    type: s.type,
    content: s.content.join(","),
    shared: s.shared ? 1 : 0,
    enabled: s.enabled ? 1 : 0,
    active: s.enabled ? 1 : 0,
  };
  if (s.enabled) {
    const total = storageTotal(s, nodeName);
    const used = ctx.view.used(s, nodeName);
    Object.assign(e, {
      total,
      used,
      avail: total - used,
      used_fraction: total ? Math.round((used / total) * 1e6) / 1e6 : 0,
    });
  }
  return e;
}

const listStorage: RouteHandler = (ctx) => {
  const n = node(ctx);
  const content = optStr(ctx, "content")?.split(/[,;\s]+/).filter(Boolean);
  const enabled = optBool(ctx, "enabled");
  const only = optStr(ctx, "storage");
  const target = optStr(ctx, "target");
  const format = bool(ctx, "format");
  const out: Record<string, unknown>[] = [];
  for (const s of ctx.sim.state.storages.values()) {
    if (!storageOnNode(s, n.name)) continue;
    if (only && s.storage !== only) continue;
    if (enabled && !s.enabled) continue;
    if (content?.length && !content.some((c) => s.content.includes(c))) continue;
    if (target && target !== n.name && !(s.shared && storageOnNode(s, target))) continue;
    const e = storageEntry(ctx, s, n.name);
    if (format) {
      const def = s.type === "dir" || s.type === "nfs" ? "qcow2" : "raw";
      e.formats = {
        default: def,
        supported: def === "qcow2" ? ["qcow2", "raw", "vmdk"] : ["raw"],
      };
    }
    out.push(e);
  }
  return out;
};

/** The storage named by `{storage}` as PVE's storage_info sees it from `{node}`; 400 if absent. */
function storageForStatus(ctx: RouteContext): StorageState {
  const id = str(ctx, "storage");
  const s = ctx.sim.state.storages.get(id);
  if (!s || !storageOnNode(s, str(ctx, "node"))) throw paramError({ storage: "No such storage." });
  return s;
}

/** The storage named by `{storage}`, enabled and available on `{node}`; 500 otherwise. */
function usableStorage(ctx: RouteContext, id = str(ctx, "storage")): StorageState {
  const s = ctx.sim.state.storages.get(id);
  if (!s) throw new ApiError(500, `storage '${id}' does not exist`);
  const nodeName = str(ctx, "node");
  if (!storageOnNode(s, nodeName)) {
    throw new ApiError(500, `storage '${id}' is not available on node '${nodeName}'`);
  }
  if (!s.enabled) throw new ApiError(500, `storage '${id}' is disabled`);
  return s;
}

const storageStatus: RouteHandler = (ctx) => {
  const s = storageForStatus(ctx);
  const e = storageEntry(ctx, s, str(ctx, "node"));
  delete e.storage;
  delete e.used_fraction;
  if (!s.enabled) Object.assign(e, { total: 0, used: 0, avail: 0 });
  return e;
};

const listContent: RouteHandler = (ctx) => {
  const s = usableStorage(ctx);
  const content = optStr(ctx, "content");
  const vmid = optInt(ctx, "vmid");
  return ctx.view.content(s, str(ctx, "node"))
    .filter((e) => !content || e.content === content)
    .filter((e) => vmid === undefined || e.vmid === vmid)
    .sort((a, b) => a.volid.localeCompare(b.volid));
};

/** Resolves `{volume}` (a full volid or a name on `{storage}`) to its volid. */
function volidOf(ctx: RouteContext): string {
  const volume = str(ctx, "volume");
  if (/^[a-z][a-z0-9\-_.]*[a-z0-9]:/i.test(volume)) return volume;
  return `${str(ctx, "storage")}:${volume}`;
}

function findVolume(ctx: RouteContext): { volid: string; volume?: VolumeState; owner?: Guest } {
  const volid = volidOf(ctx);
  const storageId = volid.slice(0, volid.indexOf(":"));
  const s = usableStorage(ctx, storageId);
  const nodeName = str(ctx, "node");
  const volume = ctx.sim.state.volumes.find((v) =>
    v.volid === volid && (s.shared || v.node === nodeName)
  );
  if (volume) return { volid, volume };
  for (const g of ctx.sim.state.guests.values()) {
    if (!s.shared && g.node !== nodeName) continue;
    if (configDisks(g.type, g.config).some((d) => `${d.storage}:${d.volname}` === volid)) {
      return { volid, owner: g };
    }
  }
  throw new ApiError(500, `volume '${volid}' does not exist`);
}

function volumePath(ctx: RouteContext, volid: string): string {
  const [storageId, name] = [
    volid.slice(0, volid.indexOf(":")),
    volid.slice(volid.indexOf(":") + 1),
  ];
  const s = ctx.sim.state.storages.get(storageId)!;
  const root = s.options.path ?? `/dev/${s.options.vgname ?? "pve"}`;
  if (s.type === "lvmthin") return `${root}/${name}`;
  const [content, file] = name.split("/");
  const dir = content === "iso"
    ? "template/iso"
    : content === "vztmpl"
    ? "template/cache"
    : content === "backup"
    ? "dump"
    : `images`;
  return `${root}/${dir}/${file ?? content}`;
}

const getVolume: RouteHandler = (ctx) => {
  const { volid, volume, owner } = findVolume(ctx);
  if (volume) {
    const e: Record<string, unknown> = {
      path: volumePath(ctx, volid),
      size: volume.size,
      used: volume.size,
      format: volume.format,
    };
    if (volume.notes !== undefined) e.notes = volume.notes;
    if (volume.protected) e.protected = 1;
    return e;
  }
  const disk = configDisks(owner!.type, owner!.config).find((d) =>
    `${d.storage}:${d.volname}` === volid
  )!;
  return {
    path: volumePath(ctx, volid),
    size: disk.size,
    used: Math.floor(disk.size * 0.4),
    format: "raw",
  };
};

const putVolume: RouteHandler = (ctx) => {
  const { volid, volume } = findVolume(ctx);
  if (!volume) throw new ApiError(500, `volume '${volid}' does not support notes or protection`);
  const notes = optStr(ctx, "notes");
  const prot = optBool(ctx, "protected");
  if (notes !== undefined) volume.notes = notes;
  if (prot !== undefined) volume.protected = prot;
  return null;
};

const deleteVolume: RouteHandler = (ctx) => {
  const { volid, volume, owner } = findVolume(ctx);
  if (owner) {
    throw new ApiError(
      500,
      `unable to delete '${volid}' - volume is still in use (referenced by ${
        kindWord(owner.type)
      } ${owner.vmid})`,
    );
  }
  if (volume!.protected) throw new ApiError(500, `volume '${volid}' is protected`);
  return startTask(ctx, {
    type: "imgdel",
    id: "",
    lines: [`removed volume '${volid}'`],
    onSuccess: () => {
      const i = ctx.sim.state.volumes.indexOf(volume!);
      if (i >= 0) ctx.sim.state.volumes.splice(i, 1);
    },
  });
};

function addDownloaded(
  ctx: RouteContext,
  s: StorageState,
  content: VolumeContent,
  filename: string,
  size: number,
): () => void {
  const nodeName = str(ctx, "node");
  const volid = `${s.storage}:${content}/${filename}`;
  return () => {
    if (ctx.sim.state.volumes.some((v) => v.volid === volid && (s.shared || v.node === nodeName))) {
      return;
    }
    const ext = filename.split(".").pop() ?? "";
    ctx.sim.state.volumes.push({
      volid,
      storage: s.storage,
      node: s.shared ? null : nodeName,
      content,
      format: content === "iso"
        ? "iso"
        : ext === "zst"
        ? "tzst"
        : ext === "xz"
        ? "txz"
        : ext === "gz"
        ? "tgz"
        : ext,
      size,
      ctime: Math.floor(ctx.sim.clock.now() / 1000),
    });
  };
}

function refuseExistingFile(
  ctx: RouteContext,
  s: StorageState,
  content: string,
  filename: string,
): void {
  const nodeName = str(ctx, "node");
  const volid = `${s.storage}:${content}/${filename}`;
  if (ctx.sim.state.volumes.some((v) => v.volid === volid && (s.shared || v.node === nodeName))) {
    throw new ApiError(500, `refusing to override existing file '${volumePath(ctx, volid)}'`);
  }
}

const downloadUrl: RouteHandler = (ctx) => {
  const s = usableStorage(ctx);
  const content = str(ctx, "content") as VolumeContent;
  const filename = str(ctx, "filename");
  const url = str(ctx, "url");
  if (!/^https?:\/\/[^\s/]+/.test(url)) throw paramError({ url: "invalid URL" });
  if (!/^[^/\s]+$/.test(filename)) throw paramError({ filename: "invalid filename" });
  requireStorage(ctx.sim.state, s.storage, str(ctx, "node"), content);
  refuseExistingFile(ctx, s, content, filename);
  const size = 50 * 2 ** 20 +
    (hash32(filename.length, ...[...filename].map((c) => c.charCodeAt(0))) % (900 * 2 ** 20));
  const target = volumePath(ctx, `${s.storage}:${content}/${filename}`);
  return startTask(ctx, {
    type: "download",
    id: filename,
    lines: [
      `downloading ${url} to ${target}`,
      `--${logStamp(ctx.now)}--  ${url}`,
      `Length: ${size} (${Math.round(size / 2 ** 20)}M) [application/octet-stream]`,
      `Saving to: '${target}.tmp'`,
      `download of '${url}' to '${target}' finished`,
    ],
    onSuccess: addDownloaded(ctx, s, content, filename, size),
  });
};

/** The appliance catalogue (`pveam available`). */
const APPLIANCES = [
  {
    template: "debian-12-standard_12.7-1_amd64.tar.zst",
    os: "debian-12",
    version: "12.7-1",
    headline: "Debian 12 Bookworm (standard)",
    size: 126_619_648,
  },
  {
    template: "debian-13-standard_13.1-2_amd64.tar.zst",
    os: "debian-13",
    version: "13.1-2",
    headline: "Debian 13 Trixie (standard)",
    size: 131_203_072,
  },
  {
    template: "ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
    os: "ubuntu-24.04",
    version: "24.04-2",
    headline: "Ubuntu 24.04 Noble (standard)",
    size: 141_557_760,
  },
  {
    template: "alpine-3.20-default_20240908_amd64.tar.xz",
    os: "alpine-3.20",
    version: "3.20-default",
    headline: "Alpine Linux 3.20 (default)",
    size: 3_051_620,
  },
  {
    template: "rockylinux-9-default_20240912_amd64.tar.xz",
    os: "rockylinux-9",
    version: "20240912",
    headline: "Rocky Linux 9 (default)",
    size: 96_821_248,
  },
  {
    template: "archlinux-base_20240911-1_amd64.tar.zst",
    os: "archlinux",
    version: "20240911-1",
    headline: "Arch Linux (base)",
    size: 185_335_808,
  },
];

const aplinfo: RouteHandler = () =>
  APPLIANCES.map((a) => ({
    template: a.template,
    type: "lxc",
    package: a.template.split("_")[0],
    version: a.version,
    os: a.os,
    section: "system",
    headline: a.headline,
    description: `${a.headline} container image.`,
    infopage: "https://pve.proxmox.com/wiki/Linux_Container#pct_supported_distributions",
    location: `http://download.proxmox.com/images/system/${a.template}`,
    maintainer: "Proxmox Support Team <support@proxmox.com>",
    architecture: "amd64",
    source: "http://download.proxmox.com/images",
    sha512sum: hash32(a.size).toString(16).padStart(8, "0").repeat(16),
  }));

const aplDownload: RouteHandler = (ctx) => {
  const s = usableStorage(ctx);
  const template = str(ctx, "template");
  const apl = APPLIANCES.find((a) => a.template === template);
  if (!apl) throw new ApiError(500, "no such template");
  requireStorage(ctx.sim.state, s.storage, str(ctx, "node"), "vztmpl");
  refuseExistingFile(ctx, s, "vztmpl", template);
  const target = volumePath(ctx, `${s.storage}:vztmpl/${template}`);
  return startTask(ctx, {
    type: "download",
    id: template,
    lines: [
      `starting template download from: http://download.proxmox.com/images/system/${template}`,
      `target file: ${target}`,
      `${template}.tmp.1234: OK`,
      `download of 'http://download.proxmox.com/images/system/${template}' to '${target}' finished`,
    ],
    onSuccess: addDownloaded(ctx, s, "vztmpl", template, apl.size),
  });
};

function compressExt(compress: string | undefined): string {
  switch (compress) {
    case "gzip":
      return ".gz";
    case "lzo":
    case "1":
      return ".lzo";
    case "zstd":
      return ".zst";
    default:
      return "";
  }
}

const vzdump: RouteHandler = (ctx) => {
  const n = node(ctx);
  const st = ctx.sim.state;
  const all = bool(ctx, "all");
  const pool = optStr(ctx, "pool");
  const ids = optStr(ctx, "vmid")?.split(/[,;\s]+/).filter(Boolean).map(Number) ?? [];
  if (!all && !pool && ids.length === 0) {
    throw paramError({ vmid: "property is missing and it is not optional" });
  }
  if (pool && !st.pools.has(pool)) throw new ApiError(500, `pool '${pool}' does not exist`);
  const exclude = new Set(optStr(ctx, "exclude")?.split(/[,;\s]+/).filter(Boolean).map(Number));
  const storageId = optStr(ctx, "storage") ?? "local";
  requireStorage(st, storageId, n.name, "backup");
  const storage = st.storages.get(storageId)!;
  const mode = optStr(ctx, "mode") ?? "snapshot";
  const compress = optStr(ctx, "compress") ?? "0";
  const notesTemplate = optStr(ctx, "notes-template");
  const protect = bool(ctx, "protected");
  for (const id of ids) {
    if (!st.guests.has(id)) throw new ApiError(500, `unable to find VM ${id}`);
  }
  const selected = all
    ? [...st.guests.values()].filter((g) =>
      g.node === n.name && !exclude.has(g.vmid) && !g.template
    )
    : pool
    ? [...st.guests.values()].filter((g) => g.pool === pool && !exclude.has(g.vmid))
    : ids.map((id) => st.guests.get(id)!);
  const local = selected.filter((g) => g.node === n.name);
  const external = selected.filter((g) => g.node !== n.name);
  const start = ctx.sim.clock.now();
  const duration = ctx.sim.tasks.durationMs;
  const lines: string[] = [
    `INFO: starting new backup job: vzdump ${
      all ? "--all 1" : ids.join(" ")
    } --mode ${mode} --storage ${storageId}${compress !== "0" ? ` --compress ${compress}` : ""}`,
  ];
  if (external.length) {
    lines.push(`INFO: skip external VMs: ${external.map((g) => g.vmid).join(", ")}`);
  }
  const results: { g: Guest; ok: boolean; volume?: VolumeState }[] = [];
  let avail = storageTotal(storage, n.name) - ctx.view.used(storage, n.name);
  const locks: Guest[] = [];
  for (const g of local) {
    const kind = g.type;
    const ext = (kind === "qemu" ? "vma" : "tar") + compressExt(compress);
    const file = `vzdump-${kind}-${g.vmid}-${backupStamp(start)}.${ext}`;
    const dumpdir = storage.options.path ? `${storage.options.path}/dump` : "/var/lib/vz/dump";
    const used = configDisks(g.type, g.config)
      .filter((d) => !d.key.startsWith("unused"))
      .reduce((sum, d) => sum + d.size * 0.35, 0);
    const size = Math.max(64 * 2 ** 20, Math.floor(used * (compress === "0" ? 1 : 0.55)));
    lines.push(
      `INFO: Starting Backup of VM ${g.vmid} (${kind})`,
      `INFO: Backup started at ${logStamp(start)}`,
      `INFO: status = ${g.status}`,
      kind === "qemu" ? `INFO: VM Name: ${g.name}` : `INFO: CT Name: ${g.name}`,
      `INFO: backup mode: ${mode}`,
      `INFO: creating vzdump archive '${dumpdir}/${file}'`,
    );
    if (g.config.lock) {
      lines.push(
        `ERROR: Backup of VM ${g.vmid} failed - ${kindWord(g.type)} is locked (${g.config.lock})`,
      );
      results.push({ g, ok: false });
      continue;
    }
    if (size > avail) {
      lines.push(
        "INFO: zstd: error 70 : Write error : cannot write block : No space left on device",
        `ERROR: Backup of VM ${g.vmid} failed - command 'vzdump archive writer' failed: exit code 70`,
      );
      results.push({ g, ok: false });
      continue;
    }
    avail -= size;
    const notes = notesTemplate
      ?.replaceAll("{{guestname}}", g.name)
      .replaceAll("{{vmid}}", String(g.vmid))
      .replaceAll("{{node}}", n.name)
      .replaceAll("{{cluster}}", st.clusterName);
    const config = { ...g.config };
    delete config.lock;
    results.push({
      g,
      ok: true,
      volume: {
        volid: `${storageId}:backup/${file}`,
        storage: storageId,
        node: storage.shared ? null : n.name,
        content: "backup",
        format: ext,
        size,
        ctime: Math.floor(start / 1000),
        vmid: g.vmid,
        subtype: kind,
        ...(notes !== undefined ? { notes } : {}),
        ...(protect ? { protected: true } : {}),
        config,
      },
    });
    lines.push(
      `INFO: archive file size: ${(size / 2 ** 30).toFixed(2)}GB`,
      `INFO: Finished Backup of VM ${g.vmid} (00:00:${
        String(Math.max(1, Math.round(duration / 1000))).padStart(2, "0")
      })`,
    );
    g.config.lock = "backup";
    locks.push(g);
  }
  const failed = results.filter((r) => !r.ok).length;
  lines.push(
    failed ? "INFO: Backup job finished with errors" : "INFO: Backup job finished successfully",
  );
  return startTask(ctx, {
    type: "vzdump",
    id: ids.length === 1 && !all && !pool ? String(ids[0]) : "",
    lines,
    outcome: failed ? "job errors" : "OK",
    onEnd: (exitstatus) => {
      for (const g of locks) if (g.config.lock === "backup") delete g.config.lock;
      if (exitstatus === "interrupted by signal") return;
      for (const r of results) if (r.volume) st.volumes.push(r.volume);
    },
  });
};

/** Storage, backup and appliance endpoints. */
export const storageRoutes: Record<string, RouteHandler> = {
  "GET /nodes/{node}/storage": listStorage,
  "GET /nodes/{node}/storage/{storage}/status": storageStatus,
  "GET /nodes/{node}/storage/{storage}/content": listContent,
  "GET /nodes/{node}/storage/{storage}/content/{volume}": getVolume,
  "PUT /nodes/{node}/storage/{storage}/content/{volume}": putVolume,
  "DELETE /nodes/{node}/storage/{storage}/content/{volume}": deleteVolume,
  "POST /nodes/{node}/storage/{storage}/download-url": downloadUrl,
  "GET /nodes/{node}/aplinfo": aplinfo,
  "POST /nodes/{node}/aplinfo": aplDownload,
  "POST /nodes/{node}/vzdump": vzdump,
};

/**
 * Provisioning: create a VM, create a container, clone a guest, convert a guest to a template.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import type { Change, Target } from "../safety/change.ts";
import { oneOf } from "./args.ts";
import {
  bridgeName,
  dnsName,
  guestId,
  ipv4,
  ipv4Config,
  nodeRef,
  poolId,
  storageRef,
  tagList,
  vlanTag,
  volid,
} from "./mutation_args.ts";
import { ToolInputError } from "./context.ts";
import { defineMutation } from "./mutation.ts";
import {
  chooseVmid,
  diskKeys,
  diskSize,
  Facts,
  gib,
  requireBridge,
  requireCapacity,
  requireStorage,
  requireVolume,
  splitVolid,
} from "./preflight.ts";
import type { Tool } from "./tool.ts";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** Picks the node for a new guest: the one given (checked), else the default, else the best. */
export async function pickNode(
  facts: Facts,
  given: string | undefined,
  memoryBytes: number,
  cores: number,
): Promise<{ node: string; warning?: string }> {
  const name = given ?? facts.ctx.defaultNode;
  if (name) {
    facts.ctx.scope?.check({ node: name, tags: [], protection: false, exists: false });
    await requireCapacity(facts, name, memoryBytes, cores);
    return { node: name };
  }
  const nodes = (await facts.nodes()).filter((n) =>
    n.status === "online" &&
    (!facts.ctx.scope?.rules.allowedNodes || facts.ctx.scope.rules.allowedNodes.includes(n.node)) &&
    !facts.ctx.scope?.rules.deniedNodes?.includes(n.node)
  );
  const caps = await Promise.all(
    nodes.map(async (n) => ({ node: n.node, ...(await facts.nodeCapacity(n.node)) })),
  );
  const best = caps.filter((c) => c.cpus >= cores).sort((a, b) => b.free - a.free)[0];
  if (!best || best.free < memoryBytes) {
    throw new ToolInputError(
      `No online node has ${gib(memoryBytes)} free and ${cores} CPUs: ${
        caps.map((c) => `${c.node} has ${gib(c.free)} free, ${c.cpus} CPUs`).join("; ") || "none"
      }`,
    );
  }
  return {
    node: best.node,
    warning: `node ${best.node} chosen: most free memory (${gib(best.free)})`,
  };
}

/** Picks the storage for new disks: the one given (checked), else the roomiest that fits. */
async function pickStorage(
  facts: Facts,
  node: string,
  given: string | undefined,
  content: string,
  bytes: number,
): Promise<string> {
  if (given) return (await requireStorage(facts, node, given, content, bytes)).storage;
  const fits = (await facts.storages(node)).filter((s) =>
    s.content.split(",").includes(content) && s.enabled !== false && s.active !== false &&
    (s.avail ?? 0) >= bytes
  ).sort((a, b) => (b.avail ?? 0) - (a.avail ?? 0));
  if (!fits.length) {
    throw new ToolInputError(`No storage on node ${node} holds ${content} with ${gib(bytes)} free`);
  }
  return fits[0].storage;
}

async function requirePool(facts: Facts, pool: string | undefined): Promise<void> {
  if (pool === undefined) return;
  const pools = z.array(z.object({ poolid: z.string() }).loose()).parse(
    await facts.ctx.api.get("/pools", undefined, { signal: facts.ctx.signal }),
  );
  if (!pools.some((p) => p.poolid === pool)) {
    throw new ToolInputError(
      `Pool ${pool} does not exist: pools are ${pools.map((p) => p.poolid).join(", ") || "none"}`,
    );
  }
}

function newTarget(
  node: string,
  id: number,
  type: "qemu" | "lxc",
  name: string | undefined,
  tags: string[] | undefined,
  pool: string | undefined,
): Target {
  return { node, vmid: id, type, name, tags: tags ?? [], pool, protection: false, exists: false };
}

const vmCreate = defineMutation({
  name: "vm_create",
  title: "Create VM",
  description:
    "Create a VM: disk, NIC (optional VLAN), optional ISO and cloud-init. Omitted node/vmid/storage are picked (most free memory, next free, roomiest).",
  toolset: "guests",
  privilege: "VM.Allocate on /vms/{vmid}, Datastore.AllocateSpace on the storage",
  destructive: false,
  input: {
    name: dnsName("name"),
    node: nodeRef().optional(),
    vmid: guestId().optional(),
    memory_mib: z.int().min(64).max(4_194_304).default(2048),
    cores: z.int().min(1).max(512).default(2),
    sockets: z.int().min(1).max(8).default(1),
    disk_gib: z.int().min(1).max(131_072).default(32),
    storage: storageRef().optional(),
    bridge: bridgeName().default("vmbr0"),
    vlan: vlanTag().optional(),
    iso: volid("iso", "local:iso/debian-12.iso").optional(),
    ostype: oneOf(["l26", "win11", "win10", "other"], "ostype").default("l26"),
    ci_user: z.string().optional(),
    ci_password: z.string().optional(),
    ssh_keys: z.string().optional().describe("one per line"),
    ip: ipv4Config().optional().describe("dhcp or CIDR"),
    gw: ipv4().optional(),
    start: z.boolean().default(false),
    pool: poolId().optional(),
    tags: tagList().optional(),
    description: z.string().optional(),
  },
  result: { vmid: z.number(), node: z.string(), storage: z.string() },
  plan: (a, ctx) => planVmCreate(a, new Facts(ctx)),
});

type VmArgs = {
  name: string;
  node?: string;
  vmid?: number;
  memory_mib: number;
  cores: number;
  sockets: number;
  disk_gib: number;
  storage?: string;
  bridge: string;
  vlan?: number;
  iso?: string;
  ostype: string;
  ci_user?: string;
  ci_password?: string;
  ssh_keys?: string;
  ip?: string;
  gw?: string;
  start: boolean;
  pool?: string;
  tags?: string[];
  description?: string;
};

async function planVmCreate(a: VmArgs, facts: Facts): Promise<Change> {
  const cloudInit = a.ci_user ?? a.ci_password ?? a.ssh_keys ?? a.ip;
  if (a.gw && !a.ip) throw new ToolInputError("gw needs ip (a static address with prefix)");
  if (a.gw && a.ip === "dhcp") throw new ToolInputError("gw is only for a static ip, not dhcp");
  const memory = a.memory_mib * MiB;
  const { node, warning } = await pickNode(facts, a.node, memory, a.cores * a.sockets);
  const id = await chooseVmid(facts, a.vmid);
  const disk = a.disk_gib * GiB;
  const storage = await pickStorage(facts, node, a.storage, "images", disk);
  await requireBridge(facts, node, a.bridge);
  if (a.iso) await requireVolume(facts, node, a.iso, "iso", "ISO");
  await requirePool(facts, a.pool);
  const params: Record<string, string | number | boolean | undefined> = {
    vmid: id,
    name: a.name,
    memory: a.memory_mib,
    cores: a.cores,
    sockets: a.sockets,
    ostype: a.ostype,
    scsihw: "virtio-scsi-single",
    scsi0: `${storage}:${a.disk_gib},iothread=1`,
    net0: `virtio,bridge=${a.bridge}${a.vlan ? `,tag=${a.vlan}` : ""}`,
    ide2: a.iso ? `${a.iso},media=cdrom` : undefined,
    ide0: cloudInit ? `${storage}:cloudinit` : undefined,
    boot: `order=scsi0${a.iso ? ";ide2" : ""};net0`,
    ciuser: a.ci_user,
    cipassword: a.ci_password,
    sshkeys: a.ssh_keys ? encodeURIComponent(a.ssh_keys.trim()) : undefined,
    ipconfig0: a.ip
      ? (a.ip === "dhcp" ? "ip=dhcp" : `ip=${a.ip}${a.gw ? `,gw=${a.gw}` : ""}`)
      : undefined,
    agent: "1",
    start: a.start || undefined,
    pool: a.pool,
    tags: a.tags?.length ? a.tags.join(";") : undefined,
    description: a.description,
  };
  return {
    summary: `create VM ${id} (${a.name}) on ${node}: ${a.cores * a.sockets} cores, ${
      gib(memory)
    } RAM, ${a.disk_gib} GiB on ${storage}, ${a.bridge}${a.vlan ? ` VLAN ${a.vlan}` : ""}${
      a.start ? ", started" : ""
    }`,
    targets: [newTarget(node, id, "qemu", a.name, a.tags, a.pool)],
    requests: [{ method: "POST", path: apiPath`/nodes/${node}/qemu`, params }],
    destructive: false,
    warnings: warning ? [warning] : [],
    creates: 1,
    result: { vmid: id, node, storage },
  };
}

const ctCreate = defineMutation({
  name: "ct_create",
  title: "Create container",
  description:
    "Create an LXC container from an ostemplate volume (storage_content content=vztmpl). Unprivileged unless unprivileged=false. Omitted node/vmid/storage are picked.",
  toolset: "guests",
  privilege: "VM.Allocate on /vms/{vmid}, Datastore.AllocateSpace on the storage",
  destructive: false,
  input: {
    hostname: dnsName("hostname"),
    ostemplate: volid("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
    node: nodeRef().optional(),
    vmid: guestId().optional(),
    memory_mib: z.int().min(16).max(4_194_304).default(512),
    swap_mib: z.int().min(0).max(4_194_304).default(512),
    cores: z.int().min(1).max(512).default(1),
    disk_gib: z.int().min(1).max(131_072).default(8),
    storage: storageRef().optional(),
    bridge: bridgeName().default("vmbr0"),
    vlan: vlanTag().optional(),
    ip: ipv4Config().default("dhcp"),
    gw: ipv4().optional(),
    password: z.string().optional(),
    ssh_public_keys: z.string().optional(),
    unprivileged: z.boolean().default(true).describe("false = privileged (asked explicitly)"),
    nesting: z.boolean().optional().describe("allow nested containers/systemd features"),
    start: z.boolean().default(false),
    pool: poolId().optional(),
    tags: tagList().optional(),
    description: z.string().optional(),
  },
  result: { vmid: z.number(), node: z.string(), storage: z.string() },
  async plan(a, ctx): Promise<Change> {
    const facts = new Facts(ctx);
    if (a.gw && a.ip === "dhcp") throw new ToolInputError("gw is only for a static ip, not dhcp");
    if (a.password !== undefined && a.password.length < 5) {
      throw new ToolInputError("password must have at least 5 characters");
    }
    const memory = a.memory_mib * MiB;
    const { node, warning } = await pickNode(facts, a.node, memory, a.cores);
    const id = await chooseVmid(facts, a.vmid);
    splitVolid(a.ostemplate, "ostemplate");
    await requireVolume(facts, node, a.ostemplate, "vztmpl", "Template");
    const storage = await pickStorage(facts, node, a.storage, "rootdir", a.disk_gib * GiB);
    await requireBridge(facts, node, a.bridge);
    await requirePool(facts, a.pool);
    const warnings = warning ? [warning] : [];
    if (!a.unprivileged) {
      warnings.push(
        "privileged container (asked for explicitly): root inside it is root on the host",
      );
      ctx.logger.log("warning", `Privileged container requested: ${a.hostname} (${id})`);
    }
    const net = [
      "name=eth0",
      `bridge=${a.bridge}`,
      `ip=${a.ip}`,
      a.gw ? `gw=${a.gw}` : "",
      a.vlan ? `tag=${a.vlan}` : "",
    ].filter(Boolean).join(",");
    const params = {
      vmid: id,
      hostname: a.hostname,
      ostemplate: a.ostemplate,
      memory: a.memory_mib,
      swap: a.swap_mib,
      cores: a.cores,
      rootfs: `${storage}:${a.disk_gib}`,
      net0: net,
      password: a.password,
      "ssh-public-keys": a.ssh_public_keys,
      unprivileged: a.unprivileged,
      features: a.nesting ? "nesting=1" : undefined,
      start: a.start || undefined,
      pool: a.pool,
      tags: a.tags?.length ? a.tags.join(";") : undefined,
      description: a.description,
    };
    return {
      summary: `create ${
        a.unprivileged ? "unprivileged" : "PRIVILEGED"
      } container ${id} (${a.hostname}) on ${node} from ${
        a.ostemplate.split("/").pop()
      }: ${a.cores} cores, ${gib(memory)} RAM, ${a.disk_gib} GiB on ${storage}${
        a.start ? ", started" : ""
      }`,
      targets: [newTarget(node, id, "lxc", a.hostname, a.tags, a.pool)],
      requests: [{ method: "POST", path: apiPath`/nodes/${node}/lxc`, params }],
      destructive: false,
      warnings,
      creates: 1,
      result: { vmid: id, node, storage },
    };
  },
});

const guestClone = defineMutation({
  name: "guest_clone",
  title: "Clone guest",
  description:
    "Clone a VM/container to a new VMID (next free if omitted). Templates clone linked unless full=true.",
  toolset: "guests",
  privilege: "VM.Clone on the source, VM.Allocate on the new VMID",
  destructive: false,
  input: {
    vmid: guestId(),
    newid: guestId("newid").optional(),
    name: dnsName("name").optional(),
    target_node: nodeRef().optional(),
    storage: storageRef().optional().describe("For full clones"),
    full: z.boolean().optional().describe("Default: linked for templates, else full"),
    snapshot: z.string().max(40).optional().describe("Clone from this snapshot"),
    pool: poolId().optional(),
  },
  result: { newid: z.number(), node: z.string() },
  async plan(a, ctx): Promise<Change> {
    const facts = new Facts(ctx);
    const src = await facts.guest(a.vmid);
    const full = a.full ?? !src.template;
    if (!full && !src.template) {
      throw new ToolInputError(
        `A linked clone needs a template source; ${src.vmid} is not a template: use full=true`,
      );
    }
    if (!full && a.storage) throw new ToolInputError("storage applies only to full clones");
    if (src.lock && !src.template) {
      throw new ToolInputError(`Guest ${src.vmid} is locked (${src.lock}); try again later`);
    }
    if (a.snapshot !== undefined && !(await facts.snapshots(src)).includes(a.snapshot)) {
      throw new ToolInputError(
        `Snapshot ${a.snapshot} does not exist on ${src.vmid}: snapshots are ${
          (await facts.snapshots(src)).join(", ") || "none"
        }`,
      );
    }
    const target = a.target_node ?? src.node;
    ctx.scope?.check({ node: target, tags: [], protection: false, exists: false });
    const memory = Number(src.config.memory ?? 512) * MiB;
    const cores = Number(src.config.cores ?? 1) * Number(src.config.sockets ?? 1);
    await requireCapacity(facts, target, memory, cores);
    const disks = diskKeys(src.type, src.config);
    const content = src.type === "qemu" ? "images" : "rootdir";
    const bytes = full ? disks.reduce((n, k) => n + (diskSize(src.config[k]) ?? 0), 0) : 0;
    if (a.storage) await requireStorage(facts, target, a.storage, content, bytes);
    if (target !== src.node) {
      const shared = new Set(
        (await facts.storages(src.node)).filter((s) => s.shared).map((s) => s.storage),
      );
      const local = disks.filter((k) =>
        !shared.has(a.storage ?? src.config[k].split(":")[0].replace(/^file=/, ""))
      );
      if (local.length) {
        throw new ToolInputError(
          `Cannot clone ${src.vmid} to node ${target}: disks ${
            local.join(", ")
          } are on local storage of ${src.node}; clone on ${src.node} then migrate, or give a shared storage`,
        );
      }
    }
    await requirePool(facts, a.pool);
    const id = await chooseVmid(facts, a.newid);
    const name = a.name ?? undefined;
    const params = {
      newid: id,
      ...(src.type === "qemu" ? { name } : { hostname: name }),
      target: target !== src.node ? target : undefined,
      storage: a.storage,
      full: src.template ? full : undefined,
      snapname: a.snapshot,
      pool: a.pool,
    };
    return {
      summary: `${full ? "full" : "linked"} clone of ${src.type} ${src.vmid}${
        src.name ? ` (${src.name})` : ""
      } to ${id}${name ? ` (${name})` : ""} on ${target}${
        a.storage ? ` storage ${a.storage}` : ""
      }`,
      targets: [src.target, newTarget(target, id, src.type, name, src.tags, a.pool)],
      requests: [{ method: "POST", path: `${src.path}/clone`, params }],
      destructive: false,
      warnings: full && bytes ? [`copies ${gib(bytes)} of disks`] : [],
      creates: 1,
      stopOnCancel: true,
      result: { newid: id, node: target },
    };
  },
});

const guestTemplate = defineMutation({
  name: "guest_template",
  title: "Convert to template",
  description: "Convert a stopped guest into a template for cloning. Irreversible.",
  toolset: "guests",
  privilege: "VM.Allocate on /vms/{vmid}",
  destructive: true,
  input: { vmid: guestId() },
  result: { vmid: z.number(), node: z.string() },
  async plan(a, ctx): Promise<Change> {
    const facts = new Facts(ctx);
    const g = await facts.guest(a.vmid);
    if (g.template) throw new ToolInputError(`Guest ${g.vmid} is already a template`);
    if (g.running) {
      throw new ToolInputError(`Guest ${g.vmid} is running: shut it down before converting`);
    }
    if (g.lock) throw new ToolInputError(`Guest ${g.vmid} is locked (${g.lock})`);
    return {
      summary: `convert ${g.type} ${g.vmid}${
        g.name ? ` (${g.name})` : ""
      } on ${g.node} to a template`,
      targets: [g.target],
      requests: [{ method: "POST", path: `${g.path}/template`, params: {} }],
      destructive: true,
      loses: `${g.vmid} can no longer be started or reconfigured as a guest; this can't be undone`,
      warnings: [],
      creates: 0,
      result: { vmid: g.vmid, node: g.node },
    };
  },
});

/** The provisioning rows. */
export const provisionTools: Tool[] = [vmCreate, ctCreate, guestClone, guestTemplate];

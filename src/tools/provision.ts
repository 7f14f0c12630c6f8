/**
 * Provisioning: create a VM, create a container, clone a guest, convert a guest to a template.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import type { Plan } from "../safety/change.ts";
import { oneOf } from "./args.ts";
import {
  bridgeName,
  dnsName,
  guestId,
  ipv4,
  ipv4Config,
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
  requirePool,
  requireStorage,
  requireVolume,
  splitVolid,
} from "./preflight.ts";
import type { Tool } from "./tool.ts";
import { node, vmid } from "./params.ts";

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/**
 * Picks the node for a new guest: the one given (capacity checked), else the default, else the
 * online node with the most free memory among those the scope allows (the scope stage still
 * checks the node the request goes to).
 */
export async function pickNode(
  facts: Facts,
  given: string | undefined,
  memoryBytes: number,
  cores: number,
): Promise<{ node: string; warning?: string }> {
  const name = given ?? facts.ctx.defaultNode;
  if (name) {
    await requireCapacity(facts, name, memoryBytes, cores);
    return { node: name };
  }
  const nodes = (await facts.nodes()).filter((n) =>
    n.status === "online" && (facts.ctx.scope?.nodeAllowed(n.node) ?? true)
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

/** Descriptions the creating tools share. */
const SAY = {
  placedNode: "Node name; default: configured, else most free memory",
  newVmid: "Guest ID; next free if omitted",
  diskStorage: "Disk storage, e.g. local-lvm; default: the roomiest",
  bridge: "Bridge of the NIC",
  vlan: "VLAN tag of the NIC",
  sshKeys: "SSH public keys, one per line",
  gw: "IPv4 gateway, e.g. 10.0.0.1",
  start: "Start when created",
  pool: "Add to this pool",
  tags: 'Tags, e.g. ["web"]',
  notes: "Notes shown in the web UI",
};

const vmCreate = defineMutation({
  name: "vm_create",
  title: "Create VM",
  description:
    "Create a VM: disk, NIC (optional VLAN), optional ISO and cloud-init. Omitted node/vmid/storage are picked.",
  toolset: "provision",
  privilege: "VM.Allocate on /vms/{vmid}, Datastore.AllocateSpace on the storage",
  destructive: false,
  input: {
    name: dnsName("name").describe("VM name (DNS label), e.g. web-01"),
    node: node(SAY.placedNode).optional(),
    vmid: vmid("vmid", SAY.newVmid).optional(),
    memory_mib: z.int().min(64).max(4_194_304).default(2048).describe("Memory, MiB"),
    cores: z.int().min(1).max(512).default(2).describe("CPU cores"),
    sockets: z.int().min(1).max(8).default(1).describe("CPU sockets"),
    disk_gib: z.int().min(1).max(131_072).default(32).describe("Disk size, GiB"),
    storage: storageRef().optional().describe(SAY.diskStorage),
    bridge: bridgeName().default("vmbr0").describe(SAY.bridge),
    vlan: vlanTag().optional().describe(SAY.vlan),
    iso: volid("iso", "local:iso/debian-12.iso").optional()
      .describe("ISO volume, e.g. local:iso/debian-12.iso (storage_content content=iso)"),
    ostype: oneOf(["l26", "win11", "win10", "other"], "ostype").default("l26")
      .describe("Guest OS; l26: Linux"),
    user: z.string().optional().describe("Cloud-init user"),
    password: z.string().optional().describe("Cloud-init user's password"),
    ssh_public_keys: z.string().optional().describe(SAY.sshKeys),
    ip: ipv4Config().optional().describe("Cloud-init IPv4: dhcp or CIDR, e.g. 10.0.0.5/24"),
    gw: ipv4().optional().describe(SAY.gw),
    start: z.boolean().default(false).describe(SAY.start),
    pool: poolId().optional().describe(SAY.pool),
    tags: tagList().optional().describe(SAY.tags),
    description: z.string().optional().describe(SAY.notes),
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
  user?: string;
  password?: string;
  ssh_public_keys?: string;
  ip?: string;
  gw?: string;
  start: boolean;
  pool?: string;
  tags?: string[];
  description?: string;
};

async function planVmCreate(a: VmArgs, facts: Facts): Promise<Plan> {
  const cloudInit = a.user ?? a.password ?? a.ssh_public_keys ?? a.ip;
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
    ciuser: a.user,
    cipassword: a.password,
    sshkeys: a.ssh_public_keys ? encodeURIComponent(a.ssh_public_keys.trim()) : undefined,
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
    "Create an LXC container (unprivileged by default) from an ostemplate volume (storage_content content=vztmpl). Omitted node/vmid/storage are picked.",
  toolset: "provision",
  privilege: "VM.Allocate on /vms/{vmid}, Datastore.AllocateSpace on the storage",
  destructive: false,
  input: {
    hostname: dnsName("hostname").describe("Hostname (DNS label), e.g. db-01"),
    ostemplate: volid("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst")
      .describe("Template volume, e.g. local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
    node: node(SAY.placedNode).optional(),
    vmid: vmid("vmid", SAY.newVmid).optional(),
    memory_mib: z.int().min(16).max(4_194_304).default(512).describe("Memory, MiB"),
    swap_mib: z.int().min(0).max(4_194_304).default(512).describe("Swap, MiB"),
    cores: z.int().min(1).max(512).default(1).describe("CPU cores"),
    disk_gib: z.int().min(1).max(131_072).default(8).describe("Root disk size, GiB"),
    storage: storageRef().optional().describe(SAY.diskStorage),
    bridge: bridgeName().default("vmbr0").describe(SAY.bridge),
    vlan: vlanTag().optional().describe(SAY.vlan),
    ip: ipv4Config().default("dhcp").describe("IPv4: dhcp or CIDR, e.g. 10.0.0.5/24"),
    gw: ipv4().optional().describe(SAY.gw),
    password: z.string().optional().describe("root password"),
    ssh_public_keys: z.string().optional().describe(SAY.sshKeys),
    unprivileged: z.boolean().default(true).describe("false = privileged (asked explicitly)"),
    nesting: z.boolean().optional().describe("allow nested containers/systemd features"),
    start: z.boolean().default(false).describe(SAY.start),
    pool: poolId().optional().describe(SAY.pool),
    tags: tagList().optional().describe(SAY.tags),
    description: z.string().optional().describe(SAY.notes),
  },
  result: { vmid: z.number(), node: z.string(), storage: z.string() },
  async plan(a, ctx): Promise<Plan> {
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
  toolset: "provision",
  privilege: "VM.Clone on the source, VM.Allocate on the new VMID",
  destructive: false,
  input: {
    vmid: guestId(),
    newid: vmid("newid", "ID of the clone; next free if omitted").optional(),
    name: dnsName("name").optional().describe("Name of the clone"),
    target_node: node("Node of the clone; default: the source's node").optional(),
    storage: storageRef().optional().describe("For full clones"),
    full: z.boolean().optional().describe("Default: linked for templates, else full"),
    snapshot: z.string().max(40).optional().describe("Clone from this snapshot"),
    pool: poolId().optional().describe(SAY.pool),
  },
  result: { newid: z.number(), node: z.string() },
  async plan(a, ctx): Promise<Plan> {
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
  toolset: "provision",
  privilege: "VM.Allocate on /vms/{vmid}",
  destructive: true,
  input: { vmid: guestId() },
  result: { vmid: z.number(), node: z.string() },
  async plan(a, ctx): Promise<Plan> {
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

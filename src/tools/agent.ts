/**
 * `guest_agent_info`: what a guest says about itself. QEMU VMs answer through the guest agent
 * (interfaces with IPs and MACs, OS, hostname, filesystems); containers from
 * `/lxc/{vmid}/interfaces`. When the agent cannot answer the result says why (not configured,
 * not running, VM stopped) and how to fix it, with the NICs from the config as a fallback.
 *
 * @module
 */
import { z } from "zod";
import { guestPath, type GuestRef } from "../proxmox/guests.ts";
import { ProxmoxApiError } from "../proxmox/errors.ts";
import { args, optionalNode, vmid } from "./args.ts";
import type { ToolContext } from "./context.ts";
import { bytes, pairs, table } from "./format.ts";
import { rows } from "./listing.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";

const AGENT_STATES = ["running", "not_configured", "not_running", "guest_stopped", "container"];

const Iface = z.object({
  name: z.string(),
  mac: z.string().optional(),
  ipv4: z.array(z.string()).describe("address/prefix"),
  ipv6: z.array(z.string()),
});

const Fs = z.object({
  mountpoint: z.string(),
  type: z.string().optional(),
  device: z.string().optional(),
  total: z.number().optional().describe("bytes"),
  used: z.number().optional().describe("bytes"),
});

const AgentIp = z.object({
  "ip-address": z.string(),
  "ip-address-type": z.string().optional(),
  prefix: z.coerce.number().optional(),
}).loose();

const AgentIfaces = z.object({
  result: z.array(
    z.object({
      name: z.string(),
      "hardware-address": z.string().optional(),
      "ip-addresses": z.array(AgentIp).optional(),
    }).loose(),
  ),
}).loose();

const AgentOs = z.object({
  result: z.object({
    name: z.string().optional(),
    "pretty-name": z.string().optional(),
    version: z.string().optional(),
    "kernel-release": z.string().optional(),
  }).loose(),
}).loose();

const AgentHost = z.object({ result: z.object({ "host-name": z.string() }).loose() }).loose();

const AgentFs = z.object({
  result: z.array(
    z.object({
      mountpoint: z.string(),
      type: z.string().optional(),
      name: z.string().optional(),
      "total-bytes": z.coerce.number().optional(),
      "used-bytes": z.coerce.number().optional(),
    }).loose(),
  ),
}).loose();

const CtIfaces = z.array(
  z.object({
    name: z.string(),
    hwaddr: z.string().optional(),
    "hardware-address": z.string().optional(),
    inet: z.string().optional(),
    inet6: z.string().optional(),
    "ip-addresses": z.array(AgentIp).optional(),
  }).loose(),
);

function splitIps(ips: z.infer<typeof AgentIp>[]): { ipv4: string[]; ipv6: string[] } {
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const ip of ips) {
    const text = ip.prefix === undefined ? ip["ip-address"] : `${ip["ip-address"]}/${ip.prefix}`;
    (ip["ip-address"].includes(":") ? ipv6 : ipv4).push(text);
  }
  return { ipv4, ipv6 };
}

const FIXES: Record<string, string> = {
  not_configured:
    "Enable the agent in the VM options (agent=1), install qemu-guest-agent in the guest, then power the VM off and on (a reboot inside the guest does not add the device).",
  not_running:
    "The agent is enabled in the config but does not answer: install and start qemu-guest-agent inside the guest (e.g. apt install qemu-guest-agent && systemctl enable --now qemu-guest-agent). If agent=1 was set while the VM ran, power it off and on.",
  guest_stopped: "Start the VM; the agent answers only while the guest runs.",
};

/** Classifies an agent error by Proxmox's message. */
function agentState(err: unknown): string | undefined {
  if (!(err instanceof ProxmoxApiError)) return undefined;
  const m = err.apiMessage;
  if (/No QEMU guest agent configured/i.test(m)) return "not_configured";
  if (/guest agent is not running|got timeout|not responding/i.test(m)) return "not_running";
  if (/is not running/i.test(m)) return "guest_stopped";
  return undefined;
}

const ConfigNics = z.record(z.string(), z.unknown());
const MAC = /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/i;

async function configNics(ctx: ToolContext, g: GuestRef) {
  const cfg = ConfigNics.parse(
    await ctx.api.get(guestPath(g, "/config"), undefined, { signal: ctx.signal }),
  );
  return Object.entries(cfg)
    .filter(([k, v]) => /^net\d+$/.test(k) && typeof v === "string")
    .map(([key, v]) => {
      const parts = Object.fromEntries(
        String(v).split(",").map((p) => p.split("=") as [string, string]),
      );
      const mac = Object.values(parts).find((val) => MAC.test(val ?? ""));
      return { key, mac, bridge: parts.bridge, ip: parts.ip };
    });
}

const guestAgentInfo = defineTool({
  name: "guest_agent_info",
  title: "Guest IPs and OS",
  description:
    "IPs per interface (IPv4/IPv6, MAC), hostname, OS, filesystems from the guest agent (containers directly); explains an agent that cannot answer.",
  toolset: "guests",
  privilege: "VM.GuestAgent.Audit on /vms/{vmid} (containers: VM.Audit)",
  annotations: READ_ONLY,
  input: args({
    vmid: vmid(),
    node: optionalNode(),
  }),
  output: z.object({
    vmid: z.number(),
    name: z.string().optional(),
    node: z.string(),
    type: z.enum(["qemu", "lxc"]),
    agent: z.string().describe(AGENT_STATES.join(", ")),
    hostname: z.string().optional(),
    os: z.object({
      name: z.string().optional(),
      version: z.string().optional(),
      kernel: z.string().optional(),
    }).optional(),
    interfaces: rows("name, mac, ipv4 and ipv6 (address/prefix)").optional(),
    filesystems: rows("mountpoint, type, device, total and used (bytes)").optional(),
    problem: z.string().optional(),
    fix: z.string().optional(),
    config_nics: rows("key, mac, bridge, ip")
      .optional(),
    errors: z.array(z.string()).optional(),
  }),
  async handler(a, ctx) {
    const g = await ctx.inventory.guest(a.vmid, a.node, ctx.signal);
    const base = { vmid: g.vmid, name: g.name, node: g.node, type: g.type };
    const get = (cmd: string) => ctx.api.get(guestPath(g, cmd), undefined, { signal: ctx.signal });

    if (g.type === "lxc") {
      let list;
      try {
        list = CtIfaces.parse(await get("/interfaces"));
      } catch (err) {
        if (err instanceof ProxmoxApiError && /not running/i.test(err.apiMessage)) {
          const config_nics = await configNics(ctx, g);
          const out = {
            ...base,
            agent: "guest_stopped",
            problem: `CT ${g.vmid} is not running: interfaces are known only while it runs`,
            fix: "Start the container; its configured addresses are listed under config_nics.",
            config_nics,
          };
          return { structured: out, text: render(out) };
        }
        throw err;
      }
      const interfaces = list.filter((i) => i.name !== "lo").map((i) => {
        const ips = i["ip-addresses"]?.length
          ? splitIps(i["ip-addresses"])
          : { ipv4: i.inet ? [i.inet] : [], ipv6: i.inet6 ? [i.inet6] : [] };
        return { name: i.name, mac: i["hardware-address"] ?? i.hwaddr, ...ips };
      });
      const out = { ...base, agent: "container", hostname: g.name, interfaces };
      return { structured: out, text: render(out) };
    }

    const [ifaces, os, host, fs] = await Promise.allSettled([
      get("/agent/network-get-interfaces"),
      get("/agent/get-osinfo"),
      get("/agent/get-host-name"),
      get("/agent/get-fsinfo"),
    ]);
    if (ifaces.status === "rejected") {
      const state = agentState(ifaces.reason);
      if (!state) throw ifaces.reason;
      const out = {
        ...base,
        agent: state,
        problem: (ifaces.reason as ProxmoxApiError).apiMessage,
        fix: FIXES[state],
        config_nics: await configNics(ctx, g),
      };
      return { structured: out, text: render(out) };
    }
    const errors: string[] = [];
    const ok = <T>(r: PromiseSettledResult<unknown>, schema: z.ZodType<T>, what: string) => {
      if (r.status === "fulfilled") return schema.parse(r.value);
      errors.push(`${what}: ${(r.reason as Error).message}`);
      return undefined;
    };
    const interfaces = AgentIfaces.parse(ifaces.value).result
      .filter((i) => i.name !== "lo" && i.name !== "Loopback Pseudo-Interface 1")
      .map((i) => ({
        name: i.name,
        mac: i["hardware-address"],
        ...splitIps(i["ip-addresses"] ?? []),
      }));
    const o = ok(os, AgentOs, "get-osinfo")?.result;
    const h = ok(host, AgentHost, "get-host-name")?.result;
    const f = ok(fs, AgentFs, "get-fsinfo")?.result;
    const out = {
      ...base,
      agent: "running",
      hostname: h?.["host-name"],
      os: o && {
        name: o["pretty-name"] ?? o.name,
        version: o.version,
        kernel: o["kernel-release"],
      },
      interfaces,
      filesystems: f?.map((x) => ({
        mountpoint: x.mountpoint,
        type: x.type,
        device: x.name,
        total: x["total-bytes"],
        used: x["used-bytes"],
      })),
      errors: errors.length ? errors : undefined,
    };
    return { structured: out, text: render(out) };
  },
});

interface Rendered {
  vmid: number;
  name?: string;
  node: string;
  type: string;
  agent: string;
  hostname?: string;
  os?: { name?: string; version?: string; kernel?: string };
  interfaces?: z.infer<typeof Iface>[];
  filesystems?: z.infer<typeof Fs>[];
  problem?: string;
  fix?: string;
  config_nics?: { key: string; mac?: string; bridge?: string; ip?: string }[];
  errors?: string[];
}

function render(o: Rendered): string {
  const parts = [
    pairs({
      guest: `${o.type} ${o.vmid} ${o.name ?? ""} on ${o.node}`,
      agent: o.agent,
      hostname: o.hostname,
      os: o.os && [o.os.name, o.os.kernel && `kernel ${o.os.kernel}`].filter(Boolean).join(", "),
      problem: o.problem,
      fix: o.fix,
    }),
  ];
  if (o.interfaces) {
    parts.push(table(o.interfaces, [
      "name",
      "mac",
      ["ipv4", (i) => i.ipv4.join(" ")],
      ["ipv6", (i) => i.ipv6.join(" ")],
    ]));
  }
  if (o.filesystems?.length) {
    parts.push(table(o.filesystems, [
      "mountpoint",
      "type",
      ["used", (x) => bytes(x.used)],
      ["total", (x) => bytes(x.total)],
      ["use", (x) => x.total ? `${Math.round(((x.used ?? 0) / x.total) * 100)}%` : "-"],
    ]));
  }
  if (o.config_nics?.length) {
    parts.push("from config:\n" + table(o.config_nics, ["key", "mac", "bridge", "ip"]));
  }
  if (o.errors) parts.push(o.errors.join("\n"));
  return parts.join("\n");
}

/** The guest agent tool. */
export const agentTools: Tool[] = [guestAgentInfo];

/**
 * What guests report about themselves: the QEMU guest agent commands the tools read, with PVE's
 * errors for a stopped VM, an agent not configured and an agent not answering, and the
 * interfaces of running containers (`/lxc/{vmid}/interfaces`).
 *
 * @module
 */
import { getProp } from "../conf.ts";
import { ApiError } from "../errors.ts";
import type { AgentInfo } from "../ops_state.ts";
import type { Guest } from "../state.ts";
import { guestOf, type RouteContext, type RouteHandler } from "./context.ts";

/** True when the guest's config enables the agent (`agent: 1` or `agent: enabled=1,…`). */
export function agentEnabled(guest: Guest): boolean {
  const raw = guest.config.agent;
  if (!raw) return false;
  const v = getProp(raw, "enabled") ?? getProp(raw, null);
  return v === "1";
}

function runningAgent(ctx: RouteContext): AgentInfo {
  const guest = guestOf(ctx);
  if (guest.status !== "running") throw new ApiError(500, `VM ${guest.vmid} is not running`);
  if (!agentEnabled(guest)) throw new ApiError(500, "No QEMU guest agent configured");
  const info = ctx.sim.state.ops.agents.get(guest.vmid);
  if (!info) throw new ApiError(500, "QEMU guest agent is not running");
  return info;
}

function ipEntry(cidr: string) {
  const [address, prefix] = cidr.split("/");
  return {
    "ip-address": address,
    "ip-address-type": address.includes(":") ? "ipv6" : "ipv4",
    prefix: Number(prefix),
  };
}

const interfaces: RouteHandler = (ctx) => ({
  result: runningAgent(ctx).interfaces.map((i) => ({
    name: i.name,
    "hardware-address": i.mac,
    "ip-addresses": i.addresses.map(ipEntry),
    statistics: { "rx-bytes": 0, "tx-bytes": 0, "rx-packets": 0, "tx-packets": 0 },
  })),
});

const osinfo: RouteHandler = (ctx) => {
  const os = runningAgent(ctx).os;
  return {
    result: {
      id: os.id,
      name: os.name,
      "pretty-name": os.prettyName,
      version: os.version,
      "version-id": os.version.split(" ")[0],
      "kernel-release": os.kernel,
      "kernel-version": "#1 SMP PREEMPT_DYNAMIC",
      machine: "x86_64",
    },
  };
};

const hostname: RouteHandler = (ctx) => ({
  result: { "host-name": runningAgent(ctx).hostname },
});

const fsinfo: RouteHandler = (ctx) => ({
  result: runningAgent(ctx).filesystems.map((f) => ({
    name: f.device.replace("/dev/", ""),
    mountpoint: f.mountpoint,
    type: f.type,
    "total-bytes": Math.floor(f.totalBytes),
    "used-bytes": Math.floor(f.usedBytes),
    disk: [{ dev: f.device, "bus-type": "scsi", bus: 0, target: 0, unit: 0 }],
  })),
});

const ping: RouteHandler = (ctx) => {
  runningAgent(ctx);
  return { result: {} };
};

function containerAddress(guest: Guest, netValue: string): string | undefined {
  const ip = getProp(netValue, "ip");
  if (!ip || ip === "manual") return undefined;
  if (ip === "dhcp") return `192.168.10.${100 + (guest.vmid % 100)}/24`;
  return ip;
}

const ctInterfaces: RouteHandler = (ctx) => {
  const guest = guestOf(ctx);
  if (guest.status !== "running") throw new ApiError(500, `CT ${guest.vmid} not running`);
  const lo = {
    name: "lo",
    hwaddr: "00:00:00:00:00:00",
    "hardware-address": "00:00:00:00:00:00",
    inet: "127.0.0.1/8",
    inet6: "::1/128",
    "ip-addresses": [ipEntry("127.0.0.1/8"), ipEntry("::1/128")],
  };
  const nics = Object.entries(guest.config)
    .filter(([k]) => /^net\d+$/.test(k))
    .map(([, v]) => {
      const mac = (getProp(v, "hwaddr") ?? "").toLowerCase();
      const inet = containerAddress(guest, v);
      return {
        name: getProp(v, "name") ?? "eth0",
        hwaddr: mac,
        "hardware-address": mac,
        ...(inet ? { inet } : {}),
        "ip-addresses": inet ? [ipEntry(inet)] : [],
      };
    });
  return [lo, ...nics];
};

/** Guest agent and container interface routes. */
export const agentRoutes: Record<string, RouteHandler> = {
  "GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces": interfaces,
  "GET /nodes/{node}/qemu/{vmid}/agent/get-osinfo": osinfo,
  "GET /nodes/{node}/qemu/{vmid}/agent/get-host-name": hostname,
  "GET /nodes/{node}/qemu/{vmid}/agent/get-fsinfo": fsinfo,
  "POST /nodes/{node}/qemu/{vmid}/agent/ping": ping,
  "GET /nodes/{node}/lxc/{vmid}/interfaces": ctInterfaces,
};

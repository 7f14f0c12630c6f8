/**
 * `sdn_list`: software-defined networking as applied: zones, their vnets and the vnets' subnets.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { flag, num } from "../proxmox/resources.ts";
import { args } from "./args.ts";
import { table } from "./format.ts";
import { rows } from "./listing.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";

const Zone = z.object({
  zone: z.string(),
  type: z.string(),
  bridge: z.string().optional(),
  ipam: z.string().optional(),
  dhcp: z.string().optional(),
  mtu: num.optional(),
  nodes: z.string().optional(),
  peers: z.string().optional(),
}).loose();

const Vnet = z.object({
  vnet: z.string(),
  zone: z.string().optional(),
  tag: num.optional(),
  alias: z.string().optional(),
  vlanaware: flag.optional(),
}).loose();

const Subnet = z.object({
  subnet: z.string().optional(),
  cidr: z.string().optional(),
  gateway: z.string().optional(),
  snat: flag.optional(),
  "dhcp-range": z.union([z.array(z.string()), z.string()]).optional(),
}).loose();

const sdnList = defineTool({
  name: "sdn_list",
  title: "SDN zones and vnets",
  description:
    "Software-defined networking: zones (type, bridge, IPAM, DHCP), vnets (tag, alias) and subnets (CIDR, gateway, SNAT, DHCP ranges).",
  toolset: "sdn",
  privilege: "SDN.Audit on /sdn/zones/{zone}",
  annotations: READ_ONLY,
  input: args({}),
  output: z.object({
    zones: rows(
      "zone, type, bridge, ipam, dhcp, vnets (vnet, tag, alias, vlanaware, subnets: cidr, gateway, snat, dhcp_ranges)",
    ),
  }),
  async handler(_a, ctx) {
    const opts = { signal: ctx.signal };
    const [zones, vnets] = await Promise.all([
      ctx.api.get("/cluster/sdn/zones", undefined, opts).then((d) => z.array(Zone).parse(d)),
      ctx.api.get("/cluster/sdn/vnets", undefined, opts).then((d) => z.array(Vnet).parse(d)),
    ]);
    const subnets = await Promise.all(
      vnets.map((v) =>
        ctx.api.get(apiPath`/cluster/sdn/vnets/${v.vnet}/subnets`, undefined, opts)
          .then((d) => z.array(Subnet).parse(d))
      ),
    );
    const vnetOut = vnets.map((v, i) => ({
      zone: v.zone,
      vnet: v.vnet,
      tag: v.tag,
      alias: v.alias,
      vlanaware: v.vlanaware || undefined,
      subnets: subnets[i].map((s) => ({
        cidr: s.cidr ?? s.subnet?.replace(/^[^-]+-(.+)-(\d+)$/, "$1/$2") ?? "?",
        gateway: s.gateway,
        snat: s.snat || undefined,
        dhcp_ranges: s["dhcp-range"] === undefined
          ? undefined
          : (Array.isArray(s["dhcp-range"]) ? s["dhcp-range"] : [s["dhcp-range"]]).map((r) =>
            r.replace("start-address=", "").replace(",end-address=", "-")
          ),
      })),
    }));
    const out = zones.map((zn) => ({
      zone: zn.zone,
      type: zn.type,
      bridge: zn.bridge,
      ipam: zn.ipam,
      dhcp: zn.dhcp,
      vnets: vnetOut.filter((v) => v.zone === zn.zone).map(({ zone: _z, ...v }) => v),
    }));
    type VnetOut = (typeof out)[number]["vnets"][number];
    const lines: { zn: (typeof out)[number]; v?: VnetOut }[] = out.flatMap((zn) =>
      zn.vnets.length ? zn.vnets.map((v) => ({ zn, v })) : [{ zn }]
    );
    const text = zones.length
      ? table(lines, [
        ["zone", (r) => r.zn.zone],
        ["type", (r) => r.zn.type],
        ["bridge", (r) => r.zn.bridge],
        ["vnet", (r) => r.v?.vnet],
        ["tag", (r) => r.v?.tag],
        ["alias", (r) => r.v?.alias],
        ["subnets", (r) =>
          r.v?.subnets.map((s) =>
            `${s.cidr}${s.gateway ? ` gw ${s.gateway}` : ""}${s.snat ? " snat" : ""}`
          ).join("; ")],
      ])
      : "SDN has no zones configured";
    return { structured: { zones: out }, text };
  },
});

/** The SDN toolset. */
export const sdnTools: Tool[] = [sdnList];

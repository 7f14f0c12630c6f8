/**
 * Software-defined networking: zones, vnets and subnets (`/cluster/sdn/…`), as applied.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import { optStr, type RouteHandler, str } from "./context.ts";

const zones: RouteHandler = (ctx) => {
  const type = optStr(ctx, "type");
  return ctx.sim.state.ops.sdn.zones
    .filter((z) => !type || z.type === type)
    .map((z) => ({ ...z, digest: "3f1e9a".padEnd(40, "0") }));
};

const vnets: RouteHandler = (ctx) =>
  ctx.sim.state.ops.sdn.vnets.map((v) => ({ ...v, type: "vnet" }));

const subnets: RouteHandler = (ctx) => {
  const name = str(ctx, "vnet");
  const sdn = ctx.sim.state.ops.sdn;
  const vnet = sdn.vnets.find((v) => v.vnet === name);
  if (!vnet) throw new ApiError(500, `sdn vnet '${name}' does not exist`);
  return sdn.subnets.filter((s) => s.vnet === name).map((s) => {
    const [network, mask] = s.cidr.split("/");
    return {
      subnet: `${vnet.zone}-${network}-${mask}`,
      id: `${vnet.zone}-${network}-${mask}`,
      type: "subnet",
      vnet: name,
      zone: vnet.zone,
      cidr: s.cidr,
      network,
      mask,
      ...(s.gateway ? { gateway: s.gateway } : {}),
      ...(s.snat ? { snat: 1 } : {}),
      ...(s.dhcpRange ? { "dhcp-range": s.dhcpRange } : {}),
    };
  });
};

/** SDN routes. */
export const sdnRoutes: Record<string, RouteHandler> = {
  "GET /cluster/sdn/zones": zones,
  "GET /cluster/sdn/vnets": vnets,
  "GET /cluster/sdn/vnets/{vnet}/subnets": subnets,
};

/**
 * RRD endpoints of nodes and guests (`…/rrddata`), derived from the clock by `rrd.ts`.
 *
 * @module
 */
import { guestRrd, nodeRrd } from "../rrd.ts";
import { guestOf, node, optStr, type RouteHandler, str } from "./context.ts";

const guestRrdData: RouteHandler = (ctx) =>
  guestRrd(
    ctx.sim.state,
    guestOf(ctx),
    ctx.now,
    str(ctx, "timeframe"),
    optStr(ctx, "cf") ?? "AVERAGE",
  );

const nodeRrdData: RouteHandler = (ctx) =>
  nodeRrd(ctx.sim.state, node(ctx), ctx.now, str(ctx, "timeframe"), optStr(ctx, "cf") ?? "AVERAGE");

/** RRD routes. */
export const metricsRoutes: Record<string, RouteHandler> = {
  "GET /nodes/{node}/rrddata": nodeRrdData,
  "GET /nodes/{node}/qemu/{vmid}/rrddata": guestRrdData,
  "GET /nodes/{node}/lxc/{vmid}/rrddata": guestRrdData,
};

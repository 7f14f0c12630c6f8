/**
 * Second factors per user (`GET /access/tfa`): type, id, description and creation time; secrets
 * are never part of the answer.
 *
 * @module
 */
import type { RouteHandler } from "./context.ts";

const tfaList: RouteHandler = (ctx) =>
  [...ctx.sim.state.ops.tfa.entries()].map(([userid, entries]) => ({
    userid,
    entries: entries.map((e) => ({ ...e, enable: 1 })),
  }));

/** TFA routes. */
export const tfaRoutes: Record<string, RouteHandler> = {
  "GET /access/tfa": tfaList,
};

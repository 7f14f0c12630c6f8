/**
 * Access endpoints: ticket login and renewal (`POST /access/ticket`) and the caller's effective
 * permissions (`GET /access/permissions`).
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import { capabilities, privilegesOf, privMap } from "../privileges.ts";
import type { SimulatorCore } from "../core.ts";
import { optStr, type RouteHandler } from "./context.ts";

/** An authentication failure: 401 with an empty body, like pveproxy. */
export function authFailure(): ApiError {
  return new ApiError(401, "authentication failure", { emptyBody: true });
}

/** Handles `POST /access/ticket` (login, or renewal with a ticket as password). */
export function ticketLogin(sim: SimulatorCore, values: Record<string, unknown>): unknown {
  let username = String(values.username ?? "");
  const realm = values.realm === undefined ? undefined : String(values.realm);
  if (!username.includes("@") && realm) username = `${username}@${realm}`;
  const password = String(values.password ?? "");
  const user = sim.state.users.get(username);
  if (!user || user.enable === false) throw authFailure();
  const renewed = password.startsWith("PVE:") && sim.tickets.verifyTicket(password) === username;
  if (!renewed && password !== user.password) throw authFailure();
  return {
    username,
    ticket: sim.tickets.issueTicket(username),
    CSRFPreventionToken: sim.tickets.issueCsrf(username),
    cap: capabilities(privilegesOf(user, undefined, sim.state.access)),
    clustername: sim.state.clusterName,
  };
}

const ACL_ROOTS = [
  "/",
  "/access",
  "/access/groups",
  "/mapping",
  "/nodes",
  "/pool",
  "/sdn",
  "/storage",
  "/vms",
];

const permissions: RouteHandler = (ctx) => {
  const userid = optStr(ctx, "userid");
  const path = optStr(ctx, "path");
  let privs = ctx.privs;
  if (userid !== undefined && userid !== ctx.identity.principal && userid !== ctx.identity.userid) {
    if (!ctx.privs.has("Sys.Audit")) {
      throw new ApiError(403, "Permission check failed (/access, Sys.Audit)");
    }
    const [uid, token] = userid.split("!");
    const user = ctx.sim.state.users.get(uid);
    if (!user || (token && !user.tokens.has(token))) {
      throw new ApiError(500, `no such ${token ? "token" : "user"} '${userid}'`);
    }
    privs = privilegesOf(user, token, ctx.sim.state.access);
  }
  const map = privMap(privs);
  if (path !== undefined) return { [path]: map };
  const out: Record<string, Record<string, 1>> = {};
  if (privs.size) { for (const p of ACL_ROOTS) out[p] = map; }
  return out;
};

/** Access endpoints reached after authentication. */
export const accessRoutes: Record<string, RouteHandler> = {
  "GET /access/permissions": permissions,
};

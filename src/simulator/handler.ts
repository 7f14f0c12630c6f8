/**
 * The request pipeline of the simulated pveproxy, usable without a socket:
 * injected faults → parameter validation against the schema → tasks settled to the clock →
 * authentication (ticket + CSRF, or API token) → node checks → privilege check → guest
 * resolution → handler → PVE's wire format.
 *
 * @module
 */
import { apiSchema, type HttpMethod, type MethodSchema } from "../proxmox/api_schema/schema.ts";
import { validateRequest } from "../proxmox/api_schema/validate.ts";
import { authenticate } from "./auth.ts";
import type { SimulatorCore } from "./core.ts";
import { ApiError, Reply } from "./errors.ts";
import { LOSE_ANSWER_HEADER } from "./faults.ts";
import { readParams } from "./params.ts";
import { evaluateCheck, type Identity, privilegesOf } from "./privileges.ts";
import { ticketLogin } from "./routes/access.ts";
import { resolveGuest, type RouteContext } from "./routes/context.ts";
import { extraChecks, routes } from "./routes/index.ts";
import { UsageView } from "./usage.ts";

const API_PREFIX = "/api2/json";
const HEADERS = {
  "content-type": "application/json;charset=UTF-8",
  "cache-control": "max-age=0",
  pragma: "no-cache",
  server: "pve-api-daemon/3.0",
};

function reasonPhrase(message: string): string {
  return message.replace(/[^\x20-\x7e]+/g, " ").trim().slice(0, 240);
}

/** A PVE error response: status, message as status text and `{data:null, message}` body. */
export function errorResponse(
  status: number,
  message: string,
  opts: { errors?: Record<string, string>; emptyBody?: boolean } = {},
): Response {
  const body = opts.emptyBody ? "" : JSON.stringify({
    data: null,
    message: `${message}\n`,
    ...(opts.errors ? { errors: opts.errors } : {}),
  });
  return new Response(body, { status, statusText: reasonPhrase(message), headers: HEADERS });
}

function okResponse(result: unknown): Response {
  const body = result instanceof Reply
    ? { ...result.extra, data: result.data ?? null }
    : { data: result ?? null };
  return new Response(JSON.stringify(body), { status: 200, headers: HEADERS });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Directory index for GET paths the schema declares as plain indexes. */
function directoryIndex(template: string): { subdir: string }[] | undefined {
  const prefix = template === "/" ? "/" : `${template}/`;
  const children = new Set<string>();
  for (const path of Object.keys(apiSchema.paths)) {
    if (!path.startsWith(prefix)) continue;
    const seg = path.slice(prefix.length).split("/")[0];
    if (seg && !seg.startsWith("{")) children.add(seg);
  }
  return children.size ? [...children].sort().map((subdir) => ({ subdir })) : undefined;
}

async function authFail(sim: SimulatorCore, reason: string): Promise<never> {
  if (sim.faults.delayAuthFailureMs > 0) await delay(sim.faults.delayAuthFailureMs);
  throw new ApiError(401, reason, { emptyBody: true });
}

async function pipeline(sim: SimulatorCore, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const method = request.method.toUpperCase();
  if (url.pathname !== API_PREFIX && !url.pathname.startsWith(`${API_PREFIX}/`)) {
    return errorResponse(404, "Not found", { emptyBody: true });
  }
  const apiPath = url.pathname.slice(API_PREFIX.length) || "/";

  const fault = sim.faults.take(method, apiPath);
  if (fault) return errorResponse(fault.status, fault.message);

  const params = await readParams(request, url);
  const check = validateRequest(method, apiPath, params);
  if (!check.ok) return errorResponse(check.status, check.message, { errors: check.errors });
  const { template, schema } = check.route;
  const values = check.values;
  const key = `${method} ${template}`;

  const now = sim.clock.now();
  sim.tasks.settle(now);

  if (key === "POST /access/ticket") {
    try {
      return okResponse(ticketLogin(sim, values));
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) await authFail(sim, e.message);
      throw e;
    }
  }

  let identity: Identity | undefined;
  if (schema.permissions?.user !== "world") {
    const auth = authenticate(request.headers, sim.state, sim.tickets);
    if (!auth.ok) await authFail(sim, auth.reason);
    else identity = auth.identity;
  }
  identity ??= { userid: "", principal: "", byTicket: false };
  if (identity.byTicket && method !== "GET") {
    const token = request.headers.get("csrfpreventiontoken");
    if (!token || !sim.tickets.verifyCsrf(token, identity.userid)) {
      throw new ApiError(401, "Permission denied - invalid csrf token");
    }
  }

  if (template.includes("{node}")) {
    const name = String(values.node);
    const n = sim.state.nodes.get(name);
    if (!n) throw new ApiError(595, `no such cluster node '${name}'`);
    if (!n.online && schema.proxyto === "node") {
      throw new ApiError(595, `Connection timed out (proxy to node '${name}' at ${n.ip}:8006)`);
    }
  }

  const user = sim.state.users.get(identity.userid);
  const privs = user ? privilegesOf(user, identity.tokenid, sim.state.access) : new Set<string>();
  checkPermissions(schema, key, privs, values);

  const ctx: RouteContext = {
    sim,
    method: method as HttpMethod,
    template,
    values,
    identity,
    privs,
    view: new UsageView(sim.state, now),
    now,
  };
  if (/^\/nodes\/\{node\}\/(qemu|lxc)\/\{vmid\}/.test(template)) ctx.guest = resolveGuest(ctx);

  const handler = routes[key];
  let result: unknown;
  if (handler) result = await handler(ctx);
  else {
    const index = method === "GET" ? directoryIndex(template) : undefined;
    if (!index) {
      throw new ApiError(501, `Method '${method} ${apiPath}' not implemented by the simulator`);
    }
    result = index;
  }
  sim.tasks.settle(sim.clock.now());
  return okResponse(result);
}

function checkPermissions(
  schema: MethodSchema,
  key: string,
  privs: ReadonlySet<string>,
  values: Record<string, unknown>,
): void {
  for (const check of [schema.permissions?.check, extraChecks[key]]) {
    if (!check) continue;
    const r = evaluateCheck(check, privs, values);
    if (!r.ok) throw new ApiError(403, `Permission check failed (${r.path}, ${r.privs})`);
  }
}

/**
 * Answers one HTTP request like pveproxy would (API under `/api2/json`). Counts the request,
 * applies injected latency and failures, and maps errors to PVE's wire format.
 */
export async function handleApiRequest(sim: SimulatorCore, request: Request): Promise<Response> {
  sim.countRequest();
  if (sim.faults.latencyMs > 0) await delay(sim.faults.latencyMs);
  try {
    const response = await pipeline(sim, request);
    const path = new URL(request.url).pathname.slice(API_PREFIX.length) || "/";
    const lost = sim.faults.takeLost(request.method.toUpperCase(), path);
    // The request was carried out; the listener drops this marker instead of answering.
    if (lost) return new Response(null, { status: 599, headers: { [LOSE_ANSWER_HEADER]: lost } });
    return response;
  } catch (e) {
    if (e instanceof ApiError) {
      return errorResponse(e.status, e.message, { errors: e.errors, emptyBody: e.emptyBody });
    }
    const message = e instanceof Error ? e.message : String(e);
    sim.logger.log("error", "Simulator handler failed", {
      path: new URL(request.url).pathname,
      message,
    });
    return errorResponse(500, `Internal simulator error: ${message}`);
  }
}

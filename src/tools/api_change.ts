/**
 * `api_change`: any POST, PUT or DELETE of the Proxmox API, for what the curated tools do not
 * cover. Its plan is the one exact request, checked against the official schema; the safety
 * pipeline does the rest like for every changing tool: the danger table (`safety/danger.ts`)
 * decides confirmation, destructiveness and whether it is cluster-wide, the scope stage checks
 * the targets derived from the request, rate limits and the audit apply, and a task it starts
 * is waited for with progress.
 *
 * @module
 */
import { z } from "zod";
import type { Plan } from "../safety/change.ts";
import { apiParamsArg, apiPathArg, checkApiRequest } from "./api_request.ts";
import { oneOf } from "./args.ts";
import { defineMutation } from "./mutation.ts";
import type { Tool } from "./tool.ts";

const WRITE_METHODS = ["POST", "PUT", "DELETE"] as const;

const change = defineMutation({
  name: "api_change",
  title: "Change anything through the Proxmox API",
  description:
    "POST, PUT or DELETE any Proxmox API path, checked against the official schema first. Use " +
    "only where no other tool fits. Deletes and risky paths need confirmation; cluster-wide " +
    "ones need allow_cluster_changes (server config). Paths: api_search.",
  toolset: "api",
  privilege: "whatever the path needs (see api_search)",
  destructive: true,
  input: {
    method: oneOf(WRITE_METHODS, "method").describe("HTTP method"),
    path: apiPathArg(),
    params: apiParamsArg(),
  },
  result: { data: z.unknown() },
  async plan(a): Promise<Plan> {
    const req = await checkApiRequest(a.method, a.path, a.params ?? {});
    const creates = a.method === "POST" && /^\/nodes\/\{node\}\/(qemu|lxc)$/.test(
        req.route.template,
      )
      ? 1
      : 0;
    return {
      summary: `${a.method} ${req.shown}`,
      requests: [{ method: a.method, path: req.path, params: req.params }],
      destructive: false,
      warnings: [],
      creates,
      stopOnCancel: false,
    };
  },
});

/** The universal change tool; the danger table judges each of its calls. */
export const apiChangeTools: Tool[] = [{ ...change, judgedPerCall: true, dangerTable: true }];

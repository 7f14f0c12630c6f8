/**
 * `doctor`: loads the configuration, connects, and reports what works and what to fix.
 *
 * @module
 */
import { z } from "zod";
import { openBackend } from "../server/app.ts";
import type { Logger } from "../util/log.ts";
import type { CliArgs } from "./args.ts";

/** Checks config and connectivity; prints one line per finding; returns the exit code. */
export async function runDoctor(cli: CliArgs, logger: Logger): Promise<number> {
  const problems: string[] = [];
  await using backend = await openBackend({
    configPath: cli.config,
    simulator: cli.simulator,
    logger,
  });
  console.log(`backend: ${backend.description}`);
  console.log(`mode: ${backend.readOnly ? "read-only" : "changes allowed"}`);
  try {
    const v = z.object({ version: z.string(), release: z.string() }).loose()
      .parse(await backend.client.get("/version"));
    console.log(`ok: Proxmox VE ${v.version} reachable and credentials accepted`);
    const status = z.array(
      z.object({ type: z.string(), name: z.string(), online: z.unknown() }).loose(),
    )
      .parse(await backend.client.get("/cluster/status"));
    const cluster = status.find((s) => s.type === "cluster");
    const nodes = status.filter((s) => s.type === "node");
    console.log(
      `ok: cluster ${cluster?.name ?? "(standalone)"}, nodes ${
        nodes.map((n) => `${n.name}${n.online ? "" : " (offline)"}`).join(", ")
      }`,
    );
    if (backend.defaultNode && !nodes.some((n) => n.name === backend.defaultNode)) {
      problems.push(
        `node "${backend.defaultNode}" in the config is not in the cluster: use one of ${
          nodes.map((n) => n.name).join(", ")
        }`,
      );
    }
    const perms = z.record(z.string(), z.record(z.string(), z.unknown()))
      .parse(await backend.client.get("/access/permissions"));
    const root = Object.keys(perms["/"] ?? {});
    console.log(`ok: privileges on /: ${root.length ? root.sort().join(",") : "(none)"}`);
    if (!root.includes("Sys.Audit") && !root.includes("VM.Audit")) {
      problems.push(
        "the identity lacks VM.Audit/Sys.Audit on /: give it the PVEAuditor role at least",
      );
    }
  } catch (err) {
    problems.push((err as Error).message);
  }
  for (const p of problems) console.log(`problem: ${p}`);
  return problems.length ? 1 : 0;
}

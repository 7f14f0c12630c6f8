/**
 * `proxmox-mcp approvals` (list, approve, reject waiting plans) and `freeze` / `unfreeze` (the
 * kill switch), for the operator's terminal. Both work through the state folder only (0700,
 * files 0600): nothing goes over the network, and only the folder's owner can use them.
 *
 * @module
 */
import { denoEnv, loadConfig } from "../config/mod.ts";
import { readPendingRequests, writeDecisionFile } from "../safety/approval_folder.ts";
import { FileFreeze, freezeMessage } from "../safety/freeze.ts";
import { DEFAULT_STATE_DIR, findStateDir, type StateDir } from "../safety/state_dir.ts";
import { systemClock } from "../util/clock.ts";
import type { CliArgs } from "./args.ts";
import { UsageError } from "./args.ts";

/** Variables the terminal commands read besides the configuration: the user's login name. */
export const CLI_ENV_VARS = ["USER"] as const;

/** Finds the state folder: PROXMOX_STATE_DIR, the config's `state_dir`, or the default. */
export async function cliStateDir(cli: CliArgs): Promise<StateDir> {
  let configured = denoEnv("PROXMOX_STATE_DIR") || undefined;
  if (!configured) {
    try {
      configured = (await loadConfig({ path: cli.config })).config.state_dir;
    } catch (e) {
      if (cli.config !== undefined) throw e;
    }
  }
  const dir = await findStateDir(configured);
  if (!dir) {
    throw new UsageError(
      `No state folder: set state_dir in the config (or PROXMOX_STATE_DIR), or create ` +
        `${DEFAULT_STATE_DIR} (mode 0700) for the server and this command to share`,
    );
  }
  return dir;
}

function who(cli: CliArgs): string {
  return cli.by ?? (denoEnv("USER") ? `${denoEnv("USER")} (terminal)` : "the terminal user");
}

/** `freeze [reason]` and `unfreeze`; returns the exit code. */
export async function runFreeze(cli: CliArgs, lift: boolean): Promise<number> {
  const dir = await cliStateDir(cli);
  const sw = new FileFreeze(dir, systemClock);
  if (lift) {
    const was = await sw.unfreeze();
    console.log(
      was
        ? `Unfrozen: changes are allowed again (the freeze by ${was.by} since ${was.at} is lifted)`
        : "Not frozen: changes were already allowed",
    );
    return 0;
  }
  const reason = cli.positionals.join(" ").trim() || undefined;
  const info = await sw.freeze({ by: who(cli), channel: "terminal", reason });
  console.log(`Frozen: ${freezeMessage(info, sw.where)}.
Every server using ${dir.path} refuses changes from now on; reads continue.
Proxmox tasks already running are not stopped: list them with
  proxmox-mcp call task_list '{"status":"running"}'
and stop one with task_stop (allowed while frozen).`);
  return 0;
}

/** `approvals [list]`, `approvals approve <id>`, `approvals reject <id> [note]`. */
export async function runApprovals(cli: CliArgs): Promise<number> {
  const [verb = "list", id, ...rest] = cli.positionals;
  const dir = await cliStateDir(cli);
  const pending = await readPendingRequests(dir, Date.now());
  if (verb === "list") {
    if (cli.json) {
      console.log(JSON.stringify(pending, null, 2));
      return 0;
    }
    if (!pending.length) {
      console.log(`No plans are waiting for approval (state folder ${dir.path})`);
      return 0;
    }
    for (const r of pending) console.log(describeRequest(r, Date.now()));
    console.log(
      `Approve with: proxmox-mcp approvals approve <id>; reject with: proxmox-mcp approvals reject <id> [why]`,
    );
    return 0;
  }
  if (verb !== "approve" && verb !== "reject") {
    throw new UsageError(
      `Unknown approvals action "${verb}": use list, approve <id> or reject <id>`,
    );
  }
  if (!id) {
    throw new UsageError(`approvals ${verb} needs the request id (see proxmox-mcp approvals)`);
  }
  const matches = pending.filter((r) => r.id === id || r.id.startsWith(id));
  if (matches.length !== 1) {
    console.error(
      matches.length
        ? `proxmox-mcp: "${id}" matches ${matches.length} requests: give more of the id`
        : `proxmox-mcp: no waiting request ${id}: it was answered, withdrawn or expired ` +
          "(proxmox-mcp approvals lists the waiting ones)",
    );
    return 1;
  }
  const req = matches[0];
  await writeDecisionFile(dir, req.id, {
    decision: verb === "approve" ? "approved" : "rejected",
    by: who(cli),
    fingerprint: req.fingerprint,
    note: rest.join(" ").trim() || undefined,
  });
  console.log(describeRequest(req, Date.now()));
  console.log(
    `${verb === "approve" ? "Approved" : "Rejected"} ${req.id} as ${who(cli)}; the waiting ` +
      "call continues within a second",
  );
  return 0;
}

function describeRequest(
  r: Awaited<ReturnType<typeof readPendingRequests>>[number],
  now: number,
): string {
  const left = Math.max(0, Math.round((Date.parse(r.expiresAt) - now) / 1000));
  const lines = [
    `${r.id}  ${r.tool}: ${r.summary}${r.answered ? "  (answered, being picked up)" : ""}`,
    `  expires in ${left} s (${r.expiresAt})`,
  ];
  for (const why of r.reasons) lines.push(`  why: ${why}`);
  for (const t of r.plan.targets) {
    lines.push(
      `  target: ${t.type ?? "guest"} ${t.vmid ?? ""}${t.name ? ` (${t.name})` : ""} on ${t.node}${
        t.tags?.length ? ` tags ${t.tags.join(",")}` : ""
      }`.replace("guest  on", "node"),
    );
  }
  if (r.plan.loses) lines.push(`  lost: ${r.plan.loses}`);
  for (const w of r.plan.warnings ?? []) lines.push(`  warning: ${w}`);
  for (const q of r.plan.requests) {
    const params = Object.entries(q.params).map(([k, v]) => `${k}=${String(v)}`).join(" ");
    lines.push(`  ${q.method} ${q.path}${params ? ` ${params}` : ""}`);
  }
  return lines.join("\n");
}

/**
 * MCP prompts: short workflows a user can start from the client (often as a slash command).
 * Each names the server's real tools with exact arguments, written `tool(arg=value)`, and bare
 * tool names in backticks; a prompt only mentions tools the server offers (read-only servers
 * get no `safe_change`). Arguments are completed from the inventory (VMIDs, storage IDs), and
 * a given VMID is checked and described (type, name, node, state) so the model starts with it.
 *
 * @module
 */
import { z } from "zod";
import { GuestNotFoundError } from "../proxmox/guests.ts";
import { type Extra, FeatureError, type ReadHost, toMcpError } from "./features.ts";
import { completable, ErrorCode, type GetPromptResult, type McpServer } from "./sdk.ts";

/** Registers the prompts whose tools `host` offers. */
export function registerPrompts(server: McpServer, host: ReadHost): void {
  const vmidText = () =>
    z.string().regex(/^\d{3,9}$/, { error: "vmid must be a VMID: a number from 100 to 999999999" });
  const completeVmid = (value: string | undefined) => host.completions.vmids(value);
  const vmidArg = () => completable(vmidText().describe("Guest VMID"), completeVmid);
  const optionalVmid = () =>
    completable(vmidText().optional().describe("Guest VMID (optional)"), completeVmid);
  const amount = (what: string) =>
    z.string().regex(/^\d{1,7}(\.\d{1,2})?$/, { error: `${what} must be a number, e.g. 4` });

  if (offers(host, ["guest_status", "guest_config", "task_list", "task_log"])) {
    server.registerPrompt(
      "diagnose_guest",
      {
        title: "Diagnose a guest",
        description: "Find out what is wrong with a VM or container: status, config, failed tasks.",
        argsSchema: { vmid: vmidArg() },
      },
      async (a, extra) =>
        message(diagnoseGuest(host, a.vmid, await guestFacts(host, a.vmid, extra))),
    );
  }
  if (offers(host, ["task_list", "task_log", "node_storage"])) {
    server.registerPrompt("backup_failure", {
      title: "Why did a backup fail?",
      description: "Find the last failed backup (vzdump) task, read its log, suggest a fix.",
      argsSchema: { vmid: optionalVmid() },
    }, async (a, extra) =>
      message(
        backupFailure(host, a.vmid, a.vmid ? await guestFacts(host, a.vmid, extra) : undefined),
      ));
  }
  if (offers(host, ["node_list", "node_storage", "guest_list"])) {
    server.registerPrompt("capacity_report", {
      title: "Capacity report",
      description: "Which node has room for a new guest of a given size.",
      argsSchema: {
        memory_gib: amount("memory_gib").describe("Memory of the new guest, GiB"),
        cores: amount("cores").optional().describe("CPU cores (default 1)"),
        disk_gib: amount("disk_gib").optional().describe("Disk size, GiB"),
        storage: completable(
          z.string().regex(/^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$/, {
            error: 'storage must be a storage ID like "local-lvm"',
          }).optional().describe("Storage for the disk (optional)"),
          (value) => host.completions.storages(value),
        ),
      },
    }, (a) => message(capacityReport(host, a)));
  }
  const changers = host.tools.filter((t) => !t.annotations.readOnlyHint).map((t) => t.name);
  if (
    changers.length && offers(host, ["guest_status", "guest_config", "task_status", "task_log"])
  ) {
    server.registerPrompt("safe_change", {
      title: "Make a change safely",
      description: "Walk through a change: look first, dry run, the user's go-ahead, then verify.",
      argsSchema: {
        change: z.string().min(3).max(500).describe('What to change, e.g. "give 105 8 GiB memory"'),
        vmid: optionalVmid(),
      },
    }, async (a, extra) =>
      message(
        safeChange(
          host,
          changers,
          a.change,
          a.vmid,
          a.vmid ? await guestFacts(host, a.vmid, extra) : undefined,
        ),
      ));
  }
}

/** True when the server offers every tool in `names`. */
function offers(host: ReadHost, names: readonly string[]): boolean {
  return names.every((n) => host.has(n));
}

/** A prompt answer of one user message. */
function message(text: string): GetPromptResult {
  return { messages: [{ role: "user", content: { type: "text", text } }] };
}

/** Numbered steps, skipping empty ones. */
function steps(lines: readonly (string | false | undefined)[]): string {
  return lines.filter((l): l is string => !!l).map((l, i) => `${i + 1}. ${l}`).join("\n");
}

/** Facts about guest `vmid` as one line, and its node; an unknown VMID is an invalid argument. */
async function guestFacts(
  host: ReadHost,
  vmid: string,
  extra: Extra,
): Promise<{ line: string; node: string }> {
  try {
    const g = await host.inventory.guest(Number(vmid), undefined, extra.signal);
    const name = g.name ? ` "${g.name}"` : "";
    const state = `${g.status ?? "state unknown"}${g.template ? ", a template" : ""}`;
    return { line: `Guest ${vmid}: ${g.type}${name} on node ${g.node}, ${state}.`, node: g.node };
  } catch (err) {
    if (err instanceof GuestNotFoundError) {
      throw new FeatureError(ErrorCode.InvalidParams, err.message);
    }
    throw toMcpError(`prompt for guest ${vmid}`, err, host.logger);
  }
}

function diagnoseGuest(host: ReadHost, vmid: string, guest: { line: string; node: string }) {
  const node = guest.node;
  return [
    `Diagnose Proxmox guest ${vmid} and tell the user what is wrong and how to fix it.`,
    guest.line,
    "",
    steps([
      `guest_status(vmid=${vmid}): power state, lock, CPU, memory, disk and HA state.`,
      `guest_config(vmid=${vmid}, pending=true): disks, network, boot settings and changes waiting for a restart.`,
      `task_list(vmid=${vmid}, limit=10): its recent tasks. For each that ended in an error or warnings, ` +
      `task_log(upid="<its upid>", tail=50) and quote the lines that explain it. Backup jobs of ` +
      `several guests carry no VMID: task_list(type="vzdump", status="error") finds those.`,
      host.has("node_status") && host.has("node_storage") &&
      `If memory, CPU or disk look short: node_status(node="${node}") and node_storage(node="${node}").`,
    ]),
    "",
    "Report the guest's state, the cause with its evidence, and the fix. Change nothing without the user's go-ahead.",
  ].join("\n");
}

function backupFailure(
  host: ReadHost,
  vmid: string | undefined,
  guest: { line: string } | undefined,
) {
  const v = vmid ?? "<vmid>";
  const of = vmid ? ` of guest ${vmid}` : "";
  const find = vmid
    ? `task_list(type="vzdump", status="error", vmid=${vmid}, limit=5): failed backups, newest ` +
      `first. A job that backed up several guests has no VMID: if none is found, ` +
      `task_list(type="vzdump", status="error", limit=20) and look for "Backup of VM ${vmid}" in their logs.`
    : `task_list(type="vzdump", status="error", limit=5): failed backups, newest first; its id is ` +
      `the VMID, or empty for a job of several guests (the log names each).`;
  const fixes = [
    host.has("backup_delete")
      ? "free space by deleting old backups with `backup_delete` once the user agrees"
      : "free space on the backup storage",
    "use another backup storage",
    host.has("backup_run") &&
    `retry with backup_run(vmid=${v}, storage="<storage>", dry_run=true) first`,
  ].filter(Boolean).join("; ");
  return [
    `Find out why the last backup${of} failed, and how to fix it.`,
    ...(guest ? [guest.line] : []),
    "",
    steps([
      `${find} If there is none, say so (task_list(type="vzdump", status="warning") shows partial failures).`,
      `task_log(upid="<its upid>", tail=100): the ERROR lines and what came just before them.`,
      `Match the cause. "No space left on device" or a write error: node_storage(node="<task node>", content="backup") ` +
      `shows free space${
        host.has("backup_list") ? `, backup_list(vmid=${v}) old backups that could go` : ""
      }. A lock ("VM is locked"): ${
        host.has("guest_status") ? `guest_status(vmid=${v}) shows it, and ` : ""
      }task_list(status="running") shows a job still running. Storage not active: \`node_storage\` shows its state.`,
      `Report the cause quoting the log, then the fix, e.g.: ${fixes}.`,
    ]),
  ].join("\n");
}

function capacityReport(
  host: ReadHost,
  a: { memory_gib: string; cores?: string; disk_gib?: string; storage?: string },
): string {
  const cores = a.cores ?? "1";
  const size = [
    `${a.memory_gib} GiB memory`,
    `${cores} cores`,
    a.disk_gib && `${a.disk_gib} GiB disk`,
  ].filter(Boolean).join(", ");
  const storage = a.storage ? `, storage="${a.storage}"` : "";
  const changes = host.tools.some((t) => !t.annotations.readOnlyHint);
  const create = host.has("vm_create")
    ? `vm_create(name="<name>", memory_mib=${Math.round(Number(a.memory_gib) * 1024)}, cores=${
      Math.ceil(Number(cores))
    }${a.disk_gib ? `, disk_gib=${Math.ceil(Number(a.disk_gib))}` : ""}${storage}, dry_run=true) ` +
      "runs the same checks and, without node, picks the node with the most free memory."
    : changes &&
      "Creating the guest needs vm_create of the provision toolset, which this server does not " +
        "offer: the user can turn it on with --toolsets default,provision (or " +
        'PROXMOX_TOOLSETS=default,provision, or "provision" in the config\'s toolsets).';
  return [
    `Find which node has room for a new guest with ${size}${
      a.storage ? ` on storage ${a.storage}` : ""
    }.`,
    "",
    steps([
      "node_list(): online nodes with CPU load, cores, memory used/total. Free memory is maxmem - mem.",
      `For each online node: node_storage(node="<node>", content="images"${storage}): free space for disks.`,
      `Where memory is tight, what is promised counts: guest_list(node="<node>", status="running", ` +
      `sort="maxmem", order="desc", fields=["vmid","name","maxmem"]).`,
      "Answer with a table: node, free memory, cores, CPU load, free disk, fits (yes/no and why). " +
      "Keep about 10% of a node's memory for the host. Recommend one node.",
      create,
    ]),
  ].join("\n");
}

function safeChange(
  host: ReadHost,
  changers: readonly string[],
  change: string,
  vmid: string | undefined,
  guest: { line: string } | undefined,
): string {
  const v = vmid ?? "<vmid>";
  return [
    `Make this change to the Proxmox cluster safely: ${change}`,
    ...(guest ? [guest.line] : []),
    "",
    steps([
      `Look first: guest_status(vmid=${v}) and guest_config(vmid=${v}).${
        host.has("my_permissions")
          ? ` my_permissions(path="/vms/${v}") shows whether this server may do it.`
          : ""
      }`,
      `Choose the one tool that makes the change: ${
        changers.map((n) => `\`${n}\``).join(", ")
      }. Its description says which arguments it takes.`,
      host.has("snapshot") &&
      `If the change could lose data or break the guest, offer a snapshot first: ` +
        `snapshot(vmid=${v}, action="create", name="before_change", dry_run=true).`,
      "Call the tool with dry_run=true. Show the user its plan: summary, what would be lost, " +
      "warnings, the API requests. Stop if anything is unexpected.",
      "Once the user agrees, call it again with the same arguments without dry_run. If the answer " +
      'has status "confirmation_required", show the plan and, after the user says yes, repeat the ' +
      "identical call with confirmation_token set to the token it returned (valid once, for exactly " +
      "these arguments, until expires_at). Clients that can ask the user do so themselves instead.",
      `Check the outcome: status "done", or task_status(upid="<upid>") while "running"; on failure ` +
      `task_log(upid="<upid>"). Then guest_status(vmid=${v}) to confirm.`,
    ]),
  ].join("\n");
}

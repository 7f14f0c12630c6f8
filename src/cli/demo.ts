/**
 * The tour: starts the server on the embedded simulator as a child process, connects a real MCP
 * client over stdio, and prints each request and answer the way an assistant would see them.
 *
 * @module
 */
import { Client } from "../server/sdk_client.ts";
import { openBackend } from "../server/app.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import { connectInProcess } from "./call.ts";
import { VERSION } from "../version.ts";
import { selfCommand } from "./self.ts";
import { DEFAULT_TOOLSETS } from "../tools/toolsets.ts";

/** The everyday toolsets plus `health`, whose disk check the tour shows. */
const DEMO_TOOLSETS = [...DEFAULT_TOOLSETS, "health"];

/** One question of the tour; `$upid` and `$token` take values from the previous answer. */
interface Step {
  say: string;
  tool: string;
  args: Record<string, unknown>;
  /** The step shows a refusal or an error on purpose. */
  fails?: boolean;
}

const SNAPSHOT = { vmid: 101, action: "create", name: "pre_upgrade" };

const STEPS: Step[] = [
  { say: "Is the cluster healthy?", tool: "cluster_status", args: {} },
  { say: "Which nodes are there, and how loaded are they?", tool: "node_list", args: {} },
  {
    say: "What is using the most memory on pve1?",
    tool: "guest_list",
    args: { node: "pve1", sort: "mem", order: "desc", limit: 5 },
  },
  { say: "How is guest 101 doing?", tool: "guest_status", args: { vmid: 101 } },
  {
    say: "How are its disks and network set up?",
    tool: "guest_config",
    args: { vmid: 101, keys: ["scsi0", "net0", "memory", "cores"] },
  },
  { say: "Did any task fail recently?", tool: "task_list", args: { status: "error", limit: 3 } },
  {
    say: "Why did the newest of them fail? (the UPID comes from the previous answer)",
    tool: "task_log",
    args: { upid: "$upid", tail: 10 },
  },
  { say: "What is the IP of VM 100?", tool: "guest_agent_info", args: { vmid: 100 } },
  {
    say: "Which guests have no backup, or only an old or failed one?",
    tool: "backup_coverage",
    args: {},
  },
  { say: "Are any disks failing?", tool: "node_disks", args: {} },
  {
    say: "No tool lists a VM's firewall rules, so search the official API for them:",
    tool: "api_search",
    args: { query: "firewall rules vm", method: "GET", limit: 1 },
  },
  {
    say: "Read 101's rules at the path found (checked against the schema before it is sent):",
    tool: "api_read",
    args: { path: "/nodes/pve1/qemu/101/firewall/rules" },
  },
  {
    say: "Snapshot 101 before the upgrade. It is tagged prod, so the server asks first:",
    tool: "snapshot",
    args: SNAPSHOT,
  },
  {
    say: "The user agrees; the assistant repeats the call with the one-time token:",
    tool: "snapshot",
    args: { ...SNAPSHOT, confirmation_token: "$token" },
  },
  {
    say: "A token is bound to its exact call: using it for another snapshot is refused.",
    tool: "snapshot",
    args: { ...SNAPSHOT, name: "pre_upgrade_2", confirmation_token: "$token" },
    fails: true,
  },
  {
    say: "What would deleting container 211 do? A dry run changes nothing:",
    tool: "guest_delete",
    args: { vmid: 211, dry_run: true },
  },
  {
    say: "A mistake: VMID 42 does not exist (IDs start at 100).",
    tool: "guest_status",
    args: { vmid: 42 },
    fails: true,
  },
  {
    say: "Another: a node that is not in the cluster.",
    tool: "node_status",
    args: { node: "pve9" },
    fails: true,
  },
];

/** Fills `$upid` and `$token` from the previous answer's structured content. */
function resolveArgs(args: Record<string, unknown>, previous: unknown, token: string) {
  const items = (previous as { items?: { upid?: string }[] } | undefined)?.items;
  return Object.fromEntries(
    Object.entries(args).map(([k, v]) => [
      k,
      v === "$upid" ? items?.[0]?.upid ?? "no task" : v === "$token" ? token : v,
    ]),
  );
}

const indent = (text: string) => text.split("\n").map((l) => `    ${l}`).join("\n");

/**
 * The client of the tour: the server as a child process over stdio when this process may start
 * one (`deno task demo`), else (the release binary, which may not run programs) the same server
 * in process over an in-memory transport.
 */
async function connect(
  logger: Logger,
): Promise<{ client: Client; transport: string; close: () => Promise<void> }> {
  const { command, args } = selfCommand(["--simulator", "--toolsets", DEMO_TOOLSETS.join(",")]);
  const run = await Deno.permissions.query({ name: "run", command });
  if (run.state === "granted") {
    // Loaded only here: the SDK's stdio client reads environment variables when imported.
    const { StdioClientTransport } = await import("../server/sdk_stdio_client.ts");
    const stdio = new StdioClientTransport({ command, args, stderr: "pipe" });
    const client = new Client({ name: "proxmox-mcp-demo", version: VERSION });
    console.log("Starting proxmox-mcp on the embedded Proxmox VE simulator (stdio)...");
    await client.connect(stdio);
    return { client, transport: "over stdio", close: () => Promise.resolve() };
  }
  console.log("Starting proxmox-mcp on the embedded Proxmox VE simulator (in process)...");
  const backend = await openBackend({
    simulator: true,
    simulatorTaskMs: 1500,
    listing: { toolsets: DEMO_TOOLSETS },
    logger: silentLogger,
  });
  const client = await connectInProcess(backend, logger);
  return {
    client,
    transport: "in process (this binary may not start programs)",
    close: async () => await backend[Symbol.asyncDispose](),
  };
}

/** Runs the tour; returns the exit code (non-zero when a step did not behave as expected). */
export async function runDemo(logger: Logger): Promise<number> {
  const { client, transport, close } = await connect(logger);
  let failures = 0;
  try {
    const info = client.getServerVersion();
    console.log(`Connected to ${info?.name} ${info?.version} ${transport}.\n`);
    const { tools } = await client.listTools();
    console.log(`tools/list -> ${tools.length} tools:`);
    console.log(indent(tools.map((t) => `${t.name}: ${t.description}`).join("\n")));
    let previous: unknown;
    let token = "";
    for (const [i, step] of STEPS.entries()) {
      console.log(`\n${i + 1}. ${step.say}`);
      const args = resolveArgs(step.args, previous, token);
      console.log(`  -> ${step.tool} ${JSON.stringify(args)}`);
      const result = await client.callTool(
        { name: step.tool, arguments: args },
        undefined,
        { onprogress: (p) => console.log(`  .. progress ${p.progress}: ${p.message ?? ""}`) },
      );
      previous = result.structuredContent;
      const issued = (previous as { confirmation_token?: string } | undefined)?.confirmation_token;
      if (issued) token = issued;
      const text = (result.content as { type: string; text?: string }[])
        .map((c) => c.text ?? "").join("\n");
      console.log(`  <- ${result.isError ? "error" : "result"}:\n${indent(text)}`);
      if (Boolean(result.isError) !== Boolean(step.fails)) failures++;
    }
  } catch (err) {
    logger.log("error", `Demo failed: ${(err as Error).message}`);
    failures++;
  } finally {
    await client.close();
    await close();
  }
  console.log(
    failures
      ? `\nThe tour finished with ${failures} unexpected result(s).`
      : `\nThat was a real MCP client talking to the server ${transport}.` +
        '\nNext: add the server to your MCP client (README: "Use it from your MCP client").',
  );
  return failures ? 1 : 0;
}

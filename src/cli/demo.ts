/**
 * The tour: starts the server on the embedded simulator as a child process, connects a real MCP
 * client over stdio, and prints each request and answer the way an assistant would see them.
 *
 * @module
 */
import { Client } from "../server/sdk_client.ts";
import { StdioClientTransport } from "../server/sdk_stdio_client.ts";
import type { Logger } from "../util/log.ts";
import { VERSION } from "../version.ts";
import { selfCommand } from "./self.ts";

interface Step {
  say: string;
  tool: string;
  args: Record<string, unknown>;
}

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
  {
    say: "Which storage on pve1 can hold backups?",
    tool: "node_storage",
    args: { node: "pve1", content: "backup" },
  },
  { say: "Did any task fail recently?", tool: "task_list", args: { status: "error", limit: 3 } },
  {
    say: "Why did the newest of them fail? (the UPID comes from the previous answer)",
    tool: "task_log",
    args: { upid: "$previous.items[0].upid", tail: 10 },
  },
  { say: "Which VMID would a new guest get?", tool: "next_vmid", args: {} },
  {
    say: "A mistake: VMID 42 does not exist (IDs start at 100).",
    tool: "guest_status",
    args: { vmid: 42 },
  },
  {
    say: "Another: a node that is not in the cluster.",
    tool: "node_status",
    args: { node: "pve9" },
  },
];

/** The first task's UPID in a task_list result. */
function firstUpid(result: unknown): string {
  const items = (result as { items?: { upid?: string }[] } | undefined)?.items;
  return items?.[0]?.upid ?? "no task";
}

const indent = (text: string) => text.split("\n").map((l) => `    ${l}`).join("\n");

/** Runs the tour; returns the exit code (non-zero when a step did not behave as expected). */
export async function runDemo(logger: Logger): Promise<number> {
  const { command, args } = selfCommand(["--simulator"]);
  const transport = new StdioClientTransport({ command, args, stderr: "pipe" });
  const client = new Client({ name: "proxmox-mcp-demo", version: VERSION });
  console.log("Starting proxmox-mcp on the embedded Proxmox VE simulator (stdio)...");
  await client.connect(transport);
  let failures = 0;
  try {
    const info = client.getServerVersion();
    console.log(`Connected to ${info?.name} ${info?.version} over stdio.\n`);
    const { tools } = await client.listTools();
    console.log(`tools/list -> ${tools.length} tools:`);
    console.log(indent(tools.map((t) => `${t.name}: ${t.description}`).join("\n")));
    let previous: unknown;
    for (const [i, step] of STEPS.entries()) {
      const lastTwo = i >= STEPS.length - 2;
      console.log(`\n${i + 1}. ${step.say}`);
      const args = Object.fromEntries(
        Object.entries(step.args).map((
          [k, v],
        ) => [k, v === "$previous.items[0].upid" ? firstUpid(previous) : v]),
      );
      console.log(`  -> ${step.tool} ${JSON.stringify(args)}`);
      const result = await client.callTool({ name: step.tool, arguments: args });
      previous = result.structuredContent;
      const text = (result.content as { type: string; text?: string }[])
        .map((c) => c.text ?? "").join("\n");
      console.log(`  <- ${result.isError ? "error" : "result"}:\n${indent(text)}`);
      if (Boolean(result.isError) !== lastTwo) failures++;
    }
  } catch (err) {
    logger.log("error", `Demo failed: ${(err as Error).message}`);
    failures++;
  } finally {
    await client.close();
  }
  console.log(
    failures
      ? `\nThe tour finished with ${failures} unexpected result(s).`
      : "\nThat was a real MCP client talking to the server over stdio." +
        '\nNext: add the server to your MCP client (README: "Use it from your MCP client").',
  );
  return failures ? 1 : 0;
}

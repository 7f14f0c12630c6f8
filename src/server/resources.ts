/**
 * MCP resources: read-only views of the cluster a client can attach to a conversation.
 *
 * - `proxmox://cluster/inventory`: nodes with usage and guest counts, then the first
 *   {@link RESOURCE_GUEST_LIMIT} guests by VMID (paging on with `guest_list`);
 * - `proxmox://guest/{vmid}`: live status and configuration of one guest;
 * - `proxmox://node/{node}`: one node's status;
 * - `proxmox://task/{upid}/log`: a task's status and the tail of its log.
 *
 * Each is read through the server's own read-only tools and the policy pipeline, so it shows
 * exactly what the tools show (and nothing the API token may not read). Contents are
 * `text/plain` in the tools' compact rendering: a resource is read into a model's context, and
 * the tables are several times smaller than the same facts as JSON; structured data stays
 * available from the tools.
 *
 * @module
 */
import { isGuest } from "../proxmox/resources.ts";
import { requireUpid } from "../tools/params.ts";
import { ToolInputError } from "../tools/context.ts";
import { bytes, percent, table } from "../tools/format.ts";
import {
  type Extra,
  FeatureError,
  type ReadHost,
  RESOURCE_NOT_FOUND,
  textOf,
  toMcpError,
} from "./features.ts";
import {
  ErrorCode,
  type ListResourcesResult,
  type McpServer,
  type ReadResourceResult,
  ResourceTemplate,
} from "./sdk.ts";

/** URI of the inventory resource. */
export const INVENTORY_URI = "proxmox://cluster/inventory";

/** Guests in the inventory resource and in `resources/list`; the rest is paged with guest_list. */
export const RESOURCE_GUEST_LIMIT = 100;

/** Lines of task log a task resource shows. */
export const TASK_LOG_TAIL = 50;

const MIME = "text/plain";

/** Registers the resources whose tools `host` offers. */
export function registerResources(server: McpServer, host: ReadHost): void {
  if (host.has("guest_list")) {
    server.registerResource("cluster-inventory", INVENTORY_URI, {
      title: "Cluster inventory",
      description:
        `Nodes with usage and guest counts, then the first ${RESOURCE_GUEST_LIMIT} guests by VMID.`,
      mimeType: MIME,
    }, (uri, extra) => answer(host, uri, () => inventoryText(host, extra)));
  }
  if (host.has("guest_status") && host.has("guest_config")) {
    const template = new ResourceTemplate("proxmox://guest/{vmid}", {
      list: (extra) => listGuests(host, extra),
      complete: { vmid: (value) => host.completions.vmids(value) },
    });
    server.registerResource("guest", template, {
      title: "Guest",
      description: "Status and configuration of one VM or container.",
      mimeType: MIME,
    }, (uri, vars, extra) =>
      answer(host, uri, async () => {
        const vmid = guestId(variable(vars, "vmid"), uri);
        const [status, config] = await Promise.all([
          host.read("guest_status", { vmid }, extra),
          host.read("guest_config", { vmid }, extra),
        ]);
        return `${textOf(status)}\n\nconfig of ${textOf(config)}`;
      }));
  }
  if (host.has("node_status")) {
    const template = new ResourceTemplate("proxmox://node/{node}", {
      list: (extra) => listNodes(host, extra),
      complete: { node: (value) => host.completions.nodes(value) },
    });
    server.registerResource("node", template, {
      title: "Node",
      description: "Status of one node: CPU, memory, disk, versions, guest counts.",
      mimeType: MIME,
    }, (uri, vars, extra) =>
      answer(host, uri, async () => {
        const node = variable(vars, "node");
        await requireNode(host, node, extra);
        const [status, snapshot] = await Promise.all([
          host.read("node_status", { node }, extra),
          host.inventory.resources(extra.signal),
        ]);
        const guests = snapshot.lookup("node", node).filter(isGuest);
        const running = guests.filter((g) => g.status === "running").length;
        return `${textOf(status)}\nguests: ${guests.length} (${running} running); ` +
          `guest_list(node="${node}") lists them`;
      }));
  }
  if (host.has("task_status") && host.has("task_log")) {
    const template = new ResourceTemplate("proxmox://task/{upid}/log", { list: undefined });
    server.registerResource("task-log", template, {
      title: "Task log",
      description: `Status and last ${TASK_LOG_TAIL} log lines of a task, by UPID.`,
      mimeType: MIME,
    }, (uri, vars, extra) =>
      answer(host, uri, async () => {
        const upid = variable(vars, "upid");
        await requireNode(host, requireUpid(upid).node, extra);
        const [status, log] = await Promise.all([
          host.read("task_status", { upid }, extra),
          host.read("task_log", { upid, tail: TASK_LOG_TAIL }, extra),
        ]);
        return `${textOf(status)}\n\nlog:\n${textOf(log)}`;
      }));
  }
}

/** Runs `render` for `uri`, turning failures into JSON-RPC errors with the tools' messages. */
async function answer(
  host: ReadHost,
  uri: URL,
  render: () => Promise<string>,
): Promise<ReadResourceResult> {
  try {
    return { contents: [{ uri: uri.href, mimeType: MIME, text: await render() }] };
  } catch (err) {
    throw toMcpError(uri.href, err, host.logger);
  }
}

/** The inventory: a node table (from the cached snapshot) and the first page of guest_list. */
async function inventoryText(host: ReadHost, extra: Extra): Promise<string> {
  const snapshot = await host.inventory.resources(extra.signal);
  const guests = snapshot.lookup("type", "vm");
  const counts = new Map<string, { all: number; running: number }>();
  let running = 0;
  for (const g of guests) {
    if (!g.node) continue;
    const c = counts.get(g.node) ?? { all: 0, running: 0 };
    c.all++;
    if (g.status === "running") {
      c.running++;
      running++;
    }
    counts.set(g.node, c);
  }
  const nodes = [...snapshot.lookup("type", "node")].sort((a, b) =>
    (a.node ?? a.id).localeCompare(b.node ?? b.id)
  );
  const nodeTable = table(nodes, [
    ["node", (n) => n.node ?? n.id],
    "status",
    ["cpu", (n) => `${percent(n.cpu)}/${n.maxcpu ?? "?"}`],
    ["mem", (n) => `${bytes(n.mem)}/${bytes(n.maxmem)}`],
    ["disk", (n) => `${bytes(n.disk)}/${bytes(n.maxdisk)}`],
    ["guests", (n) => {
      const c = counts.get(n.node ?? "");
      return c ? `${c.all} (${c.running} running)` : "0";
    }],
  ]);
  const page = await host.read("guest_list", { limit: RESOURCE_GUEST_LIMIT }, extra);
  const next = (page.structured as { next_cursor?: string }).next_cursor;
  const lines = [
    `${nodes.length} nodes, ${guests.length} guests (${running} running)`,
    nodeTable,
    "",
    `guests by VMID (at most ${RESOURCE_GUEST_LIMIT}):`,
    textOf(page),
  ];
  if (next) {
    lines.push(
      `The rest: guest_list(cursor="${next}") continues this list; guest_list filters by ` +
        "node, status, tag, pool or name and sorts by cpu or mem.",
    );
  }
  return lines.join("\n");
}

/** The first guests by VMID, as `resources/list` entries of the guest template. */
async function listGuests(host: ReadHost, extra: Extra): Promise<ListResourcesResult> {
  try {
    const snapshot = await host.inventory.resources(extra.signal);
    return {
      resources: snapshot.lookup("type", "vm").slice(0, RESOURCE_GUEST_LIMIT).map((g) => ({
        uri: `proxmox://guest/${g.vmid}`,
        name: `guest-${g.vmid}`,
        title: [g.vmid, g.name, `(${g.type} on ${g.node ?? "?"})`].filter(Boolean).join(" "),
        // The template's description is the same for every guest; leave it out of each entry.
        description: undefined,
      })),
    };
  } catch (err) {
    // An empty list would claim the cluster has no guests; say why there is none instead.
    throw toMcpError("resources/list (guests)", err, host.logger);
  }
}

/** Every node, as `resources/list` entries of the node template. */
async function listNodes(host: ReadHost, extra: Extra): Promise<ListResourcesResult> {
  try {
    const nodes = await host.inventory.nodes(extra.signal);
    return {
      resources: [...nodes].sort((a, b) => a.node.localeCompare(b.node)).map((n) => ({
        uri: `proxmox://node/${n.node}`,
        name: `node-${n.node}`,
        title: `${n.node} (${n.status})`,
        description: undefined,
      })),
    };
  } catch (err) {
    throw toMcpError("resources/list (nodes)", err, host.logger);
  }
}

/** Checks that `node` exists; an unknown one is "resource not found" with the known nodes. */
async function requireNode(host: ReadHost, node: string, extra: Extra): Promise<void> {
  try {
    await host.inventory.requireNode(node, extra.signal);
  } catch (err) {
    if (err instanceof ToolInputError) throw new FeatureError(RESOURCE_NOT_FOUND, err.message);
    throw err;
  }
}

/** The value of template variable `name`, percent-decoded. */
function variable(vars: Record<string, string | string[]>, name: string): string {
  const raw = vars[name];
  const value = Array.isArray(raw) ? raw.join(",") : raw ?? "";
  try {
    return decodeURIComponent(value);
  } catch {
    throw new FeatureError(ErrorCode.InvalidParams, `Invalid ${name} in the URI: bad % escape`);
  }
}

/** The VMID in a guest URI, or an error saying what one looks like. */
function guestId(text: string, uri: URL): number {
  if (!/^\d{1,9}$/.test(text)) {
    throw new FeatureError(
      ErrorCode.InvalidParams,
      `Invalid guest URI ${uri.href}: expected proxmox://guest/<vmid> with a VMID from 100 to 999999999`,
    );
  }
  return Number(text);
}

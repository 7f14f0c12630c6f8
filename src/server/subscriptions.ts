/**
 * Resource subscriptions (`resources/subscribe`, `resources/unsubscribe`): a client subscribes
 * to one of this server's resources and is sent `notifications/resources/updated` when what it
 * shows changes — a guest's power state, node, name, tags or size; a node going on- or
 * offline or its guests starting and stopping; the inventory's nodes and guests; a task
 * finishing.
 *
 * What a subscription watches is a fingerprint of those facts (not of CPU or memory use, which
 * change all the time). Fingerprints are compared right after every change this server makes,
 * and on a timer (`pollMs`) for changes made elsewhere, only while something is subscribed.
 * Subscriptions belong to one MCP session and end with it.
 *
 * @module
 */
import { sha256Hex } from "../safety/canonical.ts";
import type { ClusterResource, ResourceSnapshot } from "../proxmox/resources.ts";
import { parseUpid } from "../proxmox/upid.ts";
import { FeatureError, type ReadHost, RESOURCE_NOT_FOUND, toMcpError } from "./features.ts";
import { INVENTORY_URI } from "./resources.ts";
import {
  ErrorCode,
  type McpServer,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from "./sdk.ts";

/** Default time between checks for changes made outside this server. */
export const DEFAULT_SUBSCRIPTION_POLL_MS = 15_000;

/** Most resources one session may watch at a time. */
export const MAX_SUBSCRIPTIONS = 200;

/** What one subscribed URI is about. */
type Watched =
  | { kind: "inventory" }
  | { kind: "guest"; vmid: number }
  | { kind: "node"; node: string }
  | { kind: "task"; upid: string };

/** The tools a resource is read through; without them the server does not offer it. */
const REQUIRES: Record<Watched["kind"], string[]> = {
  inventory: ["guest_list"],
  guest: ["guest_status", "guest_config"],
  node: ["node_status"],
  task: ["task_status", "task_log"],
};

/** Which resource `uri` names, or undefined when it is none of this server's. */
export function watchedOf(uri: string): Watched | undefined {
  if (uri === INVENTORY_URI) return { kind: "inventory" };
  const guest = /^proxmox:\/\/guest\/(\d{3,9})$/.exec(uri);
  if (guest) return { kind: "guest", vmid: Number(guest[1]) };
  const node = /^proxmox:\/\/node\/([a-zA-Z0-9][a-zA-Z0-9.-]{0,62})$/.exec(uri);
  if (node) return { kind: "node", node: node[1] };
  const task = /^proxmox:\/\/task\/(.+)\/log$/.exec(uri);
  if (task) {
    const upid = decodeURIComponent(task[1]);
    if (parseUpid(upid)) return { kind: "task", upid };
  }
  return undefined;
}

/** The facts of a guest entry a subscriber is told about when they change. */
function guestFacts(r: ClusterResource | undefined): unknown[] {
  if (!r) return ["absent"];
  return [
    r.type,
    r.node,
    r.status,
    r.name,
    r.tags,
    r.template,
    r.lock,
    r.pool,
    r.hastate,
    r.maxcpu,
    r.maxmem,
    r.maxdisk,
  ];
}

function nodeFacts(snapshot: ResourceSnapshot, node: string): unknown[] {
  const entry = snapshot.lookup("type", "node").find((r) => r.node === node);
  const guests = snapshot.lookup("node", node).filter((r) => r.type === "qemu" || r.type === "lxc");
  return [
    entry?.status ?? "absent",
    entry?.maxcpu,
    entry?.maxmem,
    guests.map((g) => [g.vmid, g.status]),
  ];
}

function inventoryFacts(snapshot: ResourceSnapshot): unknown[] {
  return [
    snapshot.lookup("type", "node").map((n) => [n.node, n.status]),
    snapshot.lookup("type", "vm").map((g) => [g.vmid, ...guestFacts(g)]),
  ];
}

/** Watches the resources one session subscribed to. */
export class Subscriptions {
  #server: McpServer;
  #host: ReadHost;
  #pollMs: number;
  /** Subscribed URI → fingerprint last told (or taken when subscribing). */
  #watched = new Map<string, { what: Watched; print: string }>();
  #timer?: ReturnType<typeof setInterval>;
  #checking?: Promise<void>;
  #closed = false;

  constructor(server: McpServer, host: ReadHost, pollMs = DEFAULT_SUBSCRIPTION_POLL_MS) {
    this.#server = server;
    this.#host = host;
    this.#pollMs = pollMs;
  }

  /** URIs subscribed now. */
  get uris(): string[] {
    return [...this.#watched.keys()];
  }

  /** Starts watching `uri`; throws a JSON-RPC error for URIs this server does not have. */
  async subscribe(uri: string): Promise<void> {
    const what = watchedOf(uri);
    if (!what || !REQUIRES[what.kind].every((tool) => this.#host.has(tool))) {
      throw new FeatureError(
        RESOURCE_NOT_FOUND,
        `Cannot subscribe to ${uri}: not a resource of this server (${INVENTORY_URI}, ` +
          "proxmox://guest/{vmid}, proxmox://node/{node}, proxmox://task/{upid}/log)",
      );
    }
    if (!this.#watched.has(uri) && this.#watched.size >= MAX_SUBSCRIPTIONS) {
      throw new FeatureError(
        ErrorCode.InvalidParams,
        `Cannot subscribe to ${uri}: this session already watches ${MAX_SUBSCRIPTIONS} resources; unsubscribe from some first`,
      );
    }
    let print: string;
    try {
      print = await this.#fingerprint(what);
    } catch (err) {
      throw toMcpError(uri, err, this.#host.logger);
    }
    this.#watched.set(uri, { what, print });
    this.#schedule();
  }

  /** Stops watching `uri` (unknown URIs are fine: nothing to stop). */
  unsubscribe(uri: string): void {
    this.#watched.delete(uri);
    if (!this.#watched.size) this.#stopTimer();
  }

  /**
   * Compares every subscribed resource with what was last told and notifies the changed ones.
   * One check at a time; a call during a check waits for it and then checks again.
   */
  check(): Promise<void> {
    const previous = this.#checking ?? Promise.resolve();
    const run = previous.then(() => this.#checkAll());
    this.#checking = run.finally(() => {
      if (this.#checking === run) this.#checking = undefined;
    });
    return run;
  }

  /** Ends every subscription (the session closed). */
  close(): void {
    this.#closed = true;
    this.#watched.clear();
    this.#stopTimer();
  }

  async #checkAll(): Promise<void> {
    if (this.#closed || !this.#watched.size) return;
    for (const [uri, entry] of [...this.#watched]) {
      let print: string;
      try {
        print = await this.#fingerprint(entry.what);
      } catch (err) {
        this.#host.logger.log("warning", `Subscription check of ${uri} failed`, {
          error: err instanceof Error ? err.message : String(err),
        });
        continue;
      }
      const current = this.#watched.get(uri);
      if (this.#closed || current !== entry || print === entry.print) continue;
      entry.print = print;
      await this.#server.server.sendResourceUpdated({ uri }).catch((err: unknown) =>
        this.#host.logger.log("warning", `Could not notify ${uri}`, {
          error: err instanceof Error ? err.message : String(err),
        })
      );
    }
  }

  async #fingerprint(what: Watched): Promise<string> {
    if (what.kind === "task") {
      const out = await this.#host.read("task_status", { upid: what.upid });
      const s = out.structured as { running?: unknown; exitstatus?: unknown } | undefined;
      return sha256Hex(JSON.stringify([s?.running, s?.exitstatus]));
    }
    const snapshot = await this.#host.inventory.resources();
    const facts = what.kind === "inventory"
      ? inventoryFacts(snapshot)
      : what.kind === "guest"
      ? guestFacts(snapshot.guest(what.vmid))
      : nodeFacts(snapshot, what.node);
    return sha256Hex(JSON.stringify(facts));
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const timer = setInterval(() => {
      this.check().catch(() => {});
    }, this.#pollMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Offers resource subscriptions on `server` (declares `resources.subscribe` and handles the
 * two requests). Returns the session's {@link Subscriptions}; call its `check()` after a change.
 */
export function registerSubscriptions(
  server: McpServer,
  host: ReadHost,
  pollMs?: number,
): Subscriptions {
  const subs = new Subscriptions(server, host, pollMs);
  server.server.registerCapabilities({ resources: { subscribe: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    await subs.subscribe(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subs.unsubscribe(request.params.uri);
    return {};
  });
  const onclose = server.server.onclose;
  server.server.onclose = () => {
    subs.close();
    onclose?.();
  };
  return subs;
}

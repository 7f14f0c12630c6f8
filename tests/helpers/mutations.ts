/**
 * A stack for mutation tests: the simulator, the real server (safety pipeline included) behind
 * a recording API wrapper, and an SDK client over an in-memory transport, optionally declaring
 * elicitation support.
 *
 * @module
 */
import { connectServer } from "../../src/server/connect.ts";
import { ProxmoxClient } from "../../src/proxmox/client.ts";
import { buildServer } from "../../src/server/app.ts";
import { resolveListing, type SessionNarrowing } from "../../src/server/listing.ts";
import { ElicitRequestSchema } from "../../src/server/sdk.ts";
import { Client, InMemoryTransport } from "../../src/server/sdk_client.ts";
import { type SafetySettings, safetySettings } from "../../src/safety/settings.ts";
import type { SafetyConfig } from "../../src/safety/settings.ts";
import { openSafety, type Safety } from "../../src/safety/stages.ts";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../src/simulator/mod.ts";
import type { ProxmoxApi, TaskWaitSettings } from "../../src/tools/context.ts";
import type { Tool } from "../../src/tools/tool.ts";
import { type Clock, systemClock } from "../../src/util/clock.ts";
import { type Logger, silentLogger } from "../../src/util/log.ts";
import { type RecordedRequest, RecordingApi } from "./recording_api.ts";

/** A tool result as the client sees it. */
export interface CallResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

/** What the stack's client answers to an elicitation request. */
export type ElicitHandler = (message: string) => {
  action: "accept" | "decline" | "cancel";
  content?: Record<string, unknown>;
};

/** Options of {@link startMutationStack}. */
export interface MutationStackOptions {
  readOnly?: boolean;
  /** Safety configuration fields (as in config.json). */
  config?: SafetyConfig;
  /** Final settings tweaks after the config was applied. */
  settings?: Partial<SafetySettings>;
  /** When set, the client declares elicitation support and answers with this. */
  elicit?: ElicitHandler;
  simulator?: SimulatorOptions;
  /** Clock of the safety stages (tokens, rate limits, audit) and task waits. */
  clock?: Clock;
  tasks?: Partial<TaskWaitSettings>;
  auditPath?: string;
  logger?: Logger;
  /** Per-request timeout of the Proxmox client (default the client's 30 s). */
  clientTimeoutMs?: number;
  defaultNode?: string;
  /** Wraps the API the server talks through (to make Proxmox answer differently). */
  wrapApi?: (api: ProxmoxApi) => ProxmoxApi;
  /** Catalogue rows to serve instead of the real catalogue (e.g. a deliberately broken one). */
  tools?: readonly Tool[];
  /**
   * Toolsets to offer, as in config.json; default `["all"]` so every row of the catalogue is
   * reachable. Pass `[]` for the server's default (everyday) set.
   */
  toolsets?: string[];
  /** `disable_destructive`. */
  disableDestructive?: boolean;
  /** Hide rows whose privilege the identity lacks (default false here: one request fewer). */
  privilegeFilter?: boolean;
  /** An HTTP session's narrowing, as the headers would give it. */
  narrow?: SessionNarrowing;
  /** Time between checks of subscribed resources (default: the server's). */
  subscriptionPollMs?: number;
  /** Whose API token the server uses: the simulator's admin (default) or its auditor. */
  identity?: "admin" | "auditor";
}

/** A running stack. */
export interface MutationStack extends AsyncDisposable {
  sim: Simulator;
  client: Client;
  recorder: RecordingApi;
  safety: Safety;
  /** Elicitation messages the client received. */
  elicitations: string[];
  /** Calls a tool; never throws for tool errors. */
  call(name: string, args?: Record<string, unknown>): Promise<CallResult>;
  /** Write requests (POST/PUT/DELETE) the server sent so far. */
  writes(): RecordedRequest[];
  /**
   * Resolves with the first audit record (parsed) matching `match`, already written or written
   * later; rejects after `timeoutMs` (default 10 s). Tests wait on this instead of sleeping.
   */
  audited(match: (record: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<
    Record<string, unknown>
  >;
}

/** The text content of a result. */
export function text(r: CallResult): string {
  return r.content.map((c) => c.text ?? "").join("\n");
}

/** Starts the simulator, the server and a client. */
export async function startMutationStack(opts: MutationStackOptions = {}): Promise<MutationStack> {
  const sim = await startSimulator(opts.simulator);
  const { tokenId, tokenSecret } = sim.credentials[opts.identity ?? "admin"];
  const real = new ProxmoxClient({
    baseUrl: sim.url,
    auth: { type: "token", tokenId, secret: tokenSecret },
    caCerts: [sim.caCert],
    timeoutMs: opts.clientTimeoutMs,
  });
  const recorder = new RecordingApi(opts.wrapApi ? opts.wrapApi(real) : real);
  const clock = opts.clock ?? systemClock;
  const settings = { ...safetySettings(opts.config), ...opts.settings };
  const safety = await openSafety(settings, { clock, auditPath: opts.auditPath });
  const auditWaiters = new Set<(record: Record<string, unknown>) => boolean>();
  const append = safety.audit.append.bind(safety.audit);
  safety.audit.append = async (record) => {
    const line = await append(record);
    const parsed = JSON.parse(line);
    for (const w of [...auditWaiters]) if (w(parsed)) auditWaiters.delete(w);
    return line;
  };
  const server = buildServer(
    {
      client: recorder,
      description: "mutation tests",
      readOnly: opts.readOnly ?? false,
      defaultNode: opts.defaultNode,
      safety,
      listing: resolveListing({
        toolsets: opts.toolsets ?? ["all"],
        disable_destructive: opts.disableDestructive,
        privilege_filter: opts.privilegeFilter ?? false,
      }),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    },
    opts.logger ?? silentLogger,
    {
      clock,
      tasks: { pollMs: 5, ...opts.tasks },
      narrow: opts.narrow,
      tools: opts.tools,
      subscriptionPollMs: opts.subscriptionPollMs,
    },
  );
  const [a, b] = InMemoryTransport.createLinkedPair();
  // As the transports connect it: tools/call straight to the server's handler.
  await connectServer(server, b);
  const client = new Client(
    { name: "mutation-tests", version: "1" },
    { capabilities: opts.elicit ? { elicitation: { form: {} } } : {} },
  );
  const elicitations: string[] = [];
  if (opts.elicit) {
    const answer = opts.elicit;
    client.setRequestHandler(ElicitRequestSchema, (req) => {
      const message = String(req.params.message);
      elicitations.push(message);
      return answer(message);
    });
  }
  await client.connect(a);
  return {
    sim,
    client,
    recorder,
    safety,
    elicitations,
    async call(name, args = {}) {
      return await client.callTool({ name, arguments: args }) as CallResult;
    },
    writes: () => recorder.requests.filter((r) => r.method !== "GET"),
    audited(match, timeoutMs = 10_000) {
      const found = safety.audit.lines.map((l) => JSON.parse(l)).find(match);
      if (found) return Promise.resolve(found);
      const { promise, resolve, reject } = Promise.withResolvers<Record<string, unknown>>();
      const timer = setTimeout(() => {
        auditWaiters.delete(waiter);
        reject(new Error(`no matching audit record within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (record: Record<string, unknown>) => {
        if (!match(record)) return false;
        clearTimeout(timer);
        resolve(record);
        return true;
      };
      auditWaiters.add(waiter);
      return promise;
    },
    async [Symbol.asyncDispose]() {
      await client.close();
      await server.close();
      safety.audit.close();
      safety.close();
      real.close();
      await sim.close();
    },
  };
}

/** A deterministic snapshot of everything the simulator's cluster holds (for "nothing changed"). */
export function stateSnapshot(sim: Simulator): string {
  const s = sim.state;
  const guests = [...s.guests.values()].sort((x, y) => x.vmid - y.vmid).map((g) => ({
    vmid: g.vmid,
    type: g.type,
    node: g.node,
    status: g.status,
    paused: g.paused,
    pool: g.pool,
    config: g.config,
    pending: g.pending,
    pendingDelete: g.pendingDelete,
    snapshots: g.snapshots.map((x) => ({ ...x })),
  }));
  const plain = (_k: string, v: unknown) =>
    v instanceof Map ? [...v.entries()] : v instanceof Set ? [...v] : v;
  return JSON.stringify({
    guests,
    volumes: s.volumes,
    pools: [...s.pools.values()],
    storages: [...s.storages.values()],
    tasks: [...s.tasks.keys()],
    users: s.users,
    firewall: s.firewall,
    access: s.access,
    ha: s.ha,
    network: [...s.nodes.values()].map((n) => [n.network, n.networkPending]),
  }, plain);
}

/** Calls a tool and asserts it succeeded; returns the structured result. */
export async function expectOk(
  s: MutationStack,
  name: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const r = await s.call(name, args);
  if (r.isError) throw new Error(`${name} ${JSON.stringify(args)} failed: ${text(r)}`);
  return r.structuredContent ?? {};
}

/** Calls a tool and asserts it was refused with a message matching `pattern`, changing nothing. */
export async function expectRefused(
  s: MutationStack,
  name: string,
  args: Record<string, unknown>,
  pattern: RegExp,
): Promise<string> {
  const before = stateSnapshot(s.sim);
  const writes = s.writes().length;
  const r = await s.call(name, args);
  if (r.isError !== true) {
    throw new Error(`${name} ${JSON.stringify(args)} should fail: ${text(r)}`);
  }
  if (!pattern.test(text(r))) throw new Error(`${name}: "${text(r)}" does not match ${pattern}`);
  if (stateSnapshot(s.sim) !== before) throw new Error(`${name} changed the cluster`);
  if (s.writes().length !== writes) throw new Error(`${name} sent a write`);
  return text(r);
}

/**
 * Runs a call that needs a confirmation the token way: the first call returns a plan and a
 * token and changes nothing; the repeated call with the token runs. Returns both answers.
 */
export async function expectConfirmed(
  s: MutationStack,
  name: string,
  args: Record<string, unknown>,
): Promise<{ plan: Record<string, unknown>; done: Record<string, unknown>; text: string }> {
  const before = stateSnapshot(s.sim);
  const writes = s.writes().length;
  const first = await s.call(name, args);
  if (first.isError) throw new Error(`${name} plan failed: ${text(first)}`);
  const plan = first.structuredContent!;
  if (plan.status !== "confirmation_required") {
    throw new Error(`${name} should need a confirmation: ${text(first)}`);
  }
  if (stateSnapshot(s.sim) !== before || s.writes().length !== writes) {
    throw new Error(`${name} changed the cluster before confirmation`);
  }
  const second = await s.call(name, { ...args, confirmation_token: plan.confirmation_token });
  if (second.isError) throw new Error(`${name} confirmed call failed: ${text(second)}`);
  return { plan, done: second.structuredContent ?? {}, text: text(second) };
}

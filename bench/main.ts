/**
 * `deno task bench`: measures the server as MCP clients use it — a child process on stdio
 * (and Streamable HTTP when the server has it) — against the embedded simulator over HTTPS
 * loopback, with the same requests also sent straight to the API in the same run.
 *
 * Prints a table and writes JSON (default `bench/results/latest.json`).
 *
 * @module
 */
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { DirectApi, directGuestList, type RawResource } from "./direct.ts";
import { startupGraph } from "./import_graph.ts";
import { profileCall } from "./phases.ts";
import { startSimulatorThread } from "./sim_thread.ts";
import { DEFAULT_TTL } from "../src/tools/inventory.ts";
import { budgetChecks } from "./budgets.ts";
import {
  checkTargets,
  type LatencyResult,
  renderProfile,
  renderScenario,
  renderTargets,
  type ScenarioResult,
  type TransportResult,
} from "./report.ts";
import {
  cpuMs,
  type HttpAuth,
  httpAuth,
  httpSupported,
  REPO_ROOT,
  rss,
  type ServerProcess,
  spawnFloor,
  spawnFloorHttp,
  spawnHttp,
  spawnStdio,
  startFlags,
} from "./server_proc.ts";
import type { RpcSession } from "./session.ts";
import { byteSize, median, round, summarize, tokens } from "./stats.ts";

const HELP = `deno task bench [options]

  --scenario <default|large|all>  Simulated cluster(s) to run against (default all)
  --transport <stdio|http|all>    Transports to measure (default all that the server has)
  --calls <n>                     Calls per operation for latency (default 1000)
  --cold <n>                      Cold starts to take the median of (default 10)
  --out <file>                    JSON results (default bench/results/latest.json)
  --v8-flags <flags>              Extra V8 flags for the server, to try memory settings
`;

interface Options {
  scenarios: ("default" | "large")[];
  transports: ("stdio" | "http")[];
  calls: number;
  cold: number;
  out: string;
  v8Flags?: string;
}

function options(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: "string", default: "all" },
      transport: { type: "string", default: "all" },
      calls: { type: "string", default: "1000" },
      cold: { type: "string", default: "10" },
      out: { type: "string", default: `${REPO_ROOT}bench/results/latest.json` },
      "v8-flags": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  const pick = <T extends string>(v: string, all: readonly T[], name: string): T[] => {
    if (v === "all") return [...all];
    if (!(all as readonly string[]).includes(v)) {
      throw new Error(`--${name} must be one of ${all.join(", ")}, all; got ${v}`);
    }
    return [v as T];
  };
  const int = (v: string, name: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  return {
    scenarios: pick(values.scenario, ["default", "large"] as const, "scenario"),
    transports: pick(values.transport, ["stdio", "http"] as const, "transport"),
    calls: int(values.calls, "calls"),
    cold: int(values.cold, "cold"),
    out: values.out,
    v8Flags: values["v8-flags"],
  };
}

/** One measured operation: a tool call and the same request straight to the API. */
interface Operation {
  label: string;
  tool: string;
  args(i: number): Record<string, unknown>;
  direct(i: number): Promise<unknown>;
  /** Time the direct request on every n-th call only (heavy 10,000-guest reads). */
  directEvery?: number;
  /** What `direct` is: the same request, or the raw API read the server's index replaces. */
  comparison: "overhead" | "index speed-up";
  /** The API path the floor's `api_get` reads for call `i` (the floor then runs alongside). */
  floorPath?: (i: number) => string;
}

/** The simulator, a config file for it and the operations to measure. */
interface Bench {
  scenario: "default" | "large";
  /** API requests the simulator has served so far. */
  simRequests(): Promise<number>;
  /** Directory with config.json and ca.pem: the server's working directory. */
  dir: string;
  api: DirectApi;
  ops: Operation[];
  filter: { node: string; status: string };
  guests: RawResource[];
  nodes: string[];
}

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

async function main(argv: string[]): Promise<number> {
  const opts = options(argv);
  if (!opts) {
    console.log(HELP);
    return 0;
  }
  const flags = [
    ...(opts.v8Flags ? [`--v8-flags=${opts.v8Flags}`] : []),
    ...await startFlags(),
  ];
  const http = opts.transports.includes("http") && await httpSupported();
  if (opts.transports.includes("http") && !http) {
    log("the server has no --http flag yet: measuring stdio only");
  }
  const results: ScenarioResult[] = [];
  for (const scenario of opts.scenarios) {
    log(`scenario ${scenario}: starting the simulator`);
    // On a thread of its own, like a real API: its work on big answers must not stall the
    // benchmark's clients (and with them every timing taken here).
    await using sim = await startSimulatorThread(scenario);
    const simulatorStartMs = sim.startMs;
    const tmp = await Deno.makeTempDir({ prefix: "proxmox-mcp-bench-" });
    try {
      await Deno.writeTextFile(`${tmp}/ca.pem`, sim.caCert);
      const configPath = `${tmp}/config.json`;
      const url = new URL(sim.url);
      const { tokenId, tokenSecret } = sim.credentials.admin;
      await Deno.writeTextFile(
        configPath,
        JSON.stringify({
          host: url.hostname,
          port: Number(url.port),
          token_id: tokenId,
          token_secret: tokenSecret,
          ca_file: "ca.pem",
          read_only: false,
        }),
        { mode: 0o600 },
      );
      using api = new DirectApi(sim.url, sim.caCert, tokenId, tokenSecret);
      const bench = await prepare(scenario, api, tmp, () => sim.requests());
      const result: ScenarioResult = {
        scenario,
        guests: bench.guests.length,
        nodes: bench.nodes.length,
        simulatorStartMs,
        sizes: { toolsList: { tools: 0, bytes: 0, tokens: 0, largest: [] }, answers: {} },
        transports: [],
      };
      result.transports.push(await measureStdio(bench, flags, opts, result));
      if (opts.transports.includes("http") && http) {
        result.transports.push(await measureHttp(bench, flags, opts));
      }
      results.push(result);
      console.log(renderScenario(result));
      console.log();
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }
  const stdioStatus = results.find((r) => r.scenario === "default")?.transports
    .find((t) => t.transport === "stdio")?.latency["guest_status"]?.server.p50;
  log("profile of one guest_status call, layer by layer");
  const profile = await profileCall(Math.min(opts.calls, 500), stdioStatus);
  console.log(renderProfile(profile));
  console.log();
  const graph = await startupGraph();
  const checks = [...checkTargets(results, graph), ...budgetChecks()];
  console.log(renderTargets(checks));
  const out = {
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    os: `${Deno.build.os}-${Deno.build.arch}`,
    cpus: navigator.hardwareConcurrency,
    serverFlags: flags,
    method: {
      tokens: "bytes / 4 of the UTF-8 JSON text (text content: the text itself)",
      latency:
        "client-observed round trip; server, floor (guest_status) and direct calls alternate in the same run",
      rss: "/proc/<pid>/status VmRSS of the server process (MB = 10^6 bytes)",
    },
    startupGraph: graph,
    results,
    profile,
    targets: checks,
  };
  await Deno.mkdir(dirname(opts.out), { recursive: true });
  await Deno.writeTextFile(opts.out, JSON.stringify(out, null, 2) + "\n");
  log(`wrote ${opts.out}`);
  return 0;
}

/** The API path of a guest's live status. */
function statusPath(g: RawResource): string {
  return `/nodes/${g.node}/${g.type}/${g.vmid}/status/current`;
}

/** Learns the cluster's shape from the API and defines the operations. */
async function prepare(
  scenario: "default" | "large",
  api: DirectApi,
  dir: string,
  simRequests: () => Promise<number>,
): Promise<Bench> {
  const all = await api.get<RawResource[]>("/cluster/resources");
  const guests = all.filter((r) => r.type === "qemu" || r.type === "lxc")
    .sort((a, b) => (a.vmid ?? 0) - (b.vmid ?? 0));
  const nodes = all.filter((r) => r.type === "node").map((r) => r.node!).sort();
  const running = guests.filter((g) => g.status === "running");
  // Guests for status calls: spread over the cluster, up to 64 of them.
  const step = Math.max(1, Math.floor(running.length / 64));
  const sample = running.filter((_, i) => i % step === 0).slice(0, 64);
  const filter = { node: nodes[Math.min(1, nodes.length - 1)], status: "running" };
  const heavy = guests.length > 1000 ? 10 : 1;
  const ops: Operation[] = [
    {
      label: "guest_status",
      tool: "guest_status",
      args: (i) => ({ vmid: sample[i % sample.length].vmid }),
      direct: (i) => api.get(statusPath(sample[i % sample.length])),
      comparison: "overhead",
      floorPath: (i) => statusPath(sample[i % sample.length]),
    },
    {
      label: "guest_list filter",
      tool: "guest_list",
      args: () => ({ ...filter }),
      direct: () => directGuestList(api, filter, 50),
      directEvery: heavy,
      // Through the API a filtered page is a read of every guest: on a large cluster that is
      // what the index saves, not an overhead.
      comparison: guests.length > 1000 ? "index speed-up" : "overhead",
    },
    {
      label: "cluster_resources",
      tool: "cluster_resources",
      args: () => ({}),
      direct: () => api.get("/cluster/resources"),
      directEvery: heavy,
      comparison: guests.length > 1000 ? "index speed-up" : "overhead",
    },
  ];
  return { scenario, simRequests, dir, api, ops, filter, guests, nodes };
}

/** Measures cold starts, sizes, latency, throughput and memory over stdio. */
async function measureStdio(
  bench: Bench,
  flags: string[],
  opts: Options,
  result: ScenarioResult,
): Promise<TransportResult> {
  log(`${bench.scenario}/stdio: cold starts, interleaved with the floor`);
  const init: number[] = [];
  const list: number[] = [];
  const floorList: number[] = [];
  const before = await bench.simRequests();
  const coldStart = async (spawn: () => Promise<ServerProcess>) => {
    const t0 = performance.now();
    await using server = await spawn();
    await checked(server, () => server.session.initialize());
    const t1 = performance.now();
    await checked(server, () => server.session.request("tools/list"));
    return { init: t1 - t0, list: performance.now() - t0 };
  };
  const ours = () => spawnStdio(bench.dir, flags);
  const floor = () => spawnFloor(bench.dir);
  for (let run = 0; run <= opts.cold; run++) {
    // Alternate which goes first so neither always meets a warmer page cache.
    const bare = run % 2 ? await coldStart(floor) : undefined;
    const server = await coldStart(ours);
    const floorRun = bare ?? await coldStart(floor);
    if (run === 0) continue; // the first run warms Deno's caches
    init.push(server.init);
    list.push(server.list);
    floorList.push(floorRun.list);
  }
  const apiRequestsDuringStartup = (await bench.simRequests() - before) / (opts.cold + 1);
  const floorIdle = await idleRss(floor);
  await using server = await spawnStdio(bench.dir, flags);
  const session = server.session;
  await checked(server, () => session.initialize());
  const tools = await session.request<{ tools: { name: string }[] }>("tools/list");
  await new Promise((r) => setTimeout(r, 500));
  const idle = await rss(server.pid);
  const fresh = async () => {
    const s = await spawnStdio(bench.dir, flags);
    await checked(s, () => s.session.initialize());
    await s.session.request("tools/list");
    await new Promise((r) => setTimeout(r, 500));
    return s;
  };
  await using bare = await spawnFloor(bench.dir, { api: true });
  await checked(bare, () => bare.session.initialize());
  const { load, ...out } = await measureSession(bench, session, server.pid, opts, fresh, bare);
  result.sizes = await measureSizes(bench, session, tools);
  return {
    transport: "stdio",
    coldStart: {
      runs: opts.cold,
      initializeMs: round(median(init), 1),
      toolsListMs: round(median(list), 1),
      floorToolsListMs: round(median(floorList), 1),
      apiRequestsDuringStartup,
    },
    ...out,
    rss: rssFigures(idle, load, floorIdle),
  };
}

/** Idle RSS of a freshly started process after `initialize` and `tools/list`. */
async function idleRss(spawn: () => Promise<ServerProcess>) {
  await using proc = await spawn();
  await checked(proc, () => proc.session.initialize());
  await checked(proc, () => proc.session.request("tools/list"));
  await new Promise((r) => setTimeout(r, 500));
  return await rss(proc.pid);
}

/** Memory under load and what the load was. */
interface LoadRss {
  rssMiB: number;
  hwmMiB: number;
  what: string;
  /** The most over the whole (longer) throughput window at 50, and what that load was. */
  sustained?: { rssMiB: number; what: string };
}

/** Idle and loaded memory of the server in MB, when both were read. */
function rssFigures(
  idle: { rssMiB: number } | undefined,
  load: LoadRss | undefined,
  floor?: { rssMiB: number },
) {
  return idle && load
    ? {
      idleMB: mb(idle.rssMiB),
      loadMB: mb(load.rssMiB),
      peakMB: mb(load.hwmMiB),
      load: load.what,
      ...(load.sustained
        ? { sustainedMB: mb(load.sustained.rssMiB), sustained: load.sustained.what }
        : {}),
      ...(floor ? { floorIdleMB: mb(floor.rssMiB) } : {}),
    }
    : undefined;
}

/** Measures cold starts, latency, throughput and memory over Streamable HTTP. */
async function measureHttp(bench: Bench, flags: string[], opts: Options): Promise<TransportResult> {
  log(`${bench.scenario}/http: cold starts`);
  const auth: HttpAuth = httpAuth();
  const listening: number[] = [];
  const init: number[] = [];
  const list: number[] = [];
  const before = await bench.simRequests();
  for (let run = 0; run <= opts.cold; run++) {
    const t0 = performance.now();
    await using server = await spawnHttp(bench.dir, flags, auth);
    await checked(server, () => server.session.initialize());
    const t1 = performance.now();
    await checked(server, () => server.session.request("tools/list"));
    const t2 = performance.now();
    if (run === 0) continue;
    listening.push(server.listeningMs);
    init.push(t1 - t0);
    list.push(t2 - t0);
  }
  const apiRequestsDuringStartup = (await bench.simRequests() - before) / (opts.cold + 1);
  await using server = await spawnHttp(bench.dir, flags, auth);
  await checked(server, () => server.session.initialize());
  await server.session.request("tools/list");
  await new Promise((r) => setTimeout(r, 500));
  const idle = await rss(server.pid);
  const fresh = async () => {
    const s = await spawnHttp(bench.dir, flags, auth);
    await checked(s, () => s.session.initialize());
    await s.session.request("tools/list");
    await new Promise((r) => setTimeout(r, 500));
    return s;
  };
  await using bare = await spawnFloorHttp(bench.dir);
  await checked(bare, () => bare.session.initialize());
  const { load, ...out } = await measureSession(
    bench,
    server.session,
    server.pid,
    opts,
    fresh,
    bare,
  );
  return {
    transport: "http",
    coldStart: {
      runs: opts.cold,
      listeningMs: round(median(listening), 1),
      initializeMs: round(median(init), 1),
      toolsListMs: round(median(list), 1),
      apiRequestsDuringStartup,
    },
    ...out,
    rss: rssFigures(idle, load),
  };
}

/** Runs `fn`; on failure adds the server's stderr to the error. */
async function checked<T>(server: ServerProcess, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new Error(`${(e as Error).message}\nserver stderr:\n${server.stderr()}`);
  }
}

function mb(mib: number): number {
  return round((mib * 1024 * 1024) / 1e6, 1);
}

/** Latency (server and direct, alternating), throughput at 1/8/50 and RSS under load. */
async function measureSession(
  bench: Bench,
  session: RpcSession,
  pid: number,
  opts: Options,
  /** Starts another server, ready as `session` is (more samples of the cold first call). */
  fresh?: () => Promise<ServerProcess>,
  /** The floor on the same transport, initialised: timed beside ops with a `floorPath`. */
  floor?: ServerProcess,
): Promise<
  Pick<TransportResult, "latency" | "throughput" | "ping" | "coldList"> & {
    load?: LoadRss;
  }
> {
  const coldList = await timeColdList(bench, session, fresh);
  const ping: number[] = [];
  for (let i = 0; i < 50; i++) await session.request("ping");
  for (let i = 0; i < opts.calls; i++) {
    const t = performance.now();
    await session.request("ping");
    ping.push(performance.now() - t);
  }
  const latency: Record<string, LatencyResult> = {};
  for (const op of bench.ops) {
    log(`${bench.scenario}: ${op.label} x ${opts.calls}`);
    const bare = op.floorPath && floor
      ? (i: number) =>
        checked(floor, () => floor.session.call("api_get", { path: op.floorPath!(i) }))
      : undefined;
    for (let i = 0; i < 30; i++) {
      await session.call(op.tool, op.args(i));
      await bare?.(i);
      if (i % (op.directEvery ?? 1) === 0) await op.direct(i);
    }
    const server: number[] = [];
    const direct: number[] = [];
    const floorMs: number[] = [];
    let matched: number | undefined;
    for (let i = 0; i < opts.calls; i++) {
      let t = performance.now();
      const answer = await session.call(op.tool, op.args(i));
      server.push(performance.now() - t);
      if (bare) {
        t = performance.now();
        await bare(i);
        floorMs.push(performance.now() - t);
      }
      if (i % (op.directEvery ?? 1) === 0) {
        t = performance.now();
        await op.direct(i);
        direct.push(performance.now() - t);
      }
      if (i === 0) {
        const total = answer.result.structuredContent?.total;
        if (typeof total === "number") matched = total;
      }
    }
    const s = summarize(server);
    const d = summarize(direct);
    latency[op.label] = {
      server: s,
      direct: d,
      comparison: op.comparison,
      overheadP50Ms: round(s.p50 - d.p50, 3),
      overheadP99Ms: round(s.p99 - d.p99, 3),
      ratioP50: round(s.p50 / d.p50, 3),
      ...(matched !== undefined ? { matched } : {}),
      ...(floorMs.length ? { floor: summarize(floorMs) } : {}),
    };
  }
  const throughput: TransportResult["throughput"] = {};
  let load: LoadRss | undefined;
  // Each level runs for at least one list-cache lifetime as well, so every level pays its share
  // of the background refreshes of the cached snapshot (a full /cluster/resources read every
  // few seconds under load); a shorter window holds one refresh or none by chance.
  const minMs = DEFAULT_TTL.resources;
  for (const concurrency of [1, 8, 50]) {
    const least = Math.max(300, Math.min(opts.calls, 1000));
    log(
      `${bench.scenario}: throughput at ${concurrency} concurrent, ${least} calls and >= ${minMs} ms`,
    );
    let next = 0;
    let peak = 0; // over the first `least` calls: the load the RSS target names
    let sustainedPeak = 0; // over the whole window
    let sampling = true;
    const sampler = concurrency === 50
      ? (async () => {
        while (sampling) {
          const m = await rss(pid);
          if (m && next <= least) peak = Math.max(peak, m.rssMiB);
          if (m) sustainedPeak = Math.max(sustainedPeak, m.rssMiB);
          await new Promise((r) => setTimeout(r, 10));
        }
      })()
      : Promise.resolve();
    const cpuBefore = await cpuMs(pid);
    const started = performance.now();
    const more = () => next < least || performance.now() - started < minMs;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (more()) {
        const i = next++;
        const op = bench.ops[i % bench.ops.length];
        await session.call(op.tool, op.args(i));
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    const calls = next;
    sampling = false;
    await sampler;
    const cpuAfter = await cpuMs(pid);
    throughput[String(concurrency)] = {
      calls,
      seconds: round(seconds, 3),
      perSecond: round(calls / seconds, 1),
      // What the server itself spent per call: tells a slower server from a slower client.
      ...(cpuBefore !== undefined && cpuAfter !== undefined
        ? { serverCpuMsPerCall: round((cpuAfter - cpuBefore) / calls, 3) }
        : {}),
    };
    if (concurrency === 50) {
      const m = await rss(pid);
      if (m) {
        load = {
          rssMiB: peak || m.rssMiB,
          hwmMiB: m.hwmMiB,
          what: `max sampled every 10 ms over ${least} mixed calls kept 50 in flight`,
          sustained: {
            rssMiB: Math.max(sustainedPeak, m.rssMiB),
            what: `${calls} calls in ${round(seconds, 1)} s`,
          },
        };
      }
    }
  }
  const expired = await timeExpiredList(bench, session);
  return {
    coldList: { ...coldList, ...expired },
    ping: summarize(ping),
    latency,
    throughput,
    load,
  };
}

/**
 * Times the first filtered list of a fresh server (connects, reads and indexes
 * /cluster/resources) and the direct equivalent.
 */
async function timeColdList(
  bench: Bench,
  session: RpcSession,
  fresh?: () => Promise<ServerProcess>,
): Promise<{ ms: number; directMs: number; resourcesMs: number; samples: number }> {
  const first = async (s: RpcSession) => {
    const t = performance.now();
    await s.call("guest_list", { ...bench.filter });
    const ms = performance.now() - t;
    // The direct reads can be repeated, and one sample of a 3 MB read on a shared machine varies
    // by half: the median of three right after each first call.
    const directMs = await medianOf(3, () => directGuestList(bench.api, bench.filter, 50));
    const resourcesMs = await medianOf(3, () => bench.api.get("/cluster/resources"));
    return { ms, directMs, resourcesMs };
  };
  const samples = [await first(session)];
  // A server's first call happens once per process: on a large cluster, two more fresh servers.
  if (fresh && bench.guests.length >= 1000) {
    for (let i = 0; i < 2; i++) {
      await using server = await fresh();
      samples.push(await first(server.session));
    }
  }
  const mid = (pick: (s: typeof samples[number]) => number) => round(median(samples.map(pick)), 1);
  return {
    ms: mid((s) => s.ms),
    directMs: mid((s) => s.directMs),
    resourcesMs: mid((s) => s.resourcesMs),
    samples: samples.length,
  };
}

/** The median time of `n` runs of `fn`, in ms. */
async function medianOf(n: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

/**
 * Waits until the list cache has expired, then times a filtered list (a cache miss) and the
 * full /cluster/resources read the server makes for it, fetched directly.
 */
async function timeExpiredList(
  bench: Bench,
  session: RpcSession,
): Promise<{ expiredMs: number; readMs: number }> {
  await new Promise((r) => setTimeout(r, DEFAULT_TTL.resources + 300));
  let t = performance.now();
  await session.call("guest_list", { ...bench.filter });
  const expiredMs = round(performance.now() - t, 1);
  t = performance.now();
  await bench.api.get("/cluster/resources");
  return { expiredMs, readMs: round(performance.now() - t, 1) };
}

/** Sizes of tools/list and of typical answers, text and structuredContent. */
async function measureSizes(
  bench: Bench,
  session: RpcSession,
  tools: { result: { tools: { name: string }[] }; bytes(): number },
): Promise<ScenarioResult["sizes"]> {
  const names = new Set(tools.result.tools.map((t) => t.name));
  const largest = tools.result.tools
    .map((t) => [t.name, byteSize(JSON.stringify(t))] as [string, number])
    .sort((a, b) => b[1] - a[1]).slice(0, 5);
  const bytes = tools.bytes();
  const vmid = bench.guests.find((g) => g.status === "running")?.vmid ?? bench.guests[0]?.vmid;
  const typical: [string, string, Record<string, unknown>][] = [
    ["guest_list", "guest_list", {}],
    ["guest_list filter", "guest_list", { ...bench.filter }],
    ["guest_list fields", "guest_list", { fields: ["vmid", "name", "status"] }],
    ["guest_status", "guest_status", { vmid }],
    ["guest_config", "guest_config", { vmid }],
    ["cluster_resources", "cluster_resources", {}],
    ["cluster_status", "cluster_status", {}],
    ["node_list", "node_list", {}],
    ["node_status", "node_status", { node: bench.nodes[0] }],
    ["task_list", "task_list", {}],
  ];
  const answers: ScenarioResult["sizes"]["answers"] = {};
  for (const [label, tool, args] of typical) {
    if (!names.has(tool)) continue;
    const { result } = await session.call(tool, args);
    const text = (result.content ?? []).map((c) => c.text ?? "").join("\n");
    const textBytes = byteSize(text);
    const structuredBytes = byteSize(JSON.stringify(result.structuredContent ?? {}));
    const items = result.structuredContent?.items;
    const n = Array.isArray(items) ? items.length : undefined;
    answers[label] = {
      args,
      textBytes,
      textTokens: tokens(textBytes),
      structuredBytes,
      structuredTokens: tokens(structuredBytes),
      ...(n
        ? {
          items: n,
          textTokensPerItem: round(textBytes / 4 / n, 1),
          structuredTokensPerItem: round(structuredBytes / 4 / n, 1),
        }
        : {}),
    };
  }
  return {
    toolsList: { tools: names.size, bytes, tokens: tokens(bytes), largest },
    answers,
  };
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}

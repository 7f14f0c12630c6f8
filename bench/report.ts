/**
 * The benchmark's result shapes, the targets of issue 5 checked against them, and the text
 * table printed on stdout.
 *
 * @module
 */
import type { StartupGraph } from "./import_graph.ts";
import type { CallProfile } from "./phases.ts";
import type { Summary } from "./stats.ts";

/** Latency of one operation through the server and directly against the API, same run. */
export interface LatencyResult {
  server: Summary;
  direct: Summary;
  /**
   * What the direct column is: the same API request (`overhead`), or the raw API read the
   * server's index replaces (`index speed-up`: the ratio column is then direct / server).
   */
  comparison: "overhead" | "index speed-up";
  /** server p50 − direct p50, ms. */
  overheadP50Ms: number;
  /** server p99 − direct p99, ms. */
  overheadP99Ms: number;
  /** server p50 / direct p50. */
  ratioP50: number;
  /** Items the list answer matched (lists only). */
  matched?: number;
  /**
   * The same API request through the floor (a bare SDK server whose one tool makes it with
   * `fetch`), on the same transport, alternating with the other two: what any MCP server pays.
   */
  floor?: Summary;
}

/** Size of one typical answer, as the model reads it. */
export interface AnswerSize {
  args: Record<string, unknown>;
  textBytes: number;
  textTokens: number;
  structuredBytes: number;
  structuredTokens: number;
  items?: number;
  textTokensPerItem?: number;
  structuredTokensPerItem?: number;
}

/** Cold start figures (medians). */
export interface ColdStart {
  runs: number;
  initializeMs: number;
  toolsListMs: number;
  /** The floor (a bare SDK server, bench/floor_server.ts): spawn to `tools/list` answered, median. */
  floorToolsListMs?: number;
  /** HTTP only: spawn to accepting connections. */
  listeningMs?: number;
  /** API requests the simulator saw per server start up to tools/list (want at most 1). */
  apiRequestsDuringStartup: number;
}

/** Everything measured over one transport. */
export interface TransportResult {
  transport: "stdio" | "http";
  coldStart?: ColdStart;
  /** Round trip of an MCP `ping`: the transport's floor, no tool work. */
  ping?: Summary;
  /**
   * Filtered guest list on a cache miss: the first call of a new server (which also connects
   * to the API), and a call after the cache expired; beside the direct request.
   */
  coldList?: {
    ms: number;
    expiredMs: number;
    directMs: number;
    readMs: number;
    /** A direct read of /cluster/resources right after the first call. */
    resourcesMs: number;
    /** Fresh servers whose first call was timed (the figures are medians over them). */
    samples?: number;
  };
  latency: Record<string, LatencyResult>;
  throughput: Record<
    string,
    { calls: number; seconds: number; perSecond: number; serverCpuMsPerCall?: number }
  >;
  /** MB = 10^6 bytes; `load` says what the load was. */
  rss?: {
    idleMB: number;
    loadMB: number;
    peakMB: number;
    load: string;
    /** The most over the whole throughput window at 50 in flight, and what it held. */
    sustainedMB?: number;
    sustained?: string;
    floorIdleMB?: number;
  };
}

/** Everything measured on one scenario. */
export interface ScenarioResult {
  scenario: string;
  guests: number;
  nodes: number;
  /** Time to build the scenario and start the simulator on loopback, in ms. */
  simulatorStartMs?: number;
  sizes: {
    toolsList: { tools: number; bytes: number; tokens: number; largest: [string, number][] };
    answers: Record<string, AnswerSize>;
  };
  transports: TransportResult[];
}

/** A target and whether the run met it. */
export interface TargetCheck {
  target: string;
  value: string;
  met: boolean;
}

/** Pushes a target check; `value` is what was measured, `met` whether it is within the target. */
type Check = (target: string, value: string, met: boolean) => void;

/** Checks the performance targets (issue 14, plus the tool-list budgets) against the results. */
export function checkTargets(results: ScenarioResult[], graph?: StartupGraph): TargetCheck[] {
  const out: TargetCheck[] = [];
  const check: Check = (target, value, met) => out.push({ target, value, met });
  if (graph) {
    check(
      "startup loads nothing large: no API schema JSON, no tool module, no MCP SDK (they load later)",
      `${graph.modules} local modules, ${fmt(graph.bytes / 1024, 0)} KiB; largest ${
        graph.largest[0]?.[0]
      } ${fmt((graph.largest[0]?.[1] ?? 0) / 1024, 1)} KiB; tool modules: ${
        graph.toolModulesAtStartup.join(", ") || "none"
      }; npm packages: ${graph.startupPackages.join(", ") || "none"}`,
      !graph.apiSchemaAtStartup && graph.toolModulesAtStartup.length === 0 &&
        !graph.startupPackages.some((p) => p.startsWith("@modelcontextprotocol/")),
    );
  }
  for (const scen of results) {
    if (scen.simulatorStartMs !== undefined) {
      const limit = scen.guests >= 1000 ? 2000 : 1000;
      check(
        `${scen.scenario} simulator starts in < ${limit} ms`,
        `${fmt(scen.simulatorStartMs, 0)} ms (${scen.guests} guests)`,
        scen.simulatorStartMs < limit,
      );
    }
    for (const t of scen.transports) checkTransport(check, scen, t);
  }
  return out;
}

function checkTransport(check: Check, scen: ScenarioResult, t: TransportResult): void {
  const where = `${scen.scenario}/${t.transport}`;
  const c = t.coldStart;
  if (c?.floorToolsListMs && scen.scenario === "default") {
    const ratio = c.toolsListMs / c.floorToolsListMs;
    check(
      `${where} cold start to tools/list <= 1.3x the floor`,
      `${fmt(ratio)}x (${fmt(c.toolsListMs, 0)} ms vs floor ${fmt(c.floorToolsListMs, 0)} ms)`,
      ratio <= 1.3,
    );
  }
  if (c) {
    check(
      `${where} API requests per start <= 1 (the identity's privileges, for tools/list)`,
      `${fmt(c.apiRequestsDuringStartup, 1)} per start`,
      c.apiRequestsDuringStartup <= 1,
    );
  }
  if (t.rss?.floorIdleMB !== undefined && scen.scenario === "default") {
    const extra = t.rss.idleMB - t.rss.floorIdleMB;
    check(
      `${where} idle RSS after tools/list <= floor + 10 MB`,
      `${fmt(t.rss.idleMB, 1)} MB = floor ${fmt(t.rss.floorIdleMB, 1)} MB ${
        extra >= 0 ? "+" : "-"
      } ${fmt(Math.abs(extra), 1)} MB`,
      extra <= 10,
    );
  }
  if (t.rss) {
    check(
      `${where} RSS under load (${t.rss.load}) <= 150 MB`,
      `${fmt(t.rss.loadMB, 1)} MB (peak VmHWM ${fmt(t.rss.peakMB, 1)} MB)`,
      t.rss.loadMB <= 150,
    );
  }
  const status = t.latency["guest_status"];
  if (status && scen.scenario === "default") {
    check(
      `${where} guest_status overhead p50 <= 0.5 ms`,
      `${signed(status.overheadP50Ms, 3)} ms (server ${fmt(status.server.p50, 3)} ms vs direct ${
        fmt(status.direct.p50, 3)
      } ms${floorNote(status)})`,
      status.overheadP50Ms <= 0.5,
    );
  }
  if (status?.floor && scen.scenario === "default") {
    check(
      `${where} guest_status p50 <= a bare SDK server making the same request (the floor)`,
      `${signed(status.server.p50 - status.floor.p50, 3)} ms (ours ${
        fmt(status.server.p50, 3)
      } ms vs floor ${fmt(status.floor.p50, 3)} ms)`,
      status.server.p50 <= status.floor.p50,
    );
  }
  if (t.coldList && scen.guests >= 1000) {
    const ratio = t.coldList.ms / t.coldList.resourcesMs;
    check(
      `${where} first filtered guest_list on a cold cache <= 2x a direct /cluster/resources read`,
      `${fmt(ratio)}x (${fmt(t.coldList.ms, 1)} ms vs ${fmt(t.coldList.resourcesMs, 1)} ms${
        (t.coldList.samples ?? 1) > 1 ? `; medians of ${t.coldList.samples} fresh servers` : ""
      })`,
      ratio <= 2,
    );
  }
  const tp = t.throughput;
  if (t.transport === "http" && tp["8"] && tp["50"] && scen.guests >= 1000) {
    const ratio = tp["50"].perSecond / tp["8"].perSecond;
    check(
      `${where} throughput does not drop from 8 to 50 concurrent (>= 0.95x)`,
      `${fmt(ratio)}x (${fmt(tp["8"].perSecond, 0)}/s at 8, ${fmt(tp["50"].perSecond, 0)}/s at 50)`,
      ratio >= 0.95,
    );
  }
}

/** How the floor's same request compares, for a target line; empty without a floor. */
function floorNote(l: LatencyResult): string {
  if (!l.floor) return "";
  return `; a bare SDK server making the same request: ${
    signed(l.floor.p50 - l.direct.p50, 3)
  } ms over direct, ours ${signed(l.server.p50 - l.floor.p50, 3)} ms over it`;
}

/** A number with its sign. */
function signed(v: number, digits = 2): string {
  return `${v >= 0 ? "+" : ""}${fmt(v, digits)}`;
}

/** A number with `digits` decimals. */
export function fmt(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : "-";
}

/** Rows as aligned columns. */
export function columns(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/** The human report of one scenario. */
export function renderScenario(r: ScenarioResult): string {
  const parts: string[] = [];
  parts.push(`== scenario ${r.scenario}: ${r.nodes} nodes, ${r.guests} guests`);
  for (const t of r.transports) {
    parts.push(`-- transport ${t.transport}`);
    if (t.coldStart) {
      const c = t.coldStart;
      parts.push(
        `cold start (median of ${c.runs}): ${
          c.listeningMs !== undefined ? `listening ${fmt(c.listeningMs, 0)} ms, ` : ""
        }initialize ${fmt(c.initializeMs, 0)} ms, tools/list ${fmt(c.toolsListMs, 0)} ms${
          c.floorToolsListMs
            ? ` (floor ${fmt(c.floorToolsListMs, 0)} ms, ${
              fmt(c.toolsListMs / c.floorToolsListMs)
            }x)`
            : ""
        }; API requests per start: ${fmt(c.apiRequestsDuringStartup, 1)}`,
      );
    }
    if (t.ping) {
      parts.push(
        `transport floor (MCP ping): p50 ${fmt(t.ping.p50, 3)} ms, p99 ${fmt(t.ping.p99, 3)} ms`,
      );
    }
    if (t.coldList) {
      parts.push(
        `filtered guest_list on a cache miss: first call ${fmt(t.coldList.ms, 1)} ms${
          (t.coldList.samples ?? 1) > 1 ? ` (median of ${t.coldList.samples} fresh servers)` : ""
        }, after ` +
          `expiry ${fmt(t.coldList.expiredMs, 1)} ms (of which reading /cluster/resources ` +
          `~${fmt(t.coldList.readMs, 1)} ms); the same list fetched directly ` +
          `${fmt(t.coldList.directMs, 1)} ms, /cluster/resources read directly (median of 3) ` +
          `${fmt(t.coldList.resourcesMs, 1)} ms`,
      );
    }
    const rows = [[
      "operation",
      "direct is",
      "n (direct)",
      "server p50 ms",
      "p99 ms",
      "direct p50 ms",
      "p99 ms",
      "diff p50 ms",
      "diff p99 ms",
      "ratio p50",
      "matched",
    ]];
    for (const [op, l] of Object.entries(t.latency)) {
      rows.push([
        op,
        l.comparison === "overhead" ? "same request" : "raw API read (index speed-up)",
        l.direct.n === l.server.n ? String(l.server.n) : `${l.server.n} (${l.direct.n})`,
        fmt(l.server.p50, 3),
        fmt(l.server.p99, 3),
        fmt(l.direct.p50, 3),
        fmt(l.direct.p99, 3),
        signed(l.overheadP50Ms, 3),
        signed(l.overheadP99Ms, 3),
        l.comparison === "overhead" ? `${fmt(l.ratioP50)}x` : `${fmt(1 / l.ratioP50, 1)}x faster`,
        l.matched === undefined ? "" : String(l.matched),
      ]);
    }
    parts.push(columns(rows));
    for (const [op, l] of Object.entries(t.latency)) {
      if (!l.floor) continue;
      parts.push(
        `${op} through the floor (a bare SDK server whose one tool makes the same API request ` +
          `with fetch), alternating: p50 ${fmt(l.floor.p50, 3)} ms, p99 ${
            fmt(l.floor.p99, 3)
          } ms = direct ${signed(l.floor.p50 - l.direct.p50, 3)} ms; ours ${
            signed(l.server.p50 - l.floor.p50, 3)
          } ms over the floor`,
      );
    }
    const tp = Object.entries(t.throughput)
      .map(([c, v]) =>
        `c=${c}: ${fmt(v.perSecond, 0)}/s${
          v.serverCpuMsPerCall !== undefined
            ? ` (server CPU ${fmt(v.serverCpuMsPerCall, 2)} ms/call)`
            : ""
        }`
      ).join(", ");
    parts.push(`throughput (mixed calls): ${tp}`);
    if (t.rss) {
      parts.push(
        `RSS: idle ${fmt(t.rss.idleMB, 1)} MB${
          t.rss.floorIdleMB !== undefined ? ` (floor ${fmt(t.rss.floorIdleMB, 1)} MB)` : ""
        }, under load (${t.rss.load}) ${fmt(t.rss.loadMB, 1)} MB${
          t.rss.sustainedMB !== undefined
            ? `, sustained (${t.rss.sustained}) ${fmt(t.rss.sustainedMB, 1)} MB`
            : ""
        }, peak (VmHWM) ${fmt(t.rss.peakMB, 1)} MB`,
      );
    }
  }
  const tl = r.sizes.toolsList;
  parts.push(
    `sizes (tokens = bytes/4 of the JSON text): tools/list ${tl.bytes} B ~${tl.tokens} tokens, ${tl.tools} tools; largest: ${
      tl.largest.map(([n, b]) => `${n} ${b} B`).join(", ")
    }`,
  );
  const rows = [[
    "answer",
    "text B",
    "text tok",
    "structured B",
    "struct tok",
    "items",
    "text tok/item",
    "struct tok/item",
  ]];
  for (const [name, a] of Object.entries(r.sizes.answers)) {
    rows.push([
      name,
      String(a.textBytes),
      String(a.textTokens),
      String(a.structuredBytes),
      String(a.structuredTokens),
      a.items === undefined ? "" : String(a.items),
      a.textTokensPerItem === undefined ? "" : fmt(a.textTokensPerItem, 1),
      a.structuredTokensPerItem === undefined ? "" : fmt(a.structuredTokensPerItem, 1),
    ]);
  }
  parts.push(columns(rows));
  return parts.join("\n");
}

/** The profile of one call as a table of phases. */
export function renderProfile(p: CallProfile): string {
  const total = Object.values(p.layers).at(-1) ?? 0;
  return [
    `== where one ${p.tool} call's time goes (p50 of ${p.calls} calls per layer, same run)`,
    columns([
      ["phase", "ms", "share"],
      ...p.phases.map((ph) => [ph.phase, fmt(ph.ms, 3), `${fmt((ph.ms / total) * 100, 0)}%`]),
      ["total", fmt(total, 3), ""],
    ]),
  ].join("\n");
}

/** The target checks as lines. */
export function renderTargets(checks: TargetCheck[]): string {
  return columns([
    ["target", "result", "measured"],
    ...checks.map((c) => [c.target, c.met ? "met" : "MISSED", c.value]),
  ]);
}

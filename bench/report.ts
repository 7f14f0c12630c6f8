/**
 * The benchmark's result shapes, the targets of issue 5 checked against them, and the text
 * table printed on stdout.
 *
 * @module
 */
import type { StartupGraph } from "./import_graph.ts";
import type { Summary } from "./stats.ts";

/** Latency of one operation through the server and directly against the API, same run. */
export interface LatencyResult {
  server: Summary;
  direct: Summary;
  /** server p50 − direct p50, ms. */
  overheadP50Ms: number;
  /** (server p99 − direct p99) / direct p99, percent. */
  overheadP99Pct: number;
  /** Items the list answer matched (lists only). */
  matched?: number;
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
  /** HTTP only: spawn to accepting connections. */
  listeningMs?: number;
  /** API requests the simulator saw while servers started and listed tools (want 0). */
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
  coldList?: { ms: number; expiredMs: number; directMs: number; readMs: number };
  latency: Record<string, LatencyResult>;
  throughput: Record<string, { calls: number; seconds: number; perSecond: number }>;
  rss?: { idleMB: number; loadMB: number; peakMB: number };
}

/** Everything measured on one scenario. */
export interface ScenarioResult {
  scenario: string;
  guests: number;
  nodes: number;
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

/** Checks the issue's targets against the results. */
export function checkTargets(results: ScenarioResult[], graph?: StartupGraph): TargetCheck[] {
  const out: TargetCheck[] = [];
  if (graph) {
    out.push({
      target: "startup loads nothing large (API schema JSON not in the static graph)",
      value: `${graph.modules} local modules, ${fmt(graph.bytes / 1024, 0)} KB; largest ${
        graph.largest[0]?.[0]
      } ${fmt((graph.largest[0]?.[1] ?? 0) / 1024, 1)} KB`,
      met: !graph.apiSchemaAtStartup && (graph.largest[0]?.[1] ?? 0) < 100 * 1024,
    });
  }
  const byName = new Map(results.map((r) => [r.scenario, r]));
  const def = byName.get("default");
  const large = byName.get("large");
  for (const scen of [def, large]) {
    if (!scen) continue;
    for (const t of scen.transports) {
      const where = `${scen.scenario}/${t.transport}`;
      if (scen === def) {
        for (const [op, l] of Object.entries(t.latency)) {
          out.push({
            target: `${where} ${op}: overhead p50 <= 1 ms`,
            value: `${fmt(l.overheadP50Ms)} ms (server ${fmt(l.server.p50)} vs direct ${
              fmt(l.direct.p50)
            })`,
            met: l.overheadP50Ms <= 1,
          });
          out.push({
            target: `${where} ${op}: overhead p99 <= 5%`,
            value: `${fmt(l.overheadP99Pct, 1)}% (server ${fmt(l.server.p99)} vs direct ${
              fmt(l.direct.p99)
            })`,
            met: l.overheadP99Pct <= 5,
          });
        }
      }
      if (scen === large) {
        const l = t.latency["guest_list filter"];
        if (l) {
          out.push({
            target: `${where} guest_list filter on ${scen.guests} guests <= 50 ms`,
            value: `p50 ${fmt(l.server.p50)} ms, p99 ${fmt(l.server.p99)} ms end to end${
              t.coldList
                ? `; cache miss ${fmt(t.coldList.expiredMs, 1)} ms, ${
                  fmt(t.coldList.expiredMs - t.coldList.readMs, 1)
                } ms beyond the API read`
                : ""
            }`,
            met: l.server.p99 <= 50,
          });
        }
      }
      if (t.rss) {
        out.push({
          target: `${where} RSS idle <= 80 MB`,
          value: `${fmt(t.rss.idleMB, 1)} MB`,
          met: t.rss.idleMB <= 80,
        });
        out.push({
          target: `${where} RSS under 50 concurrent calls <= 150 MB`,
          value: `${fmt(t.rss.loadMB, 1)} MB`,
          met: t.rss.loadMB <= 150,
        });
      }
      if (t.coldStart) {
        out.push({
          target: `${where} no API request during startup`,
          value: `${t.coldStart.apiRequestsDuringStartup} requests`,
          met: t.coldStart.apiRequestsDuringStartup === 0,
        });
      }
    }
  }
  const any = def ?? large;
  if (any) {
    const tl = any.sizes.toolsList;
    out.push({
      target: "tools/list <= 48 KB",
      value: `${fmt(tl.bytes / 1024, 1)} KB, ${tl.tools} tools`,
      met: tl.bytes <= 48 * 1024,
    });
    const list = any.sizes.answers["guest_list"];
    if (list?.textTokensPerItem !== undefined) {
      out.push({
        target: "guest_list text <= 25 tokens per guest",
        value: `${fmt(list.textTokensPerItem, 1)} tokens (structuredContent ${
          fmt(list.structuredTokensPerItem ?? NaN, 1)
        })`,
        met: list.textTokensPerItem <= 25,
      });
    }
  }
  return out;
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
        }initialize ${fmt(c.initializeMs, 0)} ms, tools/list ${
          fmt(c.toolsListMs, 0)
        } ms; API requests during startup: ${c.apiRequestsDuringStartup}`,
      );
    }
    if (t.ping) {
      parts.push(
        `transport floor (MCP ping): p50 ${fmt(t.ping.p50, 3)} ms, p99 ${fmt(t.ping.p99, 3)} ms`,
      );
    }
    if (t.coldList) {
      parts.push(
        `filtered guest_list on a cache miss: first call ${fmt(t.coldList.ms, 1)} ms, after ` +
          `expiry ${fmt(t.coldList.expiredMs, 1)} ms (of which reading /cluster/resources ` +
          `~${fmt(t.coldList.readMs, 1)} ms); the same list fetched directly ` +
          `${fmt(t.coldList.directMs, 1)} ms`,
      );
    }
    const rows = [[
      "operation",
      "n (direct)",
      "server p50",
      "p99",
      "direct p50",
      "p99",
      "overhead p50",
      "p99",
      "matched",
    ]];
    for (const [op, l] of Object.entries(t.latency)) {
      rows.push([
        op,
        l.direct.n === l.server.n ? String(l.server.n) : `${l.server.n} (${l.direct.n})`,
        `${fmt(l.server.p50, 3)} ms`,
        `${fmt(l.server.p99, 3)} ms`,
        `${fmt(l.direct.p50, 3)} ms`,
        `${fmt(l.direct.p99, 3)} ms`,
        `${fmt(l.overheadP50Ms, 3)} ms`,
        `${fmt(l.overheadP99Pct, 1)}%`,
        l.matched === undefined ? "" : String(l.matched),
      ]);
    }
    parts.push(columns(rows));
    const tp = Object.entries(t.throughput)
      .map(([c, v]) => `c=${c}: ${fmt(v.perSecond, 0)}/s`).join(", ");
    parts.push(`throughput (mixed calls): ${tp}`);
    if (t.rss) {
      parts.push(
        `RSS: idle ${fmt(t.rss.idleMB, 1)} MB, under 50 concurrent ${
          fmt(t.rss.loadMB, 1)
        } MB, peak (VmHWM) ${fmt(t.rss.peakMB, 1)} MB`,
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

/** The target checks as lines. */
export function renderTargets(checks: TargetCheck[]): string {
  return columns([
    ["target", "result", "measured"],
    ...checks.map((c) => [c.target, c.met ? "met" : "MISSED", c.value]),
  ]);
}

/**
 * Scope: which guests this server may change. Allow and deny lists of nodes, VMID ranges,
 * pools and tags from the configuration; Proxmox's own `protection` flag; and "protected" tags
 * whose guests need a confirmation for every change.
 *
 * @module
 */
import type { ProxmoxApi } from "../tools/context.ts";
import { type Change, type Plan, type Target, targetLabel } from "./change.ts";
import { PolicyRefusal, type Stage } from "./pipeline.ts";

/** An inclusive VMID range. */
export interface VmidRange {
  from: number;
  to: number;
}

/** Scope rules; an unset allow list allows everything, a deny list always wins. */
export interface ScopeRules {
  allowedNodes?: readonly string[];
  deniedNodes?: readonly string[];
  allowedVmids?: readonly VmidRange[];
  deniedVmids?: readonly VmidRange[];
  allowedPools?: readonly string[];
  deniedPools?: readonly string[];
  /** A guest must carry at least one of these tags. */
  allowedTags?: readonly string[];
  /** A guest carrying any of these tags is out of scope. */
  deniedTags?: readonly string[];
  /** Every change to a guest with one of these tags needs a confirmation. */
  protectedTags?: readonly string[];
}

const MIN_VMID = 100;
const MAX_VMID = 999_999_999;

/** Parses `"100-199"` or `"9000"` (or a number) into a range; throws a message on nonsense. */
export function parseVmidRange(text: string | number): VmidRange {
  const s = String(text).trim();
  const m = /^(\d+)\s*(?:-\s*(\d+))?$/.exec(s);
  if (!m) throw new RangeError(`"${s}" is not a VMID or a range like 100-199`);
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < MIN_VMID || to > MAX_VMID || from > to) {
    throw new RangeError(`"${s}" is not a range within ${MIN_VMID}-${MAX_VMID} (low-high)`);
  }
  return { from, to };
}

function inRanges(vmid: number, ranges: readonly VmidRange[]): boolean {
  return ranges.some((r) => vmid >= r.from && vmid <= r.to);
}

function showRanges(ranges: readonly VmidRange[]): string {
  return ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(", ");
}

const lower = (xs: readonly string[] | undefined) => xs?.map((x) => x.toLowerCase());

/**
 * Node names and pool IDs: Proxmox compares them exactly (they are keys of its cluster
 * configuration, where `pve1` and `PVE1` would be two different names). An allow list matches
 * the same way; a deny list also matches a name that differs only in case, so a deny entry in
 * the wrong case still denies (failing safe instead of open).
 */
function denies(list: readonly string[] | undefined, name: string): string | undefined {
  const n = name.toLowerCase();
  return list?.find((x) => x.toLowerCase() === n);
}

function allowListProblem(
  field: string,
  what: string,
  list: readonly string[],
  name: string,
): string {
  const near = list.find((x) => x.toLowerCase() === name.toLowerCase());
  const hint = near ? `; "${near}" differs only in case, and Proxmox names are case-sensitive` : "";
  return `${what} ${name} is not in ${field} (${list.join(", ") || "none"})${hint}`;
}

/** Applies {@link ScopeRules} to targets and changes. */
export class Scope {
  readonly rules: ScopeRules;
  #allowedTags?: string[];
  #deniedTags?: string[];
  #protectedTags: string[];

  constructor(rules: ScopeRules = {}) {
    this.rules = rules;
    this.#allowedTags = lower(rules.allowedTags);
    this.#deniedTags = lower(rules.deniedTags);
    this.#protectedTags = lower(rules.protectedTags) ?? [];
  }

  /** Why changes on node `node` are out of scope, or undefined. */
  nodeProblem(node: string): string | undefined {
    const r = this.rules;
    const denied = denies(r.deniedNodes, node);
    if (denied) return `node ${node} is in denied_nodes${denied !== node ? ` (as ${denied})` : ""}`;
    if (r.allowedNodes && !r.allowedNodes.includes(node)) {
      return allowListProblem("allowed_nodes", "node", r.allowedNodes, node);
    }
    return undefined;
  }

  /** Why pool `pool` (or no pool, for a guest) is out of scope, or undefined. */
  poolProblem(pool: string | undefined): string | undefined {
    const r = this.rules;
    const denied = pool !== undefined ? denies(r.deniedPools, pool) : undefined;
    if (denied) return `pool ${pool} is in denied_pools${denied !== pool ? ` (as ${denied})` : ""}`;
    if (r.allowedPools && !(pool !== undefined && r.allowedPools.includes(pool))) {
      return pool === undefined
        ? `no pool is not in allowed_pools (${r.allowedPools.join(", ") || "none"})`
        : allowListProblem("allowed_pools", "pool", r.allowedPools, pool);
    }
    return undefined;
  }

  /** Why a guest with `vmid` is out of scope as far as VMID ranges go, or undefined. */
  vmidProblem(vmid: number): string | undefined {
    const r = this.rules;
    if (r.deniedVmids && inRanges(vmid, r.deniedVmids)) {
      return `VMID ${vmid} is in denied_vmids (${showRanges(r.deniedVmids)})`;
    }
    if (r.allowedVmids && !inRanges(vmid, r.allowedVmids)) {
      return `VMID ${vmid} is not in allowed_vmids (${showRanges(r.allowedVmids)})`;
    }
    return undefined;
  }

  /** Why `target` is out of scope, or undefined when it is in scope. */
  problem(t: Target): string | undefined {
    if (t.node !== undefined) {
      const why = this.nodeProblem(t.node);
      if (why) return why;
    }
    if (t.kind === "pool") return this.poolProblem(t.pool);
    if (t.kind !== "guest" || t.vmid === undefined) return undefined;
    const why = this.vmidProblem(t.vmid) ?? this.poolProblem(t.pool);
    if (why) return why;
    const tags = t.tags.map((x) => x.toLowerCase());
    const denied = tags.find((x) => this.#deniedTags?.includes(x));
    if (denied) return `tag ${denied} is in denied_tags`;
    if (this.#allowedTags && !tags.some((x) => this.#allowedTags!.includes(x))) {
      return `its tags (${t.tags.join(", ") || "none"}) include none of allowed_tags (${
        this.#allowedTags.join(", ") || "none"
      })`;
    }
    return undefined;
  }

  /** Throws a refusal when `target` is out of scope. */
  check(t: Target): void {
    const why = this.problem(t);
    if (why) {
      throw new PolicyRefusal(
        `Refused: ${targetLabel(t)} is outside this server's scope: ${why}. ` +
          "The scope is set by the operator in the server configuration",
        "scope",
      );
    }
  }

  /** Whether a guest with `vmid` may be created or changed as far as VMID ranges go. */
  vmidAllowed(vmid: number): boolean {
    return this.vmidProblem(vmid) === undefined;
  }

  /** Whether changes on node `node` are in scope (for picking a node; the scope stage decides). */
  nodeAllowed(node: string): boolean {
    return this.nodeProblem(node) === undefined;
  }

  /**
   * The lowest VMID at or above `from` (default 100) that is not in `used` and that the VMID
   * ranges allow: the one VMID picker for new guests and `next_vmid`.
   */
  firstFreeVmid(used: ReadonlySet<number>, from = MIN_VMID): number | undefined {
    const starts = this.rules.allowedVmids
      ? [...this.rules.allowedVmids].sort((a, b) => a.from - b.from)
      : [{ from: MIN_VMID, to: MAX_VMID }];
    for (const range of starts) {
      for (let v = Math.max(range.from, from, MIN_VMID); v <= range.to; v++) {
        if (used.has(v)) continue;
        const deny = this.rules.deniedVmids?.find((d) => v >= d.from && v <= d.to);
        if (deny) {
          v = deny.to;
          continue;
        }
        return v;
      }
    }
    return undefined;
  }

  /** Protected tags carried by `target`. */
  protectedTagsOf(t: Target): string[] {
    return t.tags.filter((x) => this.#protectedTags.includes(x.toLowerCase()));
  }

  /**
   * Checks a whole plan: every target in scope; no guest with the `protection` flag deleted,
   * overwritten or stripped of disks. `removes` is what the plan removes (the tool's word, or
   * what its requests do). Returns the reasons a confirmation is needed beyond the change itself
   * (protected tags).
   */
  checkChange(change: Change, removes: Change["removes"] = change.removes): string[] {
    const reasons: string[] = [];
    for (const t of change.targets) {
      this.check(t);
      const removed = t.kind === "guest" && (t.role === "subject" || t.role === "new");
      if (removes && removed && t.protection && t.exists) {
        const what = removes === "guest" ? "be deleted or overwritten" : "have disks removed";
        throw new PolicyRefusal(
          `Refused: ${targetLabel(t)} has Proxmox's protection flag set, so it can't ${what}. ` +
            "Someone with access to Proxmox must turn protection off first if this is intended",
          "scope",
        );
      }
      const tags = this.protectedTagsOf(t);
      if (tags.length) {
        reasons.push(`${targetLabel(t)} carries protected tag ${tags.join(", ")}`);
      }
    }
    return reasons;
  }
}

/**
 * The scope stage: derives the targets of the plan from its exact requests
 * (`safety/targets.ts`), looks each up in the cluster, refuses out-of-scope targets and removals
 * from protected guests, and marks changes to guests with protected tags as needing a
 * confirmation. Runs after the plan stage; `change.targets` is set here.
 */
export function scopeStage(scope: Scope): Stage {
  return async (call, next) => {
    const change = call.change;
    if (change) {
      change.targets = (await withTargets(change, call.ctx)).targets;
      const { removesGuest } = await import("./targets.ts");
      const removes = change.removes ?? (removesGuest(change.requests) ? "guest" : undefined);
      const reasons = scope.checkChange(change, removes);
      call.confirmReasons.push(...reasons);
      call.passed.add("scope");
    }
    return next();
  };
}

/**
 * `plan` with its targets: derived from its requests and looked up in the cluster
 * (`safety/targets.ts`). A request whose targets can't be told is refused.
 */
export async function withTargets(
  plan: Plan,
  ctx: { api: ProxmoxApi; signal?: AbortSignal },
): Promise<Change> {
  const { targetsOf, resolveTargets, TargetDerivationError } = await import("./targets.ts");
  try {
    return { ...plan, targets: await resolveTargets(targetsOf(plan.requests), ctx) };
  } catch (err) {
    if (!(err instanceof TargetDerivationError)) throw err;
    throw new PolicyRefusal(`Refused: ${err.message}; nothing was sent`, "scope");
  }
}

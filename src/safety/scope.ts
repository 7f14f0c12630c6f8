/**
 * Scope: which guests this server may change. Allow and deny lists of nodes, VMID ranges,
 * pools and tags from the configuration; Proxmox's own `protection` flag; and "protected" tags
 * whose guests need a confirmation for every change.
 *
 * @module
 */
import { type Change, type Target, targetLabel } from "./change.ts";
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

  /** Why `target` is out of scope, or undefined when it is in scope. */
  problem(t: Target): string | undefined {
    const r = this.rules;
    if (r.deniedNodes?.includes(t.node)) return `node ${t.node} is in denied_nodes`;
    if (r.allowedNodes && !r.allowedNodes.includes(t.node)) {
      return `node ${t.node} is not in allowed_nodes (${r.allowedNodes.join(", ") || "none"})`;
    }
    if (t.vmid !== undefined) {
      if (r.deniedVmids && inRanges(t.vmid, r.deniedVmids)) {
        return `VMID ${t.vmid} is in denied_vmids (${showRanges(r.deniedVmids)})`;
      }
      if (r.allowedVmids && !inRanges(t.vmid, r.allowedVmids)) {
        return `VMID ${t.vmid} is not in allowed_vmids (${showRanges(r.allowedVmids)})`;
      }
      if (t.pool && r.deniedPools?.includes(t.pool)) return `pool ${t.pool} is in denied_pools`;
      if (r.allowedPools && !(t.pool && r.allowedPools.includes(t.pool))) {
        return `${t.pool ? `pool ${t.pool}` : "no pool"} is not in allowed_pools (${
          r.allowedPools.join(", ") || "none"
        })`;
      }
      const tags = t.tags.map((x) => x.toLowerCase());
      const denied = tags.find((x) => this.#deniedTags?.includes(x));
      if (denied) return `tag ${denied} is in denied_tags`;
      if (this.#allowedTags && !tags.some((x) => this.#allowedTags!.includes(x))) {
        return `its tags (${t.tags.join(", ") || "none"}) include none of allowed_tags (${
          this.#allowedTags.join(", ") || "none"
        })`;
      }
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
    const r = this.rules;
    if (r.deniedVmids && inRanges(vmid, r.deniedVmids)) return false;
    return !r.allowedVmids || inRanges(vmid, r.allowedVmids);
  }

  /** The lowest VMID at or above `from` that is allowed and not in `used`. */
  firstFreeVmid(used: ReadonlySet<number>, from = MIN_VMID): number | undefined {
    const starts = this.rules.allowedVmids
      ? [...this.rules.allowedVmids].sort((a, b) => a.from - b.from)
      : [{ from: MIN_VMID, to: MAX_VMID }];
    for (const range of starts) {
      for (let v = Math.max(range.from, from); v <= range.to; v++) {
        if (used.has(v)) continue;
        if (this.rules.deniedVmids && inRanges(v, this.rules.deniedVmids)) {
          const deny = this.rules.deniedVmids.find((d) => v >= d.from && v <= d.to)!;
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
   * Checks a whole plan: every target in scope; nothing removed from a guest with the
   * `protection` flag. Returns the reasons a confirmation is needed beyond the change itself
   * (protected tags).
   */
  checkChange(change: Change): string[] {
    const reasons: string[] = [];
    for (const t of change.targets) {
      this.check(t);
      if (change.removes && t.protection && t.exists) {
        const what = change.removes === "guest"
          ? "be deleted or overwritten"
          : "have disks removed";
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
 * The scope stage: refuses out-of-scope targets and removals from protected guests, and marks
 * changes to guests with protected tags as needing a confirmation. Runs after the plan stage.
 */
export function scopeStage(scope: Scope): Stage {
  return (call, next) => {
    if (call.change) {
      const reasons = scope.checkChange(call.change);
      call.confirmReasons.push(...reasons);
      call.passed.add("scope");
    }
    return next();
  };
}

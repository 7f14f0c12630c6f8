/**
 * The firewall lockout preflight: applies a planned change to a copy of the cluster's host
 * firewall and refuses it when it would close TCP 8006 or 22 on a node for an address this
 * server uses. `accept_lockout_risk` turns the refusal into a confirmation.
 *
 * @module
 */
import { type ToolContext, ToolInputError } from "./context.ts";
import { cutPaths, type HostFirewall } from "./firewall_reach.ts";
import { adminSources, readHostFirewall } from "./firewall_state.ts";

/** What the check found: warnings for the plan, and a confirmation reason when risk is accepted. */
export interface LockoutVerdict {
  warnings: string[];
  confirm?: string;
}

function clone(fw: HostFirewall): HostFirewall {
  return {
    clusterOptions: { ...fw.clusterOptions },
    clusterRules: fw.clusterRules.map((r) => ({ ...r })),
    groups: new Map([...fw.groups].map(([k, v]) => [k, v.map((r) => ({ ...r }))])),
    aliases: new Map(fw.aliases),
    ipsets: new Map([...fw.ipsets].map(([k, v]) => [k, [...v]])),
    nodes: new Map(
      [...fw.nodes].map(([k, v]) => [k, {
        options: { ...v.options },
        rules: v.rules.map((r) => ({ ...r })),
      }]),
    ),
  };
}

/** Runs the lockout check for a change described by `mutate` (applied to a copy). */
export async function checkLockout(
  ctx: ToolContext,
  mutate: (fw: HostFirewall) => void,
  acceptRisk: boolean | undefined,
): Promise<LockoutVerdict> {
  const { fw, nodes } = await readHostFirewall(ctx);
  const after = clone(fw);
  mutate(after);
  const { sources, guessed } = adminSources(ctx, nodes);
  const warnings: string[] = [];
  if (guessed) {
    warnings.push(
      `admin_sources is not configured: the lockout check assumed this server connects from ${
        sources.join(", ") || "no known address"
      }`,
    );
  }
  const cuts = cutPaths(fw, after, nodes, sources);
  if (!cuts.length) return { warnings };
  const list = cuts.map((c) =>
    `TCP ${c.port} from ${c.source} to ${c.node} (${c.ip}) would be blocked by ${c.by}`
  );
  const shown = list.slice(0, 6).join("; ") +
    (list.length > 6 ? `; and ${list.length - 6} more` : "");
  if (!acceptRisk) {
    throw new ToolInputError(
      `Refused: this change would cut the management path: ${shown}. ` +
        "Add an ACCEPT rule for these addresses first (above any DROP/REJECT), or pass " +
        "accept_lockout_risk: true to ask the user to confirm it anyway",
    );
  }
  warnings.push(`management path cut: ${shown}`);
  return {
    warnings,
    confirm: `it can lock this server (and admins) out of the web UI/SSH: ${shown}`,
  };
}

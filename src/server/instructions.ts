/**
 * What the server says about itself in the `initialize` answer: its name and version, its
 * instructions and its capabilities. Shared by the MCP server and by the early answers a stdio
 * server gives while the rest of it loads (`early_answers.ts`), so both say the same.
 *
 * @module
 */
import { VERSION } from "../version.ts";

/** The server's `serverInfo`. */
export const SERVER_INFO = { name: "proxmox-mcp", title: "Proxmox VE", version: VERSION };

/**
 * The capabilities of a working server (tools with list changes, logging, resources with
 * subscriptions and list changes, prompts, completions): what the SDK declares once every
 * handler is registered. `tests/early_answers_test.ts` checks that they are the same.
 */
export const SERVER_CAPABILITIES = {
  logging: {},
  tools: { listChanged: true },
  resources: { listChanged: true, subscribe: true },
  prompts: { listChanged: true },
  completions: {},
} as const;

const INSTRUCTIONS =
  "Tools for a Proxmox VE cluster. Guests (VMs and containers) are addressed by VMID; the node is looked up. " +
  "Lists are paged: pass next_cursor to continue. Sizes are bytes, cpu is a fraction of the cores. " +
  "Tools that change the cluster check first and take dry_run=true to show their plan; destructive ones " +
  "need a confirmation: the user is asked, or the first call returns a plan and a confirmation_token to " +
  "repeat the same call with once the user agreed. A change answers status done, started (a task " +
  "runs, not waited for), running (the wait ended first), dry_run or confirmation_required.";

/** The instructions' line about privilege-aware listing. */
function privilegeLine(hidden: ReadonlyMap<string, string[]>): string {
  if (!hidden.size) {
    return "Tools whose Proxmox privilege this identity lacks are left out of the tool list.";
  }
  const list = [...hidden].map(([name, privs]) => `${name} (${privs.join("/")})`).join(", ");
  return `Hidden because this identity lacks their Proxmox privilege: ${list}.`;
}

/** The instructions' part on confirmation, given how changes are approved here. */
export function confirmationInstructions(approval: string): string {
  return `Confirmation here: ${approval}. When a call waits for a person's approval, tell the ` +
    "user where to approve; a rejected or expired request changed nothing. While an operator " +
    "has frozen changes every change is refused; reads still work.";
}

/** The server's instructions. */
export function serverInstructions(parts: {
  /** Why the server cannot work, and the fix. */
  unavailable?: string;
  /** Appended after the general part (e.g. how changes are confirmed here). */
  extra?: string;
  /** With privilege-aware listing: the tools hidden so far and the privileges they need. */
  hidden?: ReadonlyMap<string, string[]>;
}): string {
  return [
    parts.unavailable
      ? `${parts.unavailable}\n\nUntil this is fixed every tool answers with this message.`
      : undefined,
    INSTRUCTIONS,
    parts.extra,
    parts.hidden ? privilegeLine(parts.hidden) : undefined,
  ].filter(Boolean).join(" ");
}

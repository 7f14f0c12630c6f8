/**
 * Running a command in a VM through the QEMU guest agent (`agent/exec`, then polling
 * `agent/exec-status`): only commands on the operator's `exec_allowlist`, with a timeout and
 * capped output. Allowlisted read-only commands run without a confirmation; every other one is
 * confirmed. Every call is audited (the command is in the arguments). Containers have no exec
 * endpoint in the Proxmox API, and this server does not fall back to SSH.
 *
 * @module
 */
import { z } from "zod";
import { DEFAULT_EXEC, matchExec } from "../safety/exec_policy.ts";
import { PolicyRefusal } from "../safety/pipeline.ts";
import type { Plan } from "../safety/change.ts";
import { type ToolContext, ToolInputError } from "./context.ts";
import { guestId, optNode } from "./mutation_args.ts";
import { defineMutation } from "./mutation.ts";
import { Facts } from "./preflight.ts";
import { DEFAULT_TASK_WAIT } from "./task_wait.ts";
import type { Tool } from "./tool.ts";

const Status = z.object({
  exited: z.union([z.boolean(), z.number()]).transform((v) => Boolean(v)),
  exitcode: z.number().optional(),
  signal: z.number().optional(),
  "out-data": z.string().optional(),
  "err-data": z.string().optional(),
  "out-truncated": z.unknown().optional(),
  "err-truncated": z.unknown().optional(),
}).loose();

function cap(text: string | undefined, max: number): { text: string; cut: boolean } {
  const t = text ?? "";
  const bytes = new TextEncoder().encode(t);
  if (bytes.length <= max) return { text: t, cut: false };
  return { text: new TextDecoder().decode(bytes.slice(0, max)), cut: true };
}

/** Polls `exec-status` until the command exits or `timeoutMs` passes. */
async function follow(ctx: ToolContext, path: string, pid: number, timeoutMs: number) {
  const settings = ctx.tasks ?? DEFAULT_TASK_WAIT;
  const started = settings.clock.now();
  for (let i = 0;; i++) {
    const s = Status.parse(
      await ctx.api.get(`${path}/agent/exec-status`, { pid }, { signal: ctx.signal }),
    );
    if (s.exited) return s;
    if (settings.clock.now() - started >= timeoutMs) return undefined;
    await settings.sleep(Math.min(settings.pollMs * Math.min(i + 1, 4), 2000), ctx.signal);
  }
}

const guestExec = defineMutation({
  name: "guest_exec",
  title: "Run a command in a VM",
  description:
    "Run an allowlisted command (exec_allowlist) in a running VM via the guest agent; returns exit code and capped output. Confirmation: unless allowlisted read-only. Not for containers (no API for it).",
  toolset: "exec",
  privilege: "VM.GuestAgent.Unrestricted on /vms/{vmid}",
  destructive: true,
  judgedPerCall: true,
  input: {
    vmid: guestId(),
    node: optNode(),
    command: z.array(z.string().min(1).max(4096)).min(1).max(64).describe(
      'Program and arguments, no shell: ["df", "-h"]',
    ),
    input_data: z.string().max(65536).optional().describe("Sent to stdin"),
    timeout_s: z.int().min(1).max(3600).optional().describe("Default: exec_timeout"),
  },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    const g = await new Facts(ctx).guest(a.vmid, a.node);
    if (g.type === "lxc") {
      throw new ToolInputError(
        `Guest ${g.vmid} is a container: the Proxmox API has no exec endpoint for containers (pct exec runs only on the node's shell), and this server does not fall back to SSH`,
      );
    }
    if (!g.running) throw new ToolInputError(`VM ${g.vmid} is ${g.status}: start it first`);
    if (!/^(1|enabled=1)/.test(g.config.agent ?? "")) {
      throw new ToolInputError(
        `VM ${g.vmid} has no guest agent enabled (agent: ${
          g.config.agent ?? "unset"
        }); enable it and install qemu-guest-agent in the guest`,
      );
    }
    const exec = ctx.policy?.exec ?? DEFAULT_EXEC;
    const rule = matchExec(exec.allowlist, a.command);
    const line = a.command.join(" ");
    if (!rule) {
      const allowed = exec.allowlist.map((r) => r.pattern);
      throw new PolicyRefusal(
        `Refused: "${line}" is not in exec_allowlist (${
          allowed.length
            ? `allowed: ${allowed.join(", ")}`
            : "the list is empty, so no command is allowed"
        }). The operator sets exec_allowlist in the server configuration`,
        "exec",
      );
    }
    const timeoutMs = Math.min((a.timeout_s ?? Infinity) * 1000, exec.timeoutMs);
    return {
      summary: `run "${line}" in VM ${g.vmid}${g.name ? ` (${g.name})` : ""} on ${g.node}`,
      requests: [{
        method: "POST",
        path: `${g.path}/agent/exec`,
        params: { command: a.command, "input-data": a.input_data },
      }],
      destructive: !rule.readOnly,
      loses: rule.readOnly
        ? undefined
        : `whatever "${line}" changes inside VM ${g.vmid}; it can't be undone`,
      warnings: [],
      creates: 0,
      result: { allowed_by: rule.pattern, read_only: rule.readOnly, timeout_s: timeoutMs / 1000 },
    };
  },
  async after(a, ctx, change, responses) {
    const pid = z.object({ pid: z.number() }).loose().parse(responses[0]).pid;
    const g = await new Facts(ctx).guest(a.vmid, a.node);
    const exec = ctx.policy?.exec ?? DEFAULT_EXEC;
    const timeoutMs = Number(change.result?.timeout_s ?? 30) * 1000;
    const s = await follow(ctx, g.path, pid, timeoutMs);
    if (!s) {
      return {
        pid,
        timed_out: true,
        exit_code: -1,
        stdout: "",
        stderr: "",
        note: `still running after ${timeoutMs / 1000} s; not stopped`,
      };
    }
    const out = cap(s["out-data"], exec.maxOutputBytes);
    const err = cap(s["err-data"], exec.maxOutputBytes);
    return {
      pid,
      timed_out: false,
      exit_code: s.exitcode ?? (s.signal !== undefined ? 128 + s.signal : -1),
      signal: s.signal,
      stdout: out.text,
      stderr: err.text,
      stdout_truncated: out.cut || Boolean(s["out-truncated"]) || undefined,
      stderr_truncated: err.cut || Boolean(s["err-truncated"]) || undefined,
    };
  },
  report(r) {
    if (r.timed_out) return String(r.note ?? "timed out");
    const cut = (k: string) => (r[`${k}_truncated`] ? " (truncated)" : "");
    return [
      `exit code ${r.exit_code}`,
      r.stdout ? `stdout${cut("stdout")}:\n${r.stdout}` : "",
      r.stderr ? `stderr${cut("stderr")}:\n${r.stderr}` : "",
    ].filter(Boolean).join("\n");
  },
});

/** The exec toolset. */
export const execTools: Tool[] = [guestExec];

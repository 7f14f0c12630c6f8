/**
 * Guest-agent commands: `agent/exec` starts a simulated program in a running VM with the agent
 * enabled and returns its pid; `agent/exec-status` reports it running until its end time, then
 * its exit code and output once (the agent forgets a process after reporting its end).
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import type { Guest } from "../state.ts";
import type { AgentExec } from "../state_admin.ts";
import { guestOf, optInt, type RouteContext, type RouteHandler } from "./context.ts";

/** Output beyond this many bytes is cut and flagged `out-truncated`, like the agent does. */
const OUTPUT_CAP = 1024 * 1024;

type Result = { exitcode: number; out?: string; err?: string; seconds?: number };

function osRelease(): string {
  return 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n' +
    'VERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n';
}

const SERVICES = new Set(["ssh", "sshd", "cron", "systemd-journald", "qemu-guest-agent", "nginx"]);

/** Simulated programs: what each prints and how it exits. */
function run(g: Guest, argv: string[], now: number): Result {
  const [prog, ...args] = argv;
  const name = prog.split("/").pop()!;
  const files: Record<string, string> = {
    "/etc/os-release": osRelease(),
    "/etc/hostname": `${g.name}\n`,
    "/proc/loadavg": "0.12 0.08 0.05 1/213 4242\n",
  };
  switch (name) {
    case "hostname":
      return { exitcode: 0, out: `${g.name}\n` };
    case "whoami":
      return { exitcode: 0, out: "root\n" };
    case "uname":
      return {
        exitcode: 0,
        out: args.includes("-a")
          ? `Linux ${g.name} 6.1.0-27-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 x86_64 GNU/Linux\n`
          : args.includes("-r")
          ? "6.1.0-27-amd64\n"
          : "Linux\n",
      };
    case "uptime": {
      const days = Math.floor((now - (g.startedAt ?? now)) / 86_400_000);
      return { exitcode: 0, out: ` up ${days} days, load average: 0.12, 0.08, 0.05\n` };
    }
    case "cat": {
      const missing = args.find((a) => !(a in files));
      if (missing) return { exitcode: 1, err: `cat: ${missing}: No such file or directory\n` };
      return { exitcode: 0, out: args.map((a) => files[a]).join("") };
    }
    case "df":
      return {
        exitcode: 0,
        out: "Filesystem      Size  Used Avail Use% Mounted on\n" +
          "/dev/sda1        31G  7.9G   22G  27% /\n",
      };
    case "echo":
      return { exitcode: 0, out: `${args.join(" ")}\n` };
    case "true":
      return { exitcode: 0 };
    case "false":
      return { exitcode: 1 };
    case "sleep":
      return { exitcode: 0, seconds: Number(args[0] ?? 0) || 0 };
    case "seq": {
      const n = Math.min(Number(args[0] ?? 0) || 0, 1_000_000);
      return { exitcode: 0, out: Array.from({ length: n }, (_, i) => `${i + 1}\n`).join("") };
    }
    case "systemctl": {
      if (args[0] !== "is-active" || !args[1]) return { exitcode: 1, err: "Unknown command\n" };
      const active = SERVICES.has(args[1].replace(/\.service$/, ""));
      return { exitcode: active ? 0 : 3, out: active ? "active\n" : "inactive\n" };
    }
    default:
      throw new ApiError(
        500,
        `Agent error: Failed to execute child process \u201c${prog}\u201d (No such file or directory)`,
      );
  }
}

function agentGuest(ctx: RouteContext): Guest {
  const g = guestOf(ctx);
  if (g.status !== "running") throw new ApiError(500, `VM ${g.vmid} is not running`);
  if (!/^(1|enabled=1)/.test(g.config.agent ?? "")) {
    throw new ApiError(500, "No QEMU guest agent configured");
  }
  if (!ctx.sim.state.ops.agents.has(g.vmid)) {
    throw new ApiError(500, "QEMU guest agent is not running");
  }
  return g;
}

let nextPid = 4100;

const exec: RouteHandler = (ctx) => {
  const g = agentGuest(ctx);
  const raw = ctx.values.command;
  const argv = (Array.isArray(raw) ? raw : [raw]).map(String).filter((x) => x !== "");
  if (!argv.length) throw new ApiError(500, "Agent error: command is empty");
  const r = run(g, argv, ctx.now);
  const out = r.out ?? "";
  const pid = nextPid++;
  const entry: AgentExec = {
    vmid: g.vmid,
    pid,
    endsAt: ctx.now + (r.seconds ?? 0) * 1000,
    exitcode: r.exitcode,
    out: out.length > OUTPUT_CAP ? out.slice(0, OUTPUT_CAP) : out,
    err: r.err ?? "",
    outTruncated: out.length > OUTPUT_CAP || undefined,
  };
  ctx.sim.state.agentExec.set(`${g.vmid}:${pid}`, entry);
  return { pid };
};

const execStatus: RouteHandler = (ctx) => {
  const g = agentGuest(ctx);
  const pid = optInt(ctx, "pid")!;
  const key = `${g.vmid}:${pid}`;
  const e = ctx.sim.state.agentExec.get(key);
  if (!e) throw new ApiError(500, `Agent error: Invalid parameter 'pid'`);
  if (ctx.now < e.endsAt) return { exited: 0 };
  ctx.sim.state.agentExec.delete(key);
  const out: Record<string, unknown> = { exited: 1, exitcode: e.exitcode };
  if (e.out) out["out-data"] = e.out;
  if (e.err) out["err-data"] = e.err;
  if (e.outTruncated) out["out-truncated"] = 1;
  return out;
};

/** Guest-agent command endpoints. */
export const agentExecRoutes: Record<string, RouteHandler> = {
  "POST /nodes/{node}/qemu/{vmid}/agent/exec": exec,
  "GET /nodes/{node}/qemu/{vmid}/agent/exec-status": execStatus,
};

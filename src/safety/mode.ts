/**
 * Modes: read-only (tools that change the cluster are hidden from `tools/list` and refused if
 * called anyway) and `disable_destructive` (changes are allowed, but destructive tools are
 * hidden and refused, and so is every destructive plan of a tool judged per call).
 *
 * @module
 */
import type { ToolMeta } from "../tools/tool.ts";
import { PolicyRefusal, type Stage } from "./pipeline.ts";

/** The modes a server (or one HTTP session) runs in. */
export interface Modes {
  readOnly: boolean;
  disableDestructive?: boolean;
}

/** True when `tool` may run in read-only mode. */
export function allowedInReadOnly(tool: ToolMeta): boolean {
  return tool.annotations.readOnlyHint;
}

/** True when `tool` is offered with `disable_destructive` set. */
export function allowedWithoutDestructive(tool: ToolMeta): boolean {
  return !tool.annotations.destructiveHint || tool.judgedPerCall === true ||
    tool.annotations.readOnlyHint;
}

/** Whether `tool` is listed and callable in `modes`. */
export function allowedInModes(tool: ToolMeta, modes: Modes): boolean {
  if (modes.readOnly && !allowedInReadOnly(tool)) return false;
  if (modes.disableDestructive && !allowedWithoutDestructive(tool)) return false;
  return true;
}

/**
 * Refuses every tool that is not read-only when `readOnly` is set, and every destructive tool
 * when `disableDestructive` is set.
 */
export function modeStage(readOnly: boolean, disableDestructive = false): Stage {
  return (call, next) => {
    const why = modeRefusal(call.tool, { readOnly, disableDestructive });
    if (why) throw new PolicyRefusal(why, "mode");
    return next();
  };
}

/** Why `tool` is refused in `modes`, with how to allow it; undefined when it is allowed. */
export function modeRefusal(tool: ToolMeta, modes: Modes): string | undefined {
  if (modes.readOnly && !allowedInReadOnly(tool)) {
    return `Refused ${tool.name}: this server is read-only, and ${tool.name} changes the cluster. ` +
      `Set "read_only": false in the config (or PROXMOX_READ_ONLY=false) to allow changes`;
  }
  if (modes.disableDestructive && !allowedWithoutDestructive(tool)) {
    return `Refused ${tool.name}: destructive tools are disabled on this server ` +
      `(disable_destructive), and ${tool.name} can lose data or interrupt service`;
  }
  return undefined;
}

/**
 * With `disable_destructive`, refuses a plan the safety table calls destructive (tools judged
 * per call, such as `api_change`). Runs after the plan stage; nothing has been sent.
 */
export function destructivePlanStage(disableDestructive: boolean): Stage {
  return (call, next) => {
    const change = call.change;
    if (disableDestructive && change?.destructive) {
      throw new PolicyRefusal(
        `Refused ${call.tool.name}: ${change.summary} is destructive (${
          change.loses ?? "data or service can be lost"
        }), and destructive changes are disabled on this server (disable_destructive). ` +
          "Nothing was sent",
        "mode",
      );
    }
    return next();
  };
}

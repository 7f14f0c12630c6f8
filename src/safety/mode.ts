/**
 * Read-only mode: tools that change the cluster are hidden from `tools/list` and refused if
 * called anyway.
 *
 * @module
 */
import type { Tool } from "../tools/tool.ts";
import { PolicyRefusal, type Stage } from "./pipeline.ts";

/** True when `tool` may run in read-only mode. */
export function allowedInReadOnly(tool: Tool): boolean {
  return tool.annotations.readOnlyHint;
}

/** Refuses every tool that is not read-only when `readOnly` is set. */
export function modeStage(readOnly: boolean): Stage {
  return (call, next) => {
    if (readOnly && !allowedInReadOnly(call.tool)) {
      throw new PolicyRefusal(
        `Refused ${call.tool.name}: this server is read-only, and ${call.tool.name} changes the cluster. ` +
          `Set "read_only": false in the config (or PROXMOX_READ_ONLY=false) to allow changes`,
        "mode",
      );
    }
    return next();
  };
}

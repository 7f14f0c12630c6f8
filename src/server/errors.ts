/**
 * Turns anything a tool call throws into the message a client sees.
 *
 * @module
 */
import { z } from "zod";
import { ProxmoxError } from "../proxmox/errors.ts";
import { PolicyRefusal } from "../safety/pipeline.ts";
import { ToolInputError } from "../tools/context.ts";
import type { Logger } from "../util/log.ts";

/** The message for a failed call of `tool`; unexpected errors are logged with their stack. */
export function describeError(tool: string, err: unknown, logger: Logger): string {
  if (
    err instanceof ToolInputError || err instanceof PolicyRefusal || err instanceof ProxmoxError
  ) return err.message;
  if (err instanceof z.ZodError) {
    const first = err.issues[0];
    return `Unexpected answer from Proxmox for ${tool}: ${first?.path.join(".") || "(root)"}: ${
      first?.message ?? "invalid"
    }`;
  }
  if (err instanceof Error) {
    if (err.name === "AbortError" || err.name === "TimeoutError") {
      return `${tool} was cancelled: ${err.message}`;
    }
    logger.log("error", `Unexpected failure in ${tool}`, { error: err.stack ?? err.message });
    return `Internal error in ${tool}: ${err.message}`;
  }
  return `Internal error in ${tool}: ${String(err)}`;
}

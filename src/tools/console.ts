/**
 * `guest_console_url`: the web UI address that opens a guest's console. It holds no ticket or
 * secret: the browser logs in to the web UI as usual.
 *
 * @module
 */
import { z } from "zod";
import { args, oneOf, optionalNode, vmid } from "./args.ts";
import { ToolInputError } from "./context.ts";
import { pairs } from "./format.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";

const guestConsoleUrl = defineTool({
  name: "guest_console_url",
  title: "Guest console URL",
  description: "Web UI URL of a guest's console (noVNC or xterm.js); holds no ticket.",
  toolset: "console",
  privilege: "VM.Console on /vms/{vmid} (checked when the console opens)",
  annotations: { ...READ_ONLY, openWorldHint: false },
  input: args({
    vmid: vmid(),
    node: optionalNode(),
    viewer: oneOf(["novnc", "xtermjs"], "viewer").optional()
      .describe("Default: novnc for VMs, xtermjs for containers"),
  }),
  output: z.object({
    vmid: z.number(),
    node: z.string(),
    type: z.enum(["qemu", "lxc"]),
    viewer: z.string(),
    url: z.string(),
    note: z.string(),
  }),
  async handler(a, ctx) {
    if (!ctx.webUrl) {
      throw new ToolInputError(
        "Cannot build a console URL: the server does not know the web UI address",
      );
    }
    const g = await ctx.inventory.guest(a.vmid, a.node, ctx.signal);
    const viewer = a.viewer ?? (g.type === "lxc" ? "xtermjs" : "novnc");
    const q = new URLSearchParams({
      console: g.type === "lxc" ? "lxc" : "kvm",
      [viewer]: "1",
      vmid: String(g.vmid),
      vmname: g.name ?? "",
      node: g.node,
      resize: "off",
      cmd: "",
    });
    const url = `${ctx.webUrl.replace(/\/+$/, "")}/?${q}`;
    const note =
      "Open in a browser logged in to the Proxmox web UI; the URL carries no credentials.";
    const out = { vmid: g.vmid, node: g.node, type: g.type, viewer, url, note };
    return {
      structured: out,
      text: pairs({ guest: `${g.type} ${g.vmid} ${g.name ?? ""}`, url, note }),
    };
  },
});

/** The console URL tool. */
export const consoleTools: Tool[] = [guestConsoleUrl];

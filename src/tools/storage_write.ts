/**
 * Storage downloads: an ISO or container template by URL (with checksum), or an appliance
 * template from the Proxmox catalogue; and the catalogue itself.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { num } from "../proxmox/resources.ts";
import type { Plan } from "../safety/change.ts";
import { args, oneOf } from "./args.ts";
import { storageRef } from "./mutation_args.ts";
import { ToolInputError } from "./context.ts";
import { bytes, table } from "./format.ts";
import { defineMutation } from "./mutation.ts";
import { Facts, requireStorage } from "./preflight.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { nodeOrDefault } from "./params.ts";

const Appliance = z.object({
  template: z.string(),
  os: z.string().optional(),
  version: z.string().optional(),
  headline: z.string().optional(),
  section: z.string().optional(),
  type: z.string().optional(),
  size: num.optional(),
}).loose();

async function appliances(ctx: Facts["ctx"], node: string) {
  return z.array(Appliance).parse(
    await ctx.api.get(apiPath`/nodes/${node}/aplinfo`, undefined, { signal: ctx.signal }),
  );
}

const applianceList = defineTool({
  name: "appliance_list",
  title: "List appliance templates",
  description: "Container templates in the Proxmox catalogue, for storage_download template=.",
  toolset: "provision",
  privilege: "Sys.Audit on /nodes/{node}",
  annotations: READ_ONLY,
  input: args({
    node: nodeOrDefault(),
    query: z.string().max(100).optional().describe("Substring of template/headline"),
  }),
  output: z.object({
    templates: z.array(z.object({
      template: z.string(),
      os: z.string().optional(),
      version: z.string().optional(),
      headline: z.string().optional(),
      section: z.string().optional(),
    })),
  }),
  async handler(a, ctx) {
    const node = await ctx.inventory.pickNode(a.node, ctx.defaultNode, ctx.signal)
      .catch(async (e) => {
        const online = (await ctx.inventory.nodes(ctx.signal)).filter((n) => n.status === "online");
        if (a.node || !online.length) throw e;
        return online.map((n) => n.node).sort()[0];
      });
    const q = a.query?.toLowerCase();
    const templates = (await appliances(ctx, node))
      .filter((t) =>
        !q || t.template.toLowerCase().includes(q) || t.headline?.toLowerCase().includes(q)
      )
      .map((t) => ({
        template: t.template,
        os: t.os,
        version: t.version,
        headline: t.headline,
        section: t.section,
      }))
      .sort((x, y) => x.template.localeCompare(y.template));
    const text = templates.length
      ? table(templates, ["template", "headline", "section"])
      : "No matching templates";
    return { structured: { templates }, text };
  },
});

const ALGORITHMS = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] as const;
const HEX_LENGTH: Record<number, typeof ALGORITHMS[number]> = {
  32: "md5",
  40: "sha1",
  56: "sha224",
  64: "sha256",
  96: "sha384",
  128: "sha512",
};

const storageDownload = defineMutation({
  name: "storage_download",
  title: "Download ISO or template",
  description:
    "Download an ISO/container template by url (+filename, checksum), or a catalogue template (appliance_list).",
  toolset: "provision",
  privilege:
    "Datastore.AllocateTemplate on /storage/{storage}, Sys.Modify on /nodes/{node} for URLs",
  destructive: false,
  input: {
    storage: storageRef().describe("Target storage, e.g. local"),
    node: nodeOrDefault(),
    content: oneOf(["iso", "vztmpl"], "content").default("iso").describe(
      "iso or vztmpl (container template)",
    ),
    url: z.string().max(2048).regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, {
      error: "url must be an http(s) URL",
    }).optional().describe("http(s) URL of the file"),
    filename: z.string().max(255).regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, {
      error: "filename: letters, digits, '.', '_', '+', '-'",
    }).optional().describe("File name on the storage, e.g. debian-12.iso"),
    checksum: z.string().regex(/^[0-9a-fA-F]{32,128}$/, { error: "checksum must be hex" })
      .optional().describe("Expected checksum, hex"),
    checksum_algorithm: oneOf(ALGORITHMS, "checksum_algorithm").optional()
      .describe("Algorithm of checksum"),
    template: z.string().max(255).optional().describe("Template name from appliance_list"),
  },
  result: { volid: z.string(), node: z.string() },
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const node = a.node ?? ctx.defaultNode ??
      (await facts.nodes()).filter((n) => n.status === "online").map((n) => n.node).sort()[0];
    if (!node) throw new ToolInputError("No node is online");
    await facts.onlineNode(node);
    if (a.template !== undefined) {
      if (a.url || a.filename || a.checksum) {
        throw new ToolInputError("Give either template, or url with filename, not both");
      }
      const list = await appliances(ctx, node);
      const apl = list.find((t) => t.template === a.template);
      if (!apl) {
        const near = list.map((t) => t.template).filter((t) =>
          t.split(/[-_]/)[0] === a.template!.split(/[-_]/)[0]
        );
        throw new ToolInputError(
          `Template ${a.template} is not in the catalogue${
            near.length ? `: similar are ${near.join(", ")}` : "; see appliance_list"
          }`,
        );
      }
      await requireStorage(facts, node, a.storage, "vztmpl", apl.size ?? 0);
      await refuseExisting(facts, node, a.storage, "vztmpl", a.template);
      const volid = `${a.storage}:vztmpl/${a.template}`;
      return {
        summary: `download catalogue template ${a.template} to ${a.storage} on ${node}`,
        requests: [{
          method: "POST",
          path: apiPath`/nodes/${node}/aplinfo`,
          params: { storage: a.storage, template: a.template },
        }],
        destructive: false,
        warnings: [],
        creates: 1,
        stopOnCancel: true,
        result: { volid, node },
      };
    }
    if (!a.url || !a.filename) {
      throw new ToolInputError("Give url and filename (or template for a catalogue template)");
    }
    const ext = a.content === "iso" ? /\.(iso|img)$/i : /\.tar\.(gz|xz|zst)$/i;
    if (!ext.test(a.filename)) {
      throw new ToolInputError(
        `filename for ${a.content} must end in ${
          a.content === "iso" ? ".iso or .img" : ".tar.gz, .tar.xz or .tar.zst"
        }`,
      );
    }
    let algorithm = a.checksum_algorithm;
    if (a.checksum && !algorithm) {
      algorithm = HEX_LENGTH[a.checksum.length];
      if (!algorithm) {
        throw new ToolInputError("checksum length matches no algorithm: give checksum_algorithm");
      }
    }
    if (algorithm && !a.checksum) throw new ToolInputError("checksum_algorithm needs checksum");
    await requireStorage(facts, node, a.storage, a.content);
    await refuseExisting(facts, node, a.storage, a.content, a.filename);
    const volid = `${a.storage}:${a.content}/${a.filename}`;
    return {
      summary: `download ${a.url} to ${volid} on ${node}${
        a.checksum ? ` (${algorithm} checked)` : ""
      }`,
      requests: [{
        method: "POST",
        path: apiPath`/nodes/${node}/storage/${a.storage}/download-url`,
        params: {
          url: a.url,
          filename: a.filename,
          content: a.content,
          checksum: a.checksum?.toLowerCase(),
          "checksum-algorithm": algorithm,
          "verify-certificates": true,
        },
      }],
      destructive: false,
      warnings: a.checksum ? [] : ["no checksum given: the download's integrity is not verified"],
      creates: 1,
      stopOnCancel: true,
      result: { volid, node },
    };
  },
});

async function refuseExisting(
  facts: Facts,
  node: string,
  storage: string,
  content: string,
  filename: string,
): Promise<void> {
  const volid = `${storage}:${content}/${filename}`;
  const vols = await facts.volumes(node, storage, content);
  const found = vols.find((v) => v.volid === volid);
  if (found) {
    throw new ToolInputError(`${volid} already exists on ${node} (${bytes(found.size)})`);
  }
}

/** The storage rows that write. */
export const storageWriteTools: Tool[] = [applianceList, storageDownload];

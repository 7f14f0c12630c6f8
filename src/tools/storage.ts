/**
 * Storage content tools: ISOs, container templates, backups and disk images on a storage.
 *
 * @module
 */
import { z } from "zod";
import { flag, num } from "../proxmox/resources.ts";
import { args, cursor, limit, oneOf, storageId, vmid } from "./args.ts";
import { bytes, table, time } from "./format.ts";
import { pageFooter, pageOf } from "./listing.ts";
import { paginate, queryKey } from "./paginate.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { nodeOrDefault } from "./params.ts";
import { isNoSuchStorage, unknownStorage } from "./not_found.ts";

const ContentEntry = z.object({
  volid: z.string(),
  content: z.string().optional(),
  format: z.string().optional(),
  size: num.optional(),
  used: num.optional(),
  ctime: num.optional(),
  vmid: num.optional(),
  notes: z.string().optional(),
  protected: flag.optional(),
  verification: z.object({ state: z.string() }).loose().optional(),
}).loose();

const storageContent = defineTool({
  name: "storage_content",
  title: "Storage content",
  description:
    "Volumes on a storage: ISOs (content=iso), container templates (vztmpl), backups (backup, filter by vmid), disk images. Newest first.",
  toolset: "storage",
  privilege: "Datastore.Audit or Datastore.AllocateSpace on /storage/{storage}",
  annotations: READ_ONLY,
  input: args({
    storage: storageId().describe("Storage ID, e.g. local"),
    node: nodeOrDefault(),
    content: oneOf(
      ["iso", "vztmpl", "backup", "images", "rootdir", "snippets", "import"],
      "content",
    )
      .optional().describe("Only this content type"),
    vmid: vmid().optional().describe("Only volumes of this guest"),
    limit: limit(),
    cursor: cursor(),
  }),
  output: pageOf(z.object({
    volid: z.string(),
    content: z.string().optional(),
    format: z.string().optional(),
    size: z.number().optional(),
    ctime: z.number().optional().describe("epoch seconds"),
    vmid: z.number().optional(),
    notes: z.string().optional(),
    protected: z.boolean().optional(),
    verified: z.string().optional(),
  })),
  async handler(a, ctx) {
    const node = await ctx.inventory.pickNode(a.node, ctx.defaultNode, ctx.signal);
    const list = z.array(ContentEntry).parse(
      await ctx.api.get(
        `/nodes/${node}/storage/${a.storage}/content`,
        { content: a.content, vmid: a.vmid },
        { signal: ctx.signal },
      ).catch(async (e) => {
        throw isNoSuchStorage(e) ? await unknownStorage(ctx, node, a.storage) : e;
      }),
    );
    const volumes = list.map((v) => ({
      volid: v.volid,
      content: v.content,
      format: v.format,
      size: v.size,
      ctime: v.ctime,
      vmid: v.vmid,
      notes: v.notes?.trim() || undefined,
      protected: v.protected || undefined,
      verified: v.verification?.state,
    })).sort((x, y) => (y.ctime ?? 0) - (x.ctime ?? 0) || x.volid.localeCompare(y.volid));
    const page = paginate(volumes, { limit: a.limit, cursor: a.cursor, query: queryKey(a) });
    const text = table(page.items, [
      "volid",
      ["size", (v) => bytes(v.size)],
      ["created", (v) => time(v.ctime)],
      "vmid",
      "notes",
    ]);
    return { structured: page, text: `${node}/${a.storage}\n${text}\n${pageFooter(page)}` };
  },
});

/** The storage toolset. */
export const storageTools: Tool[] = [storageContent];

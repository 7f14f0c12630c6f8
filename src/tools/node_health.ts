/**
 * Node health tools, for one node or every online node: pending updates and repositories
 * (`node_updates`), disks with SMART, ZFS pools and LVM thin pools (`node_disks`), PVE services
 * (`node_services`) and certificates with days left (`node_certificates`).
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { flag, num } from "../proxmox/resources.ts";
import { args } from "./args.ts";
import { node as nodeParam } from "./params.ts";
import type { ToolContext } from "./context.ts";
import { bytes, table, time } from "./format.ts";
import { rows } from "./listing.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { nowMs } from "./timespec.ts";

const nodeArg = () => nodeParam("Node name; omit for every online node").optional();

/** The nodes a call covers: the one given (checked) or every online node, sorted. */
export async function nodesFor(ctx: ToolContext, node: string | undefined): Promise<string[]> {
  if (node) return [(await ctx.inventory.requireNode(node, ctx.signal)).node];
  return (await ctx.inventory.nodes(ctx.signal)).filter((n) => n.status === "online")
    .map((n) => n.node).sort();
}

const get = (ctx: ToolContext, path: string, params?: Record<string, string | number | boolean>) =>
  ctx.api.get(path, params, { signal: ctx.signal });

// ---- node_updates -------------------------------------------------------------------------

const AptUpdate = z.object({
  Package: z.string(),
  Title: z.string().optional(),
  OldVersion: z.string().optional(),
  Version: z.string(),
  Origin: z.string().optional(),
  Priority: z.string().optional(),
}).loose();

const Repos = z.object({
  files: z.array(
    z.object({
      path: z.string(),
      repositories: z.array(
        z.object({
          Types: z.array(z.string()).default([]),
          URIs: z.array(z.string()).default([]),
          Suites: z.array(z.string()).default([]),
          Components: z.array(z.string()).default([]),
          Enabled: flag,
        }).loose(),
      ),
    }).loose(),
  ).default([]),
  errors: z.array(z.object({ path: z.string(), error: z.string() }).loose()).default([]),
  infos: z.array(z.object({ kind: z.string(), message: z.string(), path: z.string() }).loose())
    .default([]),
  "standard-repos": z.array(
    z.object({
      handle: z.string(),
      name: z.string().optional(),
      status: flag.optional(),
    }).loose(),
  ).default([]),
}).loose();

/** Debian security fixes carry a `+debNNuN` version suffix; the API does not mark them. */
function looksLikeSecurity(u: z.infer<typeof AptUpdate>): boolean {
  return /security/i.test(u.Origin ?? "") ||
    (/^Debian/i.test(u.Origin ?? "") && /\+deb\d+u\d+$/.test(u.Version));
}

const nodeUpdates = defineTool({
  name: "node_updates",
  title: "Pending updates",
  description:
    "Pending apt updates per node (package, old → new, origin, likely security fix) and the repositories' state.",
  toolset: "health",
  privilege: "Sys.Modify on /nodes/{node} (updates list), Sys.Audit (repositories)",
  annotations: READ_ONLY,
  input: args({ node: nodeArg() }),
  output: z.object({
    nodes: rows(
      "node, updates, security_count, repositories, standard, warnings",
    ),
  }),
  async handler(a, ctx) {
    const names = await nodesFor(ctx, a.node);
    const nodes = await Promise.all(names.map(async (node) => {
      const [list, repos] = await Promise.all([
        get(ctx, apiPath`/nodes/${node}/apt/update`).then((d) => z.array(AptUpdate).parse(d)),
        get(ctx, apiPath`/nodes/${node}/apt/repositories`).then((d) => Repos.parse(d)),
      ]);
      const updates = list.map((u) => ({
        package: u.Package,
        old: u.OldVersion,
        new: u.Version,
        origin: u.Origin,
        security: looksLikeSecurity(u),
      })).sort((x, y) =>
        Number(y.security) - Number(x.security) || x.package.localeCompare(y.package)
      );
      const repositories = repos.files.flatMap((f) =>
        f.repositories.filter((r) => r.Types.includes("deb")).map((r) => ({
          uri: r.URIs.join(" "),
          suites: r.Suites,
          components: r.Components,
          enabled: Boolean(r.Enabled),
          file: f.path,
        }))
      );
      const standard = Object.fromEntries(
        repos["standard-repos"].filter((r) => r.status !== undefined)
          .map((r) => [r.handle, Boolean(r.status)]),
      );
      const warnings = [
        ...repos.errors.map((e) => `${e.path}: ${e.error}`),
        ...repos.infos.filter((i) => i.kind === "warning").map((i) => `${i.path}: ${i.message}`),
        ...(standard.enterprise && standard["no-subscription"] === false
          ? ["only the enterprise repository is enabled: it needs a valid subscription"]
          : []),
      ];
      return {
        node,
        updates,
        security_count: updates.filter((u) => u.security).length,
        repositories,
        standard,
        warnings,
      };
    }));
    const text = nodes.map((n) =>
      [
        `${n.node}: ${n.updates.length} updates (${n.security_count} security); repos: ${
          Object.entries(n.standard).filter(([, on]) => on).map(([h]) => h).join(", ") || "none"
        }`,
        ...n.updates.map((u) =>
          `  ${u.package} ${u.old ?? "?"} → ${u.new}${u.security ? " [security]" : ""} (${
            u.origin ?? "?"
          })`
        ),
        ...n.warnings.map((w) => `  warning: ${w}`),
      ].join("\n")
    ).join("\n");
    return { structured: { nodes }, text };
  },
});

// ---- node_disks ---------------------------------------------------------------------------

const Disk = z.object({
  devpath: z.string(),
  model: z.string().optional(),
  serial: z.string().optional(),
  type: z.string().optional(),
  size: num.optional(),
  health: z.string().optional(),
  wearout: z.union([num, z.string()]).optional(),
  used: z.string().optional(),
}).loose();

const Zfs = z.object({
  name: z.string(),
  size: num,
  alloc: num,
  free: num,
  frag: num.optional(),
  health: z.string(),
}).loose();

interface ZfsChild {
  name: string;
  state?: string;
  read?: number;
  write?: number;
  cksum?: number;
  msg?: string;
  children?: ZfsChild[];
}
const ZfsChildSchema: z.ZodType<ZfsChild> = z.lazy(() =>
  z.object({
    name: z.string(),
    state: z.string().optional(),
    read: num.optional(),
    write: num.optional(),
    cksum: num.optional(),
    msg: z.string().optional(),
    children: z.array(ZfsChildSchema).optional(),
  }).loose()
);
const ZfsDetail = z.object({
  status: z.string().optional(),
  action: z.string().optional(),
  scan: z.string().optional(),
  errors: z.string().optional(),
  children: z.array(ZfsChildSchema).default([]),
}).loose();

const Thin = z.object({
  vg: z.string(),
  lv: z.string(),
  lv_size: num,
  used: num,
  metadata_size: num.optional(),
  metadata_used: num.optional(),
}).loose();

const Smart = z.object({
  health: z.string(),
  attributes: z.array(
    z.object({
      name: z.string(),
      value: num.optional(),
      threshold: num.optional(),
      raw: z.union([z.string(), z.number()]).optional(),
      fail: z.string().optional(),
    }).loose(),
  ).optional(),
}).loose();

function flatten(children: ZfsChild[], out: ZfsChild[] = []): ZfsChild[] {
  for (const c of children) {
    out.push(c);
    flatten(c.children ?? [], out);
  }
  return out;
}

const pct = (used: number, total: number) => total ? Math.round((used / total) * 1000) / 10 : 0;

const nodeDisks = defineTool({
  name: "node_disks",
  title: "Disks and pools",
  description:
    "Physical disks per node (model, type, size, SMART health, wearout, use), ZFS pools and LVM thin pools with usage and health; problems listed first.",
  toolset: "health",
  privilege: "Sys.Audit on /",
  annotations: READ_ONLY,
  input: args({ node: nodeArg() }),
  output: z.object({
    problems: z.array(z.string()),
    nodes: rows(
      "node, disks, zfs, lvmthin",
    ),
  }),
  async handler(a, ctx) {
    const names = await nodesFor(ctx, a.node);
    const problems: string[] = [];
    const nodes = await Promise.all(names.map(async (node) => {
      const [disks, zfs, thin] = await Promise.all([
        get(ctx, apiPath`/nodes/${node}/disks/list`).then((d) => z.array(Disk).parse(d)),
        get(ctx, apiPath`/nodes/${node}/disks/zfs`).then((d) => z.array(Zfs).parse(d)),
        get(ctx, apiPath`/nodes/${node}/disks/lvmthin`).then((d) => z.array(Thin).parse(d)),
      ]);
      const diskOut = await Promise.all(disks.map(async (d) => {
        const wearout = typeof d.wearout === "number" ? d.wearout : undefined;
        let failing: string[] | undefined;
        if (d.health && !/^(PASSED|OK|UNKNOWN)$/i.test(d.health)) {
          const s = Smart.parse(
            await get(ctx, apiPath`/nodes/${node}/disks/smart`, { disk: d.devpath }),
          );
          failing = (s.attributes ?? []).filter((x) => x.fail && x.fail !== "-")
            .map((x) => `${x.name}=${x.raw} (${x.fail})`);
          problems.push(
            `${node} ${d.devpath} (${d.model ?? "?"}): SMART ${d.health}${
              failing.length ? ` — ${failing.join(", ")}` : ""
            }`,
          );
        }
        if (wearout !== undefined && wearout <= 10) {
          problems.push(`${node} ${d.devpath}: only ${wearout}% life left`);
        }
        return {
          dev: d.devpath,
          model: d.model,
          serial: d.serial,
          type: d.type,
          size: d.size,
          health: d.health,
          wearout,
          used: d.used,
          failing_attributes: failing,
        };
      }));
      const zfsOut = await Promise.all(zfs.map(async (p) => {
        const out = {
          name: p.name,
          health: p.health,
          size: p.size,
          used_pct: pct(p.alloc, p.size),
          frag: p.frag,
          bad_devices: undefined as string[] | undefined,
          status: undefined as string | undefined,
        };
        if (p.health !== "ONLINE") {
          const detail = ZfsDetail.parse(
            await get(ctx, apiPath`/nodes/${node}/disks/zfs/${p.name}`),
          );
          out.bad_devices = flatten(detail.children)
            .filter((c) => c.state && c.state !== "ONLINE" && c.name !== p.name)
            .map((c) =>
              `${c.name} ${c.state}${
                c.read || c.write || c.cksum
                  ? ` (errors r${c.read ?? 0} w${c.write ?? 0} c${c.cksum ?? 0})`
                  : ""
              }`
            );
          out.status = detail.status;
          problems.push(`${node} ZFS pool ${p.name} ${p.health}: ${out.bad_devices.join(", ")}`);
        }
        if (out.used_pct >= 80) {
          problems.push(`${node} ZFS pool ${p.name} is ${out.used_pct}% full`);
        }
        return out;
      }));
      const thinOut = thin.map((t) => {
        const out = {
          pool: `${t.vg}/${t.lv}`,
          size: t.lv_size,
          used_pct: pct(t.used, t.lv_size),
          metadata_pct: t.metadata_size ? pct(t.metadata_used ?? 0, t.metadata_size) : undefined,
        };
        if (out.used_pct >= 80) {
          problems.push(`${node} LVM thin ${out.pool} is ${out.used_pct}% full`);
        }
        if ((out.metadata_pct ?? 0) >= 80) {
          problems.push(`${node} LVM thin ${out.pool} metadata is ${out.metadata_pct}% full`);
        }
        return out;
      });
      return { node, disks: diskOut, zfs: zfsOut, lvmthin: thinOut };
    }));
    const text = [
      problems.length ? `problems:\n  ${problems.join("\n  ")}` : "no disk problems found",
      ...nodes.map((n) =>
        [
          `${n.node}:`,
          nodes.length > 1
            ? `${n.disks.length} disks (${
              [...new Set(n.disks.map((d) => d.health ?? "?"))].join("/")
            }; least wearout ${
              Math.min(...n.disks.map((d) => d.wearout ?? 100))
            }% left); full table with node=${n.node}`
            : table(n.disks, [
              "dev",
              "model",
              "type",
              ["size", (d) => bytes(d.size)],
              "health",
              ["wear", (d) => d.wearout === undefined ? "-" : `${d.wearout}%`],
              "used",
            ]),
          ...n.zfs.map((p) =>
            `zfs ${p.name}: ${p.health}, ${p.used_pct}% of ${bytes(p.size)} used`
          ),
          ...n.lvmthin.map((t) =>
            `lvm-thin ${t.pool}: ${t.used_pct}% of ${bytes(t.size)} used, metadata ${
              t.metadata_pct ?? "?"
            }%`
          ),
        ].join("\n")
      ),
    ].join("\n");
    return { structured: { problems, nodes }, text };
  },
});

// ---- node_services ------------------------------------------------------------------------

const Service = z.object({
  name: z.string().optional(),
  service: z.string(),
  desc: z.string().optional(),
  state: z.string().optional(),
  "active-state": z.string().optional(),
  "unit-state": z.string().optional(),
}).loose();

const nodeServices = defineTool({
  name: "node_services",
  title: "Node services",
  description:
    "State of the PVE services per node (pveproxy, pvedaemon, corosync, pve-cluster, HA, firewall, ...); failed or stopped ones first.",
  toolset: "health",
  privilege: "Sys.Audit on /nodes/{node}",
  annotations: READ_ONLY,
  input: args({ node: nodeArg() }),
  output: z.object({
    problems: z.array(z.string()),
    nodes: rows("node, services"),
  }),
  async handler(a, ctx) {
    const names = await nodesFor(ctx, a.node);
    const problems: string[] = [];
    const nodes = await Promise.all(names.map(async (node) => {
      const list = z.array(Service).parse(await get(ctx, apiPath`/nodes/${node}/services`));
      const services = list.map((s) => ({
        service: s.service,
        state: s.state,
        active: s["active-state"],
        unit: s["unit-state"],
        desc: s.desc,
      })).sort((x, y) => x.service.localeCompare(y.service));
      for (const s of services) {
        const bad = s.active === "failed" ||
          (s.active !== "active" && s.unit === "enabled");
        if (bad) problems.push(`${node} ${s.service}: ${s.active ?? "?"} (${s.state ?? "?"})`);
      }
      return { node, services };
    }));
    const text = [
      problems.length ? `problems:\n  ${problems.join("\n  ")}` : "all enabled services run",
      ...nodes.map((n) =>
        `${n.node}: ${
          n.services.filter((s) => s.active === "active").length
        }/${n.services.length} active; ` +
        n.services.filter((s) => s.active !== "active")
          .map((s) => `${s.service}=${s.active}${s.unit ? `/${s.unit}` : ""}`).join(", ")
      ),
    ].join("\n");
    return { structured: { problems, nodes }, text };
  },
});

// ---- node_certificates --------------------------------------------------------------------

const Cert = z.object({
  filename: z.string().optional(),
  subject: z.string().optional(),
  issuer: z.string().optional(),
  notafter: num.optional(),
  notbefore: num.optional(),
  san: z.array(z.string()).optional(),
  fingerprint: z.string().optional(),
}).loose();

const nodeCertificates = defineTool({
  name: "node_certificates",
  title: "Node certificates",
  description:
    "TLS certificates per node (file, subject, issuer, SANs, expiry, days left); expired or expiring within warn_days flagged.",
  toolset: "health",
  privilege: "none",
  annotations: READ_ONLY,
  input: args({
    node: nodeArg(),
    warn_days: z.int().min(1).max(365).default(30).describe("Flag below this many days left"),
  }),
  output: z.object({
    problems: z.array(z.string()),
    nodes: rows(
      "node, certificates",
    ),
  }),
  async handler(a, ctx) {
    const names = await nodesFor(ctx, a.node);
    const nowSec = nowMs(ctx) / 1000;
    const problems: string[] = [];
    const nodes = await Promise.all(names.map(async (node) => {
      const list = z.array(Cert).parse(await get(ctx, apiPath`/nodes/${node}/certificates/info`));
      const certificates = list.map((c) => {
        const days = c.notafter === undefined
          ? undefined
          : Math.floor((c.notafter - nowSec) / 86_400);
        if (days !== undefined && days < a.warn_days) {
          problems.push(
            `${node} ${c.filename ?? "?"}: ${
              days < 0 ? `expired ${-days} days ago` : `expires in ${days} days`
            }`,
          );
        }
        return {
          file: c.filename,
          subject: c.subject,
          issuer: c.issuer,
          san: c.san,
          not_after: c.notafter === undefined ? undefined : time(c.notafter),
          days_left: days,
          fingerprint: c.fingerprint,
        };
      });
      return { node, certificates };
    }));
    const cn = (dn?: string) => /CN=([^/,]+)/.exec(dn ?? "")?.[1] ?? dn;
    const text = [
      problems.length
        ? `problems:\n  ${problems.join("\n  ")}`
        : `no certificate expires within ${a.warn_days} days`,
      ...nodes.map((n) =>
        `${n.node}:\n` + table(n.certificates, [
          "file",
          ["subject", (c) => cn(c.subject)],
          ["issuer", (c) => cn(c.issuer)],
          "not_after",
          "days_left",
        ])
      ),
    ].join("\n");
    return { structured: { problems, nodes }, text };
  },
});

/** Node health tools (in the nodes toolset). */
export const nodeHealthTools: Tool[] = [nodeUpdates, nodeDisks, nodeServices, nodeCertificates];

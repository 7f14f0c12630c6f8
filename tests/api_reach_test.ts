import assert from "node:assert/strict";
import { type ParamSchema } from "../src/proxmox/api_schema/schema.ts";
import { allMethods } from "../src/proxmox/api_schema/search.ts";
import { checkValue, validateRequest } from "../src/proxmox/api_schema/validate.ts";
import { startMutationStack, text } from "./helpers/mutations.ts";

/** Values tried in order for a parameter; the first the schema accepts is used. */
const CANDIDATES = [
  "pve1",
  "100",
  "local",
  "vmbr0",
  "root@pam",
  "local:iso/debian.iso",
  "10.0.0.1",
  "10.0.0.0/24",
  "fe80::1",
  "02:00:00:00:00:01",
  "example.org",
  "https://example.org/x",
  "1",
  "0",
  "abc",
  "a1",
  "test",
  "images",
  "*/5",
  "2026-01-01",
  "2026-01-01 00:00:00",
  "in",
  "ACCEPT",
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGU= user@host",
  "UPID:pve1:00001234:00012345:65000000:qmstart:100:root@pam:",
  "x",
  "pve",
  "a-b_c.1",
  "mon.pve1",
  "100-0",
  "/dev/sda",
  "AA:".repeat(31) + "AA",
  "8086:1234",
  "0000:01:00.0",
  "1-2",
  "global:fsid",
  "docker.io/library/alpine:latest",
  "pve1c-0123456789",
];

/** A value the schema accepts for `p`, or undefined when no candidate fits. */
function sample(p: ParamSchema, name: string): string | undefined {
  if (p.enum?.length) return p.enum[0];
  if (name === "upid") return "UPID:pve1:00001234:00012345:65000000:qmstart:100:root@pam:";
  if (p.type === "boolean") return "1";
  if (p.type === "integer" || p.type === "number") {
    const n = Math.max(p.minimum ?? 0, name === "vmid" || p.format === "pve-vmid" ? 100 : 1);
    return String(p.maximum !== undefined ? Math.min(n, p.maximum) : n);
  }
  if (p.type === "array") return p.items ? sample(p.items, name) : "x";
  if (p.format && typeof p.format === "object") {
    const parts: string[] = [];
    for (const [key, sub] of Object.entries(p.format)) {
      if (sub.optional || sub.alias || sub.default !== undefined) continue;
      const v = sample(sub, key);
      if (v === undefined) return undefined;
      parts.push(sub.default_key ? v : `${key}=${v}`);
    }
    const value = parts.join(",");
    return checkValue(p, value, name).error === undefined ? value : undefined;
  }
  const minLen = p.minLength ?? 0;
  for (const c of CANDIDATES) {
    const v = c.length >= minLen ? c : c.padEnd(minLen, "x");
    if (checkValue(p, v, name).error === undefined) return v;
  }
  return undefined;
}

Deno.test("every method of the official schema is reachable through api_read and api_change", async () => {
  const methods = allMethods();
  assert.equal(methods.length, 649, "the embedded schema has 649 methods");
  await using s = await startMutationStack({
    config: { allow_cluster_changes: true, max_mutations_per_minute: 0, max_creations: 0 },
  });
  const unreachable: string[] = [];
  let reads = 0;
  let changes = 0;
  for (const m of methods) {
    const props = m.schema.parameters.properties;
    const path = m.path.replace(/\{([^}]+)\}/g, (_x, name: string) => {
      const v = sample(props[name] ?? { type: "string" }, name);
      return encodeURIComponent(v ?? "x");
    });
    const params: Record<string, string> = {};
    for (const [name, p] of Object.entries(props)) {
      if (p.optional || name.endsWith("[n]") || m.path.includes(`{${name}}`)) continue;
      const v = sample(p, name);
      if (v !== undefined) params[name] = v;
    }
    const label = `${m.method} ${m.path}`;
    const valid = validateRequest(m.method, path, params);
    if (!valid.ok) {
      unreachable.push(`${label}: no sample passes the schema: ${JSON.stringify(valid)}`);
      continue;
    }
    if (m.method === "GET") {
      const before = s.recorder.requests.length;
      const r = await s.call("api_read", { path, params });
      const sent = s.recorder.requests.slice(before).some((x) =>
        x.method === "GET" && x.path === path
      );
      if (!sent) unreachable.push(`${label}: not sent: ${text(r)}`);
      reads++;
    } else {
      const r = await s.call("api_change", { method: m.method, path, params, dry_run: true });
      const plan = r.structuredContent?.plan as
        | { requests: { method: string; path: string }[] }
        | undefined;
      if (r.isError || r.structuredContent?.status !== "dry_run") {
        unreachable.push(`${label}: ${text(r)}`);
      } else if (plan?.requests[0]?.method !== m.method || plan.requests[0].path !== path) {
        unreachable.push(`${label}: planned ${JSON.stringify(plan?.requests)}`);
      }
      changes++;
    }
  }
  assert.deepEqual(unreachable, []);
  assert.equal(reads + changes, 649);
  assert.equal(s.writes().length, 0, "dry runs sent no write");
});

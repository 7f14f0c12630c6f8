/**
 * The terminal approval channel on disk: each waiting plan is `approvals/<id>.json` in the
 * state folder (0600, written by the server), and a person's answer is
 * `approvals/<id>.decision.json` (0600, written by `proxmox-mcp approvals`). The server reads
 * the answer, checks it names the same plan fingerprint, and removes both files.
 *
 * @module
 */
import { z } from "zod";
import type { ApprovalRequest } from "./approvals.ts";
import { readJson, removeQuietly, type StateDir, writePrivate } from "./state_dir.ts";

const ID = /^[A-Za-z0-9-]{6,64}$/;

/** What the terminal writes to answer a request. */
export const DecisionFile = z.object({
  decision: z.enum(["approved", "rejected"]),
  by: z.string().min(1).max(200),
  fingerprint: z.string().min(1),
  note: z.string().max(500).optional(),
});

/** An answer as written by `proxmox-mcp approvals`. */
export type DecisionFile = z.infer<typeof DecisionFile>;

const RequestFile = z.object({
  id: z.string().regex(ID),
  tool: z.string(),
  summary: z.string(),
  plan: z.looseObject({ summary: z.string() }),
  reasons: z.array(z.string()),
  fingerprint: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  pid: z.number().optional(),
}).loose();

function requestPath(dir: StateDir, id: string): string {
  return dir.file(`approvals/${id}.json`);
}

/** Where the answer to request `id` goes. */
export function decisionPath(dir: StateDir, id: string): string {
  return dir.file(`approvals/${id}.decision.json`);
}

/** Writes a waiting request for the terminal to see. */
export async function writeRequestFile(dir: StateDir, req: ApprovalRequest): Promise<void> {
  await writePrivate(requestPath(dir, req.id), JSON.stringify({ ...req, pid: Deno.pid }));
}

/** Removes a request and its answer. */
export async function removeRequestFiles(dir: StateDir, id: string): Promise<void> {
  await removeQuietly(requestPath(dir, id));
  await removeQuietly(decisionPath(dir, id));
}

/** Reads an answer; undefined when there is none (or it is not a valid answer). */
export async function readDecisionFile(path: string): Promise<DecisionFile | undefined> {
  const raw = await readJson(path);
  if (raw === undefined) return undefined;
  const r = DecisionFile.safeParse(raw);
  return r.success ? r.data : undefined;
}

/** Every request still waiting in the folder (of any server sharing it), oldest first. */
export async function readPendingRequests(
  dir: StateDir,
  now: number,
): Promise<(ApprovalRequest & { answered: boolean })[]> {
  const out: (ApprovalRequest & { answered: boolean })[] = [];
  for await (const entry of Deno.readDir(dir.file("approvals"))) {
    if (!entry.isFile || !entry.name.endsWith(".json") || entry.name.includes(".decision.")) {
      continue;
    }
    const r = RequestFile.safeParse(await readJson(dir.file(`approvals/${entry.name}`)));
    if (!r.success || Date.parse(r.data.expiresAt) <= now) continue;
    const answered = await readDecisionFile(decisionPath(dir, r.data.id)) !== undefined;
    out.push({ ...(r.data as unknown as ApprovalRequest), answered });
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Writes the answer to request `id`. */
export async function writeDecisionFile(
  dir: StateDir,
  id: string,
  decision: DecisionFile,
): Promise<void> {
  if (!ID.test(id)) throw new Error(`Not a request id: ${id}`);
  await writePrivate(decisionPath(dir, id), JSON.stringify(decision));
}

/**
 * Reading request parameters the way pveproxy accepts them: the query string for every method,
 * plus a form-encoded or JSON body for writes. Repeated keys become arrays.
 *
 * @module
 */
import type { ParamValue } from "../proxmox/api_schema/validate.ts";
import { ApiError } from "./errors.ts";

function add(out: Record<string, ParamValue>, key: string, value: string): void {
  const prev = out[key];
  if (prev === undefined) out[key] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[key] = [String(prev), value];
}

function fromJson(out: Record<string, ParamValue>, body: unknown): void {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError(400, "Parameter verification failed.", {
      errors: { body: "JSON body must be an object" },
    });
  }
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) {
      out[key] = value.map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
    } else if (
      typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    ) {
      out[key] = value;
    } else out[key] = JSON.stringify(value);
  }
}

/** Collects the parameters of a request (query string, then body for non-GET). */
export async function readParams(request: Request, url: URL): Promise<Record<string, ParamValue>> {
  const out: Record<string, ParamValue> = {};
  for (const [key, value] of url.searchParams) add(out, key, value);
  if (request.method === "GET" || request.method === "HEAD" || !request.body) return out;
  const text = await request.text();
  if (text.trim() === "") return out;
  const type = (request.headers.get("content-type") ?? "").toLowerCase();
  if (type.includes("application/json")) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(400, "Parameter verification failed.", {
        errors: { body: "malformed JSON" },
      });
    }
    fromJson(out, body);
    return out;
  }
  for (const [key, value] of new URLSearchParams(text)) add(out, key, value);
  return out;
}

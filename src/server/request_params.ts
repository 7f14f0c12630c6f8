/**
 * The check of a request's parameters against the SDK's schema of its method, for the JSON-RPC
 * guard (`jsonrpc_guard.ts`): a malformed request gets -32602 with what was wrong.
 *
 * @module
 */
import type { ParamsCheck } from "./jsonrpc_guard.ts";
import { ClientRequestSchema } from "./sdk.ts";

/** The SDK's schema of each client request, by method. */
const REQUEST_SCHEMAS = new Map(
  ClientRequestSchema.options.map((s) => [s.shape.method.value as string, s]),
);

/** Readable text of the first few problems zod found. */
function describeIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): string {
  return issues.slice(0, 3).map((i) =>
    `${i.path.length ? i.path.map(String).join(".") : "message"}: ${i.message}`
  ).join("; ");
}

/** Checks `request` against its method's schema; methods the SDK does not know pass. */
export const checkRequestParams: ParamsCheck = (request) => {
  const schema = REQUEST_SCHEMAS.get(request.method);
  if (!schema) return undefined;
  const parsed = schema.safeParse({ method: request.method, params: request.params });
  return parsed.success ? undefined : describeIssues(parsed.error.issues);
};

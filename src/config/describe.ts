/**
 * Describing configuration values in error messages without revealing secrets.
 *
 * @module
 */
import { maskSecretLike } from "../safety/redact.ts";

/** Fields whose values must never appear in messages or logs. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  "password",
  "token_secret",
  "approver_token",
]);

/**
 * Masks a secret for display: the length only, plus the first three characters for API token
 * secrets long enough that three characters give away little (`"abc…(36 chars)"`).
 */
export function maskSecret(value: string, showPrefix = false): string {
  if (showPrefix && value.length >= 16) return `${value.slice(0, 3)}…(${value.length} chars)`;
  return `…(${value.length} chars)`;
}

/** A short human description of `value` as given for `field`, masking secrets. */
export function describeValue(field: string, value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (SECRET_FIELDS.has(field)) {
    return typeof value === "string"
      ? maskSecret(value, field === "token_secret")
      : typeName(value);
  }
  if (field === "token_id" && typeof value === "string" && value.includes("=")) {
    // `USER@REALM!TOKENID=SECRET` pasted whole: show the id, mask the secret.
    const at = value.indexOf("=");
    return JSON.stringify(`${value.slice(0, at + 1)}${maskSecret(value.slice(at + 1), true)}`);
  }
  switch (typeof value) {
    case "string":
      return maskSecretLike(JSON.stringify(value.length > 80 ? value.slice(0, 77) + "..." : value));
    case "number":
    case "boolean":
      return String(value);
    default:
      return typeName(value);
  }
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  const t = typeof value;
  return t === "object" ? "an object" : `a ${t}`;
}

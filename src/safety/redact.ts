/**
 * Removing secrets (passwords, keys, token values) from arguments and request parameters
 * before they are shown, logged or written to the audit log.
 *
 * @module
 */

/** The text that replaces a secret. */
export const REDACTED = "[redacted]";

/** Names of fields that hold secrets (compared lower-case, `-` and `_` ignored). */
const SECRET_NAMES = new Set([
  "password",
  "cipassword",
  "newpassword",
  "sshkeys",
  "sshpublickeys",
  "secret",
  "tokensecret",
  "token",
  "confirmationtoken",
  "ticket",
  "csrfpreventiontoken",
  "privatekey",
  "apikey",
  "encryptionkey",
  "keyring",
]);

/** True when a field named `name` holds a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAMES.has(name.toLowerCase().replace(/[-_]/g, ""));
}

/** A deep copy of `value` with every secret field replaced by {@link REDACTED}. */
export function redact<T>(value: T): T {
  return walk(value) as T;
}

function walk(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(walk);
  if (typeof value === "string") return redactUrlPassword(value);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    out[k] = isSecretName(k) && v !== "" ? REDACTED : walk(v);
  }
  return out;
}

/** Replaces the password of a URL with user info (`https://u:secret@host/`). */
function redactUrlPassword(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*):[^/@\s]+@/i, `$1:${REDACTED}@`);
}

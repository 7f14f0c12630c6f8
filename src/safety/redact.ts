/**
 * Removing secrets before anything is shown, logged or written to the audit log: fields whose
 * names say they hold secrets, the user info of URLs (`https://user:secret@host/`), URL query
 * parameters named like secrets (`?token=…`), and values shaped like Proxmox API token secrets
 * (UUIDs) wherever configuration values are echoed.
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

/**
 * Endings of URL query parameter names that carry secrets (`token`, `access_token`, `api-key`,
 * `X-Amz-Signature`, `sig`, …), compared lower-case with `-`, `_` and `.` removed.
 */
const SECRET_QUERY_ENDINGS = [
  "token",
  "key",
  "secret",
  "password",
  "passwd",
  "pwd",
  "signature",
  "sig",
  "credential",
  "credentials",
  "auth",
];

/** True when a URL query parameter named `name` carries a secret. */
export function isSecretQueryName(name: string): boolean {
  let plain = name.toLowerCase().replace(/[-_.]/g, "");
  try {
    plain = decodeURIComponent(plain);
  } catch {
    // keep the raw name
  }
  return SECRET_QUERY_ENDINGS.some((e) => plain.endsWith(e));
}

/**
 * A deep copy of `value` with every secret field replaced by {@link REDACTED} and every
 * string passed through {@link redactText}.
 */
export function redact<T>(value: T): T {
  return walk(value) as T;
}

function walk(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(walk);
  if (typeof value === "string") return redactText(value);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    out[k] = isSecretName(k) && v !== "" ? REDACTED : walk(v);
  }
  return out;
}

/** A deep copy of `value` with every string passed through {@link redactText} (field names kept). */
export function redactStrings<T>(value: T): T {
  return strings(value) as T;
}

// Copies only what changes: a result without secrets in it is returned as it is.
function strings(value: unknown): unknown {
  if (typeof value === "string") return redactText(value);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = strings(value[i]);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  for (const k in value) {
    const before = (value as Record<string, unknown>)[k];
    const v = strings(before);
    if (v !== before) (out ??= { ...value })[k] = v;
  }
  return out ?? value;
}

/** A URL with a scheme, up to the first character that cannot be part of it in prose or JSON. */
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>`]+)/gi;

/**
 * `text` with the secrets of every URL in it hidden: the password of the user info (all of it,
 * including any `@` it contains; a user info without a password is hidden whole, since it is
 * often a token) and the values of query parameters named like secrets.
 */
export function redactText(text: string): string {
  if (!text.includes("://")) return text;
  return text.replace(URL_IN_TEXT, (_all, scheme: string, rest: string) => {
    return scheme + redactQuery(redactUserinfo(rest));
  });
}

/** Hides the user info of `rest` (a URL after `scheme://`). */
function redactUserinfo(rest: string): string {
  const end = firstIndex(rest, ["?", "#"]);
  const at = rest.lastIndexOf("@", end - 1);
  if (at < 0) return rest;
  const info = rest.slice(0, at);
  const colon = info.indexOf(":");
  if (colon >= 0) {
    // `user:pass@host`; a `/` before the colon means the `@` is in the path, not user info.
    if (info.slice(0, colon).includes("/")) return rest;
    return `${info.slice(0, colon)}:${REDACTED}${rest.slice(at)}`;
  }
  if (info.includes("/")) return rest;
  return `${REDACTED}${rest.slice(at)}`;
}

/** Hides the values of secret query parameters of `rest`. */
function redactQuery(rest: string): string {
  const q = rest.indexOf("?");
  if (q < 0) return rest;
  const hash = rest.indexOf("#", q);
  const query = rest.slice(q + 1, hash < 0 ? undefined : hash);
  const cleaned = query.split("&").map((pair) => {
    const eq = pair.indexOf("=");
    if (eq < 0) return pair;
    const name = pair.slice(0, eq);
    return isSecretQueryName(name) && eq < pair.length - 1 ? `${name}=${REDACTED}` : pair;
  }).join("&");
  return `${rest.slice(0, q + 1)}${cleaned}${hash < 0 ? "" : rest.slice(hash)}`;
}

function firstIndex(text: string, chars: string[]): number {
  let end = text.length;
  for (const c of chars) {
    const i = text.indexOf(c);
    if (i >= 0 && i < end) end = i;
  }
  return end;
}

/** A Proxmox API token secret: a UUID. */
const TOKEN_SECRET_SHAPE = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;

/** What a value that looks like a token secret is shown as. */
export const SECRET_LIKE = "[redacted: looks like a token secret]";

/**
 * `text` with anything shaped like an API token secret (a UUID) masked, and URL secrets hidden.
 * For echoing configuration values, where a secret pasted into the wrong field (`token_id`,
 * `host`) must not be shown.
 */
export function maskSecretLike(text: string): string {
  return redactText(text).replace(TOKEN_SECRET_SHAPE, SECRET_LIKE);
}

/**
 * The approvals page at `/approvals` on the HTTP server: approvers sign in with their own
 * credential (`approver_token`, never the MCP bearer token), see every plan waiting for
 * approval with what it would do (targets, the exact requests, what would be lost, why it needs
 * approval, a countdown to its expiry), and approve or reject it; they can also pull the kill
 * switch. Plain server-rendered HTML; every form carries a per-session CSRF token; the session
 * cookie is HttpOnly and SameSite=Strict; the page cannot be framed.
 *
 * @module
 */
import type { ApprovalBoard, ApprovalRequest } from "../safety/approvals.ts";
import { type FreezeSwitch } from "../safety/freeze.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";

/** What the page works with. */
export interface ApprovalsPageOptions {
  board: ApprovalBoard;
  freeze: FreezeSwitch;
  /** The approvers' credential (at least 16 characters). */
  approverToken: string;
  clock: Clock;
  logger: Logger;
  /** How long a sign-in lasts; default 8 hours. */
  sessionMs?: number;
}

interface PageSession {
  name: string;
  csrf: string;
  expires: number;
}

const COOKIE = "pmc_approver";
const PRE_COOKIE = "pmc_login";
const MAX_FORM = 16 * 1024;
/** Failed sign-ins allowed per minute before the form refuses for a while. */
const MAX_FAILURES = 5;

/** Builds the handler of every `/approvals…` request. */
export function approvalsPage(opts: ApprovalsPageOptions): (req: Request) => Promise<Response> {
  const sessions = new Map<string, PageSession>();
  const sessionMs = opts.sessionMs ?? 8 * 3_600_000;
  let failures: number[] = [];
  const now = () => opts.clock.now();

  const sessionOf = (req: Request): PageSession | undefined => {
    const sid = cookie(req, COOKIE);
    if (!sid) return undefined;
    const s = sessions.get(sid);
    if (!s) return undefined;
    if (s.expires <= now()) {
      sessions.delete(sid);
      return undefined;
    }
    return s;
  };

  return async (req) => {
    const url = new URL(req.url);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (req.method === "GET" && path === "/approvals") {
      const s = sessionOf(req);
      if (!s) return loginPage(url.searchParams.get("error") ?? undefined);
      return html(200, listPage(opts, s, url.searchParams.get("done") ?? undefined, now()));
    }
    if (req.method !== "POST") {
      return html(405, page("Not allowed", "<p>Use the forms on /approvals.</p>"), {
        Allow: "GET, POST",
      });
    }
    const form = await readForm(req);
    if (!form) return html(413, page("Too large", "<p>The form is too large.</p>"));
    if (path === "/approvals/login") {
      const pre = cookie(req, PRE_COOKIE);
      if (!pre || form.get("pre") !== pre) {
        return redirect("/approvals?error=expired");
      }
      failures = failures.filter((t) => t > now() - 60_000);
      if (failures.length >= MAX_FAILURES) return redirect("/approvals?error=throttled");
      const given = form.get("token") ?? "";
      if (!constantEqual(given, opts.approverToken)) {
        failures.push(now());
        opts.logger.log("warning", "Approvals page: failed sign-in");
        return redirect("/approvals?error=credential");
      }
      const name = (form.get("name") ?? "").trim().slice(0, 80) || "approver";
      const sid = randomId();
      sessions.set(sid, { name, csrf: randomId(), expires: now() + sessionMs });
      opts.logger.log("info", `Approvals page: ${name} signed in`);
      return redirect("/approvals", {
        "Set-Cookie": `${COOKIE}=${sid}; Path=/approvals; HttpOnly; SameSite=Strict; Max-Age=${
          Math.round(sessionMs / 1000)
        }`,
      });
    }
    const s = sessionOf(req);
    if (!s) return redirect("/approvals?error=signin");
    if (!constantEqual(form.get("csrf") ?? "", s.csrf)) {
      return html(403, page("Forbidden", "<p>The form's CSRF token is missing or wrong.</p>"));
    }
    const by = `${s.name} (approvals page)`;
    switch (path) {
      case "/approvals/logout": {
        const sid = cookie(req, COOKIE);
        if (sid) sessions.delete(sid);
        return redirect("/approvals", {
          "Set-Cookie": `${COOKIE}=; Path=/approvals; HttpOnly; SameSite=Strict; Max-Age=0`,
        });
      }
      case "/approvals/decide": {
        const action = form.get("action");
        if (action !== "approve" && action !== "reject") {
          return html(400, page("Bad request", "<p>action must be approve or reject.</p>"));
        }
        const id = form.get("id") ?? "";
        const problem = opts.board.decide(id, form.get("fingerprint") ?? "", {
          decision: action === "approve" ? "approved" : "rejected",
          by,
          channel: "page",
          note: (form.get("note") ?? "").trim().slice(0, 500) || undefined,
        });
        if (problem) {
          return redirect(`/approvals?done=${problem === "unknown" ? "gone" : "changed"}`);
        }
        opts.logger.log("info", `Approvals page: ${by} ${action}d request ${id}`);
        return redirect(`/approvals?done=${action}d`);
      }
      case "/approvals/freeze": {
        const reason = (form.get("reason") ?? "").trim().slice(0, 300) || undefined;
        await opts.freeze.freeze({ by, channel: "page", reason });
        opts.logger.log("warning", `Approvals page: ${by} froze all changes`);
        return redirect("/approvals?done=frozen");
      }
      case "/approvals/unfreeze": {
        await opts.freeze.unfreeze();
        opts.logger.log("warning", `Approvals page: ${by} lifted the freeze`);
        return redirect("/approvals?done=unfrozen");
      }
    }
    return html(404, page("Not found", "<p>No such page.</p>"));
  };
}

const DONE: Record<string, string> = {
  approved: "Approved: the waiting call goes on.",
  rejected: "Rejected: the waiting call ends without changing anything.",
  gone: "That request is no longer waiting (answered, withdrawn or expired).",
  changed: "That request changed since the page was loaded; review it again.",
  frozen: "Frozen: every change is refused until the freeze is lifted.",
  unfrozen: "The freeze is lifted: changes are allowed again.",
};

const ERRORS: Record<string, string> = {
  credential: "Wrong approver credential.",
  expired: "The sign-in form expired; try again.",
  throttled: "Too many failed sign-ins; wait a minute.",
  signin: "Sign in first.",
};

function loginPage(error?: string): Response {
  const pre = randomId();
  const body = `${
    error && ERRORS[error] ? `<p class="error" role="alert">${ERRORS[error]}</p>` : ""
  }
<form method="post" action="/approvals/login" id="login">
  <input type="hidden" name="pre" value="${pre}">
  <p><label>Your name (recorded in the audit log)<br><input name="name" autocomplete="username" maxlength="80"></label></p>
  <p><label>Approver credential<br><input type="password" name="token" autocomplete="current-password" required></label></p>
  <p><button type="submit">Sign in</button></p>
</form>`;
  return html(200, page("Sign in to approve changes", body), {
    "Set-Cookie": `${PRE_COOKIE}=${pre}; Path=/approvals; HttpOnly; SameSite=Strict; Max-Age=600`,
  });
}

function listPage(
  opts: ApprovalsPageOptions,
  s: PageSession,
  done: string | undefined,
  now: number,
): string {
  const csrf = `<input type="hidden" name="csrf" value="${s.csrf}">`;
  const frozen = opts.freeze.current();
  const pending = opts.board.pending();
  const flash = done && DONE[done] ? `<p class="flash" role="status">${DONE[done]}</p>` : "";
  const freezeBox = frozen
    ? `<section class="frozen" id="freeze"><h2>Frozen</h2>
<p>Changes are frozen by ${esc(frozen.by)} since ${esc(frozen.at)} (${esc(frozen.channel)})${
      frozen.reason ? `: ${esc(frozen.reason)}` : ""
    }.</p>
<form method="post" action="/approvals/unfreeze">${csrf}<button type="submit" id="unfreeze">Unfreeze</button></form></section>`
    : `<section id="freeze"><h2>Kill switch</h2>
<form method="post" action="/approvals/freeze">${csrf}
<label>Reason <input name="reason" maxlength="300"></label>
<button type="submit" id="freeze-button" class="danger">Freeze all changes</button></form></section>`;
  const list = pending.length
    ? pending.map((r) => requestCard(r, csrf, now)).join("\n")
    : `<p id="none">No plans are waiting for approval.</p>`;
  return page(
    "Changes waiting for approval",
    `<p>Signed in as ${esc(s.name)}.</p>
<form method="post" action="/approvals/logout">${csrf}<button type="submit">Sign out</button></form>
${flash}
${freezeBox}
<section id="pending"><h2>Waiting (${pending.length})</h2>
${list}
</section>
<p><a href="/approvals">Refresh</a></p>`,
  );
}

function requestCard(r: ApprovalRequest, csrf: string, now: number): string {
  const left = Math.max(0, Math.round((Date.parse(r.expiresAt) - now) / 1000));
  const targets = r.plan.targets.map((t) =>
    `<li>${esc(t.type ?? "node")} ${t.vmid ?? ""}${t.name ? ` (${esc(t.name)})` : ""} on ${
      esc(t.node)
    }${t.tags?.length ? `, tags ${esc(t.tags.join(", "))}` : ""}</li>`
  ).join("");
  const requests = r.plan.requests.map((q) => {
    const params = Object.entries(q.params).map(([k, v]) => `${k}=${String(v)}`).join(" ");
    return `<li><code>${esc(q.method)} ${esc(q.path)}${
      params ? ` ${esc(params)}` : ""
    }</code></li>`;
  }).join("");
  const hidden = `${csrf}<input type="hidden" name="id" value="${esc(r.id)}">` +
    `<input type="hidden" name="fingerprint" value="${esc(r.fingerprint)}">`;
  return `<article class="request" id="req-${esc(r.id)}" data-id="${esc(r.id)}">
<h3>${esc(r.tool)}: ${esc(r.summary)}</h3>
<p class="expiry">Expires in <span class="countdown" data-expires="${
    esc(r.expiresAt)
  }">${left} s</span> (${esc(r.expiresAt)})</p>
<p>Why approval is needed:</p><ul>${r.reasons.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>
${
    r.plan.loses
      ? `<p class="loses"><strong>Lost or interrupted:</strong> ${esc(r.plan.loses)}</p>`
      : ""
  }
${(r.plan.warnings ?? []).map((w) => `<p class="warning">Warning: ${esc(w)}</p>`).join("")}
<p>Targets:</p><ul class="targets">${targets}</ul>
<p>Requests that will be sent to Proxmox:</p><ul class="requests">${requests}</ul>
<form method="post" action="/approvals/decide" class="approve">${hidden}
<input type="hidden" name="action" value="approve"><button type="submit" class="approve-button">Approve</button></form>
<form method="post" action="/approvals/decide" class="reject">${hidden}
<input type="hidden" name="action" value="reject"><label>Why (optional) <input name="note" maxlength="500"></label>
<button type="submit" class="reject-button">Reject</button></form>
</article>`;
}

function page(title: string, body: string, nonce = randomId()): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="csp-nonce" content="${nonce}">
<title>${esc(title)} · proxmox-mcp</title>
<style nonce="${nonce}">
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
article{border:1px solid #bbb;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
code{font-size:13px;word-break:break-all}.loses,.error{color:#a00}.flash{background:#eef;padding:.5rem}
.frozen{background:#fee;padding:.5rem 1rem;border:2px solid #a00}.danger{color:#a00}
form{display:inline-block;margin-right:1rem}
</style></head><body><h1>${esc(title)}</h1>
${body}
<script nonce="${nonce}">
for (const el of document.querySelectorAll(".countdown")) {
  const end = Date.parse(el.dataset.expires);
  const tick = () => {
    const s = Math.max(0, Math.round((end - Date.now()) / 1000));
    el.textContent = s > 0 ? s + " s" : "expired";
    if (s > 0) setTimeout(tick, 1000);
  };
  tick();
}
</script></body></html>`;
}

function html(status: number, body: string, headers: Record<string, string> = {}): Response {
  const nonce = /<meta name="csp-nonce" content="([^"]+)">/.exec(body)?.[1] ?? "none";
  return new Response(body, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": `default-src 'none'; style-src 'nonce-${nonce}'; ` +
        `script-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
      "X-Frame-Options": "DENY",
      "X-Content-Type-Options": "nosniff",
      // Not no-referrer: with it browsers send `Origin: null` on form posts, which the Origin
      // allowlist (rightly) refuses.
      "Referrer-Policy": "same-origin",
      ...headers,
    },
  });
}

function redirect(location: string, headers: Record<string, string> = {}): Response {
  return new Response(null, {
    status: 303,
    headers: { Location: location, "Cache-Control": "no-store", ...headers },
  });
}

async function readForm(req: Request): Promise<URLSearchParams | undefined> {
  const declared = Number(req.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > MAX_FORM) return undefined;
  const text = await req.text();
  if (text.length > MAX_FORM) return undefined;
  return new URLSearchParams(text);
}

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.get("cookie") ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}

const encoder = new TextEncoder();

/** Compares in time independent of where the strings differ; an empty `given` never matches. */
function constantEqual(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= b[i] ^ (a[i] ?? 0);
  return diff === 0 && a.length > 0;
}

/** Escapes text for HTML. */
export function esc(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === '"'
        ? "&quot;"
        : "&#39;",
  );
}

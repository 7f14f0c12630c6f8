/**
 * The approvals page end to end: the real server (`serve --http` on the simulator) in a child
 * process, an MCP client over Streamable HTTP without elicitation, and Debian's chromium
 * driven by puppeteer-core signing in, approving, rejecting and freezing.
 */
import assert from "node:assert/strict";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { Client, StreamableHTTPClientTransport } from "../src/server/sdk_client.ts";
import { type CallResult, text } from "./helpers/mutations.ts";
import { START_FLAGS } from "./helpers/stack.ts";

const CHROMIUM = "/usr/bin/chromium";
const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const APPROVER = "approver-secret-for-tests-0123";

const haveChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!haveChromium) {
  console.error(
    `SKIPPED the approvals page browser test: ${CHROMIUM} is missing and could not be ` +
      "installed (.ci/run installs Debian's chromium package with apt-get)",
  );
}

/** `proxmox-mcp serve --http 127.0.0.1:0 --simulator` with approval: human and a page. */
async function startServer(): Promise<{ base: string } & AsyncDisposable> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...START_FLAGS, MAIN, "serve", "--http", "127.0.0.1:0", "--simulator"],
    env: {
      PROXMOX_APPROVAL: "human",
      PROXMOX_APPROVER_TOKEN: APPROVER,
      PROXMOX_MCP_HTTP_TOKEN: "mcp-bearer-token-for-tests-0123",
      NO_COLOR: "1",
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let base: string | undefined;
  while (!base) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Server exited before listening:\n${seen}`);
    seen += value;
    base = /serving MCP over Streamable HTTP at (http:\/\/[^ ]+)\/mcp/.exec(seen)?.[1];
  }
  assert.match(
    seen,
    /destructive changes are confirmed by a person at http:\/\/127\.0\.0\.1:\d+\/approvals/,
  );
  // Keep draining stderr so the child never blocks on a full pipe.
  const drain = (async () => {
    for (;;) if ((await reader.read()).done) break;
  })();
  return {
    base,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
      await drain;
    },
  };
}

async function connect(base: string): Promise<Client> {
  const client = new Client({ name: "approvals-page-test", version: "1" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { Authorization: "Bearer mcp-bearer-token-for-tests-0123" } },
    }),
  );
  return client;
}

/** Starts a call that waits for approval; `waiting` resolves with the request id. */
function callWaiting(client: Client, name: string, args: Record<string, unknown>) {
  const waiting = Promise.withResolvers<{ id: string; message: string }>();
  const result = client.callTool({ name, arguments: args }, undefined, {
    timeout: 120_000,
    resetTimeoutOnProgress: true,
    onprogress: (p) => {
      const id = /request ([0-9a-f-]{36})/.exec(p.message ?? "")?.[1];
      if (id) waiting.resolve({ id, message: p.message! });
    },
  }) as Promise<CallResult>;
  result.then(() => waiting.reject(new Error("the call ended without waiting")), waiting.reject);
  return { waiting: waiting.promise, result };
}

async function launch(): Promise<Browser & AsyncDisposable> {
  const profile = await Deno.makeTempDir({ prefix: "proxmox-mcp-chromium-" });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
    ],
  });
  return Object.assign(browser, {
    async [Symbol.asyncDispose]() {
      await browser.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  });
}

async function submit(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

Deno.test({
  name: "approvals page  a person approves and rejects in a real browser; freeze from the page",
  ignore: !haveChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using server = await startServer();
    const client = await connect(server.base);
    await using browser = await launch();
    const page = await browser.newPage();

    await t.step("no approval without the approver credential", async () => {
      await page.goto(`${server.base}/approvals`);
      assert.equal(await page.$("#pending"), null, "the list is not shown before signing in");
      await page.type('input[name="name"]', "Mallory");
      await page.type('input[name="token"]', "mcp-bearer-token-for-tests-0123");
      await submit(page, 'button[type="submit"]');
      assert.match(
        await page.$eval("body", (b) => b.textContent ?? ""),
        /Wrong approver credential/,
      );
      const res = await fetch(`${server.base}/approvals/decide`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: "action=approve&id=x&fingerprint=y",
        redirect: "manual",
      });
      await res.body?.cancel();
      assert.equal(res.status, 303);
      assert.equal(res.headers.get("location"), "/approvals?error=signin");
    });

    await t.step("sign in, see the pending plan, approve: the waiting call completes", async () => {
      const call = callWaiting(client, "guest_delete", { vmid: 105 });
      const { id, message } = await call.waiting;
      assert.match(message, new RegExp(`waiting for approval at ${server.base}/approvals`));
      await page.goto(`${server.base}/approvals`);
      await page.type('input[name="name"]', "Alice");
      await page.type('input[name="token"]', APPROVER);
      await submit(page, 'button[type="submit"]');
      const card = `article[data-id="${id}"]`;
      const shown = await page.$eval(card, (a) => a.textContent ?? "");
      assert.match(shown, /guest_delete: delete qemu 105/);
      assert.match(shown, /DELETE \/nodes\/pve\d\/qemu\/105/);
      assert.match(shown, /Lost or interrupted:/);
      assert.match(shown, /Targets:\s*qemu 105/);
      const countdown = await page.$eval(`${card} .countdown`, (c) => c.textContent ?? "");
      assert.match(countdown, /^\d+ s$/);
      const cookies = await browser.cookies();
      const session = cookies.find((c) => c.name === "pmc_approver");
      assert.ok(session?.httpOnly, "the session cookie is HttpOnly");
      assert.equal(session?.sameSite, "Strict");

      // The session alone is not enough: a form without its CSRF token is refused.
      const forged = await fetch(`${server.base}/approvals/decide`, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Cookie: `pmc_approver=${session!.value}`,
        },
        body: `action=approve&id=${id}&fingerprint=x`,
        redirect: "manual",
      });
      await forged.body?.cancel();
      assert.equal(forged.status, 403);

      await submit(page, `${card} .approve-button`);
      assert.match(await page.$eval(".flash", (f) => f.textContent ?? ""), /^Approved/);
      const r = await call.result;
      assert.ok(!r.isError, text(r));
      assert.equal(r.structuredContent?.status, "done");
      assert.equal(await page.$(card), null, "the answered plan is gone from the list");
      const gone = await client.callTool({ name: "guest_status", arguments: { vmid: 105 } });
      assert.equal(gone.isError, true);
    });

    await t.step("reject in the browser: the call ends refused, nothing changed", async () => {
      const call = callWaiting(client, "guest_power", { vmid: 100, action: "stop" });
      const { id } = await call.waiting;
      await page.goto(`${server.base}/approvals`);
      const card = `article[data-id="${id}"]`;
      await page.type(`${card} input[name="note"]`, "not during business hours");
      await submit(page, `${card} .reject-button`);
      const r = await call.result;
      assert.equal(r.isError, true);
      assert.match(
        text(r),
        /^Refused: Alice \(approvals page\) rejected stop qemu 100 .*\(via page: not during business hours\)/,
      );
      const status = await client.callTool({ name: "guest_status", arguments: { vmid: 100 } });
      assert.equal((status.structuredContent as { status?: string }).status, "running");
    });

    await t.step("Freeze on the page refuses every change; Unfreeze lifts it", async () => {
      await page.goto(`${server.base}/approvals`);
      await page.type('input[name="reason"]', "incident 7");
      await submit(page, "#freeze-button");
      assert.match(await page.$eval("#freeze", (f) => f.textContent ?? ""), /Frozen/);
      const r = await client.callTool({
        name: "guest_update",
        arguments: { vmid: 100, description: "x" },
      }) as CallResult;
      assert.equal(r.isError, true);
      assert.match(
        text(r),
        /^Refused: changes are frozen by Alice \(approvals page\) since .*incident 7/,
      );
      const read = await client.callTool({ name: "guest_list", arguments: {} });
      assert.ok(!read.isError);
      await submit(page, "#unfreeze");
      const after = await client.callTool({
        name: "guest_update",
        arguments: { vmid: 100, description: "x" },
      });
      assert.ok(!after.isError, JSON.stringify(after.content));
    });

    await client.close();
  },
});

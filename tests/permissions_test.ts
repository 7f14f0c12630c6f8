import assert from "node:assert/strict";
import { binaryFlags, compileArgs, LAZY_IMPORTS_FLAG, TARGETS } from "../scripts/compile.ts";
import {
  readPermissionSet,
  renderFlags,
  runtimeFlags,
  serverFlags,
  SOURCE_DIR,
} from "../scripts/permissions.ts";
import { CLI_ENV_VARS } from "../src/cli/approvals.ts";
import { CONFIG_ENV_VARS } from "../src/config/mod.ts";
import { HTTP_ENV_VARS } from "../src/server/http_settings.ts";
import { Client, StreamableHTTPClientTransport } from "../src/server/sdk_client.ts";
import { startSimulator } from "../src/simulator/mod.ts";

const ROOT = new URL("../", import.meta.url);
const MAIN = new URL("src/main.ts", ROOT).pathname;
const TOKEN = "permissions-test-token-0123456789";

/** Variables the subprocess keeps (Deno needs them to find its cache), plus `extra`. */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PROBE_UNLISTED: "visible?", ...extra };
  for (const name of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(name);
    if (v !== undefined) env[name] = v;
  }
  return env;
}

/** Runs `deno run <server flags> <args>` in `cwd` to completion. */
async function runWithFlags(cwd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...(await serverFlags()), ...args],
    cwd,
    env: childEnv(env),
    clearEnv: true,
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("permission flags  one source of truth", async (t) => {
  const set = await readPermissionSet();

  await t.step("--allow-env lists exactly the variables the code reads", () => {
    assert.deepEqual(
      [...(set.env as string[])].sort(),
      [...CONFIG_ENV_VARS, ...HTTP_ENV_VARS, ...CLI_ENV_VARS, "DEBUG"].sort(),
      "deno.json permissions.server.env must list every variable the code reads",
    );
  });

  await t.step("reads are limited to config, CA and audit files; writes to the audit log", () => {
    assert.deepEqual(set.read, [
      "src",
      "config.json",
      "ca.pem",
      "proxmox-mcp.audit.jsonl",
      "proxmox-mcp.audit.jsonl.key",
      "proxmox-mcp.audit.jsonl.head",
      "proxmox-mcp.audit.jsonl.head.tmp",
      "/etc/proxmox-mcp",
      "/etc/pve/pve-root-ca.pem",
      "/var/lib/proxmox-mcp",
    ]);
    assert.deepEqual(set.write, [
      "proxmox-mcp.audit.jsonl",
      "proxmox-mcp.audit.jsonl.key",
      "proxmox-mcp.audit.jsonl.head",
      "proxmox-mcp.audit.jsonl.head.tmp",
      "/var/lib/proxmox-mcp",
    ]);
    assert.equal(set.net, true);
    assert.equal(set.run ?? false, false);
    assert.equal(set.sys ?? false, false);
    assert.equal(set.ffi ?? false, false);
  });

  await t.step("start, compile and the container use the same set", async () => {
    const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
    assert.match(
      config.tasks.start,
      /^deno run -P=server (--unstable-lazy-dynamic-imports )?(--v8-flags=\S+ )?--no-prompt src\/main\.ts$/,
    );
    const runtime = await runtimeFlags();
    const flags = await serverFlags();
    assert.deepEqual(flags, [
      ...runtime,
      ...renderFlags({
        ...set,
        read: (set.read as string[]).map((p) => p === "src" ? SOURCE_DIR : p),
      }),
    ]);
    assert.ok(flags.includes("--no-prompt"));
    for (const flag of runtime) assert.ok(config.tasks.start.includes(flag), flag);
    for (const target of Object.keys(TARGETS)) {
      const args = compileArgs(target, flags);
      const binary = binaryFlags(flags);
      assert.deepEqual(args.slice(0, 3 + binary.length), [
        "compile",
        "--frozen",
        "--no-check",
        ...binary,
      ]);
      assert.ok(!args.includes(LAZY_IMPORTS_FLAG));
      assert.ok(!args.some((a) => a.startsWith("--allow-read=") && a.includes(SOURCE_DIR)));
    }
    assert.equal(Object.keys(TARGETS).length, 5);
    const dockerfile = await Deno.readTextFile(new URL("Dockerfile", ROOT));
    assert.match(dockerfile, /deno task compile "\$target"/);
    assert.match(dockerfile, /FROM gcr\.io\/distroless\/cc-debian12:nonroot/);
  });
});

Deno.test("permission flags  the server works with them and nothing more", async (t) => {
  await using sim = await startSimulator();
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-perm-" });
  const outside = await Deno.makeTempDir({ prefix: "proxmox-mcp-outside-" });
  const url = new URL(sim.url);
  const base = {
    host: url.hostname,
    port: Number(url.port),
    token_id: sim.credentials.admin.tokenId,
    token_secret: sim.credentials.admin.tokenSecret,
    read_only: false,
  };
  const writeConfig = (where: string, extra: Record<string, unknown>) =>
    Deno.writeTextFile(`${where}/config.json`, JSON.stringify({ ...base, ...extra }), {
      mode: 0o600,
    });
  await Deno.writeTextFile(`${dir}/ca.pem`, sim.caCert);
  await Deno.writeTextFile(`${outside}/ca.pem`, sim.caCert);
  await Deno.writeTextFile(`${outside}/secret.txt`, "secret");

  try {
    await t.step("serves MCP over HTTP with a CA file and an audit log in place", async () => {
      await writeConfig(dir, { ca_file: "ca.pem", audit_log: "proxmox-mcp.audit.jsonl" });
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", ...(await serverFlags()), MAIN, "--http", "127.0.0.1:0"],
        cwd: dir,
        env: childEnv({ PROXMOX_MCP_HTTP_TOKEN: TOKEN }),
        clearEnv: true,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let log = "";
      try {
        while (!/Streamable HTTP at \S+\/mcp/.test(log)) {
          const { done, value } = await reader.read();
          if (done) throw new Error(`the server exited:\n${log}`);
          log += value;
        }
        const endpoint = /Streamable HTTP at (\S+\/mcp)/.exec(log)![1];
        const client = new Client({ name: "perm-test", version: "1" });
        const transport = new StreamableHTTPClientTransport(new URL(endpoint), {
          requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
        });
        await client.connect(transport);
        const result = await client.callTool({ name: "node_list", arguments: {} });
        assert.notEqual(result.isError, true, JSON.stringify(result));
        assert.ok(JSON.stringify(result.structuredContent).includes("pve1"));
        await transport.terminateSession();
        await client.close();
        assert.ok((await Deno.stat(`${dir}/proxmox-mcp.audit.jsonl`)).isFile, "audit log created");
      } finally {
        child.kill("SIGTERM");
        await child.status;
        for (;;) if ((await reader.read()).done) break;
      }
    });

    await t.step("a CA file outside the allowed paths is denied, with the fix", async () => {
      await writeConfig(dir, { ca_file: `${outside}/ca.pem` });
      const r = await runWithFlags(dir, [MAIN, "call", "node_list"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /ca_file.*may not read it: grant --allow-read=/);
    });

    await t.step("a config file outside the allowed paths is denied", async () => {
      await writeConfig(outside, { ca_file: "ca.pem" });
      const r = await runWithFlags(dir, [
        MAIN,
        "call",
        "node_list",
        "--config",
        `${outside}/config.json`,
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /may not read it: grant --allow-read=/);
    });

    await t.step(
      "an audit log outside the allowed paths: reads work, changes are refused",
      async () => {
        await writeConfig(dir, { ca_file: "ca.pem", audit_log: `${outside}/audit.jsonl` });
        const read = await runWithFlags(dir, [MAIN, "call", "node_list"]);
        assert.equal(read.code, 0, read.stderr);
        assert.match(
          read.stderr,
          /Changes are refused: audit log .*audit\.jsonl cannot be written: this process may not write there: grant --allow-write=/,
        );
        const change = await runWithFlags(dir, [
          MAIN,
          "call",
          "guest_power",
          '{"vmid":101,"action":"start","dry_run":true}',
        ]);
        assert.notEqual(change.code, 0);
        assert.match(
          change.stdout + change.stderr,
          /changes are off because audit log .* cannot be written/,
        );
        await assert.rejects(Deno.stat(`${outside}/audit.jsonl`), Deno.errors.NotFound);
      },
    );

    await t.step("other files, variables, subprocesses and system info are denied", async () => {
      await writeConfig(dir, {});
      const probe = new URL("helpers/permission_probe.ts", import.meta.url).pathname;
      const r = await runWithFlags(dir, [probe, outside], { PROXMOX_HOST: "pve.example" });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), {
        readConfigInCwd: "allowed",
        writeAuditInCwd: "allowed",
        readListedEnv: "allowed",
        readOutside: "NotCapable",
        writeOutside: "NotCapable",
        writeConfigInCwd: "NotCapable",
        readPasswd: "NotCapable",
        readUnlistedEnv: "NotCapable",
        readHome: "NotCapable",
        listEnv: "NotCapable",
        run: "NotCapable",
        sys: "NotCapable",
      });
      await assert.rejects(Deno.stat(`${outside}/written.txt`), Deno.errors.NotFound);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

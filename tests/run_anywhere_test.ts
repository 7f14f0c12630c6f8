import assert from "node:assert/strict";
import { serverFlags } from "../scripts/permissions.ts";
import { Client } from "../src/server/sdk_client.ts";
import { StdioClientTransport } from "../src/server/sdk_stdio_client.ts";
import { startSimulator } from "../src/simulator/mod.ts";
import { textOf } from "./helpers/stack.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MAIN = `${ROOT}src/main.ts`;

/** Deno's cache folder, so children with another HOME still find the dependencies. */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output()).stdout,
  ),
).denoDir as string;

/** Runs deno with `args` in `cwd` with exactly `env` (plus what Deno needs to find its cache). */
async function run(cwd: string, args: string[], env: Record<string, string>) {
  const full: Record<string, string> = { NO_COLOR: "1", DENO_DIR, ...env };
  const path = Deno.env.get("PATH");
  if (path !== undefined) full.PATH = path;
  full.HOME ??= Deno.env.get("HOME") ?? "/";
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: full,
    clearEnv: true,
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the README's ways of starting the server work from / and from $HOME", async (t) => {
  await using sim = await startSimulator();
  const url = new URL(sim.url);
  const home = await Deno.makeTempDir({ prefix: "proxmox-mcp-home-" });
  // The whole configuration in PROXMOX_* variables, as the README's client configs pass it.
  const env = {
    PROXMOX_HOST: url.hostname,
    PROXMOX_PORT: url.port,
    PROXMOX_TOKEN_ID: sim.credentials.admin.tokenId,
    PROXMOX_TOKEN_SECRET: sim.credentials.admin.tokenSecret,
    PROXMOX_FINGERPRINT: sim.fingerprint,
    HOME: home,
  };
  const binaryFlags = await serverFlags(); // what the compiled binary has baked in
  const ways: [string, string[]][] = [
    ["deno run -P=server", ["run", "-P=server", "--no-prompt", MAIN]],
    ["the release binary's flags", ["run", ...binaryFlags, MAIN]],
  ];
  try {
    for (const cwd of ["/", home, `${ROOT}src`]) {
      for (const [label, command] of ways) {
        await t.step(`${label} from ${cwd === home ? "$HOME" : cwd}: call node_list`, async () => {
          const r = await run(cwd, [...command, "call", "node_list"], env);
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, /pve1/);
          assert.doesNotMatch(r.stderr, /may not read|allow-read/);
        });
      }
    }

    await t.step("an MCP client starting -P=server from / gets tools and answers", async () => {
      const transport = new StdioClientTransport({
        command: Deno.execPath(),
        args: ["run", "-P=server", "--no-prompt", MAIN],
        cwd: "/",
        env: { ...env, DENO_DIR, PATH: Deno.env.get("PATH") ?? "" },
        stderr: "pipe",
      });
      const client = new Client({ name: "anywhere", version: "1" });
      await client.connect(transport);
      try {
        const r = await client.callTool({ name: "guest_status", arguments: { vmid: 101 } });
        assert.notEqual(r.isError, true, textOf(r));
        assert.equal(client.getInstructions()?.includes("invalid"), false);
      } finally {
        await client.close();
      }
    });

    await t.step("the simulator from / with both ways", async () => {
      for (const [, command] of ways) {
        const r = await run("/", [...command, "call", "guest_list", "{}", "--simulator"], {
          HOME: home,
        });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /web-01/);
      }
    });

    await t.step("a missing config file is reported as missing, not as a permission", async () => {
      for (const [, command] of ways) {
        const r = await run(home, [
          ...command,
          "call",
          "node_list",
          "--config",
          "/etc/proxmox-mcp/config.json",
        ], { HOME: home });
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /config\.json: file not found/);
        assert.doesNotMatch(r.stderr, /may not read/);
      }
    });

    await t.step(
      "no config anywhere: the missing credentials are named, not a permission",
      async () => {
        const r = await run("/", ["run", "-P=server", "--no-prompt", MAIN, "call", "node_list"], {
          HOME: home,
          PROXMOX_HOST: "pve1.example.lan",
        });
        assert.equal(r.code, 2);
        assert.match(r.stderr, /no credentials/);
        assert.doesNotMatch(r.stderr, /may not read|allow-read/);
      },
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("an audit log in a missing folder: reads work, changes are refused with the fix", async (t) => {
  await using sim = await startSimulator();
  const url = new URL(sim.url);
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-audit-" });
  const audit = `${dir}/missing/audit.jsonl`;
  const env = {
    PROXMOX_HOST: url.hostname,
    PROXMOX_PORT: url.port,
    PROXMOX_TOKEN_ID: sim.credentials.admin.tokenId,
    PROXMOX_TOKEN_SECRET: sim.credentials.admin.tokenSecret,
    PROXMOX_FINGERPRINT: sim.fingerprint,
    PROXMOX_READ_ONLY: "false",
    PROXMOX_AUDIT_LOG: audit,
  };
  try {
    const transport = new StdioClientTransport({
      command: Deno.execPath(),
      args: ["run", "--allow-net", "--allow-read", "--allow-env", `--allow-write=${dir}`, MAIN],
      cwd: dir,
      env: { ...env, DENO_DIR, PATH: Deno.env.get("PATH") ?? "", HOME: dir },
      stderr: "pipe",
    });
    const client = new Client({ name: "audit-missing", version: "1" });
    await client.connect(transport);
    try {
      await t.step("reads work", async () => {
        const r = await client.callTool({ name: "node_list", arguments: {} });
        assert.notEqual(r.isError, true, textOf(r));
      });
      await t.step("a change is refused with one line naming the path and the fix", async () => {
        const r = await client.callTool({
          name: "guest_power",
          arguments: { vmid: 101, action: "start" },
        });
        assert.equal(r.isError, true);
        const text = textOf(r);
        assert.equal(text.split("\n").length, 1, text);
        assert.ok(text.includes(`audit log ${audit} cannot be written`), text);
        assert.ok(text.includes(`mkdir -p ${dir}/missing`), text);
        assert.equal(sim.state.guests.get(101)!.status, "running", "nothing changed");
      });
    } finally {
      await client.close();
    }
    await t.step("doctor reports it as a problem", async () => {
      const r = await run(dir, [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-env",
        `--allow-write=${dir}`,
        MAIN,
        "doctor",
      ], env);
      assert.equal(r.code, 1, r.stdout);
      assert.ok(r.stdout.includes(`problem: audit log ${audit} cannot be written`), r.stdout);
      assert.doesNotMatch(r.stdout, /no problems found/);
      await assert.rejects(
        Deno.stat(`${dir}/missing`),
        Deno.errors.NotFound,
        "doctor creates nothing",
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

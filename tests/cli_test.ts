import assert from "node:assert/strict";
import { serverFlags } from "../scripts/permissions.ts";
import { START_FLAGS, startStack, textOf } from "./helpers/stack.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MAIN = `${ROOT}src/main.ts`;

async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const cwd = opts.cwd ?? await Deno.makeTempDir({ prefix: "proxmox-mcp-cli-" });
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...START_FLAGS, MAIN, ...args],
    cwd,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: "null",
  }).output();
  if (!opts.cwd) await Deno.remove(cwd, { recursive: true });
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("call  a change that needs confirmation: the person at the terminal confirms", async (t) => {
  const stop = ["call", "guest_power", '{"vmid":101,"action":"stop"}', "--simulator"];

  await t.step("without a terminal: the plan and exit status 3, nothing changed", async () => {
    const r = await cli(stop);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /Confirmation required; nothing was changed/);
    assert.match(r.stdout, /stop qemu 101/);
    assert.match(
      r.stdout,
      /Not confirmed: nothing was changed\. There is no terminal to ask on; add --yes/,
    );
    assert.doesNotMatch(r.stdout, /confirmation_token=|call guest_power again/);
  });

  await t.step("--yes confirms without asking", async () => {
    const r = await cli([...stop, "--yes"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /stop/i);
    assert.doesNotMatch(r.stdout, /Confirmation required/);
  });

  for (const [answer, code] of [["y", 0], ["n", 3], ["", 3]] as const) {
    await t.step(`on a terminal, answering "${answer}"`, async () => {
      const command = [Deno.execPath(), "run", ...START_FLAGS, MAIN, ...stop]
        .map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
      const child = new Deno.Command("script", {
        args: ["-qec", command, "/dev/null"],
        env: { NO_COLOR: "1" },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes("Proceed? [y/N]")) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`no question asked:\n${seen}`);
        seen += value;
      }
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(`${answer}\n`));
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        seen += value;
      }
      await writer.close().catch(() => {});
      const status = await child.status;
      await child.stderr.cancel();
      assert.equal(status.code, code, seen);
      assert.match(seen, /stop qemu 101/);
      if (code === 3) assert.match(seen, /Not confirmed: nothing was changed\. You answered no/);
    });
  }
});

Deno.test("simulator --port --seed  the same port, credentials and UPIDs in every run", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const run = async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...START_FLAGS,
        "--allow-write",
        MAIN,
        "simulator",
        "--port",
        `${port}`,
        "--seed",
        "7",
      ],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    try {
      while (!/\n\}\s*$/.test(out)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`the simulator ended:\n${out}`);
        out += value;
      }
      const config = JSON.parse(out.slice(out.indexOf("{")));
      assert.equal(config.port, port);
      const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(config.ca_file)] });
      try {
        const res = await fetch(`https://127.0.0.1:${port}/api2/json/nodes/pve1/tasks?limit=5`, {
          client,
          headers: { Authorization: `PVEAPIToken=${config.token_id}=${config.token_secret}` },
        });
        const tasks = (await res.json()).data as { upid: string }[];
        assert.ok(tasks.length > 0);
        return { upids: tasks.map((x) => x.upid), secret: config.token_secret as string };
      } finally {
        client.close();
      }
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel().catch(() => {});
    }
  };
  const first = await run();
  const second = await run();
  assert.deepEqual(second, first);
});

Deno.test("unknown tasks and storages: errors that list what exists", async (t) => {
  await using stack = await startStack();
  const pve1 = [...stack.sim.state.tasks.values()].find((x) => x.node === "pve1")!;
  const madeUp = pve1.upid.replace(/:[0-9A-F]{8}:([a-z]+):/, ":0000ABCD:$1:");

  await t.step("the simulator answers an unknown UPID as PVE does", async () => {
    const { SimApi } = await import("./helpers/sim_client.ts");
    using api = new SimApi(stack.sim);
    const r = await api.call("GET", `/nodes/pve1/tasks/${encodeURIComponent(madeUp)}/status`);
    assert.equal(r.status, 400);
    assert.deepEqual(r.body?.errors, { upid: "no such task" });
  });

  for (const tool of ["task_status", "task_log"]) {
    await t.step(`${tool} with a made-up UPID names the newest tasks`, async () => {
      const r = await stack.client.callTool({ name: tool, arguments: { upid: madeUp } });
      assert.equal(r.isError, true);
      assert.match(
        textOf(r),
        /no such task on pve1: copy the UPID whole .* the newest tasks on pve1 are UPID:pve1:/,
      );
      assert.doesNotMatch(textOf(r), /%3A|Proxmox API error/);
    });
  }

  await t.step("storage_content with an unknown storage names the node's storages", async () => {
    const r = await stack.client.callTool({
      name: "storage_content",
      arguments: { storage: "nope", node: "pve1" },
    });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /^Storage nope does not exist on pve1: storages are .*local/);
  });
});

Deno.test("demo  works under the release binary's permission set", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "proxmox-mcp-demo-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...(await serverFlags()), MAIN, "demo"],
      cwd,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
    assert.match(text, /in process \(this binary may not start programs\)/);
    assert.match(text, /That was a real MCP client/);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { Client } from "../src/server/sdk_client.ts";
import { StdioClientTransport } from "../src/server/sdk_stdio_client.ts";
import { startSimulator } from "../src/simulator/mod.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import { resolveToolsets } from "../src/tools/toolsets.ts";
import { HANDSHAKE, startRawServer } from "./helpers/raw_stdio.ts";
import { START_FLAGS, startStack, textOf, writeSimConfig } from "./helpers/stack.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
type Answer = Record<string, unknown> & { error?: { code: number; message: string } };

Deno.test("stdio  every malformed request that carries an id gets a JSON-RPC answer", async (t) => {
  await using server = await startRawServer(["--simulator", "--read-only"]);
  await server.send(...HANDSHAKE);
  await server.answer("init");
  const error = async (id: number | null, code: number, pattern: RegExp) => {
    const a = await server.answer(id) as Answer;
    assert.equal(a.error?.code, code, JSON.stringify(a));
    assert.match(a.error!.message, pattern);
  };

  await t.step("a batch array is refused element by element", async () => {
    await server.write(
      JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "ping" }, {
        jsonrpc: "2.0",
        id: 2,
        method: "ping",
      }]) + "\n",
    );
    const batch = await server.next() as Answer[];
    assert.ok(Array.isArray(batch));
    assert.deepEqual(batch.map((a) => a.id), [1, 2]);
    for (const a of batch) assert.match(a.error!.message, /batches are not supported/);
  });

  await t.step("no method, a numeric method, jsonrpc 1.0", async () => {
    await server.send({ jsonrpc: "2.0", id: 3 });
    await error(3, -32600, /method is missing/);
    await server.send({ jsonrpc: "2.0", id: 4, method: 5 });
    await error(4, -32600, /method must be a string/);
    await server.send({ jsonrpc: "1.0", id: 5, method: "ping" });
    await error(5, -32600, /jsonrpc must be "2\.0"/);
  });

  await t.step("params as a string or null", async () => {
    await server.send({ jsonrpc: "2.0", id: 6, method: "tools/list", params: "all" });
    await error(6, -32602, /params must be an object, got "all"/);
    await server.send({ jsonrpc: "2.0", id: 7, method: "tools/list", params: null });
    await error(7, -32602, /params must be an object, got null/);
  });

  await t.step("two messages on one line: both answered", async () => {
    await server.write(
      JSON.stringify({ jsonrpc: "2.0", id: 8, method: "ping" }) +
        JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping" }) + "\n",
    );
    await error(8, -32600, /2 messages on one line/);
    await error(9, -32600, /2 messages on one line/);
  });

  await t.step("not JSON: a parse error", async () => {
    await server.write('{"jsonrpc":"2.0","id":10,"method":\n');
    await error(null, -32700, /Parse error/);
  });

  await t.step("invalid params are readable, not raw validation output", async () => {
    await server.send({ jsonrpc: "2.0", id: 11, method: "tools/call", params: { arguments: {} } });
    const a = await server.answer(11) as Answer;
    assert.equal(a.error?.code, -32602);
    assert.match(a.error!.message, /^Invalid params for tools\/call: params\.name: /);
    assert.doesNotMatch(a.error!.message, /[{[]\s*"/, "no JSON dump in the message");
  });

  await t.step("__proto__ in arguments is an unknown argument like any other", async () => {
    await server.write(
      '{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"guest_status",' +
        '"arguments":{"vmid":101,"__proto__":{"polluted":true}}}}\n',
    );
    const a = await server.answer(12) as {
      result: { isError: boolean; content: [{ text: string }] };
    };
    assert.equal(a.result.isError, true);
    assert.match(a.result.content[0].text, /Unknown argument "__proto__": this tool accepts vmid/);
  });

  await t.step("the server still serves after all that", async () => {
    await server.send({
      jsonrpc: "2.0",
      id: 13,
      method: "tools/call",
      params: {
        name: "guest_status",
        arguments: { vmid: 101 },
      },
    });
    const a = await server.answer(13) as { result: { isError?: boolean } };
    assert.notEqual(a.result.isError, true);
  });
});

Deno.test("stdio  requests before initialize are refused", async () => {
  await using server = await startRawServer(["--simulator"]);
  await server.send({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: {
      name: "node_list",
      arguments: {},
    },
  });
  const a = await server.answer(1) as Answer;
  assert.equal(a.error?.code, -32600);
  assert.match(a.error!.message, /tools\/call before initialize/);
  await server.send({ jsonrpc: "2.0", id: 2, method: "ping" });
  assert.deepEqual((await server.answer(2)).result, {});
  await server.send(...HANDSHAKE);
  await server.answer("init");
  await server.send({ jsonrpc: "2.0", id: 3, method: "tools/list" });
  assert.ok(((await server.answer(3)).result as { tools: unknown[] }).tools.length > 5);
});

Deno.test("stdio  a message of 10 MiB or more is refused and the server keeps serving", async () => {
  await using server = await startRawServer(["--simulator"], { env: {} });
  await server.send(...HANDSHAKE);
  await server.answer("init");
  const huge = JSON.stringify({
    jsonrpc: "2.0",
    id: 21,
    method: "tools/call",
    params: { name: "guest_update", arguments: { vmid: 101, description: "x".repeat(20e6) } },
  });
  await server.write(huge + "\n");
  const a = await server.answer(21) as Answer;
  assert.equal(a.error?.code, -32600);
  assert.match(a.error!.message, /the message is 19\.1 MiB; the limit is 4\.0 MiB/);
  await server.write("y".repeat(64 * 1024 * 1024) + "\n");
  const b = await server.answer(null) as Answer;
  assert.match(b.error!.message, /the limit is 4\.0 MiB/);
  await server.send({ jsonrpc: "2.0", id: 22, method: "ping" });
  assert.deepEqual((await server.answer(22)).result, {});
});

Deno.test("stdio  the server exits when stdin closes, answering what it was asked", async (t) => {
  await t.step("idle: exits with status 0", async () => {
    await using server = await startRawServer(["--simulator"]);
    await server.send(...HANDSHAKE);
    await server.answer("init");
    const status = await server.endInput(10_000);
    assert.equal(status.code, 0, server.stderr());
  });

  await t.step("a request just before EOF is still answered", async () => {
    await using server = await startRawServer(["--simulator"]);
    await server.send(...HANDSHAKE, { jsonrpc: "2.0", id: 2, method: "tools/list" });
    const status = server.endInput(10_000);
    await server.answer("init");
    const list = await server.answer(2) as { result: { tools: { name: string }[] } };
    assert.ok(list.result.tools.some((x) => x.name === "guest_list"));
    assert.equal((await status).code, 0);
  });

  await t.step("a change in flight is finished or cancelled, and audited", async () => {
    await using sim = await startSimulator({ taskDurationMs: 60_000 });
    const { dir, path } = await writeSimConfig(sim, { read_only: false });
    const audit = `${dir}/audit.jsonl`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({ ...JSON.parse(await Deno.readTextFile(path)), audit_log: audit }),
    );
    try {
      await using server = await startRawServer(["--config", path], {
        flags: [...START_FLAGS, `--allow-write=${dir}`],
      });
      await server.send(...HANDSHAKE);
      await server.answer("init");
      const backup = { name: "backup_run", arguments: { vmid: 101, storage: "local" } };
      await server.send({ jsonrpc: "2.0", id: 5, method: "tools/call", params: backup });
      const plan = await server.answer(5) as {
        result: { structuredContent: { confirmation_token: string } };
      };
      const token = plan.result.structuredContent.confirmation_token;
      assert.ok(token, JSON.stringify(plan));
      await server.send({
        jsonrpc: "2.0",
        id: 6,
        method: "tools/call",
        params: {
          ...backup,
          arguments: { ...backup.arguments, confirmation_token: token },
          _meta: { progressToken: "p6" },
        },
      });
      // The first progress notification shows the call is in flight, waiting for its task.
      for (;;) {
        const m = await server.next() as { method?: string };
        if (m.method === "notifications/progress") break;
      }
      const status = await server.endInput(10_000);
      assert.equal(status.code, 0, server.stderr());
      const lines = (await Deno.readTextFile(audit)).trim().split("\n").map((l) => JSON.parse(l));
      const last = lines.at(-1);
      assert.equal(last.tool, "backup_run");
      assert.equal(last.event, "result", JSON.stringify(lines));
      assert.match(String(last.outcome), /cancelled|done|started|running/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("stdio  an invalid configuration reaches the assistant", async (t) => {
  const cwd = await Deno.makeTempDir({ prefix: "proxmox-mcp-badconfig-" });
  const env = { PROXMOX_HOST: "pve1.example.lan", PROXMOX_PORT: "99999", NO_COLOR: "1" };
  try {
    const transport = new StdioClientTransport({
      command: Deno.execPath(),
      args: ["run", ...START_FLAGS, MAIN],
      cwd,
      env: { ...env, PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "" },
      stderr: "pipe",
    });
    const client = new Client({ name: "config-test", version: "1" });
    await client.connect(transport);
    let line = "";
    try {
      await t.step("the handshake completes and the instructions name the problem", () => {
        const instructions = client.getInstructions() ?? "";
        assert.match(instructions, /configuration .* is invalid/);
        assert.match(instructions, /config PROXMOX_PORT: /);
        assert.match(instructions, /config auth: no credentials/);
      });
      await t.step("every tool call answers the problem and the fix", async () => {
        for (const name of ["node_list", "guest_status", "guest_power", "no_such_tool"]) {
          const r = await client.callTool({ name, arguments: { vmid: 101 } });
          assert.equal(r.isError, true, name);
          assert.match(textOf(r), /config PROXMOX_PORT: .*\n- config auth: no credentials/);
          assert.match(textOf(r), /restart the server/);
          line = /config PROXMOX_PORT: [^\n]*/.exec(textOf(r))![0];
        }
      });
    } finally {
      await client.close();
    }
    await t.step("doctor prints the same line", async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...START_FLAGS, MAIN, "doctor"],
        cwd,
        env,
        stdin: "null",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 1);
      assert.ok(text.includes(`problem: ${line}\n`), text);
    });
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("tool answers say what to do: read-only and unknown tools", async (t) => {
  await using stack = await startStack({ config: { toolsets: [] } }); // the everyday set
  await t.step("a tool hidden by read-only mode says how to allow changes", async () => {
    const r = await stack.client.callTool({
      name: "guest_power",
      arguments: { vmid: 101, action: "stop" },
    });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /this server is read-only/);
    assert.match(textOf(r), /"read_only": false .*PROXMOX_READ_ONLY=false/);
  });
  await t.step("an unknown tool gets a did-you-mean", async () => {
    const r = await stack.client.callTool({ name: "guest_stauts", arguments: { vmid: 101 } });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /^Unknown tool "guest_stauts": did you mean guest_status\?/);
  });
  await t.step("a tool of a toolset that is off says how to turn it on", async () => {
    const on = resolveToolsets(undefined);
    const off = catalogue.find((x) => !on.has(x.toolset));
    assert.ok(off, "some toolset is off by default");
    for (const name of [off.name, "vm_create"]) {
      const toolset = catalogue.find((x) => x.name === name)!.toolset;
      const r = await stack.client.callTool({ name, arguments: {} });
      assert.equal(r.isError, true);
      assert.equal(
        textOf(r),
        `Refused ${name}: it is in the ${toolset} toolset, which this server does not ` +
          `offer. Add "${toolset}" to toolsets in the config, PROXMOX_TOOLSETS or --toolsets ` +
          `(e.g. --toolsets default,${toolset}) to use it`,
      );
    }
    assert.equal(catalogue.find((x) => x.name === "vm_create")?.toolset, "provision");
  });

  await t.step("invalid arguments are readable", async () => {
    const r = await stack.client.callTool({ name: "guest_status", arguments: { vmid: 42 } });
    assert.equal(r.isError, true);
    assert.equal(
      textOf(r),
      "Invalid arguments for tool guest_status: vmid: vmid must be from 100 to 999999999, got 42",
    );
  });
});

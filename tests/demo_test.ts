import assert from "node:assert/strict";

Deno.test("the quick-start tour runs end to end against the simulator", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const words = (config.tasks.demo as string).split(/\s+/);
  assert.equal(words[0], "deno");
  const out = await new Deno.Command(Deno.execPath(), {
    args: words.slice(1),
    cwd: new URL("..", import.meta.url).pathname,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, `${text}\n${new TextDecoder().decode(out.stderr)}`);
  assert.match(text, /Connected to proxmox-mcp .* over stdio/);
  assert.match(text, /tools\/list -> \d+ tools/);
  assert.match(
    text,
    /-> api_search .*\n.*result:\n.*methods match\.\n +GET \/nodes\/\{node\}\/qemu\/\{vmid\}\/firewall\/rules/,
  );
  assert.match(
    text,
    /-> api_read \{"path":"\/nodes\/pve1\/qemu\/101\/firewall\/rules"\}\n.*result:\n +GET \/nodes\/pve1\/qemu\/101\/firewall\/rules: \d+ of \d+ items/,
  );
  assert.match(text, /Confirmation required; nothing was changed/);
  assert.match(text, /Done: snapshot qemu 101/);
  assert.match(text, /Dry run; nothing was changed/);
  assert.match(text, /ens18 .* 192\.168\.10\.21\/24/);
  assert.match(text, /in no job: 211 mail-relay/);
  assert.match(text, /pve3 \/dev\/sdb .*SMART FAILED/);
  assert.match(text, /Unknown node "pve9": known nodes are pve1, pve2, pve3/);
  assert.doesNotMatch(text, /unexpected result/);
});

/**
 * Run by permissions_test.ts with exactly the server's permission flags, in a directory that
 * holds config.json: tries each kind of access and prints one JSON object saying, per probe,
 * "allowed" or the error class ("NotCapable" when the flags deny it).
 *
 * Usage: deno run <server flags> tests/helpers/permission_probe.ts <outside-dir>
 *
 * @module
 */
const outside = Deno.args[0];

async function probe(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return "allowed";
  } catch (e) {
    return e instanceof Error ? e.name : String(e);
  }
}

const results = {
  readConfigInCwd: await probe(() => Deno.readTextFile("config.json")),
  writeAuditInCwd: await probe(() =>
    Deno.writeTextFile("proxmox-mcp.audit.jsonl", "", { append: true })
  ),
  readListedEnv: await probe(() => Deno.env.get("PROXMOX_HOST")),
  readOutside: await probe(() => Deno.readTextFile(`${outside}/secret.txt`)),
  writeOutside: await probe(() => Deno.writeTextFile(`${outside}/written.txt`, "x")),
  writeConfigInCwd: await probe(() => Deno.writeTextFile("config.json", "{}")),
  readPasswd: await probe(() => Deno.readTextFile("/etc/passwd")),
  readUnlistedEnv: await probe(() => Deno.env.get("PROBE_UNLISTED")),
  readHome: await probe(() => Deno.env.get("HOME")),
  listEnv: await probe(() => Deno.env.toObject()),
  run: await probe(() => new Deno.Command("true").outputSync()),
  sys: await probe(() => Deno.hostname()),
};
console.log(JSON.stringify(results));

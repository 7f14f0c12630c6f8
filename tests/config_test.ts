import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CONFIG_ENV_VARS,
  CONFIG_FIELDS,
  ConfigError,
  type ConfigIssue,
  loadConfig,
  type LoadConfigOptions,
  toClientOptions,
} from "../src/config/mod.ts";
import { simulatorCaCert, simulatorServerKey } from "../src/simulator/tls/certs.ts";

const SECRET = "5f0c2b7e-9a41-4c6d-8e3f-1b2a3c4d5e6f";
const PASSWORD = "hunter2-but-much-longer";
const TOKEN = { host: "pve1.example.lan", token_id: "mcp@pve!mcp", token_secret: SECRET };

/** A temporary directory holding config files; removed on dispose. */
async function tempDir() {
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-config-" });
  return {
    dir,
    /** Writes `name` (JSON-encoding non-strings) with `mode`; returns its path. */
    async write(name: string, content: unknown, mode = 0o600): Promise<string> {
      const path = join(dir, name);
      const text = typeof content === "string" ? content : JSON.stringify(content, null, 2);
      await Deno.writeTextFile(path, text);
      await Deno.chmod(path, mode);
      return path;
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const envOf = (vars: Record<string, string> = {}) => (name: string) => vars[name];

/** Loads `content` as config.json (and `env`), expecting failure; returns the issues. */
async function issuesFor(
  content: unknown,
  env: Record<string, string> = {},
  extra: Partial<LoadConfigOptions> = {},
): Promise<{ issues: ConfigIssue[]; error: ConfigError }> {
  await using tmp = await tempDir();
  const path = await tmp.write("config.json", content);
  const error = await loadConfig({ path, env: envOf(env), ...extra }).then(
    () => assert.fail("expected a ConfigError"),
    (e) => e,
  );
  assert.ok(error instanceof ConfigError, String(error));
  return { issues: error.issues, error };
}

function messageFor(issues: ConfigIssue[], field: string): string {
  const found = issues.filter((i) => i.field === field).map((i) => i.message);
  assert.equal(found.length, 1, `one issue for ${field} in ${JSON.stringify(issues)}`);
  return found[0];
}

/** Reads only from `files`; everything else is missing. */
function fakeFiles(files: Record<string, string>) {
  return (path: string) =>
    path in files
      ? Promise.resolve(files[path])
      : Promise.reject(new Deno.errors.NotFound(`No such file: ${path}`));
}

Deno.test("loadConfig()  accepts a token config and applies defaults", async () => {
  await using tmp = await tempDir();
  const path = await tmp.write("config.json", TOKEN);
  const { config, source, warnings, origins } = await loadConfig({ path, env: envOf() });
  assert.deepEqual(config, {
    ...TOKEN,
    port: 8006,
    realm: "pam",
    verify_ssl: true,
    timeout: 30,
    read_only: true,
  });
  assert.equal(source, path);
  assert.deepEqual(warnings, []);
  assert.equal(origins.host, "file");
  assert.equal(origins.port, "default");
});

Deno.test("loadConfig()  validates host", async (t) => {
  await t.step("missing host", async () => {
    const { issues } = await issuesFor({ token_id: TOKEN.token_id, token_secret: SECRET });
    assert.match(messageFor(issues, "host"), /^required: expected a hostname or IP address/);
  });

  await t.step("a pasted URL tells which host and port to use", async () => {
    const { issues } = await issuesFor({ ...TOKEN, host: "https://pve1.example.lan:8006/" });
    assert.equal(
      messageFor(issues, "host"),
      'expected a hostname or IP address without scheme or port (e.g. "pve1.example.lan"), got ' +
        '"https://pve1.example.lan:8006/": that is a URL: use "host": "pve1.example.lan" and "port": 8006',
    );
  });

  await t.step("host:port splits into two fields", async () => {
    const { issues } = await issuesFor({ ...TOKEN, host: "10.0.0.5:8006" });
    assert.match(messageFor(issues, "host"), /use "host": "10\.0\.0\.5" and "port": 8006$/);
  });

  await t.step("invalid names and addresses", async () => {
    for (const host of ["pve 1", "300.1.1.1", "", "pve1/api2"]) {
      const { issues } = await issuesFor({ ...TOKEN, host });
      assert.match(messageFor(issues, "host"), /^expected a hostname or IP address/, host);
    }
  });

  await t.step("IPv4, IPv6 and names are accepted", async () => {
    await using tmp = await tempDir();
    for (const host of ["192.0.2.10", "fd00::10", "pve-1.example.lan", "pve1"]) {
      const path = await tmp.write("config.json", { ...TOKEN, host });
      const { config } = await loadConfig({ path, env: envOf() });
      assert.equal(config.host, host);
    }
  });
});

Deno.test("loadConfig()  validates numbers and booleans", async (t) => {
  await t.step("port out of range or fractional", async () => {
    for (const port of [0, 65536, 80.5, -1]) {
      const { issues } = await issuesFor({ ...TOKEN, port });
      assert.equal(messageFor(issues, "port"), `expected an integer 1–65535, got ${port}`);
    }
  });

  await t.step("a quoted number asks for the quotes to go", async () => {
    const { issues } = await issuesFor({ ...TOKEN, port: "8006", verify_ssl: "false" });
    assert.equal(
      messageFor(issues, "port"),
      'expected an integer 1–65535, got "8006": write it without quotes',
    );
    assert.match(messageFor(issues, "verify_ssl"), /true or false, got "false": write it without/);
  });

  await t.step("timeout must be in (0, 600]", async () => {
    for (const timeout of [0, 601, -5]) {
      const { issues } = await issuesFor({ ...TOKEN, timeout });
      assert.match(messageFor(issues, "timeout"), /greater than 0 and at most 600, got/);
    }
  });

  await t.step("node names follow Proxmox rules", async () => {
    const { issues } = await issuesFor({ ...TOKEN, node: "pve_1" });
    assert.match(messageFor(issues, "node"), /node name .* got "pve_1"/);
  });
});

Deno.test("loadConfig()  reports unknown fields with a suggestion", async (t) => {
  await t.step("a misspelling suggests the nearest field", async () => {
    const { issues } = await issuesFor({ ...TOKEN, hots: "x", verify_sll: false, tokenid: "x" });
    assert.match(
      messageFor(issues, "hots"),
      /^Unknown field "hots" in .*config\.json: did you mean "host"\?$/,
    );
    assert.match(messageFor(issues, "verify_sll"), /did you mean "verify_ssl"\?$/);
    assert.match(messageFor(issues, "tokenid"), /did you mean "token_id"\?$/);
  });

  await t.step("an environment variable name maps to its field", async () => {
    const { issues } = await issuesFor({ ...TOKEN, PROXMOX_NODE: "pve1" });
    assert.match(
      messageFor(issues, "PROXMOX_NODE"),
      /did you mean "node"\? \(PROXMOX_NODE is an environment/,
    );
  });

  await t.step("something unrelated lists the known fields", async () => {
    const { issues } = await issuesFor({ ...TOKEN, clusters: [] });
    assert.match(
      messageFor(issues, "clusters"),
      new RegExp(`known fields are ${CONFIG_FIELDS.join(", ")}$`),
    );
  });
});

Deno.test("loadConfig()  validates authentication", async (t) => {
  await t.step("token_id must be USER@REALM!TOKENID", async () => {
    const cases: [string, RegExp][] = [
      ["mcp@pve", /the token name after "!" is missing/],
      ["mcp!mcp", /the realm is missing/],
      ["mcp@pve!1bad", /token name "1bad" must start with a letter/],
      [`mcp@pve!mcp=${SECRET}`, /put the secret in token_secret/],
    ];
    for (const [tokenId, why] of cases) {
      const { issues, error } = await issuesFor({ ...TOKEN, token_id: tokenId });
      const msg = messageFor(issues, "token_id");
      assert.match(msg, /^expected an API token id USER@REALM!TOKENID \(e\.g\. "mcp@pve!mcp"\)/);
      assert.match(msg, why);
      assert.ok(!error.message.includes(SECRET), "a secret pasted into token_id is masked");
    }
  });

  await t.step("token_secret must look like a UUID and is masked", async () => {
    const bad = "not-a-uuid-but-a-long-secret-value";
    const { issues, error } = await issuesFor({ ...TOKEN, token_secret: bad });
    assert.equal(
      messageFor(issues, "token_secret"),
      "expected the API token secret, a UUID such as 01234567-89ab-cdef-0123-456789abcdef, got " +
        `not…(${bad.length} chars)`,
    );
    assert.ok(!error.message.includes(bad));
  });

  await t.step("both methods complete is an error", async () => {
    const { issues, error } = await issuesFor({
      ...TOKEN,
      username: "root@pam",
      password: PASSWORD,
    });
    assert.match(
      messageFor(issues, "auth"),
      /both an API token .* and a password .* keep only one/,
    );
    assert.ok(!error.message.includes(PASSWORD));
    assert.ok(!error.message.includes(SECRET));
  });

  await t.step("neither method is an error naming both options", async () => {
    const { issues } = await issuesFor({ host: "pve1" });
    assert.equal(
      messageFor(issues, "auth"),
      "no credentials: set token_id and token_secret (preferred), or username and password",
    );
  });

  await t.step("half a method names the missing half", async () => {
    let { issues } = await issuesFor({ host: "pve1", token_id: "mcp@pve!mcp" });
    assert.match(messageFor(issues, "token_secret"), /^required: token_id is set/);
    ({ issues } = await issuesFor({ host: "pve1", token_secret: SECRET }));
    assert.match(messageFor(issues, "token_id"), /^required: token_secret is set/);
    ({ issues } = await issuesFor({ host: "pve1", username: "root@pam" }));
    assert.match(messageFor(issues, "password"), /^required: username is set/);
    ({ issues } = await issuesFor({ host: "pve1", password: PASSWORD }));
    assert.match(messageFor(issues, "username"), /^required: password is set/);
  });

  await t.step("password auth works, and a password of the wrong type is not shown", async () => {
    await using tmp = await tempDir();
    const path = await tmp.write("config.json", {
      host: "pve1",
      username: "root",
      password: PASSWORD,
    });
    const { config } = await loadConfig({ path, env: envOf() });
    assert.equal(config.username, "root");
    const { issues } = await issuesFor({ host: "pve1", username: "root", password: 12345678 });
    assert.equal(messageFor(issues, "password"), "expected a non-empty string, got a number");
  });

  await t.step("a realm conflicting with the username's realm", async () => {
    const { issues } = await issuesFor({
      host: "pve1",
      username: "root@pam",
      password: PASSWORD,
      realm: "pve",
    });
    assert.match(
      messageFor(issues, "realm"),
      /"pve" conflicts with the realm in username "root@pam"/,
    );
  });

  await t.step("a token id in username is pointed to token_id", async () => {
    const { issues } = await issuesFor({ host: "pve1", username: "mcp@pve!mcp", password: "x" });
    assert.match(messageFor(issues, "username"), /put it in token_id instead/);
  });
});

Deno.test("loadConfig()  collects every problem at once", async () => {
  const { issues, error } = await issuesFor({
    host: "https://pve1",
    port: 0,
    timeout: 0,
    token_id: "nope",
    token_secret: "short",
    fingerprint: "AA:BB",
    hots: 1,
  });
  assert.deepEqual(
    issues.map((i) => i.field).sort(),
    ["fingerprint", "host", "hots", "port", "timeout", "token_id", "token_secret"],
  );
  assert.match(error.message, /^Invalid configuration from .*config\.json \(7 problems\):\n {2}- /);
  assert.ok(!error.message.includes('"short"'));
});

Deno.test("loadConfig()  fingerprint is validated and normalised", async () => {
  await using tmp = await tempDir();
  const hex =
    "f2:1d:59:06:87:19:63:59:ce:f8:6c:04:ea:91:6b:3d:ab:0f:1d:b8:46:dd:50:49:e5:a7:25:6f:6d:6e:31:09";
  const path = await tmp.write("config.json", { ...TOKEN, fingerprint: hex });
  const { config } = await loadConfig({ path, env: envOf() });
  assert.equal(config.fingerprint, hex.toUpperCase());
  const { issues } = await issuesFor({ ...TOKEN, fingerprint: "F2:1D:ZZ" });
  assert.match(messageFor(issues, "fingerprint"), /32 hex byte pairs .* got "F2:1D:ZZ"/);
});

Deno.test("loadConfig()  environment variables", async (t) => {
  await t.step("override the file and are named in the source", async () => {
    await using tmp = await tempDir();
    const path = await tmp.write("config.json", { ...TOKEN, port: 8006 });
    const { config, source, origins } = await loadConfig({
      path,
      env: envOf({
        PROXMOX_HOST: "pve2.example.lan",
        PROXMOX_PORT: "8443",
        PROXMOX_READ_ONLY: "no",
      }),
    });
    assert.equal(config.host, "pve2.example.lan");
    assert.equal(config.port, 8443);
    assert.equal(config.read_only, false);
    assert.equal(origins.host, "PROXMOX_HOST");
    assert.equal(origins.token_id, "file");
    assert.equal(source, `${path} + environment (PROXMOX_HOST, PROXMOX_PORT, PROXMOX_READ_ONLY)`);
  });

  await t.step("coercion errors name the variable and the value", async () => {
    const { issues } = await issuesFor(TOKEN, {
      PROXMOX_PORT: "80a",
      PROXMOX_VERIFY_SSL: "maybe",
      PROXMOX_TIMEOUT: "ten",
    });
    assert.equal(messageFor(issues, "PROXMOX_PORT"), 'expected an integer 1–65535, got "80a"');
    assert.equal(
      messageFor(issues, "PROXMOX_VERIFY_SSL"),
      'expected true or false (also 1/0, yes/no, on/off), got "maybe"',
    );
    assert.match(messageFor(issues, "PROXMOX_TIMEOUT"), /got "ten"$/);
    assert.equal(issues.length, 3, JSON.stringify(issues));
  });

  await t.step("range and format errors name the variable too", async () => {
    const { issues, error } = await issuesFor(TOKEN, {
      PROXMOX_PORT: "70000",
      PROXMOX_TOKEN_SECRET: "wrong-secret-value-123456",
    });
    assert.equal(messageFor(issues, "PROXMOX_PORT"), "expected an integer 1–65535, got 70000");
    assert.match(messageFor(issues, "PROXMOX_TOKEN_SECRET"), /got wro…\(25 chars\)$/);
    assert.ok(!error.message.includes("wrong-secret-value-123456"));
  });

  await t.step("suffice without a config file at the default path", async () => {
    const { config, source } = await loadConfig({
      env: envOf({
        PROXMOX_HOST: "pve1",
        PROXMOX_TOKEN_ID: "mcp@pve!mcp",
        PROXMOX_TOKEN_SECRET: SECRET,
        PROXMOX_TIMEOUT: "2.5",
      }),
      readFile: fakeFiles({}),
    });
    assert.equal(config.host, "pve1");
    assert.equal(config.timeout, 2.5);
    assert.match(
      source,
      /^environment \(PROXMOX_HOST, PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET, PROXMOX_TIMEOUT\) \(no config file at \.\/config\.json\)$/,
    );
  });

  await t.step("nothing anywhere says where credentials can come from", async () => {
    const error = await loadConfig({ env: envOf(), readFile: fakeFiles({}) }).catch((e) => e);
    assert.ok(error instanceof ConfigError);
    assert.match(
      messageFor(error.issues, "auth"),
      /no config file at \.\/config\.json; PROXMOX_TOKEN_ID/,
    );
    assert.match(messageFor(error.issues, "host"), /^required/);
  });

  await t.step("the list of variables covers every field", () => {
    assert.equal(CONFIG_ENV_VARS.length, CONFIG_FIELDS.length);
    for (const field of CONFIG_FIELDS) {
      assert.ok(CONFIG_ENV_VARS.includes(`PROXMOX_${field.toUpperCase()}` as never), field);
    }
  });

  await t.step("variables this process may not read count as unset", async () => {
    await using tmp = await tempDir();
    const script = await tmp.write(
      "probe.ts",
      `import { loadConfig } from "${new URL("../src/config/mod.ts", import.meta.url).href}";
const r = await loadConfig({ readFile: () => Promise.reject(new Deno.errors.NotFound("x")) });
console.log(JSON.stringify({ host: r.config.host, node: r.config.node ?? null }));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        `--config=${new URL("../deno.json", import.meta.url).pathname}`,
        "--allow-env=PROXMOX_HOST,PROXMOX_TOKEN_ID,PROXMOX_TOKEN_SECRET",
        script,
      ],
      env: {
        PROXMOX_HOST: "pve9",
        PROXMOX_TOKEN_ID: "mcp@pve!mcp",
        PROXMOX_TOKEN_SECRET: SECRET,
        PROXMOX_NODE: "pve9",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
      host: "pve9",
      node: null,
    });
  });
});

Deno.test("loadConfig()  reading the file", async (t) => {
  await t.step("an explicit path that does not exist", async () => {
    const error = await loadConfig({ path: "/nonexistent/proxmox.json", env: envOf() }).catch((e) =>
      e
    );
    assert.ok(error instanceof ConfigError);
    assert.match(messageFor(error.issues, "/nonexistent/proxmox.json"), /^file not found/);
  });

  await t.step("invalid JSON", async () => {
    const { issues } = await issuesFor('{ "host": "pve1", }');
    assert.match(issues[0].message, /^not valid JSON: .*\(JSON allows no comments\)$/);
  });

  await t.step("not an object", async () => {
    const { issues } = await issuesFor("[1, 2]");
    assert.match(issues[0].message, /expected a JSON object of settings .*got an array/);
  });
});

Deno.test("loadConfig()  checks ca_file", async (t) => {
  await t.step("a missing file says where to copy it from", async () => {
    const { issues } = await issuesFor({ ...TOKEN, ca_file: "/nonexistent/pve-root-ca.pem" });
    assert.match(
      messageFor(issues, "ca_file"),
      /^file not found: \/nonexistent\/pve-root-ca\.pem: copy \/etc\/pve\/pve-root-ca\.pem/,
    );
  });

  await t.step("a file without a certificate, and a private key", async () => {
    await using tmp = await tempDir();
    const notPem = await tmp.write("ca.pem", "hello");
    const key = await tmp.write("key.pem", simulatorServerKey);
    let { issues } = await issuesFor({ ...TOKEN, ca_file: notPem });
    assert.match(messageFor(issues, "ca_file"), /does not contain a PEM certificate/);
    ({ issues } = await issuesFor({ ...TOKEN, ca_file: key }));
    assert.match(messageFor(issues, "ca_file"), /holds a private key, not a certificate/);
  });

  await t.step("a relative path resolves next to config.json; the client trusts it", async () => {
    await using tmp = await tempDir();
    await tmp.write("pve-root-ca.pem", simulatorCaCert);
    const path = await tmp.write("config.json", { ...TOKEN, ca_file: "pve-root-ca.pem" });
    const { config } = await loadConfig({ path, env: envOf() });
    assert.equal(config.ca_file, join(tmp.dir, "pve-root-ca.pem"));
    const options = await toClientOptions(config);
    assert.deepEqual(options.caCerts, [simulatorCaCert]);
  });
});

Deno.test("loadConfig()  warns about readable secrets", async (t) => {
  await t.step("mode 0644 with a secret inside", async () => {
    await using tmp = await tempDir();
    const path = await tmp.write("config.json", TOKEN, 0o644);
    const { warnings } = await loadConfig({ path, env: envOf() });
    assert.deepEqual(warnings, [
      `${path} is readable by other users (mode 0644): run chmod 600 ${path}`,
    ]);
  });

  await t.step("mode 0600, no secret in the file, or Windows: no warning", async () => {
    await using tmp = await tempDir();
    let path = await tmp.write("config.json", TOKEN, 0o600);
    assert.deepEqual((await loadConfig({ path, env: envOf() })).warnings, []);
    path = await tmp.write("config.json", TOKEN, 0o644);
    assert.deepEqual((await loadConfig({ path, env: envOf(), os: "windows" })).warnings, []);
    path = await tmp.write("public.json", { host: "pve1", token_id: "mcp@pve!mcp" }, 0o644);
    const { warnings } = await loadConfig({ path, env: envOf({ PROXMOX_TOKEN_SECRET: SECRET }) });
    assert.deepEqual(warnings, []);
  });

  await t.step("verify_ssl false without a CA or fingerprint", async () => {
    await using tmp = await tempDir();
    const path = await tmp.write("config.json", { ...TOKEN, verify_ssl: false });
    const { warnings } = await loadConfig({ path, env: envOf() });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^INSECURE: verify_ssl is false.*NOT checked.*fingerprint.*ca_file/);
  });
});

Deno.test("toClientOptions()  builds the client options", async (t) => {
  await using tmp = await tempDir();

  await t.step("token auth, timeout in ms", async () => {
    const path = await tmp.write("a.json", { ...TOKEN, port: 443, timeout: 12 });
    const { config } = await loadConfig({ path, env: envOf() });
    const options = await toClientOptions(config);
    assert.equal(options.baseUrl, "https://pve1.example.lan:443");
    assert.deepEqual(options.auth, { type: "token", tokenId: "mcp@pve!mcp", secret: SECRET });
    assert.equal(options.timeoutMs, 12_000);
    assert.equal(options.caCerts, undefined);
  });

  await t.step("ticket auth qualifies the user with the realm; IPv6 in brackets", async () => {
    const path = await tmp.write("b.json", {
      host: "fd00::10",
      username: "admin",
      realm: "pve",
      password: PASSWORD,
    });
    const { config } = await loadConfig({ path, env: envOf() });
    const options = await toClientOptions(config, { timeoutMs: 1000 });
    assert.equal(options.baseUrl, "https://[fd00::10]:8006");
    assert.deepEqual(options.auth, { type: "ticket", username: "admin@pve", password: PASSWORD });
    assert.equal(options.timeoutMs, 1000);
  });
});

Deno.test("loadConfig() without a path falls back to /etc/proxmox-mcp/config.json", async () => {
  const files: Record<string, string> = {
    "/etc/proxmox-mcp/config.json": JSON.stringify({
      host: "pve1.example.lan",
      token_id: "mcp@pve!mcp",
      token_secret: "01234567-89ab-cdef-0123-456789abcdef",
    }),
  };
  const loaded = await loadConfig({
    env: () => undefined,
    readFile: (p) => {
      if (p in files) return Promise.resolve(files[p]);
      return Promise.reject(new Deno.errors.NotFound(p));
    },
    stat: () => Promise.resolve({ mode: 0o600 }),
  });
  assert.equal(loaded.config.host, "pve1.example.lan");
  assert.match(loaded.source, /\/etc\/proxmox-mcp\/config\.json/);
});

Deno.test("config.example.json is a valid configuration", async () => {
  const path = new URL("../config.example.json", import.meta.url).pathname;
  const loaded = await loadConfig({
    path,
    env: () => undefined,
    readFile: (p) => p === path ? Deno.readTextFile(p) : Promise.resolve(simulatorCaCert),
    stat: () => Promise.resolve({ mode: 0o600 }),
  });
  assert.equal(loaded.config.token_id, "mcp@pve!mcp");
  assert.equal(loaded.config.read_only, true);
});

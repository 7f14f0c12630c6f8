/**
 * `doctor`: loads the configuration, looks at the node certificate of every endpoint, connects,
 * and reports the Proxmox VE version, cluster, nodes and privileges and whether each endpoint
 * answers, with one actionable line per problem.
 *
 * @module
 */
import { z } from "zod";
import {
  type Config,
  ConfigError,
  configSchema,
  type EnvReader,
  loadConfig,
  toClientOptions,
} from "../config/mod.ts";
import { type ClientOptions, ProxmoxClient } from "../proxmox/client.ts";
import {
  classifyNetworkFailure,
  ProxmoxApiError,
  ProxmoxAuthError,
  ProxmoxConnectionError,
  ProxmoxTimeoutError,
} from "../proxmox/errors.ts";
import { chooseTls } from "../proxmox/tls_mode.ts";
import { inspectCertificate, type PeerCertificate } from "../proxmox/tls_pin.ts";
import { isIpv6 } from "../config/schema.ts";
import { checkAuditLog } from "../safety/audit_problem.ts";
import { maskSecretLike } from "../safety/redact.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import type { CliArgs } from "./args.ts";
import { checkScopeNames } from "./doctor_scope.ts";

/** One line of the report, in the order the checks ran. */
export interface DoctorLine {
  level: "ok" | "warning" | "problem";
  text: string;
}

/**
 * What `doctor` found: facts (`ok:` lines, each stated only once it was verified), warnings and
 * problems, one actionable line each, and all of them in order in `lines`.
 */
export interface DoctorReport {
  facts: string[];
  warnings: string[];
  problems: string[];
  lines: DoctorLine[];
  /** The node certificate of the first endpoint whose handshake succeeded. */
  certificate?: PeerCertificate;
}

/** One endpoint (`host` or an entry of `fallback_hosts`) and what its TLS probe found. */
interface Probe {
  host: string;
  /** `host:port`, IPv6 in brackets. */
  target: string;
  origin: string;
  certificate?: PeerCertificate;
  /** Why the handshake failed, as a problem line. */
  problem?: string;
}

/** Inputs of {@link diagnose}. */
export interface DiagnoseOptions {
  configPath?: string;
  /** Environment reader for the configuration (tests inject one). */
  env?: EnvReader;
  /** A ready configuration instead of loading one (the `--simulator` mode uses it). */
  config?: Config;
  logger?: Logger;
  /** "Now" for the certificate expiry check; default the system clock. */
  now?: () => number;
}

/** Certificates expiring within this many days get a warning. */
export const CERT_WARN_DAYS = 30;

/** What the checks share: the report, the configuration and what earlier checks learned. */
export interface DoctorState {
  readonly report: DoctorReport;
  readonly opts: DiagnoseOptions;
  config: Config;
  tls: ReturnType<typeof chooseTls>;
  timeoutMs: number;
  probes: Probe[];
  /** Endpoints whose TLS handshake succeeded. */
  reachable: Probe[];
  /** Client options for API calls (set by the API check). */
  client?: ClientOptions;
  /** What the cluster said (set by the API check): node names. */
  nodes?: string[];
  ok(text: string): void;
  warn(text: string): void;
  problem(text: string): void;
}

/**
 * One check; returns false when later checks cannot run (e.g. nothing is reachable). Checks run
 * in the order of {@link DOCTOR_CHECKS}; add one by adding it there.
 */
export type DoctorCheck = (state: DoctorState) => Promise<boolean> | boolean;

/** Runs every check; never throws for a problem it can describe. */
export async function diagnose(opts: DiagnoseOptions = {}): Promise<DoctorReport> {
  const report: DoctorReport = { facts: [], warnings: [], problems: [], lines: [] };
  const add = (level: DoctorLine["level"], list: string[]) => (text: string) => {
    list.push(text);
    report.lines.push({ level, text });
  };
  const ok = add("ok", report.facts);
  const problem = add("problem", report.problems);
  const loaded = await loadForDoctor(opts, ok, problem);
  if (!loaded) return report;
  const config = loaded;
  const state: DoctorState = {
    report,
    opts,
    config,
    tls: chooseTls(config),
    timeoutMs: Math.round(config.timeout * 1000),
    probes: [config.host, ...(config.fallback_hosts ?? [])].map((host) => {
      const target = `${isIpv6(host) ? `[${host}]` : host}:${config.port}`;
      return { host, target, origin: `https://${target}` };
    }),
    reachable: [],
    ok,
    warn: add("warning", report.warnings),
    problem,
  };
  for (const check of DOCTOR_CHECKS) {
    if (!await check(state)) break;
  }
  return report;
}

/** The configuration (loaded, or given); undefined when it is invalid (problems reported). */
async function loadForDoctor(
  opts: DiagnoseOptions,
  ok: (text: string) => void,
  problem: (text: string) => void,
): Promise<Config | undefined> {
  if (opts.config) {
    ok("config: given directly");
    return opts.config;
  }
  try {
    const loaded = await loadConfig({ path: opts.configPath, env: opts.env });
    ok(`config: ${loaded.source}`);
    for (const w of loaded.warnings) problem(`config: ${w}`);
    return loaded.config;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const line of e.problemLines()) problem(line);
    return undefined;
  }
}

/** Read-only or changes allowed, and whether the audit log can be written. */
async function checkMode(s: DoctorState): Promise<boolean> {
  if (s.config.read_only) {
    s.ok('mode: read-only (changing tools are hidden; "read_only": false allows changes)');
    return true;
  }
  s.ok("mode: changes allowed (read_only is false)");
  const path = s.config.audit_log;
  if (!path) {
    s.warn(
      "audit log: not set: changes are recorded in memory only; set audit_log " +
        "(PROXMOX_AUDIT_LOG) to a file such as /var/lib/proxmox-mcp/audit.jsonl",
    );
    return true;
  }
  const why = await checkAuditLog(path);
  if (why) s.problem(`${why} (until then every change is refused)`);
  else s.ok(`audit log: ${path} (writable)`);
  return true;
}

/** The TLS handshake with every endpoint; stops when none answers. */
async function checkHandshakes(s: DoctorState): Promise<boolean> {
  s.ok(`endpoint: ${s.probes[0].origin}/api2/json`);
  if (s.probes.length > 1) {
    s.ok(`fallback endpoints: ${s.probes.slice(1).map((p) => p.origin).join(", ")}`);
  }
  await Promise.all(s.probes.map(async (probe) => {
    try {
      probe.certificate = await inspectCertificate(
        probe.host,
        s.config.port,
        AbortSignal.timeout(s.timeoutMs),
      );
    } catch (e) {
      probe.problem = networkProblem(e, probe.target, s.timeoutMs);
    }
  }));
  for (const p of s.probes) if (p.problem) s.problem(p.problem);
  s.reachable = s.probes.filter((p) => p.certificate);
  return s.reachable.length > 0;
}

/** The node certificate: fingerprint, expiry, and the pin when one is configured. */
function checkCertificate(s: DoctorState): boolean {
  const cert = s.reachable[0].certificate!;
  s.report.certificate = cert;
  s.ok(
    `certificate: SHA-256 ${cert.fingerprint256}; issuer ${cert.issuer || "(none)"}; subject ${
      cert.subject || "(none)"
    }; valid until ${cert.validTo}`,
  );
  const expires = Date.parse(cert.validTo);
  if (Number.isFinite(expires)) {
    const days = Math.floor((expires - (s.opts.now ?? Date.now)()) / 86_400_000);
    const renew = "renew it on the node (pvenode cert set, or ACME: pvenode acme cert order)" +
      (s.tls.mode === "pin" ? " and update fingerprint" : "");
    if (days < 0) s.problem(`certificate: expired on ${cert.validTo}: ${renew}`);
    else if (days < CERT_WARN_DAYS) {
      s.warn(`certificate: expires in ${days} day(s), on ${cert.validTo}: ${renew}`);
    }
  }
  if (s.probes.length > 1) {
    for (const p of s.reachable) {
      s.ok(`endpoint ${p.target}: reachable; certificate SHA-256 ${p.certificate!.fingerprint256}`);
    }
  }
  if (s.tls.mode === "pin") {
    const mismatch = s.reachable.find((p) =>
      p.certificate!.fingerprint256 !== s.config.fingerprint
    );
    if (mismatch) {
      s.problem(
        `fingerprint: the node presents ${mismatch.certificate!.fingerprint256} but the config ` +
          `pins ${s.config.fingerprint}: if the certificate was renewed on purpose, set ` +
          "fingerprint to the new value; otherwise something intercepts the connection",
      );
      return false;
    }
  }
  return true;
}

/** Version, cluster, nodes and privileges through the API; TLS is stated as ok only then. */
async function checkApi(s: DoctorState): Promise<boolean> {
  const { config } = s;
  const cert = s.reachable[0].certificate!;
  const several = s.probes.length > 1;
  s.client = await toClientOptions(config, {
    logger: s.opts.logger ?? silentLogger,
    retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
    ...(s.tls.transport ? { transport: s.tls.transport } : {}),
  });
  const client = new ProxmoxClient(s.client);
  try {
    const version = z.object({ version: z.string(), release: z.string().optional() }).loose()
      .parse(await client.get("/version"));
    if (s.tls.mode === "insecure") s.warn(`tls: ${s.tls.description}`);
    else s.ok(`tls: ${s.tls.description}`);
    s.ok(
      `version: Proxmox VE ${version.version}; credentials accepted${
        several ? ` (via ${client.target})` : ""
      }`,
    );

    const status = z.array(
      z.object({ type: z.string(), name: z.string(), online: z.unknown().optional() }).loose(),
    ).parse(await client.get("/cluster/status"));
    const cluster = status.find((x) => x.type === "cluster");
    const nodes = status.filter((x) => x.type === "node");
    s.nodes = nodes.map((n) => n.name);
    s.ok(`cluster: ${cluster?.name ?? "(standalone node)"}`);
    s.ok(
      `nodes: ${nodes.map((n) => `${n.name}${isOnline(n.online) ? "" : " (offline)"}`).join(", ")}`,
    );
    if (config.node && !s.nodes.includes(config.node)) {
      s.problem(
        `node: "${config.node}" is not a node of this cluster: set node to one of ${
          s.nodes.join(", ")
        } or remove it`,
      );
    }
    for (const p of await checkScopeNames(config, client, s.nodes)) s.problem(p);

    const perms = z.record(z.string(), z.record(z.string(), z.unknown()))
      .parse(await client.get("/access/permissions"));
    const who = config.token_id ? `token ${config.token_id}` : `user ${config.username}`;
    const root = Object.keys(perms["/"] ?? {}).sort();
    const paths = Object.keys(perms).length;
    s.ok(
      `privileges of ${who} on /: ${root.length ? root.join(",") : "(none)"} (ACL paths: ${paths})`,
    );
    if (!root.includes("Sys.Audit") && !root.includes("VM.Audit")) {
      s.problem(
        `privileges: ${who} lacks VM.Audit and Sys.Audit on /: grant it the PVEAuditor role ` +
          "(pveum acl modify / --roles PVEAuditor --tokens ... or --users ...); API tokens with " +
          "privilege separation need their own ACL entries",
      );
    }
    return true;
  } catch (e) {
    s.problem(apiProblem(e, config, cert, s.tls.mode, s.timeoutMs));
    return false;
  } finally {
    client.close();
  }
}

/** With fallback hosts: every reachable endpoint answers on its own. */
async function checkFallbacks(s: DoctorState): Promise<boolean> {
  if (s.probes.length < 2 || !s.client) return true;
  for (const probe of s.reachable) await checkEndpoint(probe, s.client, s.config, s.tls.mode, s);
  return true;
}

/** The checks, in order. */
export const DOCTOR_CHECKS: DoctorCheck[] = [
  checkMode,
  checkHandshakes,
  checkCertificate,
  checkApi,
  checkFallbacks,
];

/** Asks one endpoint alone for `/version`: a fact when it answers, else a problem. */
async function checkEndpoint(
  probe: Probe,
  options: ClientOptions,
  config: Config,
  mode: string,
  s: DoctorState,
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const client = new ProxmoxClient({ ...options, baseUrl: probe.origin, fallbackUrls: [] });
  try {
    await client.get("/version");
    s.ok(`endpoint ${probe.target}: the API answers`);
  } catch (e) {
    s.problem(
      `endpoint ${probe.target}: ${apiProblem(e, config, probe.certificate!, mode, timeoutMs)}`,
    );
  } finally {
    client.close();
  }
}

function isOnline(value: unknown): boolean {
  return value === undefined || value === 1 || value === true || value === "1";
}

/** One line for a failed TLS probe: DNS, refused, timeout or handshake. */
function networkProblem(e: unknown, target: string, timeoutMs: number): string {
  if (e instanceof DOMException && (e.name === "TimeoutError" || e.name === "AbortError")) {
    return `timeout: no TLS handshake with ${target} within ${timeoutMs / 1000} s: check that ` +
      "the host is reachable (firewall, VPN, routing) and the port is pveproxy's (8006), or " +
      "raise timeout";
  }
  const { kind, reason, hint } = classifyNetworkFailure(e);
  const code = (e as { code?: unknown })?.code;
  if (kind === "dns" || code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return `dns: cannot resolve ${target.replace(/:\d+$/, "")}: check host in the config ` +
      "(a name this machine's DNS knows, or an IP address)";
  }
  return `${kind === "other" ? "connection" : kind}: ${target}: ${reason}: ${hint}`;
}

/** One line for a failed API call, using what the certificate probe saw. */
function apiProblem(
  e: unknown,
  config: Config,
  cert: PeerCertificate,
  mode: string,
  timeoutMs: number,
): string {
  if (e instanceof ProxmoxTimeoutError) {
    return `timeout: the API did not answer within ${timeoutMs / 1000} s: check the node's load ` +
      "and pveproxy (systemctl status pveproxy), or raise timeout";
  }
  if (e instanceof ProxmoxConnectionError && e.kind === "tls") {
    if (mode === "ca") {
      return `ca_file: CA mismatch: the node certificate is issued by "${cert.issuer}", which ` +
        `${config.ca_file} does not contain: copy /etc/pve/pve-root-ca.pem from a cluster node ` +
        `into ca_file, or pin the certificate with fingerprint ${cert.fingerprint256}`;
    }
    return `tls: the node certificate (issuer "${cert.issuer}") is not trusted by this system: ` +
      `set ca_file to the cluster CA (/etc/pve/pve-root-ca.pem) or fingerprint to ` +
      cert.fingerprint256;
  }
  if (e instanceof ProxmoxConnectionError) return `${e.kind}: ${e.message}`;
  if (e instanceof ProxmoxAuthError) {
    if (config.token_id) {
      const realm = config.token_id.slice(
        config.token_id.lastIndexOf("@") + 1,
        config.token_id.indexOf("!"),
      );
      return `auth: token ${config.token_id} was refused: check the realm (${realm}: Linux ` +
        "users are @pam, Proxmox VE users @pve), that user and token exist (pveum user token " +
        "list) and token_secret";
    }
    const username = config.username ?? "";
    const realm = username.includes("@") ? username.slice(username.lastIndexOf("@") + 1) : config
      .realm;
    return `auth: login as ${username} refused: check the realm (${realm}: Linux users are ` +
      "@pam, Proxmox VE users @pve) and the password; an API token (token_id, token_secret) " +
      "is preferred";
  }
  if (e instanceof ProxmoxApiError && e.status === 403) {
    return `privileges: ${e.message}`;
  }
  if (e instanceof z.ZodError) {
    return `api: unexpected answer shape (${e.issues[0]?.message}): is this a Proxmox VE API?`;
  }
  return `api: ${e instanceof Error ? e.message : String(e)}`;
}

/** Checks config and connectivity; prints facts and problems; returns the exit code. */
export async function runDoctor(cli: CliArgs, logger: Logger): Promise<number> {
  let report: DoctorReport;
  if (cli.simulator) {
    const { startSimulator } = await import("../simulator/mod.ts");
    await using sim = await startSimulator({ logger });
    const caFile = await Deno.makeTempFile({ prefix: "proxmox-mcp-ca-", suffix: ".pem" })
      .catch(() => undefined);
    const url = new URL(sim.url);
    const config = configSchema.parse({
      host: url.hostname,
      port: Number(url.port),
      token_id: sim.credentials.admin.tokenId,
      token_secret: sim.credentials.admin.tokenSecret,
      ...(caFile ? { ca_file: caFile } : { fingerprint: sim.fingerprint }),
    });
    if (caFile) await Deno.writeTextFile(caFile, sim.caCert);
    try {
      report = await diagnose({ config, logger });
    } finally {
      if (caFile) await Deno.remove(caFile).catch(() => {});
    }
  } else {
    report = await diagnose({ configPath: cli.config, logger });
  }
  for (const line of report.lines) console.log(maskSecretLike(`${line.level}: ${line.text}`));
  if (!report.problems.length) {
    console.log(
      report.warnings.length
        ? `no problems found (${report.warnings.length} warning(s))`
        : "no problems found",
    );
  }
  return report.problems.length ? 1 : 0;
}

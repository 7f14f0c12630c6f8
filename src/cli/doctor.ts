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
import { maskSecretLike } from "../safety/redact.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import type { CliArgs } from "./args.ts";
import { checkScopeNames } from "./doctor_scope.ts";

/** What `doctor` found: facts (`ok:` lines) and problems, one actionable line each. */
export interface DoctorReport {
  facts: string[];
  problems: string[];
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
}

/** Runs every check; never throws for a problem it can describe. */
export async function diagnose(opts: DiagnoseOptions = {}): Promise<DoctorReport> {
  const report: DoctorReport = { facts: [], problems: [] };
  const { facts, problems } = report;
  let config: Config;
  if (opts.config) {
    config = opts.config;
    facts.push("config: given directly");
  } else {
    try {
      const loaded = await loadConfig({ path: opts.configPath, env: opts.env });
      config = loaded.config;
      facts.push(`config: ${loaded.source}`);
      for (const w of loaded.warnings) problems.push(`config: ${w}`);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const issue of e.issues) problems.push(`config ${issue.field}: ${issue.message}`);
      return report;
    }
  }
  const tls = chooseTls(config);
  const probes: Probe[] = [config.host, ...(config.fallback_hosts ?? [])].map((host) => {
    const target = `${isIpv6(host) ? `[${host}]` : host}:${config.port}`;
    return { host, target, origin: `https://${target}` };
  });
  const several = probes.length > 1;
  facts.push(`endpoint: ${probes[0].origin}/api2/json; tls: ${tls.description}`);
  if (several) {
    facts.push(`fallback endpoints: ${probes.slice(1).map((p) => p.origin).join(", ")}`);
  }
  const timeoutMs = Math.round(config.timeout * 1000);

  await Promise.all(probes.map(async (probe) => {
    try {
      probe.certificate = await inspectCertificate(
        probe.host,
        config.port,
        AbortSignal.timeout(timeoutMs),
      );
    } catch (e) {
      probe.problem = networkProblem(e, probe.target, timeoutMs);
    }
  }));
  for (const p of probes) if (p.problem) problems.push(p.problem);
  const reachable = probes.filter((p) => p.certificate);
  if (!reachable.length) return report;
  const cert = reachable[0].certificate!;
  report.certificate = cert;
  facts.push(
    `certificate: SHA-256 ${cert.fingerprint256}; issuer ${cert.issuer || "(none)"}; subject ${
      cert.subject || "(none)"
    }; valid until ${cert.validTo}`,
  );
  if (several) {
    for (const p of reachable) {
      facts.push(
        `endpoint ${p.target}: reachable; certificate SHA-256 ${p.certificate!.fingerprint256}`,
      );
    }
  }
  if (tls.mode === "pin") {
    const mismatch = reachable.find((p) => p.certificate!.fingerprint256 !== config.fingerprint);
    if (mismatch) {
      problems.push(
        `fingerprint: the node presents ${mismatch.certificate!.fingerprint256} but the config ` +
          `pins ${config.fingerprint}: if the certificate was renewed on purpose, set ` +
          "fingerprint to the new value; otherwise something intercepts the connection",
      );
      return report;
    }
  }

  const options = await toClientOptions(config, {
    logger: opts.logger ?? silentLogger,
    retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
    ...(tls.transport ? { transport: tls.transport } : {}),
  });
  const client = new ProxmoxClient(options);
  let answered = false;
  try {
    const version = z.object({ version: z.string(), release: z.string().optional() }).loose()
      .parse(await client.get("/version"));
    facts.push(
      `version: Proxmox VE ${version.version}; credentials accepted${
        several ? ` (via ${client.target})` : ""
      }`,
    );

    const status = z.array(
      z.object({ type: z.string(), name: z.string(), online: z.unknown().optional() }).loose(),
    ).parse(await client.get("/cluster/status"));
    const cluster = status.find((s) => s.type === "cluster");
    const nodes = status.filter((s) => s.type === "node");
    facts.push(`cluster: ${cluster?.name ?? "(standalone node)"}`);
    facts.push(
      `nodes: ${nodes.map((n) => `${n.name}${isOnline(n.online) ? "" : " (offline)"}`).join(", ")}`,
    );
    if (config.node && !nodes.some((n) => n.name === config.node)) {
      problems.push(
        `node: "${config.node}" is not a node of this cluster: set node to one of ${
          nodes.map((n) => n.name).join(", ")
        } or remove it`,
      );
    }
    problems.push(...await checkScopeNames(config, client, nodes.map((n) => n.name)));

    const perms = z.record(z.string(), z.record(z.string(), z.unknown()))
      .parse(await client.get("/access/permissions"));
    const who = config.token_id ? `token ${config.token_id}` : `user ${config.username}`;
    const root = Object.keys(perms["/"] ?? {}).sort();
    const paths = Object.keys(perms).length;
    facts.push(
      `privileges of ${who} on /: ${root.length ? root.join(",") : "(none)"} (ACL paths: ${paths})`,
    );
    if (!root.includes("Sys.Audit") && !root.includes("VM.Audit")) {
      problems.push(
        `privileges: ${who} lacks VM.Audit and Sys.Audit on /: grant it the PVEAuditor role ` +
          "(pveum acl modify / --roles PVEAuditor --tokens ... or --users ...); API tokens with " +
          "privilege separation need their own ACL entries",
      );
    }
    answered = true;
  } catch (e) {
    problems.push(apiProblem(e, config, cert, tls.mode, timeoutMs));
  } finally {
    client.close();
  }
  if (answered && several) {
    for (const probe of reachable) await checkEndpoint(probe, options, config, tls.mode, report);
  }
  return report;
}

/** Asks one endpoint alone for `/version`: a fact when it answers, else a problem. */
async function checkEndpoint(
  probe: Probe,
  options: ClientOptions,
  config: Config,
  mode: string,
  report: DoctorReport,
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const client = new ProxmoxClient({ ...options, baseUrl: probe.origin, fallbackUrls: [] });
  try {
    await client.get("/version");
    report.facts.push(`endpoint ${probe.target}: the API answers`);
  } catch (e) {
    report.problems.push(
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
  for (const f of report.facts) console.log(maskSecretLike(`ok: ${f}`));
  for (const p of report.problems) console.log(maskSecretLike(`problem: ${p}`));
  if (!report.problems.length) console.log("no problems found");
  return report.problems.length ? 1 : 0;
}

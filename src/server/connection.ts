/**
 * The connection to a configured cluster: the configuration loaded and checked, the API client
 * and the listing settings. It is what a server needs to answer `initialize` and `tools/list`;
 * the safety state (audit log, approvals, kill switch) is opened on top of it (`app.ts`).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { loadConfig, toClientOptions } from "../config/mod.ts";
import { ProxmoxClient } from "../proxmox/client.ts";
import { chooseTls, type TlsMode } from "../proxmox/tls_mode.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { type ListingFlags, type ListingSettings, resolveListing } from "./listing.ts";

/** A configured cluster, before the safety state is opened. */
export interface Connection {
  client: ProxmoxClient;
  /** The checked configuration. */
  config: Config;
  /** Human description for startup lines: host, port, where the config came from, TLS. */
  description: string;
  defaultNode?: string;
  readOnly: boolean;
  tls: TlsMode;
  listing: ListingSettings;
  approverToken?: string;
  /** Base URL of the cluster's web UI (`https://host:8006`). */
  webUrl: string;
}

/** How to open a connection. */
export interface ConnectionOptions {
  /** Path of config.json; default `./config.json`. */
  configPath?: string;
  /** Force read-only mode (otherwise: the config's `read_only`). */
  readOnly?: boolean;
  /** Command-line overrides of the tool listing. */
  listing?: ListingFlags;
  logger: Logger;
  clock?: Clock;
}

/** Loads the configuration (a `ConfigError` when it is invalid) and builds the API client. */
export async function openConnection(opts: ConnectionOptions): Promise<Connection> {
  const loaded = await loadConfig({ path: opts.configPath });
  for (const w of loaded.warnings) opts.logger.log("warning", w);
  const config = loaded.config;
  const tls = chooseTls(config);
  const client = new ProxmoxClient(
    await toClientOptions(config, {
      logger: opts.logger,
      clock: opts.clock,
      ...(tls.transport ? { transport: tls.transport } : {}),
    }),
  );
  const readOnly = opts.readOnly || config.read_only;
  if (!readOnly && !config.audit_log) {
    opts.logger.log(
      "warning",
      "Changes are allowed but audit_log is not set: the audit trail is kept in memory only",
    );
  }
  const fallbacks = config.fallback_hosts ?? [];
  const failover = fallbacks.length ? `, failing over to ${fallbacks.join(", ")}` : "";
  return {
    client,
    config,
    tls: tls.mode,
    description: `${config.host}:${config.port}${failover} (${loaded.source}; ${tls.description})`,
    defaultNode: config.node,
    webUrl: `https://${
      config.host.includes(":") ? `[${config.host}]` : config.host
    }:${config.port}`,
    readOnly,
    listing: resolveListing(config, opts.listing),
    approverToken: config.approver_token,
  };
}

/**
 * Configuration: `config.json` plus `PROXMOX_*` environment overrides, validated with zod.
 *
 * @module
 */
export { type Config, CONFIG_FIELDS, type ConfigField, configSchema } from "./schema.ts";
export { CONFIG_ENV_VARS, type ConfigEnvVar, denoEnv, type EnvReader } from "./env.ts";
export { ConfigError, type ConfigIssue } from "./errors.ts";
export {
  DEFAULT_CONFIG_PATH,
  type FieldOrigin,
  loadConfig,
  type LoadConfigOptions,
  type LoadedConfig,
  toClientOptions,
  type ToClientOptionsExtra,
} from "./load.ts";
export { maskSecret } from "./describe.ts";

/**
 * Typed access to the structural facts of the official Proxmox VE API schema
 * (`pve-api.json`, derived by `scripts/gen_api_schema.ts`).
 *
 * @module
 */
import data from "./pve-api.json" with { type: "json" };

/** HTTP methods the Proxmox VE API uses. */
export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** JSON-schema-like description of one parameter, sub-key or return value. */
export interface ParamSchema {
  type?: "string" | "integer" | "number" | "boolean" | "array" | "object" | "null" | "any";
  /** A named format (`pve-node`) or, for property strings, the schema of each key. */
  format?: string | Record<string, ParamSchema>;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  optional?: number;
  default?: unknown;
  default_key?: number;
  alias?: string;
  keyAlias?: string;
  requires?: string;
  items?: ParamSchema;
  properties?: Record<string, ParamSchema>;
  additionalProperties?: number | boolean | ParamSchema;
}

/** One method of one API path. */
export interface MethodSchema {
  name?: string;
  parameters: { additionalProperties?: number; properties: Record<string, ParamSchema> };
  returns?: ParamSchema;
  permissions?: { check?: unknown[]; user?: string };
  protected?: number;
  proxyto?: string;
  allowtoken?: number;
}

/** The whole derived schema: API path template to its methods. */
export interface ApiSchema {
  origin: Record<string, string>;
  paths: Record<string, Partial<Record<HttpMethod, MethodSchema>>>;
}

/** The official Proxmox VE 9.1 API schema, structural facts only. */
export const apiSchema: ApiSchema = data as unknown as ApiSchema;

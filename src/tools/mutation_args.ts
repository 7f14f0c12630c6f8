/**
 * Argument validators for mutating tools. They check with code rather than JSON-schema
 * patterns, so `tools/list` stays small; every error says what is allowed.
 *
 * @module
 */
import { z } from "zod";

/** A string checked against `re`, failing with `message`; no pattern in the JSON schema. */
function matching(re: RegExp, message: string, max = 255) {
  return z.string().refine((v) => v.length <= max && re.test(v), { error: message });
}

/** A storage ID. */
export const storageRef = () =>
  matching(
    /^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$/,
    'storage must be a storage ID like "local-lvm"',
  );

/** A DNS-style guest name. */
export const dnsName = (what: string) =>
  matching(
    /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9-]+)*$/,
    `${what} must be a DNS name (letters, digits, '-', '.')`,
    63,
  );

/** Tags as Proxmox allows them. */
export const tagList = () =>
  z.array(
    matching(
      /^[a-zA-Z0-9_][a-zA-Z0-9_\-+.]*$/,
      "each tag: letters, digits, '_', '-', '+', '.'",
      64,
    ),
  ).max(20);

/** A VLAN tag, 1–4094. */
export const vlanTag = () =>
  z.int({ error: "vlan must be an integer from 1 to 4094" })
    .min(1, { error: "vlan must be from 1 to 4094" })
    .max(4094, { error: "vlan must be from 1 to 4094" });

/** A bridge name. */
export const bridgeName = () =>
  matching(/^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/, "bridge must be a bridge name like vmbr0");

/** A pool ID. */
export const poolId = () => matching(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, "pool must be a pool ID");

/** `dhcp` or an IPv4 address with prefix. */
export const ipv4Config = () =>
  matching(
    /^(dhcp|manual|(\d{1,3}\.){3}\d{1,3}\/\d{1,2})$/,
    'ip must be "dhcp" or an address with prefix like 192.168.1.50/24',
  );

/** An IPv4 gateway address. */
export const ipv4 = () => matching(/^(\d{1,3}\.){3}\d{1,3}$/, "gw must be an IPv4 address");

/** A volume ID such as `local:iso/debian.iso`. */
export const volid = (what: string, example: string) =>
  matching(
    /^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]:.+$/,
    `${what} must be a volume ID like ${example}`,
  );

/** Shared parameters live in `params.ts`; re-exported for the tools that import them here. */
export { node as nodeRef, nodeOfGuest as optNode, vmid as guestId } from "./params.ts";

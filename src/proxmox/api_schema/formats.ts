/**
 * Checks for the named string formats of the Proxmox VE API (`pve-node`, `pve-vmid`, ...).
 * Formats not listed here are accepted as they are, like a lenient server would.
 *
 * @module
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:]+(%\w+)?$/i;
const DNS =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

const isIp = (v: string) => IPV4.test(v) || (v.includes(":") && IPV6.test(v));
const cidr = (v: string, ip: (a: string) => boolean, max: number) => {
  const [addr, mask, ...rest] = v.split("/");
  return rest.length === 0 && ip(addr) && mask !== undefined && /^\d+$/.test(mask) &&
    Number(mask) <= max;
};

/** Returns an error message when `value` does not match the format, else undefined. */
type FormatCheck = (value: string) => string | undefined;

const test = (re: RegExp, msg: string): FormatCheck => (v) => re.test(v) ? undefined : msg;

const FORMATS: Record<string, FormatCheck> = {
  "pve-node": test(
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i,
    "value does not look like a valid node name",
  ),
  "pve-vmid": (v) =>
    /^\d+$/.test(v) && Number(v) >= 100 && Number(v) <= 999999999
      ? undefined
      : "value does not look like a valid VM ID",
  "pve-storage-id": (v) =>
    /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v)
      ? undefined
      : `storage ID '${v}' contains illegal characters`,
  "pve-configid": test(/^[a-z][a-z0-9_-]+$/i, "invalid configuration ID"),
  "pve-poolid": test(/^[a-z0-9._-]+(?:\/[a-z0-9._-]+){0,2}$/i, "invalid pool ID"),
  "pve-bridge-id": test(/^[-_.\w\d]+$/, "invalid bridge ID"),
  "pve-iface": test(/^[a-z][a-z0-9_.\-]*[a-z0-9]$/i, "invalid network interface name"),
  "pve-tag": test(/^[a-z0-9_][a-z0-9_\-+.]*$/i, "invalid tag"),
  "pve-userid": test(
    /^[^\s:/]+@[a-z][a-z0-9.\-_]+$/i,
    "value does not look like a valid user name",
  ),
  // A full token ID, as PVE's verify_tokenid takes it: user@realm!name.
  "pve-tokenid": test(/^[^\s:/]+@[a-z][a-z0-9.\-_]+![a-z][a-z0-9.\-_]+$/i, "invalid token ID"),
  "pve-realm": test(/^[a-z][a-z0-9.\-_]+$/i, "value does not look like a valid realm"),
  "pve-volume-id": test(
    /^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$/i,
    "unable to parse volume ID",
  ),
  "pve-volume-id-or-qm-path": (v) =>
    /^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$/i.test(v) || v.startsWith("/") || v === "none" ||
      v === "cdrom"
      ? undefined
      : "unable to parse volume ID",
  "mac-addr": test(
    /^[a-f0-9][02468ace](:[a-f0-9]{2}){5}$/i,
    "value does not look like a valid unicast MAC address",
  ),
  "ipv4": (v) => IPV4.test(v) ? undefined : "value does not look like a valid IPv4 address",
  "ipv6": (v) =>
    v.includes(":") && IPV6.test(v) ? undefined : "value does not look like a valid IPv6 address",
  "ip": (v) => isIp(v) ? undefined : "value does not look like a valid IP address",
  "CIDR": (v) =>
    cidr(v, IPV4.test.bind(IPV4), 32) || cidr(v, (a) => a.includes(":") && IPV6.test(a), 128)
      ? undefined
      : "value does not look like a valid CIDR network",
  "CIDRv4": (v) => cidr(v, IPV4.test.bind(IPV4), 32) ? undefined : "invalid IPv4 CIDR",
  "dns-name": (v) => DNS.test(v) ? undefined : "value does not look like a valid DNS name",
  "pve-storage-content": test(
    /^(images|rootdir|vztmpl|iso|backup|snippets|import|none)$/,
    "invalid content type",
  ),
};

/** Checks `value` against the named format; `-list` formats check each list element. */
export function checkNamedFormat(format: string, value: string): string | undefined {
  const direct = FORMATS[format];
  if (direct) return direct(value);
  if (format.endsWith("-list")) {
    const item = FORMATS[format.slice(0, -5)];
    if (!item) return undefined;
    for (const part of value.split(/[\0,;\s]+/).filter(Boolean)) {
      const err = item(part);
      if (err) return err;
    }
  }
  return undefined;
}

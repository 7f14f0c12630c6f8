/**
 * Proxmox VE firewall macros the server and simulator know: name, description and the
 * protocol/port pairs each expands to (a subset of PVE's list; names are PVE's).
 *
 * @module
 */

/** What one macro matches: protocol and destination ports (`undefined` = any port). */
export interface MacroPort {
  proto: string;
  dport?: string;
}

/** A firewall macro. */
export interface FirewallMacro {
  macro: string;
  descr: string;
  ports: MacroPort[];
}

const tcp = (dport: string): MacroPort => ({ proto: "tcp", dport });
const udp = (dport: string): MacroPort => ({ proto: "udp", dport });

/** Known macros by name. */
export const FIREWALL_MACROS: ReadonlyMap<string, FirewallMacro> = new Map(
  ([
    ["SSH", "Secure shell traffic", [tcp("22")]],
    ["HTTP", "Hypertext Transfer Protocol (WWW)", [tcp("80")]],
    ["HTTPS", "Hypertext Transfer Protocol (WWW) over SSL", [tcp("443")]],
    ["Web", "WWW traffic (HTTP and HTTPS)", [tcp("80"), tcp("443")]],
    ["DNS", "Domain Name System traffic (upd and tcp)", [udp("53"), tcp("53")]],
    ["Ping", "ICMP echo request", [{ proto: "icmp" }]],
    ["NTP", "Network Time Protocol (ntpd)", [udp("123")]],
    ["SMTP", "Simple Mail Transfer Protocol", [tcp("25")]],
    ["IMAPS", "Internet Message Access Protocol over SSL", [tcp("993")]],
    ["PostgreSQL", "PostgreSQL server", [tcp("5432")]],
    ["MySQL", "MySQL server", [tcp("3306")]],
    ["SNMP", "Simple Network Management Protocol", [udp("161:162"), tcp("161")]],
    ["Ceph", "Ceph Storage Cluster traffic", [tcp("6789"), tcp("3300"), tcp("6800:7300")]],
    ["VNC", "VNC traffic for VNC display's 0 - 99", [tcp("5900:5999")]],
    ["Syslog", "Syslog protocol (RFC 5424) traffic", [udp("514"), tcp("514")]],
  ] as const).map(([macro, descr, ports]) => [macro, { macro, descr, ports: [...ports] }]),
);

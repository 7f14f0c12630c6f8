/** The version of proxmox-mcp, as released. */
export const VERSION = "0.1.0";

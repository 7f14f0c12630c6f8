/**
 * Why an audit log cannot be opened, as one line with the path and the fix. Changes are refused
 * with this line while reads go on (see `openSafety`), and `doctor` reports it.
 *
 * @module
 */
import { dirname } from "node:path";

/** One line naming `path`, what is wrong and how to fix it, for an error opening the log. */
export function auditLogProblem(path: string, error: unknown): string {
  const dir = dirname(path);
  const head = `audit log ${path} cannot be written`;
  if (error instanceof Deno.errors.NotFound) {
    return `${head}: its folder ${dir} does not exist: create it (mkdir -p ${dir}) and make it ` +
      "writable for this server, or set audit_log (PROXMOX_AUDIT_LOG) to a writable path";
  }
  if (error instanceof Deno.errors.NotCapable) {
    return `${head}: this process may not write there: grant --allow-write=${path} (the ` +
      "release binary may write proxmox-mcp.audit.jsonl in its working directory and " +
      "/var/lib/proxmox-mcp/), or set audit_log (PROXMOX_AUDIT_LOG) to such a path";
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `${head}: permission denied by the operating system: let the server's user write ` +
      `${dir} (chown or chmod), or set audit_log (PROXMOX_AUDIT_LOG) to a writable path`;
  }
  if (error instanceof Deno.errors.IsADirectory) {
    return `${head}: it is a folder: set audit_log to a file path such as ${path}/audit.jsonl`;
  }
  return `${head}: ${error instanceof Error ? error.message : String(error)}`;
}

/** Checks, without creating anything, whether the log at `path` can be opened for appending. */
export async function checkAuditLog(path: string): Promise<string | undefined> {
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) return auditLogProblem(path, new Deno.errors.IsADirectory());
    const file = await Deno.open(path, { append: true });
    file.close();
    return undefined;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return auditLogProblem(path, e);
  }
  try {
    const dir = await Deno.stat(dirname(path));
    if (!dir.isDirectory) return auditLogProblem(path, new Deno.errors.NotFound());
  } catch (e) {
    return auditLogProblem(path, e);
  }
  const write = await Deno.permissions.query({ name: "write", path });
  if (write.state !== "granted") return auditLogProblem(path, new Deno.errors.NotCapable());
  return undefined;
}

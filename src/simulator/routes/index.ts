/**
 * The route table: `"METHOD /schema/template"` → handler, plus the privilege checks PVE does in
 * code for methods whose schema says only `user: all`.
 *
 * @module
 */
import { accessRoutes } from "./access.ts";
import { accessAdminRoutes } from "./access_admin.ts";
import { agentExecRoutes } from "./agent_exec.ts";
import { agentRoutes } from "./agent.ts";
import { backupJobRoutes } from "./backup_jobs.ts";
import { cephRoutes } from "./ceph.ts";
import { clusterRoutes } from "./cluster.ts";
import type { RouteHandler } from "./context.ts";
import { diskMoveRoutes } from "./disk_move.ts";
import { firewallRoutes } from "./firewall.ts";
import { guestConfigRoutes } from "./guest_config.ts";
import { guestLifecycleRoutes } from "./guest_lifecycle.ts";
import { guestPowerRoutes } from "./guest_power.ts";
import { guestReadRoutes } from "./guests.ts";
import { haRoutes } from "./ha.ts";
import { networkRoutes } from "./network.ts";
import { logRoutes } from "./logs.ts";
import { metricsRoutes } from "./metrics.ts";
import { nodeHealthRoutes } from "./node_health.ts";
import { poolRoutes } from "./pools.ts";
import { replicationRoutes } from "./replication.ts";
import { sdnRoutes } from "./sdn.ts";
import { snapshotRoutes } from "./snapshots.ts";
import { storageRoutes } from "./storage.ts";
import { taskRoutes } from "./tasks.ts";
import { tfaRoutes } from "./tfa.ts";

/** Every implemented endpoint. */
export const routes: Readonly<Record<string, RouteHandler>> = {
  ...clusterRoutes,
  ...taskRoutes,
  ...guestReadRoutes,
  ...guestPowerRoutes,
  ...guestConfigRoutes,
  ...guestLifecycleRoutes,
  ...snapshotRoutes,
  ...storageRoutes,
  ...accessRoutes,
  ...poolRoutes,
  ...accessAdminRoutes,
  ...firewallRoutes,
  ...networkRoutes,
  ...haRoutes,
  ...diskMoveRoutes,
  ...agentExecRoutes,
  ...metricsRoutes,
  ...agentRoutes,
  ...cephRoutes,
  ...logRoutes,
  ...backupJobRoutes,
  ...replicationRoutes,
  ...nodeHealthRoutes,
  ...sdnRoutes,
  ...tfaRoutes,
};

const CREATE_CHECK = [
  "or",
  ["perm", "/vms/{vmid}", ["VM.Allocate"]],
  ["perm", "/pool/{pool}", ["VM.Allocate"], "require_param", "pool"],
];
const VOLUME_CHECK = ["perm", "/storage/{storage}", ["Datastore.AllocateSpace"]];

/** Checks PVE performs in code for methods whose schema declares only `user: all`. */
export const extraChecks: Readonly<Record<string, unknown[]>> = {
  "POST /nodes/{node}/qemu": CREATE_CHECK,
  "POST /nodes/{node}/lxc": CREATE_CHECK,
  "POST /nodes/{node}/vzdump": [
    "and",
    ["perm", "/vms/{vmid}", ["VM.Backup"]],
    ["perm", "/storage/{storage}", ["Datastore.AllocateSpace"]],
  ],
  "PUT /nodes/{node}/storage/{storage}/content/{volume}": VOLUME_CHECK,
  "DELETE /nodes/{node}/storage/{storage}/content/{volume}": VOLUME_CHECK,
  "GET /nodes/{node}/storage/{storage}/content/{volume}": [
    "perm",
    "/storage/{storage}",
    ["Datastore.Audit", "Datastore.AllocateSpace"],
    "any",
    1,
  ],
};

/**
 * The tool catalogue: every tool the server offers, one row each, grouped by toolset.
 * Adding a tool is adding a row to one of these lists.
 *
 * @module
 */
import { accessTools } from "./access.ts";
import { accessListTools } from "./access_list.ts";
import { accessChangeTools } from "./access_change.ts";
import { bulkTools } from "./bulk_power.ts";
import { networkTools } from "./network_change.ts";
import { haPoolTools } from "./ha_pool_change.ts";
import { execTools } from "./guest_exec.ts";
import { unlockTools } from "./guest_unlock.ts";
import { apiChangeTools } from "./api_change.ts";
import { hardwareTools } from "./guest_hardware.ts";
import { apiReadTools } from "./api_read.ts";
import { agentTools } from "./agent.ts";
import { backupTools } from "./backups.ts";
import { backupJobTools } from "./backup_jobs.ts";
import { cephTools } from "./ceph.ts";
import { clusterTools } from "./cluster.ts";
import { consoleTools } from "./console.ts";
import { firewallChangeTools } from "./firewall_change.ts";
import { guestChangeTools } from "./guest_change.ts";
import { guestTools } from "./guests.ts";
import { firewallTools } from "./firewall.ts";
import { haTools } from "./ha.ts";
import { metricsTools } from "./metrics.ts";
import { logTools } from "./logs.ts";
import { nodeHealthTools } from "./node_health.ts";
import { nodeTools } from "./nodes.ts";
import { poolTools } from "./pools.ts";
import { powerTools } from "./power.ts";
import { provisionTools } from "./provision.ts";
import { replicationTools } from "./replication.ts";
import { sdnTools } from "./sdn.ts";
import { snapshotTools } from "./snapshots.ts";
import { storageTools } from "./storage.ts";
import { storageWriteTools } from "./storage_write.ts";
import { taskStopTools } from "./task_stop.ts";
import { taskTools } from "./tasks.ts";
import type { Tool } from "./tool.ts";

/** Every tool, in the order clients list them. */
export const catalogue: readonly Tool[] = [
  ...clusterTools,
  ...poolTools,
  ...nodeTools,
  ...nodeHealthTools,
  ...guestTools,
  ...agentTools,
  ...consoleTools,
  ...powerTools,
  ...provisionTools,
  ...guestChangeTools,
  ...snapshotTools,
  ...backupTools,
  ...backupJobTools,
  ...storageTools,
  ...storageWriteTools,
  ...taskTools,
  ...taskStopTools,
  ...accessTools,
  ...accessListTools,
  ...firewallChangeTools,
  ...accessChangeTools,
  ...hardwareTools,
  ...unlockTools,
  ...bulkTools,
  ...networkTools,
  ...haPoolTools,
  ...execTools,
  ...apiReadTools,
  ...apiChangeTools,
  ...metricsTools,
  ...logTools,
  ...cephTools,
  ...haTools,
  ...firewallTools,
  ...replicationTools,
  ...sdnTools,
];

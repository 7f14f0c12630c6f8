/**
 * The tool catalogue: every tool the server offers, one row each, grouped by toolset.
 * Adding a tool is adding a row to one of these lists.
 *
 * @module
 */
import { accessTools } from "./access.ts";
import { clusterTools } from "./cluster.ts";
import { guestTools } from "./guests.ts";
import { nodeTools } from "./nodes.ts";
import { storageTools } from "./storage.ts";
import { taskTools } from "./tasks.ts";
import type { Tool } from "./tool.ts";

/** Every tool, in the order clients list them. */
export const catalogue: readonly Tool[] = [
  ...clusterTools,
  ...nodeTools,
  ...guestTools,
  ...storageTools,
  ...taskTools,
  ...accessTools,
];

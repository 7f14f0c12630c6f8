/**
 * Time arguments of log and metrics tools: an ISO 8601 date-time, epoch seconds, or a duration
 * back from now (`90m`, `2h`, `1d`, `1w`).
 *
 * @module
 */
import { z } from "zod";
import type { ToolContext } from "./context.ts";
import { ToolInputError } from "./context.ts";

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** A point in time as tools accept it. */
export const timeArg = (what: string) =>
  z.string().max(40, { error: `${what} is too long: use e.g. 2h, 2026-05-01T22:00Z or 1746136800` })
    .optional()
    .describe(`${what}: 2h (ago), ISO or epoch s`);

/** The current time of the tool call in epoch ms (the task waiter's clock when set). */
export function nowMs(ctx: ToolContext): number {
  return ctx.tasks?.clock.now() ?? Date.now();
}

/** Epoch seconds of a time argument, or undefined when absent; throws a clear error if invalid. */
export function parseTime(value: string | undefined, name: string, nowSec: number) {
  if (value === undefined || value === "") return undefined;
  const v = value.trim();
  const rel = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(v);
  if (rel) return Math.floor(nowSec - Number(rel[1]) * UNIT_S[rel[2].toLowerCase()]);
  if (/^\d{9,11}$/.test(v)) return Number(v);
  const ms = Date.parse(v);
  if (Number.isFinite(ms) && /^\d{4}-\d{2}-\d{2}/.test(v)) return Math.floor(ms / 1000);
  throw new ToolInputError(
    `Invalid ${name} "${value}": use a duration ago (30m, 2h, 1d, 1w), an ISO time such as 2026-05-01T22:00Z, or epoch seconds`,
  );
}

/** Parses `since`/`until` and checks their order. */
export function parseWindow(
  since: string | undefined,
  until: string | undefined,
  nowSec: number,
): { since?: number; until?: number } {
  const s = parseTime(since, "since", nowSec);
  const u = parseTime(until, "until", nowSec);
  if (s !== undefined && u !== undefined && s > u) {
    throw new ToolInputError(`since must be before until: got since ${since}, until ${until}`);
  }
  return { since: s, until: u };
}

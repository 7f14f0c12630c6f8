/**
 * The next time a simulated job runs, for the calendar events the scenarios use:
 * `HH:MM` (daily), `DOW[,DOW] HH:MM` (weekly, `mon`…`sun`) and `*∕N` (every N minutes). UTC.
 *
 * @module
 */

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** Epoch seconds of the first run of `schedule` strictly after `afterSec`. */
export function nextRun(schedule: string, afterSec: number): number {
  const every = /^\*\/(\d+)$/.exec(schedule.trim());
  if (every) {
    const step = Number(every[1]) * 60;
    return (Math.floor(afterSec / step) + 1) * step;
  }
  const m = /^(?:([a-z,]+)\s+)?(\d{1,2}):(\d{2})$/.exec(schedule.trim());
  if (!m) return afterSec + 86_400;
  const days = m[1] ? m[1].split(",").map((d) => DAYS.indexOf(d.slice(0, 3))) : undefined;
  const start = new Date(afterSec * 1000);
  for (let i = 0; i <= 7; i++) {
    const at = Date.UTC(
      start.getUTCFullYear(),
      start.getUTCMonth(),
      start.getUTCDate() + i,
      Number(m[2]),
      Number(m[3]),
    ) / 1000;
    const dow = new Date(at * 1000).getUTCDay();
    if (at > afterSec && (!days || days.includes(dow))) return at;
  }
  return afterSec + 7 * 86_400;
}

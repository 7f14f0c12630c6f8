/**
 * RRD series (`…/rrddata`) derived from the clock: a daily shape (busy in the afternoon, quiet at
 * night), a little deterministic noise, and the spikes stored in `state.ops.spikes`. Rows are
 * what PVE's rrdcached returns: `time` plus one field per series, averaged or maximised over each
 * step (`cf`); periods a guest was not running carry only `time`.
 *
 * @module
 */
import { unit } from "./rng.ts";
import type { ClusterState, Guest, NodeState } from "./state.ts";
import { guestUsage } from "./usage.ts";

/** RRD timeframes and their step in seconds (70 rows each, as PVE returns). */
export const RRD_STEPS: Record<string, number> = {
  hour: 60,
  day: 1800,
  week: 10_800,
  month: 43_200,
  year: 604_800,
  decade: 6_048_000,
};

const ROWS = 70;
const SAMPLES = 6;

/** Load factor of the time of day: about 0.25 at 02:00 UTC, 1 at 14:00 UTC. */
function dailyShape(ms: number): number {
  const hour = (ms / 3_600_000) % 24;
  return 0.625 + 0.375 * Math.sin(((hour - 8) / 24) * 2 * Math.PI);
}

function spikeAt(state: ClusterState, id: string, ms: number): number | undefined {
  for (const s of state.ops.spikes) {
    if (s.id === id && ms >= s.at && ms < s.at + s.lengthMs) return s.cpu;
  }
  return undefined;
}

function combine(values: number[], cf: string): number {
  return cf === "MAX" ? Math.max(...values) : values.reduce((a, b) => a + b, 0) / values.length;
}

function times(now: number, timeframe: string): number[] {
  const step = RRD_STEPS[timeframe];
  const last = Math.floor(now / 1000 / step) * step;
  return Array.from({ length: ROWS }, (_, i) => last - (ROWS - 1 - i) * step);
}

/** Sample instants (epoch ms) inside the step that starts at `t` seconds. */
function samples(t: number, step: number): number[] {
  return Array.from({ length: SAMPLES }, (_, i) => (t + (step * (i + 0.5)) / SAMPLES) * 1000);
}

function guestCpuAt(state: ClusterState, guest: Guest, base: number, ms: number): number {
  const spike = spikeAt(state, `${guest.type}/${guest.vmid}`, ms);
  if (spike !== undefined) return spike;
  const noise = (unit(state.seed, guest.vmid, Math.floor(ms / 60_000)) - 0.5) * 0.02;
  return Math.max(0, Math.min(1, base * (0.3 + dailyShape(ms)) + noise));
}

/** RRD rows of a guest. */
export function guestRrd(
  state: ClusterState,
  guest: Guest,
  now: number,
  timeframe: string,
  cf: string,
): Record<string, number>[] {
  const step = RRD_STEPS[timeframe];
  const live = guestUsage(state, guest, now);
  const base = 0.02 + unit(state.seed, guest.vmid, 1) ** 2 * 0.35;
  const rate = 2_000 + unit(state.seed, guest.vmid, 4) * 400_000;
  const running = guest.status === "running";
  const startedSec = (guest.startedAt ?? now) / 1000;
  return times(now, timeframe).map((t): Record<string, number> => {
    const fixed = { time: t, maxcpu: live.cpus, maxmem: live.maxmem, maxdisk: live.maxdisk };
    if (!running || t + step <= startedSec) return { time: t };
    const at = samples(t, step);
    const cpu = combine(at.map((ms) => guestCpuAt(state, guest, base, ms)), cf);
    const load = combine(at.map(dailyShape), cf);
    const memFrac = 0.3 + 0.55 * unit(state.seed, guest.vmid, 2);
    return {
      ...fixed,
      cpu: round(cpu),
      mem: Math.floor(live.maxmem * Math.min(0.97, memFrac * (0.9 + 0.1 * load))),
      disk: live.disk,
      netin: round(rate * load),
      netout: round(rate * load * (0.2 + unit(state.seed, guest.vmid, 5))),
      diskread: round(rate * 0.7 * load),
      diskwrite: round(rate * 0.3 * load + (cpu > 0.8 ? 40 * 2 ** 20 : 0)),
    };
  });
}

/** RRD rows of a node: guest load plus its own baseline. */
export function nodeRrd(
  state: ClusterState,
  node: NodeState,
  now: number,
  timeframe: string,
  cf: string,
): Record<string, number>[] {
  const step = RRD_STEPS[timeframe];
  const guests = [...state.guests.values()].filter((g) =>
    g.node === node.name && g.status === "running"
  );
  const bootedSec = node.bootedAt / 1000;
  const guestRows = guests.map((g) => ({ g, rows: guestRrd(state, g, now, timeframe, cf) }));
  return times(now, timeframe).map((t, i): Record<string, number> => {
    if (!node.online || t + step <= bootedSec) return { time: t };
    let cores = 0;
    let mem = 2 * 2 ** 30;
    let netin = 1_500;
    let netout = 900;
    for (const { rows } of guestRows) {
      const r = rows[i];
      cores += (r.cpu ?? 0) * (r.maxcpu ?? 0);
      mem += r.mem ?? 0;
      netin += r.netin ?? 0;
      netout += r.netout ?? 0;
    }
    const cpu = Math.min(1, 0.015 + cores / node.cpus);
    return {
      time: t,
      cpu: round(cpu),
      maxcpu: node.cpus,
      iowait: round(0.002 + cpu * 0.04),
      loadavg: round(cpu * node.cpus * 1.1),
      memtotal: node.memory,
      memused: Math.min(node.memory, mem),
      swaptotal: node.swap,
      swapused: 0,
      roottotal: node.rootfs,
      rootused: Math.floor(node.rootfs * 0.18),
      netin: round(netin),
      netout: round(netout),
    };
  });
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

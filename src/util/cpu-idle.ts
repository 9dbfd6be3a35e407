// How idle the host's CPUs were between two readings of /proc/stat (all CPUs together): what
// boot pacing measures to decide whether one more guest may boot. Linux only; elsewhere, and on
// an unreadable /proc/stat, there is no reading (undefined) and pacing keeps its fixed limit.
import { readFileSync } from 'node:fs';

interface Reading {
  idle: number;
  total: number;
}

function read(): Reading | undefined {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    if (!line.startsWith('cpu ') || f.length < 5 || f.some((n) => !Number.isFinite(n))) return undefined;
    // user nice system idle iowait ...: idle and iowait are time no guest could use.
    return { idle: f[3]! + f[4]!, total: f.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/** A sampler: each call gives the idle fraction (0..1) since the previous call, or undefined. */
export function idleSampler(): () => number | undefined {
  let last = read();
  return () => {
    const now = read();
    const prev = last;
    last = now;
    if (now === undefined || prev === undefined || now.total <= prev.total) return undefined;
    return (now.idle - prev.idle) / (now.total - prev.total);
  };
}

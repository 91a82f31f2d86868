// CPU time and memory from /proc: of one process, of a process and everything it started, and of
// the whole machine. The machine is shared, so every window also says how much CPU went to other
// work; above NOISY_OTHER_CORES a figure is flagged as noisy.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pct } from './format.ts';

/** Other work on the machine above this (in cores) makes a figure suspect. */
export const NOISY_OTHER_CORES = 0.25;

const CLOCK_TICKS_PER_S = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The fields after the parenthesised command name (which may hold spaces): state is [0]. */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime (fields 14 and 15 of proc(5), so 11 and 12 from the state field), in ms. */
function cpuMsOf(fields: string[]): number {
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

export function processCpuMs(pid: number): number {
  return cpuMsOf(statFields(pid));
}

export interface MachineCpu {
  busy: number;
  total: number;
}

export function machineCpu(): MachineCpu {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const ticks = values.map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = ticks[3]! + ticks[4]!;
  return { busy: total - idle, total };
}

export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

export interface CpuWindow {
  /** The server's CPU time over the window, in cores (1 = one core busy all along). */
  serverCores: number;
  /** The whole machine's busy fraction over the window. */
  machineBusy: number;
}

/** Reads the server's and the machine's CPU counters at both edges of a window (Date.now()). */
export async function sampleCpu(
  pid: number,
  windowStart: number,
  windowEnd: number,
): Promise<CpuWindow> {
  await sleep(windowStart - Date.now());
  const t0 = performance.now();
  const server0 = processCpuMs(pid);
  const machine0 = machineCpu();
  await sleep(windowEnd - Date.now());
  const elapsed = performance.now() - t0;
  const server1 = processCpuMs(pid);
  const machine1 = machineCpu();
  return {
    serverCores: (server1 - server0) / elapsed,
    machineBusy: (machine1.busy - machine0.busy) / (machine1.total - machine0.total),
  };
}

/** CPU ms of this process and of every process it started, by pid. */
function treeCpuMs(): Map<number, number> {
  const parentOf = new Map<number, number>();
  const cpuOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fields: string[];
    try {
      fields = statFields(name);
    } catch {
      continue; // gone meanwhile
    }
    parentOf.set(Number(name), Number(fields[1]));
    cpuOf.set(Number(name), cpuMsOf(fields));
  }
  const ours = new Map<number, number>();
  for (const [pid, cpu] of cpuOf) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parentOf.get(p)) {
      if (p === process.pid) {
        ours.set(pid, cpu);
        break;
      }
    }
  }
  return ours;
}

export interface CpuMark {
  at: number;
  tree: Map<number, number>;
  machine: MachineCpu;
}

export function cpuMark(): CpuMark {
  return { at: performance.now(), tree: treeCpuMs(), machine: machineCpu() };
}

/**
 * Cores used by other work since `from`: the machine's busy time minus this process tree's.
 * Processes that exited in between are left out of the tree's share; `extraOursMs` puts back
 * what they reported using themselves.
 */
export function otherCoresSince(from: CpuMark, extraOursMs = 0): number {
  const to = cpuMark();
  const elapsed = to.at - from.at;
  let oursMs = extraOursMs;
  for (const [pid, cpu] of to.tree) oursMs += cpu - (from.tree.get(pid) ?? 0);
  const busy =
    (to.machine.busy - from.machine.busy) / Math.max(1, to.machine.total - from.machine.total);
  return Math.max(0, busy * cpus().length - oursMs / elapsed);
}

/** The verdict's suffix when other work used more than NOISY_OTHER_CORES. */
export function noiseNote(otherCores: number): string {
  return otherCores > NOISY_OTHER_CORES
    ? `; noisy: other processes used ${pct(otherCores)} of a core`
    : '';
}

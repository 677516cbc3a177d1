// A server process's memory and CPU time, read from Linux's /proc.

import { readFileSync, writeFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc times; USER_HZ is 100 on every mainstream Linux. */
const TICKS_PER_SECOND = 100;

/** A field of /proc/<pid>/status, in KiB. */
function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} for process ${pid}`);
  return Number(match[1]);
}

/** Resident set size now, in KiB. */
export const rssKiB = (pid: number): number => statusKiB(pid, 'VmRSS');

/** A server's resident memory over a measurement. */
export type Memory = {
  beforeKiB: number;
  /** The highest VmRSS sampled. */
  peakKiB: number;
  /** The kernel's own peak (VmHWM) since the watch began, when it could be reset (clear_refs 5, Linux 4.0+). */
  hwmKiB?: number;
};

const RSS_SAMPLE_MS = 50;

/** Samples pid's VmRSS every 50 ms until stopped, and resets its VmHWM to read the kernel's peak at the end. */
export function watchMemory(pid: number): { stop(): Memory } {
  let hwmReset = false;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    hwmReset = true;
  } catch {
    // Not permitted or too old a kernel: the sampled peak alone.
  }
  const before = rssKiB(pid);
  const memory: Memory = { beforeKiB: before, peakKiB: before };
  const sample = () => {
    try {
      memory.peakKiB = Math.max(memory.peakKiB, rssKiB(pid));
    } catch {
      // The server is gone; the client fails and reports it.
    }
  };
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      if (hwmReset) {
        try {
          memory.hwmKiB = statusKiB(pid, 'VmHWM');
        } catch {
          // Gone, as above.
        }
      }
      return memory;
    },
  };
}

/** user + system CPU seconds from a stat file (the command name in parentheses may contain spaces). */
function statCpuSeconds(path: string): number {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5), counted from field 3 right after the command name.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * CPU seconds used so far by the whole process and by its main thread alone:
 * the V8 profile sees only the main thread, DuckDB works on its own threads.
 */
export function cpuSeconds(pid: number): { process: number; mainThread: number } {
  return { process: statCpuSeconds(`/proc/${pid}/stat`), mainThread: statCpuSeconds(`/proc/${pid}/task/${pid}/stat`) };
}


// A server process's memory and CPU time, read from Linux's /proc.

import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc times; USER_HZ is 100 on every mainstream Linux. */
const TICKS_PER_SECOND = 100;

/** Resident set size now, in KiB. */
export function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
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


// Where Arka's time goes: one pgbench run against an Arka under V8's CPU
// profiler, summarised as self time per function.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ARKA_BIN, tempDataDir } from '../test/support/arka.js';
import type { Target } from './common.js';
import { arkaTarget } from './servers.js';
import { runPgbench, type PgbenchCase, type PgbenchResult } from './pgbench.js';
import { cpuSeconds } from './proc.js';

/** The parts of a .cpuprofile (Chrome DevTools format) the summary needs. */
type CpuProfile = {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  /** µs on the monotonic clock, the one process.hrtime reads. */
  startTime: number;
  /** The node on top of the stack at each sample, and the µs since the sample before. */
  samples: number[];
  timeDeltas: number[];
};

/** A stretch of the monotonic clock, in µs. */
type Window = { startUs: number; endUs: number };

export type FunctionTime = { functionName: string; file: string; selfMs: number };
export type ProfileSummary = { idleMs: number; busyMs: number; top: FunctionTime[] };
export type ProfiledRun = {
  pgbench: PgbenchResult;
  /** CPU seconds the Arka process spent during the pgbench run, in all threads and in the JS (main) thread. */
  cpu: { process: number; mainThread: number };
  summary: ProfileSummary;
};

const TOP = 15;

/** setup (creating the tables the script writes, say) runs before the profiled window. */
export async function profiledRun(
  benchCase: PgbenchCase,
  scriptFile: string,
  seconds: number,
  setup?: (target: Target) => Promise<void>,
): Promise<ProfiledRun> {
  const profileDir = mkdtempSync(join(tmpdir(), 'arka-bench-prof-'));
  const dataDir = tempDataDir();
  try {
    const arka = await startProfiledArka(profileDir, dataDir);
    let pgbench: PgbenchResult;
    let cpu: ProfiledRun['cpu'];
    let window: Window;
    try {
      const target = arkaTarget(arka.port);
      await setup?.(target);
      const before = cpuSeconds(arka.pid);
      const startUs = monotonicUs();
      pgbench = await runPgbench(target, scriptFile, benchCase, seconds);
      window = { startUs, endUs: monotonicUs() };
      const after = cpuSeconds(arka.pid);
      cpu = { process: after.process - before.process, mainThread: after.mainThread - before.mainThread };
    } finally {
      await arka.stop();
    }
    return { pgbench, cpu, summary: summarise(readProfiles(profileDir), window) };
  } finally {
    rmSync(profileDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

type ProfiledArka = { port: number; pid: number; stop(): Promise<void> };

/** The Arka CLI under node --cpu-prof, which NODE_OPTIONS does not accept, hence not test/support's startArka. */
async function startProfiledArka(profileDir: string, dataDir: string): Promise<ProfiledArka> {
  const args = ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, ARKA_BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = once(child, 'exit');
  // SIGTERM: Arka shuts down and exits normally, which is when node writes the profile.
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  let log = '';
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`profiled Arka did not start within 30 s: ${log}`)), 30_000);
      child.stderr.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        const match = /"port":(\d+)[^\n]*"msg":"arka listening"/.exec(log);
        if (!match) return;
        clearTimeout(timer);
        resolve(Number(match[1]));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`profiled Arka exited with ${code} before listening: ${log}`));
      });
    });
    return { port, pid: child.pid!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function readProfiles(dir: string): CpuProfile[] {
  const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`Arka wrote no .cpuprofile into ${dir}`);
  return files.map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as CpuProfile);
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Self time per function (by name and file) while pgbench ran: the samples
 * inside the window, each counted for its sampling interval. Outside it are
 * start-up (module loading, DuckDB's dlopen) and shutdown, which are not
 * what a client waits for.
 */
function summarise(profiles: CpuProfile[], window: Window): ProfileSummary {
  const selfMs = new Map<string, FunctionTime>();
  for (const profile of profiles) {
    const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    let time = profile.startTime;
    profile.samples.forEach((nodeId, i) => {
      const intervalUs = profile.timeDeltas[i]!;
      time += intervalUs;
      if (time < window.startUs || time > window.endUs) return;
      const frame = frames.get(nodeId)!;
      const functionName = frame.functionName || '(anonymous)';
      const file = frame.url ? basename(frame.url) : '';
      const key = `${functionName}\0${file}`;
      const entry = selfMs.get(key) ?? { functionName, file, selfMs: 0 };
      entry.selfMs += intervalUs / 1000;
      selfMs.set(key, entry);
    });
  }
  const all = [...selfMs.values()].sort((a, b) => b.selfMs - a.selfMs);
  // (idle) is the main thread waiting for the network or DuckDB: reported apart, not as work.
  const idleMs = all.filter((f) => f.functionName === '(idle)').reduce((sum, f) => sum + f.selfMs, 0);
  const busy = all.filter((f) => f.functionName !== '(idle)');
  return { idleMs, busyMs: busy.reduce((sum, f) => sum + f.selfMs, 0), top: busy.slice(0, TOP) };
}

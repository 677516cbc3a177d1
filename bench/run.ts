// npm run bench: Arka and PostgreSQL 15 side by side on this machine —
// pgbench throughput and latency, a 10-million-row result streamed to psql,
// and a CPU profile of Arka — printed as markdown and written to BENCHMARKS.md.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attempt, type Outcome } from './common.js';
import { checkScript, pgbenchCases, runPgbench, SCRIPTS, writeScripts, type PgbenchCase, type Script } from './pgbench.js';
import { profiledRun } from './profile.js';
import { renderResults, writeBenchmarks, type Machine, type Pair, type Results } from './report.js';
import { startArkaServer, startPostgresServer, type Server } from './servers.js';
import { streamRows } from './stream.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEFAULT_SECONDS = 10;
const PROFILE_CASE: PgbenchCase = { script: SCRIPTS[0]!, clients: 1, threads: 1, protocol: 'prepared' };

type Side = keyof Pair<unknown>;

function benchSeconds(): number {
  const raw = process.env['BENCH_SECONDS'];
  if (!raw) return DEFAULT_SECONDS;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds <= 0) throw new Error(`BENCH_SECONDS must be a positive integer, got "${raw}"`);
  return seconds;
}

function machine(): Machine {
  return {
    date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverage: os.loadavg()[0]!,
  };
}

/** Runs measure on Arka, then on PostgreSQL (never both at once); a server that did not start fails its side. */
async function onBoth<T>(servers: Pair<Server>, what: string, measure: (server: Server, side: Side) => Promise<T>): Promise<Pair<T>> {
  const on = async (side: Side): Promise<Outcome<T>> => {
    const server = servers[side];
    if (!server.ok) return server;
    process.stderr.write(`bench: ${server.value.target.name}: ${what}\n`);
    return attempt(`${server.value.target.name} ${what}`, () => measure(server.value, side));
  };
  return { arka: await on('arka'), postgres: await on('postgres') };
}

async function measureServers(
  servers: Pair<Server>,
  scriptFiles: Map<Script, string>,
  seconds: number,
): Promise<Pick<Results, 'pgbench' | 'stream'>> {
  const checks = new Map<Script, Pair<void>>();
  for (const script of SCRIPTS) checks.set(script, await onBoth(servers, `check ${script.label}`, (server) => checkScript(server.target, script)));
  const pgbench: Results['pgbench'] = [];
  for (const benchCase of pgbenchCases()) {
    const { script, protocol, clients } = benchCase;
    const result = await onBoth(servers, `pgbench ${script.label} ${protocol} -c ${clients}`, (server, side) => {
      const check = checks.get(script)![side];
      if (!check.ok) throw new Error(`not run, the check failed: ${check.error}`);
      return runPgbench(server.target, scriptFiles.get(script)!, benchCase, seconds);
    });
    pgbench.push({ benchCase, ...result });
  }
  const stream = await onBoth(servers, 'stream to psql', (server) => streamRows(server.target, server.pid));
  return { pgbench, stream };
}

async function stopServers(servers: Pair<Server>): Promise<void> {
  for (const server of [servers.arka, servers.postgres]) {
    if (server.ok) await attempt(`stop ${server.value.target.name}`, () => server.value.stop());
  }
}

async function main(): Promise<void> {
  const seconds = benchSeconds();
  const host = machine();
  const workDir = mkdtempSync(join(os.tmpdir(), 'arka-bench-'));
  try {
    const scriptFiles = writeScripts(workDir);
    const servers: Pair<Server> = {
      arka: await attempt('start Arka', startArkaServer),
      postgres: await attempt('start PostgreSQL', startPostgresServer),
    };
    let measured: Pick<Results, 'pgbench' | 'stream'>;
    try {
      measured = await measureServers(servers, scriptFiles, seconds);
    } finally {
      await stopServers(servers);
    }
    // After the others have stopped, so the profiled Arka has the machine to itself.
    process.stderr.write('bench: Arka under --cpu-prof\n');
    const profile = await attempt('profiled run', () => profiledRun(PROFILE_CASE, scriptFiles.get(PROFILE_CASE.script)!, seconds));
    const markdown = renderResults({ machine: host, seconds, ...measured, profileCase: PROFILE_CASE, profile });
    process.stdout.write(markdown);
    writeBenchmarks(join(ROOT, 'BENCHMARKS.md'), markdown);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();

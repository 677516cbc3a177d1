// The read section: pgbench throughput and latency of two queries, a
// 10-million-row result streamed to psql, and a CPU profile of Arka answering
// SELECT 1 — against PostgreSQL 15 with default settings.

import { attempt, type Outcome } from './common.js';
import { checkScript, pgbenchCases, runPgbench, SCRIPTS, writeScripts, type PgbenchCase, type PgbenchResult, type Script } from './pgbench.js';
import { profiledRun, type ProfiledRun } from './profile.js';
import { cell, failure, loadCell, loadsCell, machine, machineLine, memoryCell, ratio, renderProfile, table, type Machine } from './report.js';
import { onBoth, startServers, stopServers, type Pair } from './servers.js';
import { STREAM_ROWS, streamRows, type StreamResult } from './stream.js';

const PROFILE_CASE: PgbenchCase = { script: SCRIPTS[0]!, clients: 1, threads: 1, protocol: 'prepared' };

type ReadResults = {
  machine: Machine;
  seconds: number;
  pgbench: (Pair<PgbenchResult> & { benchCase: PgbenchCase })[];
  stream: Pair<StreamResult>;
  profile: Outcome<ProfiledRun>;
};

/** Runs the section; returns its results as markdown. */
export async function readSection(workDir: string, seconds: number): Promise<string> {
  const host = machine();
  const scriptFiles = writeScripts(workDir, SCRIPTS, 'read');
  const servers = await startServers();
  let measured: Pick<ReadResults, 'pgbench' | 'stream'>;
  try {
    const checks = new Map<Script, Pair<void>>();
    for (const script of SCRIPTS) checks.set(script, await onBoth(servers, `check ${script.label}`, (server) => checkScript(server.target, script)));
    const pgbench: ReadResults['pgbench'] = [];
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
    measured = { pgbench, stream };
  } finally {
    await stopServers(servers);
  }
  // After the others have stopped, so the profiled Arka has the machine to itself.
  process.stderr.write('bench: read: Arka under --cpu-prof\n');
  const profile = await attempt('profiled run', () => profiledRun(PROFILE_CASE, scriptFiles.get(PROFILE_CASE.script)!, seconds));
  return render({ machine: host, seconds, ...measured, profile });
}

function render(r: ReadResults): string {
  return [
    `${machineLine(r.machine)} ${r.seconds} s per pgbench run.`,
    '',
    '### pgbench',
    '',
    table(
      ['Query', 'Protocol', 'Clients', 'Arka tps', 'Arka latency ms', 'PostgreSQL tps', 'PostgreSQL latency ms', 'Arka / PostgreSQL tps', 'Load (Arka / PostgreSQL)'],
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      r.pgbench.map((row) => {
        const { benchCase: c, arka, postgres } = row;
        return [
          c.script.label, c.protocol, String(c.clients),
          cell(arka, (v) => v.tps.toFixed(0)), cell(arka, (v) => v.latencyMs.toFixed(3)),
          cell(postgres, (v) => v.tps.toFixed(0)), cell(postgres, (v) => v.latencyMs.toFixed(3)),
          ratio(arka, postgres, (v) => v.tps), loadsCell(row),
        ];
      }),
    ),
    '',
    `### Streaming ${STREAM_ROWS.toLocaleString('en')} rows to psql`,
    '',
    table(
      ['Server', 'Wall time s', 'Rows/s', 'Server RSS before → peak', 'Load'],
      ['l', 'r', 'r', 'r', 'r'],
      [
        streamRow('Arka', r.stream.arka),
        streamRow('PostgreSQL', r.stream.postgres),
        ['Arka / PostgreSQL', '', ratio(r.stream.arka, r.stream.postgres, (v) => v.rowsPerSecond), '', ''],
      ],
    ),
    '',
    `### Where Arka's time goes (${PROFILE_CASE.script.label}, ${PROFILE_CASE.protocol}, ${PROFILE_CASE.clients} client)`,
    '',
    r.profile.ok ? renderProfile(r.profile.value, r.seconds) : `Profile failed: ${r.profile.error}`,
    '',
  ].join('\n');
}

function streamRow(name: string, outcome: Pair<StreamResult>['arka']): string[] {
  if (!outcome.ok) return [name, failure(outcome.error), '', '', loadCell(outcome)];
  const { seconds, rowsPerSecond, serverMemory } = outcome.value;
  return [name, seconds.toFixed(2), rowsPerSecond.toFixed(0), memoryCell(serverMemory), loadCell(outcome)];
}

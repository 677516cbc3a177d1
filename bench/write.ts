// The write section: a 5-million-row COPY, single-row INSERTs and upserts
// under pgbench, the freshness of a steady stream of writes as another
// connection sees it, and a CPU profile of Arka taking inserts — against
// PostgreSQL 15 with synchronous_commit = on and fsync on.

import { attempt, psql, type Outcome, type Target } from './common.js';
import { COPY_ROWS, copyInto, writeCopyFile, type CopyFile, type CopyResult } from './copy.js';
import { FRESH_BATCH_ROWS, FRESH_INTERVAL_MS, FRESH_TABLE_SQL, measureFreshness, type FreshnessResult, type Percentiles } from './freshness.js';
import { INSERT_SCRIPT, runPgbench, UPSERT_SCRIPT, writeScripts, type PgbenchCase, type PgbenchResult, type Script } from './pgbench.js';
import { profiledRun, type ProfiledRun } from './profile.js';
import { cell, failure, loadCell, loadsCell, machine, machineLine, memoryCell, mib, ratio, renderProfile, table, type Machine } from './report.js';
import { onBoth, startServers, stopServers, type Pair, type Side } from './servers.js';

const POSTGRES_SETTINGS = { synchronous_commit: 'on' };
const POSTGRES_SHOWN = ['synchronous_commit', 'fsync', 'wal_sync_method', 'full_page_writes'];

const INSERT_TABLE_SQL = 'CREATE TABLE ins (id bigint, v text)';
const UPSERT_TABLE_SQL = 'CREATE TABLE ups (id bigint PRIMARY KEY, v text)';
const TABLE_OF = new Map<Script, string>([[INSERT_SCRIPT, 'ins'], [UPSERT_SCRIPT, 'ups']]);

const INSERT_CASES: PgbenchCase[] = [
  { script: INSERT_SCRIPT, clients: 1, threads: 1, protocol: 'prepared' },
  { script: INSERT_SCRIPT, clients: 8, threads: 2, protocol: 'prepared' },
  { script: UPSERT_SCRIPT, clients: 8, threads: 2, protocol: 'prepared' },
];
const PROFILE_CASE = INSERT_CASES[1]!;

/** A pgbench run, and the rows its table held afterwards against the transactions pgbench counted on it so far. */
type InsertResult = PgbenchResult & { rows: number; acknowledged: number };

type WriteResults = {
  machine: Machine;
  seconds: number;
  copyFile: CopyFile;
  postgresSettings: Outcome<string[]>;
  copy: Pair<CopyResult>;
  inserts: (Pair<InsertResult> & { benchCase: PgbenchCase })[];
  freshness: Pair<FreshnessResult>;
  profile: Outcome<ProfiledRun>;
};

/** Runs the section; returns its results as markdown. */
export async function writeSection(workDir: string, seconds: number): Promise<string> {
  process.stderr.write(`bench: write: generating ${COPY_ROWS.toLocaleString('en')} CSV rows\n`);
  const copyFile = writeCopyFile(workDir);
  const scriptFiles = writeScripts(workDir, [INSERT_SCRIPT, UPSERT_SCRIPT], 'write');
  const host = machine();
  const servers = await startServers(POSTGRES_SETTINGS);
  let measured: Omit<WriteResults, 'machine' | 'seconds' | 'copyFile' | 'profile'>;
  try {
    const postgresSettings = await showSettings(servers.postgres);
    const setup = await onBoth(servers, 'create tables', (server) => psql(server.target, [INSERT_TABLE_SQL, UPSERT_TABLE_SQL, FRESH_TABLE_SQL]));
    const ready = (side: Side) => {
      const outcome = setup[side];
      if (!outcome.ok) throw new Error(`not run, creating the tables failed: ${outcome.error}`);
    };

    const copy = await onBoth(servers, `\\copy ${COPY_ROWS} rows`, (server) => copyInto(server.target, copyFile, server.pid));

    const acknowledged: Record<Side, Map<string, number>> = { arka: new Map(), postgres: new Map() };
    const inserts: WriteResults['inserts'] = [];
    for (const benchCase of INSERT_CASES) {
      const { script, clients } = benchCase;
      const tableName = TABLE_OF.get(script)!;
      const result = await onBoth(servers, `pgbench ${script.label} -c ${clients}`, async (server, side) => {
        ready(side);
        const pgbench = await runPgbench(server.target, scriptFiles.get(script)!, benchCase, seconds);
        const total = (acknowledged[side].get(tableName) ?? 0) + pgbench.transactions;
        acknowledged[side].set(tableName, total);
        const [rows] = await psql(server.target, `SELECT count(*) FROM ${tableName}`);
        return { ...pgbench, rows: Number(rows), acknowledged: total };
      });
      inserts.push({ benchCase, ...result });
    }

    const freshness = await onBoth(servers, `freshness, ${FRESH_BATCH_ROWS} rows every ${FRESH_INTERVAL_MS} ms`, (server, side) => {
      ready(side);
      return measureFreshness(server.target, seconds);
    });
    measured = { postgresSettings, copy, inserts, freshness };
  } finally {
    await stopServers(servers);
  }
  // After the others have stopped, so the profiled Arka has the machine to itself.
  process.stderr.write('bench: write: Arka under --cpu-prof\n');
  const profile = await attempt('profiled run', () =>
    profiledRun(PROFILE_CASE, scriptFiles.get(PROFILE_CASE.script)!, seconds, async (target) => {
      await psql(target, INSERT_TABLE_SQL);
    }),
  );
  return render({ machine: host, seconds, copyFile, ...measured, profile });
}

async function showSettings(postgres: Outcome<{ target: Target }>): Promise<Outcome<string[]>> {
  if (!postgres.ok) return postgres;
  const { target } = postgres.value;
  return attempt('PostgreSQL settings', () => psql(target, POSTGRES_SHOWN.map((name) => `SHOW ${name}`)));
}

function render(r: WriteResults): string {
  const shown = r.postgresSettings;
  const settings = shown.ok
    ? POSTGRES_SHOWN.map((name, i) => `\`${name} = ${shown.value[i]}\``).join(', ')
    : `(settings not read: ${shown.error})`;
  return [
    `${machineLine(r.machine)} ${r.seconds} s per pgbench run and per freshness run. PostgreSQL: ${settings}.`,
    '',
    goals(r),
    '',
    `### COPY ${COPY_ROWS.toLocaleString('en')} rows from CSV (${mib(r.copyFile.bytes / 1024)}) with \`\\copy\``,
    '',
    table(
      ['Server', 'Wall time s', 'Rows/s', 'Readable by a new connection after s', 'count(*)', 'Table checked', 'Server RSS before → peak', 'Load'],
      ['l', 'r', 'r', 'r', 'r', 'l', 'r', 'r'],
      [
        copyRow('Arka', r.copy.arka),
        copyRow('PostgreSQL', r.copy.postgres),
        ['Arka / PostgreSQL', '', ratio(r.copy.arka, r.copy.postgres, (v) => v.rowsPerSecond), '', '', '', '', ''],
      ],
    ),
    '',
    '### Single-row writes (pgbench, prepared)',
    '',
    table(
      ['Statement', 'Clients', 'Arka tps', 'Arka latency ms', 'PostgreSQL tps', 'PostgreSQL latency ms', 'Arka / PostgreSQL tps', 'Rows / acknowledged (Arka; PostgreSQL)', 'Load (Arka / PostgreSQL)'],
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      r.inserts.map((row) => {
        const { benchCase: c, arka, postgres } = row;
        const counted = (v: InsertResult) => `${v.rows} / ${v.acknowledged}`;
        return [
          c.script.label, `${c.clients} (\`-j ${c.threads}\`)`,
          cell(arka, (v) => v.tps.toFixed(0)), cell(arka, (v) => v.latencyMs.toFixed(3)),
          cell(postgres, (v) => v.tps.toFixed(0)), cell(postgres, (v) => v.latencyMs.toFixed(3)),
          ratio(arka, postgres, (v) => v.tps),
          `${arka.ok ? counted(arka.value) : '—'}; ${postgres.ok ? counted(postgres.value) : '—'}`,
          loadsCell(row),
        ];
      }),
    ),
    '',
    `### Freshness: ${FRESH_BATCH_ROWS} rows every ${FRESH_INTERVAL_MS} ms, another connection polling`,
    '',
    table(
      ['Server', 'Writes', 'Rows/s achieved', 'Late writes', 'Write round trip p50 / p99 ms', 'Visible after ack p50 ms', 'p99 ms', 'max ms', 'Seen before ack', 'Polls (mean round trip ms)', 'Load'],
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      [freshnessRow('Arka', r.freshness.arka), freshnessRow('PostgreSQL', r.freshness.postgres)],
    ),
    '',
    `### Where Arka's time goes (${PROFILE_CASE.script.label}, ${PROFILE_CASE.protocol}, ${PROFILE_CASE.clients} clients)`,
    '',
    r.profile.ok ? renderProfile(r.profile.value, r.seconds) : `Profile failed: ${r.profile.error}`,
    '',
  ].join('\n');
}

/** The targets set for the write path, each met or not by this run's figures. */
function goals(r: WriteResults): string {
  const verdict = (met: boolean | undefined) => (met === undefined ? 'not measured' : met ? 'met' : '**not met**');
  const tpsRatio = (pair: Pair<InsertResult>) => (pair.arka.ok && pair.postgres.ok ? pair.arka.value.tps / pair.postgres.value.tps : undefined);
  const copyRatio = r.copy.arka.ok && r.copy.postgres.ok ? r.copy.arka.value.rowsPerSecond / r.copy.postgres.value.rowsPerSecond : undefined;
  const insert8 = r.inserts.find((row) => row.benchCase.script === INSERT_SCRIPT && row.benchCase.clients === 8);
  const insertRatio = insert8 && tpsRatio(insert8);
  const fresh = r.freshness.arka.ok ? r.freshness.arka.value : undefined;
  const freshRate = fresh ? `, at ${fresh.rowsPerSecond.toFixed(0)} rows/s achieved of the ${(FRESH_BATCH_ROWS * 1000) / FRESH_INTERVAL_MS} aimed at` : '';
  return [
    'Goals:',
    `- COPY rows/s, Arka / PostgreSQL ≥ 1.0: ${copyRatio?.toPrecision(2) ?? '—'}, ${verdict(copyRatio === undefined ? undefined : copyRatio >= 1)}.`,
    `- Single-row INSERT tps at 8 clients, Arka / PostgreSQL ≥ 1.0: ${insertRatio?.toPrecision(2) ?? '—'}, ${verdict(insertRatio === undefined ? undefined : insertRatio >= 1)}.`,
    `- Freshness p99 on Arka < 10 ms: ${fresh ? `${ms(fresh.visibleMs.p99)} ms` : '—'}, ${verdict(fresh && fresh.visibleMs.p99 < 10)}${freshRate}.`,
  ].join('\n');
}

function copyRow(name: string, outcome: Pair<CopyResult>['arka']): string[] {
  if (!outcome.ok) return [name, failure(outcome.error), '', '', '', '', '', loadCell(outcome)];
  const v = outcome.value;
  const checked = v.mismatches.length === 0 ? 'matches the file' : `**wrong**: ${v.mismatches.join('; ')}`;
  return [name, v.seconds.toFixed(2), v.rowsPerSecond.toFixed(0), v.readableSeconds.toFixed(2), v.count.toLocaleString('en'), checked, memoryCell(v.serverMemory), loadCell(outcome)];
}

const ms = (value: number) => value.toFixed(value < 10 ? 2 : 1);
const p50p99 = (p: Percentiles) => `${ms(p.p50)} / ${ms(p.p99)}`;

function freshnessRow(name: string, outcome: Pair<FreshnessResult>['arka']): string[] {
  if (!outcome.ok) return [name, failure(outcome.error), '', '', '', '', '', '', '', '', loadCell(outcome)];
  const v = outcome.value;
  const writes = v.neverSeen > 0 ? `${v.writes} (**${v.neverSeen} never seen**)` : String(v.writes);
  return [
    name, writes, v.rowsPerSecond.toFixed(0), String(v.lateWrites), p50p99(v.ackMs),
    ms(v.visibleMs.p50), ms(v.visibleMs.p99), ms(v.visibleMs.max), String(v.seenBeforeAck),
    `${v.polls} (${v.pollMeanMs.toFixed(2)})`, loadCell(outcome),
  ];
}

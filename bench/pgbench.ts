// pgbench with custom scripts (-n -f, no pgbench tables) as the client for
// both servers, and the checks that each script's SQL means the same on both.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectionArgs, pgTool, psql, runTool, type Target } from './common.js';

export type Script = {
  label: string;
  /** The pgbench script file's text. */
  text: string;
  /** Plain SQL for each extreme of the script's random variables, checked with psql before timing. */
  samples: string[];
  expectedRows: number;
};

const SERIES_SQL = 'SELECT g, g * 2 AS twice FROM generate_series(1, 100) g WHERE g <= :n + 100;';

export const SCRIPTS: Script[] = [
  { label: '`SELECT 1`', text: 'SELECT 1;\n', samples: ['SELECT 1;'], expectedRows: 1 },
  {
    label: '100 rows, `:n` parameter',
    text: `\\set n random(1, 100)\n${SERIES_SQL}\n`,
    samples: [SERIES_SQL.replace(':n', '1'), SERIES_SQL.replace(':n', '100')],
    expectedRows: 100,
  },
];

/** The write section's scripts: no samples to check, the tables are made by the section's setup. */
export const INSERT_SCRIPT: Script = {
  label: 'single-row `INSERT`, no primary key',
  text: "\\set id random(1, 1000000000)\nINSERT INTO ins (id, v) VALUES (:id, 'payload');\n",
  samples: [],
  expectedRows: 0,
};
export const UPSERT_SCRIPT: Script = {
  label: 'single-row upsert, primary key',
  text: "\\set id random(1, 1000000000)\nINSERT INTO ups (id, v) VALUES (:id, 'payload') ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v;\n",
  samples: [],
  expectedRows: 0,
};

export type Protocol = 'simple' | 'prepared';
export type PgbenchCase = { script: Script; clients: number; threads: number; protocol: Protocol };
export type PgbenchResult = { tps: number; latencyMs: number; transactions: number };

export function pgbenchCases(): PgbenchCase[] {
  const cases: PgbenchCase[] = [];
  for (const script of SCRIPTS) {
    for (const [clients, threads] of [[1, 1], [4, 2]] as const) {
      for (const protocol of ['simple', 'prepared'] as const) cases.push({ script, clients, threads, protocol });
    }
  }
  return cases;
}

/** Writes each script to dir (as <prefix>-<n>.sql); returns the file of each. */
export function writeScripts(dir: string, scripts: Script[], prefix: string): Map<Script, string> {
  return new Map(
    scripts.map((script, i) => {
      const file = join(dir, `${prefix}-${i}.sql`);
      writeFileSync(file, script.text);
      return [script, file];
    }),
  );
}

/** Throws unless every sample of the script runs and returns the expected rows. */
export async function checkScript(target: Target, script: Script): Promise<void> {
  for (const sql of script.samples) {
    const rows = (await psql(target, sql)).length;
    if (rows !== script.expectedRows) throw new Error(`${sql} returned ${rows} rows, expected ${script.expectedRows}`);
  }
}

export async function runPgbench(target: Target, scriptFile: string, c: PgbenchCase, seconds: number): Promise<PgbenchResult> {
  const args = [
    ...connectionArgs(target),
    '-n', '-f', scriptFile, '-M', c.protocol, '-c', String(c.clients), '-j', String(c.threads), '-T', String(seconds),
    target.database,
  ];
  return parsePgbench(await runTool(pgTool('pgbench'), args, (seconds + 60) * 1000));
}

function parsePgbench(output: string): PgbenchResult {
  const number = (pattern: RegExp, what: string) => {
    const match = pattern.exec(output);
    if (!match) throw new Error(`no ${what} in pgbench output:\n${output}`);
    return Number(match[1]);
  };
  const failed = /number of failed transactions: (\d+)/.exec(output);
  if (failed && Number(failed[1]) > 0) throw new Error(`pgbench: ${failed[1]} failed transactions`);
  return {
    tps: number(/^tps = ([\d.]+) \(without initial connection time\)/m, 'tps'),
    latencyMs: number(/^latency average = ([\d.]+) ms/m, 'latency'),
    transactions: number(/^number of transactions actually processed: (\d+)/m, 'transaction count'),
  };
}

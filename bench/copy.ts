// COPY of a 5-million-row CSV file through psql's \copy into each server,
// timed, with the Arka process's memory meanwhile, and the loaded table
// checked against what was generated.

import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectionArgs, pgTool, psql, runTool, type Target } from './common.js';
import { watchMemory, type Memory } from './proc.js';

export const COPY_ROWS = 5_000_000;
export const COPY_TABLE_SQL = 'CREATE TABLE t (id bigint, name text, amount numeric(12,2), created_at timestamptz, qty int)';
const COPY_TIMEOUT_MS = 30 * 60_000;

/** The aggregates checked after the load, as psql prints them. */
const FINGERPRINT_SQL = 'SELECT count(*), sum(id), sum(amount), sum(qty), sum(length(name)) FROM t';
const FINGERPRINT = ['count(*)', 'sum(id)', 'sum(amount)', 'sum(qty)', 'sum(length(name))'];
const SAMPLE_IDS = [1, 1000, 2_500_001, COPY_ROWS];

type Row = { id: number; name: string; cents: number; createdAt: string; qty: number };

/** Row id of the file: deterministic, so the checks know every value. */
function row(id: number): Row {
  // One row in 1000 needs CSV quoting: a comma and doubled quotes.
  const name = id % 1000 === 0 ? `row ${id}, "quoted"` : `name-${id}`;
  const cents = (id * 7919) % 100_000_000;
  // A second and 3 µs apart from 2024-01-01 UTC.
  const micros = Date.UTC(2024, 0, 1) * 1000 + id * 1_000_003;
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  const createdAt = `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(micros % 1_000_000).padStart(6, '0')}+00`;
  return { id, name, cents, createdAt, qty: (id % 1000) - 500 };
}

const decimal = (cents: bigint | number) => {
  const c = BigInt(cents);
  return `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;
};
const csvText = (text: string) => (/[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
const sqlText = (text: string) => `'${text.replace(/'/g, "''")}'`;

export type CopyFile = { path: string; bytes: number; fingerprint: string[]; sampleSql: string };

/** Writes the CSV file into dir and works out what the loaded table must hold. */
export function writeCopyFile(dir: string): CopyFile {
  const path = join(dir, 'copy.csv');
  const fd = openSync(path, 'w');
  let sumCents = 0n;
  let sumQty = 0;
  let sumNameLength = 0;
  try {
    const CHUNK = 50_000;
    for (let first = 1; first <= COPY_ROWS; first += CHUNK) {
      const lines: string[] = [];
      for (let id = first; id < first + CHUNK && id <= COPY_ROWS; id++) {
        const r = row(id);
        sumCents += BigInt(r.cents);
        sumQty += r.qty;
        sumNameLength += r.name.length;
        lines.push(`${r.id},${csvText(r.name)},${decimal(r.cents)},${r.createdAt},${r.qty}\n`);
      }
      writeSync(fd, lines.join(''));
    }
  } finally {
    closeSync(fd);
  }
  const n = BigInt(COPY_ROWS);
  const fingerprint = [String(COPY_ROWS), String((n * (n + 1n)) / 2n), decimal(sumCents), String(sumQty), String(sumNameLength)];
  const samples = SAMPLE_IDS.map(row).map(
    (r) => `(id = ${r.id} AND name = ${sqlText(r.name)} AND amount = ${decimal(r.cents)} AND created_at = '${r.createdAt}'::timestamptz AND qty = ${r.qty})`,
  );
  const sampleSql = `SELECT count(*) FROM t WHERE ${samples.join(' OR ')}`;
  return { path, bytes: statSync(path).size, fingerprint, sampleSql };
}

export type CopyResult = {
  /** Until psql's COPY is acknowledged. */
  seconds: number;
  /**
   * Until a new connection's first read of t returns: Arka acknowledges a COPY
   * once it is durable and applies it to DuckDB afterwards, and reads wait for that.
   */
  readableSeconds: number;
  rowsPerSecond: number;
  /** psql's "COPY n". */
  copied: number;
  /** count(*) afterwards. */
  count: number;
  /** Where the table differs from the file (empty: it matches). */
  mismatches: string[];
  serverMemory?: Memory;
};

/** Creates t, loads the file with \copy (timed, serverPid's memory watched when given), then checks t. */
export async function copyInto(target: Target, file: CopyFile, serverPid?: number): Promise<CopyResult> {
  await psql(target, COPY_TABLE_SQL);
  const args = ['-X', '-v', 'ON_ERROR_STOP=1', ...connectionArgs(target), '-d', target.database, '-c', `\\copy t FROM '${file.path}' CSV`];
  const memory = serverPid === undefined ? undefined : watchMemory(serverPid);
  const start = performance.now();
  let output: string;
  let serverMemory: Memory | undefined;
  try {
    output = await runTool(pgTool('psql'), args, COPY_TIMEOUT_MS);
  } finally {
    serverMemory = memory?.stop();
  }
  const seconds = (performance.now() - start) / 1000;
  await psql(target, 'SELECT 1 FROM t LIMIT 1', 600_000);
  const readableSeconds = (performance.now() - start) / 1000;
  const copied = Number(/^COPY (\d+)/m.exec(output)?.[1] ?? NaN);

  const [fingerprintLine] = await psql(target, FINGERPRINT_SQL, 600_000);
  const actual = (fingerprintLine ?? '').split('|');
  const mismatches = FINGERPRINT.flatMap((what, i) =>
    actual[i] === file.fingerprint[i] ? [] : [`${what} = ${actual[i] ?? 'nothing'}, expected ${file.fingerprint[i]}`],
  );
  const [samples] = await psql(target, file.sampleSql, 600_000);
  if (samples !== String(SAMPLE_IDS.length)) mismatches.push(`${samples ?? 'no'} of the ${SAMPLE_IDS.length} sample rows match`);
  if (copied !== COPY_ROWS) mismatches.push(`psql reported ${output.trim()}`);
  return { seconds, readableSeconds, rowsPerSecond: COPY_ROWS / seconds, copied, count: Number(actual[0]), mismatches, serverMemory };
}

// What every measurement shares: how a server under test is reached, how a
// client tool is run, and how a failure becomes a table cell instead of
// ending the run.

import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import { basename, join } from 'node:path';

/** A server under test, as the client tools connect to it. */
export type Target = { name: string; host: string; port: number; user: string; database: string };

/** A measurement's result, or why it failed. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** The 1-minute load average when a measurement began and when it ended. */
export type Load = { start: number; end: number };

/** A measurement's outcome with the machine's load around it (absent when it never ran). */
export type Measured<T> = Outcome<T> & { load?: Load };

export const loadAverage = (): number => os.loadavg()[0]!;

/** Runs one measurement; a failure is logged in full and kept, on one line, for the report. */
export async function attempt<T>(what: string, measure: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await measure() };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`bench: ${what} failed: ${message}\n`);
    return { ok: false, error: message.replace(/\s+/g, ' ').trim() };
  }
}

const PG_BIN_DIR = '/usr/lib/postgresql/15/bin';

/** Debian's versioned directory first, so the client is the 15 that matches the PostgreSQL under test. */
export function pgTool(name: 'pgbench' | 'psql'): string {
  const path = join(PG_BIN_DIR, name);
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return name;
  }
}

/** libpq connection flags (pgbench's -d means --debug, so the database goes last, as a positional). */
export function connectionArgs(target: Target): string[] {
  return ['-h', target.host, '-p', String(target.port), '-U', target.user];
}

/** Ambient PG* variables (PGOPTIONS, PGSSLMODE, …) would change what is measured; the flags say everything. */
function clientEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')));
}

/** Runs a client tool to completion, for its stdout; rejects with its stderr on a non-zero exit or timeout. */
export function runTool(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 << 20, env: clientEnv() }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const reason = error.killed ? `timed out after ${timeoutMs / 1000} s` : `exit ${error.code ?? error.signal}`;
      reject(new Error(`${basename(file)} ${reason}: ${stderr.trim() || error.message}`));
    });
  });
}

/** Runs SQL through psql (unaligned, tuples only, stopping at the first error); returns the output's non-empty lines. */
export async function psql(target: Target, sql: string | string[], timeoutMs = 120_000): Promise<string[]> {
  const commands = (Array.isArray(sql) ? sql : [sql]).flatMap((command) => ['-c', command]);
  const args = ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', ...connectionArgs(target), '-d', target.database, ...commands];
  const stdout = await runTool(pgTool('psql'), args, timeoutMs);
  return stdout.split('\n').filter((line) => line !== '');
}

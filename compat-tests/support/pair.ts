// PostgreSQL 15 and Arka side by side with the same schema, for the client
// compatibility suites: each suite starts one pair, runs a real client program
// against both, and compares what the client saw.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startArka, type ArkaProcess } from '../../test/support/arka.js';
import { startPostgres } from '../../test/support/postgres.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const COMPAT_DIR = join(ROOT, 'compat-tests');

/** The user both servers are connected to as, and the database. */
export const USER = 'arka';
export const DATABASE = 'arka';

/**
 * The schema every client introspects: an Arka primary-key table, an
 * append-only table, a composite key, a view, and one column of each type
 * Arka stores.
 */
export const SCHEMA = [
  `CREATE TABLE users (
     user_id INTEGER PRIMARY KEY,
     name VARCHAR(100) NOT NULL,
     email TEXT,
     age SMALLINT,
     score NUMERIC(10,2),
     active BOOLEAN DEFAULT true,
     created_at TIMESTAMPTZ
   )`,
  `CREATE TABLE events (
     event_id BIGINT,
     user_id INTEGER,
     kind TEXT NOT NULL,
     ratio DOUBLE PRECISION,
     weight REAL,
     happened_on DATE,
     happened_at TIMESTAMP,
     at_time TIME,
     took INTERVAL,
     token UUID,
     body BYTEA,
     doc JSON,
     tags TEXT[],
     counts INTEGER[],
     code CHAR(3),
     amount NUMERIC(12,4)
   )`,
  `CREATE TABLE order_items (
     order_id BIGINT,
     line_no INTEGER,
     sku VARCHAR(32) NOT NULL,
     quantity INTEGER DEFAULT 1,
     PRIMARY KEY (order_id, line_no)
   )`,
  'CREATE VIEW active_users AS SELECT user_id, name FROM users WHERE active',
];

export type Endpoint = { host: string; port: number; user: string; database: string };

export type Pair = {
  postgres: Endpoint;
  arka: Endpoint;
  arkaProcess: ArkaProcess;
  /** Runs `sql` on both servers (e.g. DDL a test needs). */
  both(sql: string): Promise<void>;
  /** PostgreSQL's server log (log_statement = all): what the clients sent, for debugging. */
  postgresLog(): string;
  stop(): Promise<void>;
};

/** Starts PostgreSQL 15 and Arka, with the role, database and SCHEMA on both. */
export async function startPair(schema: readonly string[] = SCHEMA): Promise<Pair> {
  const [postgres, arka] = await Promise.all([
    startPostgres({ settings: { log_statement: 'all', TimeZone: 'UTC' } }),
    startArka(),
  ]);
  const pair: Pair = {
    postgres: { host: postgres.host, port: postgres.port, user: USER, database: DATABASE },
    arka: { host: arka.host, port: arka.port, user: USER, database: DATABASE },
    arkaProcess: arka,
    both: async (sql) => {
      for (const endpoint of [pair.postgres, pair.arka]) await runSql(endpoint, [sql]);
    },
    postgresLog: () => {
      try {
        return readFileSync(join(dirname(postgres.dataDir), 'postgres.log'), 'utf8');
      } catch {
        return '';
      }
    },
    stop: async () => {
      await Promise.allSettled([arka.destroy(), postgres.stop()]);
    },
  };
  try {
    // Arka's one user is a superuser that owns its one database; PostgreSQL gets the same.
    await runSql({ host: postgres.host, port: postgres.port, user: 'postgres', database: 'postgres' }, [
      `CREATE ROLE ${USER} SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS LOGIN`,
      `CREATE DATABASE ${DATABASE} OWNER ${USER}`,
    ]);
    await runSql(pair.postgres, schema);
    await runSql(pair.arka, schema);
  } catch (error) {
    await pair.stop();
    throw error;
  }
  return pair;
}

async function runSql(endpoint: Endpoint, statements: readonly string[]): Promise<void> {
  const client = new pg.Client(endpoint);
  await client.connect();
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
}

export type ProgramResult = { stdout: string; stderr: string };

/** Runs a client program to completion; a non-zero exit is an error carrying its output. */
export function runProgram(
  file: string,
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<ProgramResult> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        cwd: options.cwd ?? COMPAT_DIR,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
        else resolvePromise({ stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** Runs a program that prints one JSON document, and parses it. */
export async function runJson(file: string, args: readonly string[], options: Parameters<typeof runProgram>[2] = {}): Promise<any> {
  const { stdout } = await runProgram(file, args, options);
  try {
    return JSON.parse(stdout);
  } catch {
    throw new Error(`${file} ${args.join(' ')} printed no JSON:\n${stdout}`);
  }
}

/** libpq-style connection settings for programs that read PG* variables. */
export function libpqEnv(endpoint: Endpoint): Record<string, string> {
  return {
    PGHOST: endpoint.host,
    PGPORT: String(endpoint.port),
    PGUSER: endpoint.user,
    PGDATABASE: endpoint.database,
    PGCONNECT_TIMEOUT: '10',
  };
}

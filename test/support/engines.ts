// Both engines of a differential type test: a throwaway PostgreSQL 15 spoken
// to over the raw wire, and an in-memory DuckDB.

import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { startPostgres } from './postgres.js';
import type { PostgresServer } from './postgres.js';
import { RawPgClient } from './pg-raw.js';
import type { RawResult } from './pg-raw.js';

export type Engines = {
  pg: RawPgClient;
  duck: DuckDBConnection;
  /** PostgreSQL's answer to SELECT expr, as text (0) or binary (1). */
  pgSelect(expr: string, format?: 0 | 1): Promise<RawResult>;
  /** DuckDB's value and type of SELECT expr. */
  duckSelect(expr: string): Promise<{ value: DuckDBValue; type: DuckDBType }>;
  close(): Promise<void>;
};

export async function openEngines(): Promise<Engines> {
  const server: PostgresServer = await startPostgres();
  const pg = await RawPgClient.connect(server.host, server.port);
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  // Literals without an offset must mean the same instant in both engines.
  await duck.run("SET TimeZone = 'UTC'");
  await pg.query("SET TimeZone = 'UTC'");
  return {
    pg,
    duck,
    pgSelect: (expr, format = 0) => pg.query(`SELECT ${expr}`, format),
    async duckSelect(expr) {
      const result = await duck.run(`SELECT ${expr}`);
      const rows = await result.getRows();
      return { value: rows[0][0], type: result.columnType(0) };
    },
    async close() {
      await pg.close();
      duck.closeSync();
      instance.closeSync();
      await server.stop();
    },
  };
}

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { PG_CATALOG_SETUP } from '../pgcatalog/setup.js';

export type EngineOptions = {
  dataDir: string;
  /** DuckDB's memory_limit, e.g. '4GB'. */
  memoryLimit?: string;
  threads?: number;
};

/** Statements every DuckDB connection runs first, so SQL means what it means in PostgreSQL. */
const CONNECTION_SETUP = [
  // PostgreSQL's `/` on integers truncates.
  'SET integer_division = true',
  // PostgreSQL sorts NULL last ascending and first descending.
  "SET default_null_order = 'nulls_last_on_asc_first_on_desc'",
  "SET schema = 'public'",
  "SET search_path = 'public,main'",
];

/** Objects Arka needs in every database, created once at open. */
const DATABASE_SETUP = [
  'CREATE SCHEMA IF NOT EXISTS public',
  'CREATE SCHEMA IF NOT EXISTS arka_meta',
  // Division and modulo that fail on zero like PostgreSQL (DuckDB gives NULL);
  // `//` is DuckDB's integer division on integers and plain division otherwise.
  "CREATE OR REPLACE MACRO main.arka_div(a, b) AS CASE WHEN b = 0 THEN error('division by zero') ELSE a // b END",
  "CREATE OR REPLACE MACRO main.arka_mod(a, b) AS CASE WHEN b = 0 THEN error('division by zero') ELSE a % b END",
  // PostgreSQL's text forms DuckDB's casts read differently: bytea hex ('\x00ff', which
  // DuckDB reads as an escape then characters) and arrays ('{a,"b c",NULL}').
  String.raw`CREATE OR REPLACE MACRO main.arka_bytea(t) AS
     CASE WHEN regexp_full_match(t, '\\x([0-9a-fA-F]{2})*') THEN unhex(substr(t, 3)) ELSE CAST(t AS BLOB) END`,
  String.raw`CREATE OR REPLACE MACRO main.arka_array_text(t) AS
     CASE WHEN t IS NULL THEN NULL ELSE list_transform(
       regexp_extract_all(substr(trim(t), 2, length(trim(t)) - 2), '"(?:[^"\\]|\\.)*"|[^,]+'),
       e -> CASE WHEN trim(e) = 'NULL' THEN NULL
                 WHEN starts_with(trim(e), '"') THEN regexp_replace(substr(trim(e), 2, length(trim(e)) - 2), '\\(.)', '\1', 'g')
                 ELSE trim(e) END) END`,
];

/** The embedded, persistent DuckDB database under the data directory. */
export class Engine {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly path: string,
  ) {}

  /**
   * Opens (or creates) the database and runs `setup`: idempotent statements
   * for Arka's own objects. The emulated pg_catalog comes last: its views
   * read Arka's table catalog, which `setup` creates.
   */
  static async open(options: EngineOptions, setup: readonly string[] = []): Promise<Engine> {
    mkdirSync(options.dataDir, { recursive: true });
    const path = join(options.dataDir, 'arka.duckdb');
    const config: Record<string, string> = {};
    if (options.memoryLimit) config['memory_limit'] = options.memoryLimit;
    if (options.threads) config['threads'] = String(options.threads);
    const instance = await DuckDBInstance.create(path, config);
    const engine = new Engine(instance, path);
    const connection = await instance.connect();
    try {
      for (const sql of [...DATABASE_SETUP, ...setup, ...PG_CATALOG_SETUP]) {
        try {
          await connection.run(sql);
        } catch (error) {
          throw new Error(`database setup failed: ${(error as Error).message}\nin: ${sql}`);
        }
      }
    } finally {
      connection.closeSync();
    }
    return engine;
  }

  async connect(): Promise<DuckDBConnection> {
    const connection = await this.instance.connect();
    for (const sql of CONNECTION_SETUP) await connection.run(sql);
    return connection;
  }

  close(): void {
    this.instance.closeSync();
  }
}

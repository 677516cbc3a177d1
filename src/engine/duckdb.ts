import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, DuckDBScalarFunction, UBIGINT, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import { PG_CATALOG_SETUP } from '../pgcatalog/setup.js';

export type EngineOptions = {
  dataDir: string;
  /** DuckDB's memory_limit, e.g. '4GB'. */
  memoryLimit?: string;
  threads?: number;
};

/** The schemas DuckDB looks an unqualified name up in, in order. */
export const DUCKDB_SEARCH_PATH: readonly string[] = ['public', 'main'];

/** Statements every DuckDB connection runs first, so SQL means what it means in PostgreSQL. */
const CONNECTION_SETUP = [
  // PostgreSQL's `/` on integers truncates.
  'SET integer_division = true',
  // PostgreSQL sorts NULL last ascending and first descending.
  "SET default_null_order = 'nulls_last_on_asc_first_on_desc'",
  "SET schema = 'public'",
  `SET search_path = '${DUCKDB_SEARCH_PATH.join(',')}'`,
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
  // PostgreSQL's integer input takes digits only; DuckDB's cast would round '1.5'.
  String.raw`CREATE OR REPLACE MACRO main.arka_integer_text(t, type_name) AS
     CASE WHEN t IS NULL OR regexp_full_match(t, '\s*[+-]?[0-9]+\s*') THEN t
          ELSE error('22P02: invalid input syntax for type ' || type_name || ': "' || t || '"') END`,
  // PostgreSQL's float input refuses what overflows to infinity or underflows to zero; DuckDB's cast does not.
  String.raw`CREATE OR REPLACE MACRO main.arka_float_text(t, v, type_name) AS
     CASE WHEN (isinf(v) AND NOT regexp_matches(t, '(?i)inf'))
            OR (v = 0 AND regexp_matches(regexp_replace(t, '[eE].*$', ''), '[1-9]'))
          THEN error('22003: "' || t || '" is out of range for type ' || type_name) ELSE v END`,
  String.raw`CREATE OR REPLACE MACRO main.arka_array_text(t) AS
     CASE WHEN t IS NULL THEN NULL ELSE list_transform(
       regexp_extract_all(substr(trim(t), 2, length(trim(t)) - 2), '"(?:[^"\\]|\\.)*"|[^,]+'),
       e -> CASE WHEN trim(e) = 'NULL' THEN NULL
                 WHEN starts_with(trim(e), '"') THEN regexp_replace(substr(trim(e), 2, length(trim(e)) - 2), '\\(.)', '\1', 'g')
                 ELSE trim(e) END) END`,
];

/** A live watermark by name (wal_lsn, duckdb_lsn, …), read by SQL through arka_watermark(name). */
export type WatermarkSource = (name: string) => bigint;

/** The embedded, persistent DuckDB database under the data directory. */
export class Engine {
  private watermarkSource: WatermarkSource = () => 0n;

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
      // arka_status() reads the writer's watermarks as they are now, not as a table last recorded them.
      connection.registerScalarFunction(
        DuckDBScalarFunction.create({
          name: 'arka_watermark',
          returnType: UBIGINT,
          parameterTypes: [VARCHAR],
          volatile: true,
          mainFunction: (_info, input, output) => {
            const names = input.getColumnVector(0);
            for (let row = 0; row < input.rowCount; row++) output.setItem(row, engine.watermarkSource(String(names.getItem(row))));
            output.flush();
          },
        }),
      );
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

  /** Where arka_watermark() reads from (the writer, once open). */
  setWatermarkSource(source: WatermarkSource): void {
    this.watermarkSource = source;
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

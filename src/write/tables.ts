import type { DuckDBConnection } from '@duckdb/node-api';
import { changesTable, quoteIdent, type TableKind } from '../catalog/catalog.js';
import { SqlError, SqlState } from '../errors.js';
import type { WalColumn, WalColumnKind } from '../wal/change-batch.js';

export type WriteColumn = {
  name: string;
  /** DuckDB's type, as SQL (e.g. 'INTEGER', 'DECIMAL(12,2)'). */
  type: string;
  notNull: boolean;
  /** The DEFAULT expression as DuckDB stores it, or null. */
  default: string | null;
  wal: WalColumnKind;
};

/** What the write path needs to know about a table. */
export type WriteTable = {
  schema: string;
  name: string;
  kind: TableKind;
  primaryKey: string[];
  columns: WriteColumn[];
  /** `"public"."users"` */
  qualified: string;
  changes: string;
  /** DuckDB checks constraints of its own on this table (CHECK, UNIQUE, FOREIGN KEY) when rows are applied. */
  checkedOnApply: boolean;
};

const NATIVE_WAL_KINDS: Record<string, WalColumnKind> = {
  BOOLEAN: 'bool',
  TINYINT: 'int8',
  SMALLINT: 'int16',
  INTEGER: 'int32',
  BIGINT: 'int64',
  FLOAT: 'float32',
  DOUBLE: 'float64',
  VARCHAR: 'text',
  TIMESTAMP: 'timestamp',
  'TIMESTAMP WITH TIME ZONE': 'timestamp',
};

/** The DuckDB type a WAL value is staged in: the column's own type, except a timestamp's microseconds. */
export const WAL_STAGE_TYPES: Record<WalColumnKind, string> = {
  bool: 'BOOLEAN',
  int8: 'TINYINT',
  int16: 'SMALLINT',
  int32: 'INTEGER',
  int64: 'BIGINT',
  float32: 'FLOAT',
  float64: 'DOUBLE',
  text: 'VARCHAR',
  timestamp: 'BIGINT',
};

/** Reads a table's definition from Arka's catalog and DuckDB's. */
export async function loadWriteTable(conn: DuckDBConnection, schema: string, name: string): Promise<WriteTable> {
  const table = await conn.runAndReadAll(
    'SELECT kind, primary_key FROM arka_meta.tables WHERE schema_name = $1 AND table_name = $2',
    [schema, name],
  );
  const row = table.getRowsJS()[0];
  if (!row) throw new SqlError(SqlState.UndefinedTable, `relation "${name}" does not exist`);
  const qualified = `${quoteIdent(schema)}.${quoteIdent(name)}`;
  // DESCRIBE binds the one table; duckdb_columns() lists every column of every table (10 times slower with a few hundred).
  const columns = await conn.runAndReadAll(`DESCRIBE ${qualified}`);
  const constraints = await conn.runAndReadAll(
    `SELECT count(*) FROM duckdb_constraints()
     WHERE schema_name = $1 AND table_name = $2 AND constraint_type NOT IN ('NOT NULL', 'PRIMARY KEY')`,
    [schema, name],
  );
  return {
    schema,
    name,
    checkedOnApply: Number(constraints.getRowsJS()[0]![0]) > 0,
    kind: row[0] as TableKind,
    primaryKey: row[1] as string[],
    columns: columns.getRowsJS().map(([column, type, nullable, , dflt]) => ({
      name: String(column),
      type: String(type),
      notNull: nullable === 'NO',
      default: dflt === null ? null : String(dflt),
      wal: NATIVE_WAL_KINDS[String(type)] ?? 'text',
    })),
    qualified,
    changes: changesTable(name),
  };
}

const walColumns = new WeakMap<WriteTable, WalColumn[]>();

/** The table's columns as its WAL batches name them: the same array each time, so that the batches' layout is found by identity. */
export function walColumnsOf(table: WriteTable): WalColumn[] {
  let columns = walColumns.get(table);
  if (!columns) {
    columns = table.columns.map((c) => ({ name: c.name, kind: c.wal }));
    walColumns.set(table, columns);
  }
  return columns;
}

/** SQL reading a column for the WAL: timestamps as microseconds, non-native kinds as DuckDB's text. */
export function walReadExpression(column: WriteColumn, source: string): string {
  const ref = `${source}.${quoteIdent(column.name)}`;
  if (column.wal === 'timestamp') return `epoch_us(${ref})`;
  if (column.wal === 'text' && column.type !== 'VARCHAR') return `CAST(${ref} AS VARCHAR)`;
  return ref;
}

/** SQL turning a WAL value (staged in the column's WAL form) back into the column's type. */
export function walRestoreExpression(column: WriteColumn, ref: string): string {
  if (column.wal === 'timestamp') {
    return column.type === 'TIMESTAMP' ? `make_timestamp(${ref})` : `(make_timestamp(${ref}) AT TIME ZONE 'UTC')`;
  }
  return `CAST(${ref} AS ${column.type})`;
}

/**
 * SQL reading PostgreSQL's text form of a value (a literal, a parameter, a
 * COPY field) as a column of DuckDB type `type`. Casts do, except for bytea
 * and arrays, whose PostgreSQL text DuckDB reads differently, and numbers,
 * which DuckDB reads more leniently (it rounds '1.5' to an integer, and
 * takes '1e999' as infinity).
 */
export function castFromText(expression: string, type: string): string {
  if (type === 'BLOB') return `arka_bytea(${expression})`;
  const integer = INTEGER_TYPE_NAMES[type];
  if (integer) return `CAST(arka_integer_text(${expression}, '${integer}') AS ${type})`;
  if (type === 'FLOAT' || type === 'DOUBLE') {
    return `arka_float_text(${expression}, CAST(${expression} AS ${type}), '${type === 'FLOAT' ? 'real' : 'double precision'}')`;
  }
  if (type.endsWith('[]')) return `CAST(arka_array_text(${expression}) AS ${type})`;
  return `CAST(${expression} AS ${type})`;
}

/** Whether a string literal assigned to a column of this type needs castFromText rather than DuckDB's implicit cast. */
export function needsTextCast(type: string): boolean {
  return type === 'BLOB' || type.endsWith('[]') || type in INTEGER_TYPE_NAMES || type === 'FLOAT' || type === 'DOUBLE';
}

const INTEGER_TYPE_NAMES: Record<string, string> = { SMALLINT: 'smallint', INTEGER: 'integer', BIGINT: 'bigint' };

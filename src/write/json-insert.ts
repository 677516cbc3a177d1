import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { quoteIdent } from '../catalog/catalog.js';
import type { ChangeBatch, WalColumnKind } from '../wal/change-batch.js';
import { WAL_STAGE_TYPES, type WriteTable } from './tables.js';

/**
 * Inserts a batch of rows into a table and its CDC log with two prepared
 * statements whose parameters are the batch's columns as JSON arrays, which
 * DuckDB unnests on its own threads. An appender would do the same work on
 * the JavaScript thread (appending value by value, then flushing
 * synchronously): for the small batches of a steady stream of inserts this
 * blocks the JavaScript thread about 20 times less, and 6 times less for
 * large ones. test/direct-insert.test.ts compares the rows stored with
 * PostgreSQL's, through both paths.
 */

/** A batch whose text is longer than this (in UTF-16 units) goes through an appender: a JSON string must stay well under V8's limit. */
const JSON_INSERT_MAX_TEXT = 64 * 1024 * 1024;

type Statements = { table: DuckDBPreparedStatement; changes: DuckDBPreparedStatement };

/** Per connection, per table definition (a DDL makes a new WriteTable, so its statements are prepared anew). */
const prepared = new WeakMap<DuckDBConnection, WeakMap<WriteTable, Promise<Statements>>>();

/**
 * The batch's inserts (every record an INSERT, its columns the table's, in
 * order) into the table and its CDC log; false, having done nothing, when a
 * value has no exact JSON form (a NaN or infinite float, text with a lone
 * surrogate) or the batch's text is too long.
 */
export async function insertAsJson(conn: DuckDBConnection, table: WriteTable, batch: ChangeBatch): Promise<boolean> {
  const columns = jsonColumns(batch);
  if (!columns) return false;
  const statements = await statementsFor(conn, table, batch);
  columns.forEach((json, i) => statements.table.bindVarchar(i + 1, json));
  await statements.table.run();
  columns.forEach((json, i) => statements.changes.bindVarchar(i + 1, json));
  statements.changes.bindVarchar(columns.length + 1, `[${batch.lsns.join(',')}]`);
  statements.changes.bindVarchar(columns.length + 2, `[${batch.timestamps.join(',')}]`);
  await statements.changes.run();
  return true;
}

function statementsFor(conn: DuckDBConnection, table: WriteTable, batch: ChangeBatch): Promise<Statements> {
  let forConnection = prepared.get(conn);
  if (!forConnection) prepared.set(conn, (forConnection = new WeakMap()));
  let statements = forConnection.get(table);
  if (!statements) {
    statements = prepareStatements(conn, table, batch);
    forConnection.set(table, statements);
    statements.catch(() => forConnection.delete(table));
  }
  return statements;
}

async function prepareStatements(conn: DuckDBConnection, table: WriteTable, batch: ChangeBatch): Promise<Statements> {
  const names = table.columns.map((c) => quoteIdent(c.name));
  const unnests = batch.columns.map((column, i) => `unnest(from_json($${i + 1}, '["${WAL_STAGE_TYPES[column.kind]}"]')) AS ${names[i]}`);
  const n = batch.columns.length;
  const rows = `SELECT ${unnests.join(', ')}`;
  const changeRows = `SELECT ${[...unnests, `unnest(from_json($${n + 1}, '["UBIGINT"]')) AS __lsn`, `unnest(from_json($${n + 2}, '["BIGINT"]')) AS __micros`].join(', ')}`;
  return {
    table: await conn.prepare(`INSERT INTO ${table.qualified} (${names.join(', ')}) ${rows}`),
    changes: await conn.prepare(
      `INSERT INTO ${table.changes} (${names.join(', ')}, __lsn, __change_type, __timestamp)
       SELECT ${names.join(', ')}, __lsn, 'INSERT', to_timestamp(0) + to_microseconds(__micros) FROM (${changeRows})`,
    ),
  };
}

/**
 * Each user column as a JSON array, or undefined when one cannot be written
 * exactly. A timestamp's WAL value is microseconds, not the column's own
 * value: it goes in only when `timestamps` is 'micros' (the reader converts).
 */
export function jsonColumns(batch: ChangeBatch, timestamps: 'micros' | 'refuse' = 'refuse'): string[] | undefined {
  let text = 0;
  const columns: string[] = [];
  for (let c = 0; c < batch.columns.length; c++) {
    const kind = batch.columns[c]!.kind;
    if (kind === 'timestamp' && timestamps === 'refuse') return undefined;
    const values = batch.values[c]!;
    if (kind === 'text') {
      for (const value of values) {
        if (typeof value !== 'string') continue;
        // JSON would carry a lone surrogate as an escape DuckDB refuses; the appender writes U+FFFD, as the WAL does.
        if (!wellFormed(value)) return undefined;
        text += value.length;
      }
      if (text > JSON_INSERT_MAX_TEXT) return undefined;
      columns.push(JSON.stringify(values.map((value) => value ?? null)));
      continue;
    }
    const parts = new Array<string>(values.length);
    for (let row = 0; row < values.length; row++) {
      const part = jsonScalar(kind, values[row]);
      if (part === undefined) return undefined;
      parts[row] = part;
    }
    columns.push(`[${parts.join(',')}]`);
  }
  return columns;
}

/** String.prototype.isWellFormed (Node 20; the TypeScript library targeted here predates it). */
function wellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function jsonScalar(kind: WalColumnKind, value: unknown): string | undefined {
  if (value === null || value === undefined) return 'null';
  switch (kind) {
    case 'bool':
      return value ? 'true' : 'false';
    case 'float32':
    case 'float64':
      if (!Number.isFinite(value)) return undefined;
      // JSON's 0 would lose the sign of -0.
      return Object.is(value, -0) ? '-0.0' : String(value);
    default:
      return String(value);
  }
}

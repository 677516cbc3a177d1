import type { ChangeBatch } from '../wal/change-batch.js';
import type { FastCell, FastInsert } from './dml.js';
import { walColumnsOf, type WriteColumn, type WriteTable } from './tables.js';
import { readInput, readsType, type InputValue } from './value-input.js';

/**
 * An insert evaluated in JS, without DuckDB: its rows are complete, valid
 * and need no check against the table's state, so it can be acknowledged as
 * soon as the WAL holds it and applied to DuckDB afterwards.
 */
export type DirectInsert = { table: WriteTable; rows: (InputValue | null)[][] };

/**
 * The insert's rows in the table's column order, or undefined when DuckDB
 * must evaluate it: a table with a primary key or constraints DuckDB checks
 * (the state decides), a DEFAULT that is not NULL, a value whose conversion
 * is not certain (see value-input.ts), a NULL in a NOT NULL column (the
 * general path reports it).
 */
export function directInsert(table: WriteTable, insert: FastInsert): DirectInsert | undefined {
  if (table.kind !== 'append_only' || table.checkedOnApply || insert.upsert) return undefined;
  const width = Math.max(...insert.rows.map((row) => row.length));
  if (!insert.columns && width > table.columns.length) return undefined;
  const targets = insert.columns ?? table.columns.slice(0, width).map((c) => c.name);
  const positions = table.columns.map((column) => targets.indexOf(column.name));
  if (targets.some((name, i) => targets.indexOf(name) !== i || !table.columns.some((c) => c.name === name))) return undefined;
  const rows: (InputValue | null)[][] = [];
  for (const cells of insert.rows) {
    if (cells.length !== targets.length) return undefined;
    const row: (InputValue | null)[] = [];
    for (let c = 0; c < table.columns.length; c++) {
      const column = table.columns[c]!;
      const at = positions[c]!;
      const value = at < 0 ? defaultValue(column) : cellValue(column, cells[at] ?? null);
      if (value === undefined || (value === null && column.notNull)) return undefined;
      row.push(value);
    }
    rows.push(row);
  }
  return { table, rows };
}

/** An omitted column (or DEFAULT) is NULL when the column has no default; any other default is DuckDB's to compute. */
function defaultValue(column: WriteColumn): null | undefined {
  return column.default === null ? null : undefined;
}

function cellValue(column: WriteColumn, cell: FastCell | null): InputValue | null | undefined {
  if (cell === null) return defaultValue(column);
  const { origin, text } = cell;
  if (origin === undefined) return undefined;
  if (text === null) return null;
  const type = column.type;
  if (!readsType(type)) return undefined;
  if (origin === 'unknown') return readInput(type, text);
  if (typeof origin === 'object') return origin.type === type ? readInput(type, text) : undefined;
  if (origin === 'boolean') return type === 'BOOLEAN' ? text === 't' : undefined;
  // A number constant is assigned by a cast: an integer becomes text as written, a
  // decimal one (numeric) goes only into floats, or into integers when it has no fraction.
  if (type === 'BOOLEAN') return undefined;
  if (origin === 'integer') return type === 'VARCHAR' ? text : readInput(type, text);
  if (type === 'FLOAT' || type === 'DOUBLE' || (type !== 'VARCHAR' && /^\d+$/.test(text))) return readInput(type, text);
  return undefined;
}

/** The direct inserts into one table as one WAL change batch, LSNs from `firstLsn` in order. */
export function directBatch(inserts: DirectInsert[], firstLsn: bigint, timestampMicros: bigint): ChangeBatch {
  const table = inserts[0]!.table;
  const values: (InputValue | null)[][] = table.columns.map(() => []);
  const lsns: bigint[] = [];
  let lsn = firstLsn;
  for (const insert of inserts) {
    for (const row of insert.rows) {
      row.forEach((value, c) => values[c]!.push(value));
      lsns.push(lsn++);
    }
  }
  return {
    table: table.name,
    columns: walColumnsOf(table),
    values,
    lsns,
    changeTypes: lsns.map(() => 'INSERT'),
    timestamps: lsns.map(() => timestampMicros),
  };
}

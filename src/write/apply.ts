import { DuckDBTimestampTZValue, type DuckDBAppender, type DuckDBConnection, type DuckDBDataChunk } from '@duckdb/node-api';
import { quoteIdent } from '../catalog/catalog.js';
import { strict as assert } from 'node:assert';
import { makeData, TimestampMicrosecond, Uint64, Utf8, type Data } from 'apache-arrow';
import { encodeColumns, type ChangeBatch, type WalColumnKind } from '../wal/change-batch.js';
import { duckdbTypeOf, VectorColumn, type VectorKind } from '../wal/vector-columns.js';
import { insertAsJson } from './json-insert.js';
import { WAL_STAGE_TYPES, walColumnsOf, walReadExpression, walRestoreExpression, type WriteTable } from './tables.js';

/** Where the general apply stages a batch's records (STAGE in dml.ts is the evaluation's). */
const APPLY_STAGE = '__arka_apply_stage';

const cols = (table: WriteTable, prefix = ''): string => table.columns.map((c) => `${prefix}${quoteIdent(c.name)}`).join(', ');

/**
 * Applies the change records in `stage` to the table, set-based: an
 * append-only table appends its inserts; a primary-key table deletes every
 * key the records touch and inserts each key's final row (its last record by
 * LSN, when that is INSERT or UPDATE_AFTER). The records also go to the
 * table's CDC log. `insertView`: the stage holds new keys' inserts only, in
 * LSN order, and they are appended as they are scanned.
 */
export async function applyStage(conn: DuckDBConnection, table: WriteTable, stage: string, insertView = false): Promise<void> {
  if (insertView) {
    await conn.run(`INSERT INTO ${table.qualified} (${cols(table)}) SELECT ${cols(table)} FROM ${stage}`);
    await conn.run(`INSERT INTO ${table.changes} (${cols(table)}, __lsn, __change_type, __timestamp) SELECT ${cols(table)}, __lsn, __change_type, __timestamp FROM ${stage}`);
    return;
  }
  if (table.kind === 'append_only') {
    await conn.run(`INSERT INTO ${table.qualified} (${cols(table)}) SELECT ${cols(table)} FROM ${stage} WHERE __change_type = 'INSERT' ORDER BY __lsn`);
  } else {
    const keys = table.primaryKey.map(quoteIdent);
    const join = keys.map((k) => `t.${k} = s.${k}`).join(' AND ');
    await conn.run(`DELETE FROM ${table.qualified} AS t USING (SELECT DISTINCT ${keys.join(', ')} FROM ${stage}) AS s WHERE ${join}`);
    await conn.run(
      `INSERT INTO ${table.qualified} (${cols(table)})
       SELECT ${cols(table)} FROM (SELECT *, row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY __lsn DESC) AS __rn FROM ${stage})
       WHERE __rn = 1 AND __change_type IN ('INSERT', 'UPDATE_AFTER') ORDER BY __lsn`,
    );
  }
  await conn.run(
    `INSERT INTO ${table.changes} (${cols(table)}, __lsn, __change_type, __timestamp)
     SELECT ${cols(table)}, __lsn, __change_type, __timestamp FROM ${stage} ORDER BY __lsn`,
  );
}

/** Rows per WAL batch read from a stage: bounds the memory a large statement needs. */
const WAL_BATCH_ROWS = 65_536;
/** Text gathered past this ends a batch early, so long values keep a batch's memory bounded too. */
const WAL_BATCH_TEXT_BYTES = 64 * 1024 * 1024;

/** A WAL change batch already encoded, and the LSNs it holds. */
export type EncodedBatch = { bytes: Uint8Array; firstLsn: bigint; lastLsn: bigint; rows: number };

/** Inserts whose LSNs are consecutive from `firstLsn`, all at one time: their change columns are made here rather than read. */
export type ConsecutiveInserts = { firstLsn: bigint; timestampMicros: bigint };

/**
 * Reads the stage's records as encoded WAL change batches, in LSN order (an
 * insert view is scanned in it), a bounded batch at a time.
 */
export function stagedBatches(conn: DuckDBConnection, table: WriteTable, stage: string, inserts?: ConsecutiveInserts): AsyncGenerator<EncodedBatch> {
  const select = table.columns.map((c) => walReadExpression(c, 's')).join(', ');
  if (inserts && table.columns.length > 0) return walBatches(conn, table, `SELECT ${select} FROM ${stage} AS s`, inserts);
  return walBatches(conn, table, `SELECT ${select}${select ? ', ' : ''}__lsn, __change_type, epoch_us(__timestamp) FROM ${stage} AS s ORDER BY __lsn`);
}

/**
 * Runs `sql` — the table's columns in their WAL form, then (unless `inserts`
 * says what they are) `__lsn`, `__change_type` and the timestamp in
 * microseconds, in LSN order — and yields its rows as encoded WAL change
 * batches. DuckDB's vectors are copied into Arrow's buffers as they are
 * (vector-columns.ts).
 */
export async function* walBatches(conn: DuckDBConnection, table: WriteTable, sql: string, inserts?: ConsecutiveInserts): AsyncGenerator<EncodedBatch> {
  const result = await conn.stream(sql);
  const kinds: VectorKind[] = [...table.columns.map((c) => c.wal), ...(inserts ? [] : (['uint64', 'text', 'timestamp'] as const))];
  assert(kinds.length > 0, 'a WAL read of inserts into a table with no columns');
  const types = result.columnTypes();
  assert.equal(types.length, kinds.length, 'the WAL read has the wrong number of columns');
  kinds.forEach((kind, i) => assert.equal(types[i]!.typeId, duckdbTypeOf(kind), `the WAL read's column ${i} is ${types[i]}, not WAL ${kind}`));
  const columns = walColumnsOf(table);
  let nextLsn = inserts?.firstLsn;
  const rowsOf = (gathered: VectorColumn[]) => gathered[0]!.rows;
  const encode = (gathered: VectorColumn[]): EncodedBatch => {
    const data = gathered.map((column) => column.finish());
    const rows = rowsOf(gathered);
    if (!inserts) {
      const [firstLsn, lastLsn] = gathered[table.columns.length]!.bounds();
      return { bytes: encodeColumns(table.name, columns, data), firstLsn, lastLsn, rows };
    }
    const firstLsn = nextLsn!;
    nextLsn = firstLsn + BigInt(rows);
    const bytes = encodeColumns(table.name, columns, [...data, ...insertChangeColumns(firstLsn, rows, inserts.timestampMicros)]);
    return { bytes, firstLsn, lastLsn: nextLsn - 1n, rows };
  };
  const gathered = kinds.map((kind) => new VectorColumn(kind, WAL_BATCH_ROWS));
  // DuckDB computes the next chunk while this one is copied.
  let next: Promise<DuckDBDataChunk | null> | undefined = result.fetchChunk();
  try {
    for (;;) {
      const chunk = await next;
      if (!chunk || chunk.rowCount === 0) break;
      next = result.fetchChunk();
      gathered.forEach((column, i) => column.append(chunk, i));
      const text = gathered.reduce((sum, column) => sum + column.textBytes, 0);
      if (rowsOf(gathered) >= WAL_BATCH_ROWS || text >= WAL_BATCH_TEXT_BYTES) {
        yield encode(gathered);
        // The batch's bytes are a copy: the columns' buffers serve the next one (a large COPY makes no garbage of them).
        for (const column of gathered) column.reset();
      }
    }
    next = undefined;
  } finally {
    // Abandoned (the consumer failed): the fetch in flight must not end as an unhandled rejection.
    await next?.catch(() => undefined);
  }
  if (rowsOf(gathered) > 0) yield encode(gathered);
}

const INSERT_BYTES = new TextEncoder().encode('INSERT');

/** `into` = first, first + 1, …, computed in 32-bit halves: a BigInt per value would be most of the cost. */
function consecutive(into: BigUint64Array, first: bigint): void {
  const halves = new Uint32Array(into.buffer, into.byteOffset, into.length * 2);
  let low = Number(first & 0xffffffffn);
  let high = Number(first >> 32n);
  assert(high + Math.ceil(into.length / 2 ** 32) < 2 ** 32, 'LSNs past 2^64');
  for (let i = 0; i < into.length; i++) {
    // Little-endian, as Arrow's buffers are and as the WAL's encoder assumes.
    halves[2 * i] = low;
    halves[2 * i + 1] = high;
    if (++low === 2 ** 32) {
      low = 0;
      high++;
    }
  }
}

/** `__lsn`, `__change_type` and `__timestamp` of `rows` inserts with consecutive LSNs from `firstLsn`. */
function insertChangeColumns(firstLsn: bigint, rows: number, timestampMicros: bigint): Data[] {
  const lsns = new BigUint64Array(rows);
  consecutive(lsns, firstLsn);
  const offsets = new Int32Array(rows + 1);
  for (let i = 0; i <= rows; i++) offsets[i] = i * INSERT_BYTES.length;
  const types = new Uint8Array(rows * INSERT_BYTES.length);
  if (rows > 0) {
    types.set(INSERT_BYTES);
    for (let filled = INSERT_BYTES.length; filled < types.length; filled *= 2) types.copyWithin(filled, 0, Math.min(filled, types.length - filled));
  }
  return [
    makeData({ type: new Uint64(), length: rows, nullCount: 0, data: lsns }),
    makeData({ type: new Utf8(), length: rows, nullCount: 0, valueOffsets: offsets, data: types }),
    makeData({ type: new TimestampMicrosecond('UTC'), length: rows, nullCount: 0, data: new BigInt64Array(rows).fill(timestampMicros) }),
  ];
}

/**
 * Applies one WAL change batch to its table and CDC log, in the connection's
 * transaction. Inserts into an append-only table, in the table's own column
 * types, go in as they are to both (as JSON parameters, else with
 * appenders); anything else is staged with an appender
 * and applied set-based (applyStage). Used by the live apply and by recovery
 * alike.
 */
export async function applyChangeBatch(conn: DuckDBConnection, table: WriteTable, batch: ChangeBatch): Promise<void> {
  if (appendsAsIs(table, batch)) {
    if (await insertAsJson(conn, table, batch)) return;
    await append(conn, { table: table.name, schema: table.schema }, batch);
    await append(conn, { table: `changes_${table.name}`, schema: 'arka_meta' }, batch, (appender, row) => {
      appender.appendUBigInt(batch.lsns[row]!);
      appender.appendVarchar(batch.changeTypes[row]!);
      appender.appendTimestampTZ(new DuckDBTimestampTZValue(batch.timestamps[row]!));
    });
    return;
  }
  const defs = batch.columns.map((c) => `${quoteIdent(c.name)} ${WAL_STAGE_TYPES[c.kind]}`);
  await conn.run(`CREATE OR REPLACE TEMP TABLE __arka_replay (${[...defs, '__lsn UBIGINT', '__change_type VARCHAR', '__ts BIGINT'].join(', ')})`);
  await append(conn, { table: '__arka_replay', schema: 'main', catalog: 'temp' }, batch, (appender, row) => {
    appender.appendUBigInt(batch.lsns[row]!);
    appender.appendVarchar(batch.changeTypes[row]!);
    appender.appendBigInt(batch.timestamps[row]!);
  });
  const present = new Set(batch.columns.map((c) => c.name));
  const select = table.columns.map((c) =>
    present.has(c.name) ? `${walRestoreExpression(c, quoteIdent(c.name))} AS ${quoteIdent(c.name)}` : `CAST(NULL AS ${c.type}) AS ${quoteIdent(c.name)}`,
  );
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE ${APPLY_STAGE} AS SELECT ${[...select, '__lsn', '__change_type', "(make_timestamp(__ts) AT TIME ZONE 'UTC') AS __timestamp"].join(', ')} FROM __arka_replay`,
  );
  await applyStage(conn, table, APPLY_STAGE);
}

/** Inserts into an append-only table whose WAL columns are its own columns, in order and in the same types. */
export function appendsAsIs(table: WriteTable, batch: ChangeBatch): boolean {
  if (table.kind !== 'append_only' || batch.columns.length !== table.columns.length) return false;
  if (!batch.changeTypes.every((type) => type === 'INSERT')) return false;
  return batch.columns.every((column, i) => {
    const target = table.columns[i]!;
    if (column.name !== target.name || column.kind !== target.wal || column.kind === 'timestamp') return false;
    return column.kind !== 'text' || target.type === 'VARCHAR' || batch.values[i]!.every((value) => value === null);
  });
}

/** Appends the batch's rows, each followed by its change columns when `changes` appends them. An appender blocks the JS thread while it flushes. */
export async function append(
  conn: DuckDBConnection,
  into: { table: string; schema: string; catalog?: string },
  batch: ChangeBatch,
  changes?: (appender: DuckDBAppender, row: number) => void,
): Promise<void> {
  const appender = await conn.createAppender(into.table, into.schema, into.catalog);
  try {
    for (let row = 0; row < batch.lsns.length; row++) {
      batch.columns.forEach((column, c) => appendWalValue(appender, column.kind, batch.values[c]![row]));
      changes?.(appender, row);
      appender.endRow();
    }
  } finally {
    appender.closeSync();
  }
}

function appendWalValue(appender: DuckDBAppender, kind: WalColumnKind, value: unknown): void {
  if (value === null || value === undefined) {
    appender.appendNull();
    return;
  }
  switch (kind) {
    case 'bool':
      return appender.appendBoolean(value as boolean);
    case 'int8':
      return appender.appendTinyInt(value as number);
    case 'int16':
      return appender.appendSmallInt(value as number);
    case 'int32':
      return appender.appendInteger(value as number);
    case 'int64':
    case 'timestamp':
      return appender.appendBigInt(BigInt(value as bigint));
    case 'float32':
      return appender.appendFloat(value as number);
    case 'float64':
      return appender.appendDouble(value as number);
    case 'text':
      return appender.appendVarchar(value as string);
  }
}

/**
 * The batches of many commit groups as one batch per table (in LSN order), so
 * that an apply costs one append per table rather than one per group.
 */
export function mergeByTable(batches: { table: WriteTable; batch: ChangeBatch }[]): { table: WriteTable; batch: ChangeBatch }[] {
  const merged = new Map<WriteTable, ChangeBatch>();
  const copies = new Set<ChangeBatch>();
  for (const { table, batch } of batches) {
    let into = merged.get(table);
    if (!into) {
      merged.set(table, batch);
      continue;
    }
    assert(into.columns.length === batch.columns.length && batch.lsns[0]! > into.lsns[into.lsns.length - 1]!, 'merging WAL batches of different shapes or out of order');
    if (!copies.has(into)) {
      // The first batch is copied only once a second joins it: the batches themselves stay as they were acknowledged.
      into = { ...into, values: into.values.map((column) => [...column]), lsns: [...into.lsns], changeTypes: [...into.changeTypes], timestamps: [...into.timestamps] };
      copies.add(into);
      merged.set(table, into);
    }
    // One by one: spreading a column of more than ~100k values into push() overflows the stack.
    batch.values.forEach((column, c) => appendAll(into.values[c]!, column));
    appendAll(into.lsns, batch.lsns);
    appendAll(into.changeTypes, batch.changeTypes);
    appendAll(into.timestamps, batch.timestamps);
  }
  return [...merged].map(([table, batch]) => ({ table, batch }));
}

function appendAll<T>(into: T[], values: readonly T[]): void {
  for (const value of values) into.push(value);
}

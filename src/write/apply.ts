import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent } from '../catalog/catalog.js';
import type { ChangeBatch } from '../wal/change-batch.js';
import { walReadExpression, type WriteTable } from './tables.js';

const cols = (table: WriteTable, prefix = ''): string => table.columns.map((c) => `${prefix}${quoteIdent(c.name)}`).join(', ');

/**
 * Applies the change records in `stage` to the table, set-based: an
 * append-only table appends its inserts; a primary-key table deletes every
 * key the records touch and inserts each key's final row (its last record by
 * LSN, when that is INSERT or UPDATE_AFTER). The records also go to the
 * table's CDC log.
 */
export async function applyStage(conn: DuckDBConnection, table: WriteTable, stage: string): Promise<void> {
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
export const WAL_BATCH_ROWS = 65_536;

/** Reads the stage's records as WAL change batches, in LSN order, a bounded batch at a time. */
export async function* stagedBatches(conn: DuckDBConnection, table: WriteTable, stage: string): AsyncGenerator<ChangeBatch> {
  const select = table.columns.map((c) => walReadExpression(c, 's')).join(', ');
  const result = await conn.stream(`SELECT ${select}${select ? ', ' : ''}__lsn, __change_type, epoch_us(__timestamp) FROM ${stage} AS s ORDER BY __lsn`);
  const n = table.columns.length;
  let batch = emptyBatch(table);
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    const columns = chunk.getColumns();
    for (let c = 0; c < n; c++) batch.values[c]!.push(...columns[c]!);
    batch.lsns.push(...(columns[n] as bigint[]));
    batch.changeTypes.push(...(columns[n + 1] as string[]));
    batch.timestamps.push(...(columns[n + 2] as bigint[]));
    if (batch.lsns.length >= WAL_BATCH_ROWS) {
      yield batch;
      batch = emptyBatch(table);
    }
  }
  if (batch.lsns.length > 0) yield batch;
}

function emptyBatch(table: WriteTable): ChangeBatch {
  return {
    table: table.name,
    columns: table.columns.map((c) => ({ name: c.name, kind: c.wal })),
    values: table.columns.map(() => []),
    lsns: [],
    changeTypes: [],
    timestamps: [],
  };
}

import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { strict as assert } from 'node:assert';
import { quoteIdent } from '../catalog/catalog.js';
import type { ChangeBatch } from '../wal/change-batch.js';
import { append, appendsAsIs } from './apply.js';
import { jsonColumns } from './json-insert.js';
import { WAL_STAGE_TYPES, walRestoreExpression, type WriteTable } from './tables.js';

/**
 * The hot tier: acknowledged direct inserts made visible before the apply
 * has committed them to the persistent database, whose every commit is an
 * fsync of DuckDB's own WAL (1–1.5 ms idle, several under load). Each
 * append-only table has a twin in an in-memory attached database, `arka_hot`,
 * with the table's columns and `__lsn`; a read waiting for acknowledged rows
 * has them inserted there (an in-memory commit) and reads the table as
 *
 *   cold rows ∪ twin rows whose __lsn is above applied_lsn
 *
 * (readSql): the filter reads applied_lsn in the same snapshot as the cold
 * rows, so a row the apply has moved is counted once. Twins hold no state of
 * their own: after a restart the WAL replay puts everything in the persistent
 * tables and the twins start empty.
 *
 * A DuckDB transaction takes its snapshot of each database when it first
 * touches it, and a query not in an explicit transaction may even see a
 * commit that happens while it streams in one table and not in another. So
 * every read runs in a transaction that takes its snapshot of the twins
 * first, then of the persistent database (takeSnapshots): rows are deleted
 * from a twin only after the apply has committed them, so whatever the twin
 * snapshot lacks, the later persistent snapshot holds. A read of one table
 * whose result comes back whole in one call needs no such transaction (two
 * statements more): it holds the twins' rows instead, and rows an apply
 * commits leave them only after every read begun before the commit has its
 * result (Writer.holdTwins).
 */

export const HOT_DATABASE = 'arka_hot';
/** A lone batch of at most this many rows in the table's own types is appended on the JavaScript thread rather than inserted as JSON… */
const HOT_APPEND_MAX_ROWS = 1000;
/** …when the last such append ended at least this long ago: the appends hold the thread a sixth of the time at most. */
const HOT_APPEND_SPACING_MS = 5;
/** An empty table a transaction reads to take its snapshot of the hot tier. */
const ANCHOR = `${HOT_DATABASE}.main.__arka_anchor`;

/** In a transaction, before its first read: its snapshot of the twins first, then of the persistent database. */
export async function takeSnapshots(conn: DuckDBConnection, begin = false): Promise<void> {
  await conn.run(`${begin ? 'BEGIN TRANSACTION; ' : ''}SELECT 1 FROM ${ANCHOR}; SELECT applied_lsn FROM arka_meta.state WHERE id = 1`);
}

/** A twin: the in-memory table holding an append-only table's acknowledged, not yet applied, inserts. */
export type HotTwin = {
  schema: string;
  name: string;
  /** `arka_hot."public"."users"`: the twin is in the schema of the table's name. */
  qualified: string;
  /** The table's columns, `name type` each, in order: a batch of another definition does not go in. */
  signature: string;
};

/** How a relation named in a query resolves, for reads (HotTier.resolve). */
export type HotRelation = { kind: 'twin'; twin: HotTwin } | { kind: 'table' } | { kind: 'unknown' };

const signatureOf = (columns: { name: string; type: string }[]): string => columns.map((c) => `${c.name} ${c.type}`).join(', ');

/** A read's view of a table: its persistent rows and its twin's rows not yet applied. */
export function readSql(twin: HotTwin): string {
  const cold = `${quoteIdent(twin.schema)}.${quoteIdent(twin.name)}`;
  return `(SELECT * FROM ${cold} UNION ALL SELECT * EXCLUDE (__lsn) FROM ${twin.qualified} WHERE __lsn > (SELECT applied_lsn FROM arka_meta.state WHERE id = 1))`;
}

export class HotTier {
  /** Every acknowledged LSN up to this is in a twin or in the persistent database. */
  lsn = 0n;
  private twins = new Map<string, HotTwin>();
  /** Every user relation by `schema.name`: the twins' tables, other tables, and views. */
  private relations = new Map<string, 'table' | 'view'>();
  /** DDL ran and resync has not caught up: no relation resolves. */
  private stale = false;
  private readonly statements = new Map<HotTwin, Promise<DuckDBPreparedStatement>>();
  /** The twins hold nothing up to this. */
  private discarded = 0n;
  /** Twins that may hold rows, with the last LSN put in each. */
  private readonly filled = new Map<HotTwin, bigint>();
  /** When the last append on the JavaScript thread ended (insert). */
  private appendedAt = -Infinity;

  private constructor(private readonly conn: DuckDBConnection) {}

  /** Attaches the in-memory database (on `conn`, which the tier keeps) and makes a twin for every append-only table. */
  static async open(conn: DuckDBConnection, applied: bigint): Promise<HotTier> {
    await conn.run(`ATTACH ':memory:' AS ${HOT_DATABASE}`);
    await conn.run(`CREATE TABLE ${ANCHOR} (anchor BOOLEAN)`);
    const tier = new HotTier(conn);
    tier.lsn = applied;
    tier.discarded = applied;
    await tier.resync();
    return tier;
  }

  /** DDL is under way: until resync, reads resolve no relation (they wait for the apply instead). */
  suspend(): void {
    this.stale = true;
  }

  /**
   * Brings the twins in line with the catalog after DDL: a twin for every
   * append-only table, remade when the table's columns changed.
   */
  async resync(): Promise<void> {
    this.stale = true;
    const columns = await this.conn.runAndReadAll(
      `SELECT c.schema_name, c.table_name, list(c.column_name || ' ' || c.data_type ORDER BY c.column_index)
       FROM duckdb_columns() c JOIN arka_meta.tables t ON t.schema_name = c.schema_name AND t.table_name = c.table_name
       WHERE t.kind = 'append_only' AND c.database_name <> '${HOT_DATABASE}' AND NOT c.internal
       GROUP BY ALL`,
    );
    const relations = await this.conn.runAndReadAll(
      // Arka's own tables (the CDC logs) are left unknown: a read of one waits for the apply.
      `SELECT schema_name, table_name, 'table' FROM duckdb_tables() WHERE database_name NOT IN ('${HOT_DATABASE}', 'temp') AND schema_name <> 'arka_meta' AND NOT internal
       UNION ALL SELECT schema_name, view_name, 'view' FROM duckdb_views() WHERE database_name NOT IN ('${HOT_DATABASE}', 'temp') AND NOT internal`,
    );
    const twins = new Map<string, HotTwin>();
    for (const [schema, name, list] of columns.getRowsJS() as [string, string, string[]][]) {
      const key = `${schema}.${name}`;
      const signature = list.join(', ');
      const existing = this.twins.get(key);
      if (existing?.signature === signature) {
        twins.set(key, existing);
        continue;
      }
      const twin: HotTwin = { schema, name, qualified: `${HOT_DATABASE}.${quoteIdent(schema)}.${quoteIdent(name)}`, signature };
      await this.conn.run(`CREATE SCHEMA IF NOT EXISTS ${HOT_DATABASE}.${quoteIdent(schema)}`);
      await this.conn.run(`CREATE OR REPLACE TABLE ${twin.qualified} AS SELECT *, CAST(NULL AS UBIGINT) AS __lsn FROM ${quoteIdent(schema)}.${quoteIdent(name)} LIMIT 0`);
      twins.set(key, twin);
    }
    for (const [key, twin] of this.twins) {
      if (twins.get(key) === twin) continue;
      this.statements.delete(twin);
      this.filled.delete(twin);
      if (!twins.has(key)) await this.conn.run(`DROP TABLE IF EXISTS ${twin.qualified}`);
    }
    this.twins = twins;
    this.relations = new Map((relations.getRowsJS() as [string, string, 'table' | 'view'][]).map(([schema, name, kind]) => [`${schema}.${name}`, kind]));
    this.stale = false;
  }

  /** A relation named in a read: `schema` undefined searches `searchPath` in order. */
  resolve(schema: string | undefined, name: string, searchPath: readonly string[]): HotRelation {
    if (this.stale) return { kind: 'unknown' };
    for (const candidate of schema === undefined ? searchPath : [schema]) {
      const key = `${candidate}.${name}`;
      const twin = this.twins.get(key);
      if (twin) return { kind: 'twin', twin };
      const kind = this.relations.get(key);
      if (kind) return kind === 'table' ? { kind: 'table' } : { kind: 'unknown' };
    }
    return { kind: 'unknown' };
  }

  /** Whether the twins a read was planned with are still the current ones. */
  current(twins: readonly HotTwin[]): boolean {
    return !this.stale && twins.every((twin) => this.twins.get(`${twin.schema}.${twin.name}`) === twin);
  }

  /**
   * Inserts acknowledged batches (in LSN order, all above `lsn`) into their
   * twins; false, having inserted nothing, when one cannot go in (no twin of
   * its definition, or a value JSON cannot carry): the persistent apply must
   * then make them visible.
   */
  async insert(batches: { table: WriteTable; batch: ChangeBatch }[]): Promise<boolean> {
    const work: { twin: HotTwin; statement: DuckDBPreparedStatement; json: string[]; batch: ChangeBatch }[] = [];
    for (const { table, batch } of batches) {
      const twin = this.twins.get(`${table.schema}.${table.name}`);
      if (!twin || this.stale || twin.signature !== signatureOf(table.columns) || !sameColumns(table, batch)) return false;
      if (batches.length === 1 && batch.lsns.length <= HOT_APPEND_MAX_ROWS && appendsAsIs(table, batch) && performance.now() - this.appendedAt >= HOT_APPEND_SPACING_MS) {
        // Appended on this thread: no trip through libuv's pool and DuckDB's JSON reader, which the reads waiting for the rows
        // would wait out. Its commit holds the thread about a millisecond: spaced out, so that inserts one after another go as JSON.
        assert(batch.lsns[0]! > this.lsn, 'a batch goes into the hot tier twice');
        this.filled.set(twin, batch.lsns[batch.lsns.length - 1]!);
        try {
          await append(this.conn, { table: twin.name, schema: twin.schema, catalog: HOT_DATABASE }, batch, (appender, row) => appender.appendUBigInt(batch.lsns[row]!));
        } finally {
          this.appendedAt = performance.now();
        }
        return true;
      }
      const json = jsonColumns(batch, 'micros');
      if (!json) return false;
      work.push({ twin, statement: await this.statementFor(twin, table), json, batch });
    }
    assert(work.every(({ batch }) => batch.lsns[0]! > this.lsn), 'a batch goes into the hot tier twice');
    // Several tables in one transaction, so that no read sees a later LSN without an earlier one; one alone needs none.
    const together = work.length > 1;
    if (together) await this.conn.run('BEGIN TRANSACTION');
    try {
      for (const { twin, statement, json, batch } of work) {
        json.forEach((column, i) => statement.bindVarchar(i + 1, column));
        statement.bindVarchar(json.length + 1, `[${batch.lsns.join(',')}]`);
        this.filled.set(twin, batch.lsns[batch.lsns.length - 1]!);
        await statement.run();
      }
      if (together) await this.conn.run('COMMIT');
    } catch (error) {
      if (together) await this.conn.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
    return true;
  }

  private statementFor(twin: HotTwin, table: WriteTable): Promise<DuckDBPreparedStatement> {
    let statement = this.statements.get(twin);
    if (!statement) {
      const unnests = table.columns.map((c, i) => `unnest(from_json($${i + 1}, '["${WAL_STAGE_TYPES[c.wal]}"]')) AS c${i}`);
      unnests.push(`unnest(from_json($${table.columns.length + 1}, '["UBIGINT"]')) AS __lsn`);
      const restored = table.columns.map((c, i) => walRestoreExpression(c, `c${i}`));
      statement = this.conn.prepare(`INSERT INTO ${twin.qualified} SELECT ${[...restored, '__lsn'].join(', ')} FROM (SELECT ${unnests.join(', ')})`);
      this.statements.set(twin, statement);
      statement.catch(() => this.statements.delete(twin));
    }
    return statement;
  }

  /** Deletes from the twins the rows up to `upTo`, which the persistent database holds (reads take their snapshots so that they need not stay, takeSnapshots, or hold them till done, Writer.holdTwins). */
  async discard(upTo: bigint): Promise<void> {
    if (upTo <= this.discarded) return;
    for (const [twin, last] of this.filled) {
      await this.conn.run(`DELETE FROM ${twin.qualified} WHERE __lsn <= ${upTo}`);
      if (last <= upTo) this.filled.delete(twin);
    }
    this.discarded = upTo;
  }
}

/** The batch's columns are the table's, in order (a direct insert's always are). */
function sameColumns(table: WriteTable, batch: ChangeBatch): boolean {
  return batch.columns.length === table.columns.length && batch.columns.every((column, i) => column.name === table.columns[i]!.name && column.kind === table.columns[i]!.wal);
}

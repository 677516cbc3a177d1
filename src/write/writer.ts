import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { quoteIdent } from '../catalog/catalog.js';
import type { Engine } from '../engine/duckdb.js';
import { SqlError, SqlState } from '../errors.js';
import type { Logger } from '../log.js';
import { decodeChangeBatch, encodeChangeBatch, type ChangeBatch, type WalColumnKind } from '../wal/change-batch.js';
import { encodeFrame, type Frame } from '../wal/frame.js';
import { writeFileAtomic } from '../wal/fsync.js';
import { WriteAheadLog } from '../wal/wal.js';
import { applyStage, stagedBatches } from './apply.js';
import { FastPathFallback, STAGE, stageFastInserts, type EvaluationContext, type Evaluated, type FastInsert } from './dml.js';
import { loadWriteTable, walRestoreExpression, type WriteTable } from './tables.js';
import type { RewriteContext } from '../sql/rewrite.js';

export type WriterOptions = {
  dataDir: string;
  /** A WAL segment is closed once it is this large. */
  segmentBytes: number;
  /** Autocommit statements waiting for the writer; more wait for room (backpressure). */
  maxQueued: number;
  /** Statements committed together at most (one fsync). */
  maxGroup: number;
  /** A unit's buffered WAL batches are written out (not yet synced) past this many bytes. */
  frameBytes: number;
};

/** The LSN watermarks (ARCHITECTURE.md, "wal"). */
export type Watermarks = { nextLsn: bigint; walLsn: bigint; duckdbLsn: bigint; icebergLsn: bigint };

/** What a statement running on the writer can do. */
export interface WriteTransaction {
  readonly conn: DuckDBConnection;
  /** The evaluation context for a statement of a session. */
  context(rewrite: RewriteContext, parameterText?: (n: number) => string | undefined): EvaluationContext;
  /** Applies an evaluated statement's records to DuckDB and queues them for the WAL. */
  apply(evaluated: Evaluated): Promise<void>;
  /** The table definitions changed (DDL). */
  invalidateTables(): void;
}

type Job = {
  work: (tx: WriteTransaction) => Promise<unknown>;
  /** A plain INSERT … VALUES: batched with the group's others when possible. */
  fast?: FastInsert;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
};
type LeaseRequest = { grant: (lease: WriteLease) => void };

/** Exclusive use of the writer: an explicit transaction, or DDL. */
export interface WriteLease extends WriteTransaction {
  /** BEGIN: the statements that follow commit (or not) together. */
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  release(): void;
}

/** DuckDB threw (rather than Arka refusing): DuckDB has aborted the transaction. */
function abortsTransaction(error: unknown): boolean {
  return !(error instanceof SqlError);
}

const WAL_COLUMN_TYPES: Record<WalColumnKind, string> = {
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

/**
 * The single writer. Every change gets its LSN here, in one order.
 *
 * Autocommit statements queue and run in commit groups: one DuckDB
 * transaction, one WAL frame, one fsync. Each statement is evaluated against
 * the group's transaction, which holds every earlier LSN, and applied to it
 * set-based before the next statement runs (no lost updates). The WAL frame
 * is fsynced before DuckDB commits (with applied_lsn in the same transaction),
 * and clients are answered after both: acknowledged means durable, and
 * visible. Explicit transactions and DDL lease the writer exclusively.
 */
export class Writer {
  private readonly queue: Job[] = [];
  private readonly leaseRequests: LeaseRequest[] = [];
  private roomWaiters: (() => void)[] = [];
  private running = false;
  private leased = false;
  private closed = false;
  private readonly tables = new Map<string, WriteTable>();
  private nextUnit = 1;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointed = -1n;
  readonly watermarks: Watermarks;

  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly wal: WriteAheadLog,
    private readonly options: WriterOptions,
    private readonly log: Logger,
    applied: bigint,
    lastLsn: bigint,
    lastUnit: number,
  ) {
    this.watermarks = { nextLsn: lastLsn + 1n, walLsn: lastLsn, duckdbLsn: applied, icebergLsn: 0n };
    this.nextUnit = lastUnit + 1;
    this.checkpointTimer = setInterval(() => void this.checkpoint().catch((error) => log.error({ err: error }, 'checkpoint failed')), 1000);
    this.checkpointTimer.unref();
  }

  /** Opens the WAL and replays what DuckDB has not applied, before any client connects. */
  static async open(engine: Engine, options: WriterOptions, log: Logger): Promise<Writer> {
    const conn = await engine.connect();
    const applied = BigInt((await conn.runAndReadAll('SELECT applied_lsn FROM arka_meta.state WHERE id = 1')).getRowsJS()[0]![0] as bigint);
    const replay = new Replay(conn, applied, log);
    const wal = await WriteAheadLog.open(join(options.dataDir, 'wal'), options.segmentBytes, log, (frame) => replay.frame(frame));
    await replay.finish();
    const writer = new Writer(conn, wal, options, log, replay.applied, replay.lastLsn > applied ? replay.lastLsn : applied, replay.lastUnit);
    writer.watermarks.duckdbLsn = replay.applied;
    await writer.checkpoint();
    log.info({ lsn: String(writer.watermarks.walLsn), replayedUnits: replay.units, segments: wal.segmentCount }, 'write-ahead log open');
    return writer;
  }

  status() {
    return { ...this.watermarks, walBytes: this.wal.totalBytes, walSegments: this.wal.segmentCount, queued: this.queue.length };
  }

  /**
   * Runs an autocommit statement in the next commit group. `fast` describes a
   * plain INSERT … VALUES, which may be batched with others; `work` is the
   * general path, also used when batching does not apply.
   */
  async submit<T>(work: (tx: WriteTransaction) => Promise<T>, fast?: FastInsert): Promise<T> {
    if (this.closed) throw new SqlError(SqlState.AdminShutdown, 'the writer is shut down');
    while (this.queue.length >= this.options.maxQueued) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, fast, resolve: resolve as (value: unknown) => void, reject });
      void this.pump();
    });
  }

  /** Waits for exclusive use of the writer (bounded by `timeoutMs`, 0: no bound). */
  acquire(timeoutMs: number): Promise<WriteLease> {
    if (this.closed) return Promise.reject(new SqlError(SqlState.AdminShutdown, 'the writer is shut down'));
    return new Promise<WriteLease>((resolve, reject) => {
      const request: LeaseRequest = { grant: resolve };
      this.leaseRequests.push(request);
      if (timeoutMs > 0) {
        const timer = setTimeout(() => {
          const index = this.leaseRequests.indexOf(request);
          if (index < 0) return;
          this.leaseRequests.splice(index, 1);
          reject(new SqlError('55P03', 'canceling statement due to lock timeout'));
        }, timeoutMs);
        request.grant = (lease) => {
          clearTimeout(timer);
          resolve(lease);
        };
      }
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.running || this.leased) return;
    this.running = true;
    try {
      for (;;) {
        const lease = this.leaseRequests.shift();
        if (lease) {
          this.leased = true;
          lease.grant(this.newLease());
          return; // the lease's release() pumps again
        }
        if (this.queue.length === 0) return;
        const jobs = this.queue.splice(0, this.options.maxGroup);
        for (const waiter of this.roomWaiters.splice(0)) waiter();
        await this.runGroup(jobs);
      }
    } finally {
      this.running = false;
    }
  }

  private async runGroup(jobs: Job[]): Promise<void> {
    let pending = jobs;
    let batching = true;
    for (;;) {
      const unit = new Unit(this.nextUnit++, this.wal, this.options.frameBytes);
      const done: { job: Job; value: unknown }[] = [];
      let aborted: Job | undefined;
      let fallback = false;
      let batch: Job[] = [];
      await this.conn.run('BEGIN TRANSACTION');
      const flushBatch = async (): Promise<boolean> => {
        if (batch.length === 0) return true;
        const jobsInBatch = batch;
        batch = [];
        try {
          for (const value of await this.applyFastInserts(unit, jobsInBatch)) done.push(value);
          return true;
        } catch (error) {
          if (!(error instanceof FastPathFallback)) this.log.debug({ err: error }, 'batched inserts fall back to the general path');
          return false;
        }
      };
      for (const job of pending) {
        if (batching && job.fast) {
          batch.push(job);
          continue;
        }
        if (!(await flushBatch())) {
          fallback = true;
          break;
        }
        try {
          done.push({ job, value: await job.work(this.transaction(unit)) });
        } catch (error) {
          if (abortsTransaction(error)) {
            aborted = job;
            job.reject(error);
            break;
          }
          job.reject(error);
        }
      }
      if (!aborted && !fallback && !(await flushBatch())) fallback = true;
      if (aborted || fallback) {
        // DuckDB aborted the transaction (or a batch needs statement-by-statement
        // errors): run the group again, without the failed statement.
        // LSNs already handed out are not reused (a gap is fine; a reused LSN
        // could name a second WAL segment like the first).
        await this.rollbackQuietly();
        if (fallback) batching = false;
        pending = pending.filter((job) => job !== aborted);
        if (pending.length === 0) return;
        continue;
      }
      try {
        await this.commitUnit(unit);
      } catch (error) {
        this.log.error({ err: error }, 'commit group failed');
        await this.rollbackQuietly();
        const failure = new SqlError('58030', `could not commit: ${(error as Error).message}`);
        for (const { job } of done) job.reject(failure);
        return;
      }
      for (const { job, value } of done) job.resolve(value);
      return;
    }
  }

  /** A batch of fast inserts, one set-based statement per table. */
  private async applyFastInserts(unit: Unit, jobs: Job[]): Promise<{ job: Job; value: unknown }[]> {
    const byTable = new Map<string, Job[]>();
    for (const job of jobs) {
      const key = `${job.fast!.schema}.${job.fast!.name}`;
      byTable.set(key, [...(byTable.get(key) ?? []), job]);
    }
    const context = { conn: this.conn, reserveLsns: (count: number) => this.reserveLsns(count), timestampMicros: BigInt(Date.now()) * 1000n };
    for (const tableJobs of byTable.values()) {
      const first = tableJobs[0]!.fast!;
      const table = await this.table(first.schema, first.name);
      const records = await stageFastInserts(context, table, tableJobs.map((job) => job.fast!));
      await this.transaction(unit).apply({ table, records, affected: records, tag: '' });
    }
    return jobs.map((job) => {
      const rows = job.fast!.rows.length;
      return { job, value: { records: rows, affected: rows, tag: `INSERT 0 ${rows}` } };
    });
  }

  /** Writes the unit's final frame, fsyncs, records applied_lsn and commits DuckDB. */
  private async commitUnit(unit: Unit): Promise<void> {
    if (unit.lastLsn === undefined) {
      await this.conn.run('COMMIT');
      return;
    }
    await unit.flush(true);
    await this.wal.sync();
    const last = unit.lastLsn;
    await this.conn.run(
      `UPDATE arka_meta.state SET applied_lsn = ${last}, wal_bytes = ${this.wal.totalBytes}, wal_segments = ${this.wal.segmentCount}, applied_at = now() WHERE id = 1`,
    );
    await this.conn.run('COMMIT');
    assert(last >= this.watermarks.walLsn, 'LSNs go backwards');
    this.watermarks.walLsn = last;
    this.watermarks.duckdbLsn = last;
  }

  private async rollbackQuietly(): Promise<void> {
    try {
      await this.conn.run('ROLLBACK');
    } catch {
      // DuckDB may have ended the transaction already
    }
  }

  private transaction(unit: Unit): WriteTransaction {
    const writer = this;
    return {
      conn: this.conn,
      context(rewrite: RewriteContext, parameterText?: (n: number) => string | undefined): EvaluationContext {
        return {
          conn: writer.conn,
          rewrite,
          parameterText,
          table: (schema, name) => writer.table(schema, name),
          reserveLsns: (count) => writer.reserveLsns(count),
          timestampMicros: BigInt(Date.now()) * 1000n,
        };
      },
      apply: async (evaluated) => {
        if (evaluated.records === 0) return;
        await applyStage(writer.conn, evaluated.table, STAGE);
        for await (const batch of stagedBatches(writer.conn, evaluated.table, STAGE)) await unit.add(batch);
      },
      invalidateTables: () => writer.tables.clear(),
    };
  }

  /** The next `count` LSNs, in one order for every change. */
  private reserveLsns(count: number): bigint {
    assert(count > 0, 'reserving no LSNs');
    const first = this.watermarks.nextLsn;
    this.watermarks.nextLsn += BigInt(count);
    return first;
  }

  private async table(schema: string, name: string): Promise<WriteTable> {
    const key = `${schema}.${name}`;
    let table = this.tables.get(key);
    if (!table) {
      table = await loadWriteTable(this.conn, schema, name);
      this.tables.set(key, table);
    }
    return table;
  }

  private newLease(): WriteLease {
    let unit: Unit | undefined;
    let released = false;
    const writer = this;
    const base = (): WriteTransaction => this.transaction(unit ?? new Unit(0, this.wal, this.options.frameBytes));
    return {
      conn: this.conn,
      context: (rewrite, parameterText) => base().context(rewrite, parameterText),
      apply: (evaluated) => {
        if (!unit) throw new SqlError(SqlState.InternalError, 'write outside a leased transaction');
        return writer.transaction(unit).apply(evaluated);
      },
      invalidateTables: () => writer.tables.clear(),
      async begin() {
        await writer.conn.run('BEGIN TRANSACTION');
        unit = new Unit(writer.nextUnit++, writer.wal, writer.options.frameBytes);
      },
      async commit() {
        const committing = unit!;
        unit = undefined;
        try {
          await writer.commitUnit(committing);
        } catch (error) {
          await writer.rollbackQuietly();
          writer.tables.clear();
          throw error instanceof SqlError ? error : new SqlError('58030', `could not commit: ${(error as Error).message}`);
        }
      },
      async rollback() {
        unit = undefined;
        await writer.rollbackQuietly();
        writer.tables.clear();
      },
      release() {
        if (released) return;
        released = true;
        writer.leased = false;
        void writer.pump();
      },
    };
  }

  /** checkpoint.json: the watermarks, for operators and the Iceberg flusher; written atomically. */
  private async checkpoint(): Promise<void> {
    if (this.checkpointed === this.watermarks.walLsn) return;
    this.checkpointed = this.watermarks.walLsn;
    const { walLsn, duckdbLsn, icebergLsn } = this.watermarks;
    await writeFileAtomic(
      join(this.options.dataDir, 'checkpoint.json'),
      JSON.stringify({ wal_lsn: String(walLsn), duckdb_lsn: String(duckdbLsn), iceberg_lsn: String(icebergLsn), timestamp: new Date().toISOString() }) + '\n',
    );
  }

  /**
   * Graceful stop: queued statements finish and commit, then the WAL closes.
   * A transaction still holding the writer after `timeoutMs` is left
   * uncommitted: DuckDB's close rolls it back, and the WAL never saw its final frame.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    this.closed = true;
    const deadline = Date.now() + timeoutMs;
    while ((this.running || this.queue.length > 0 || this.leased) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.leased) this.log.warn('closing with a transaction still open; it is rolled back');
    clearInterval(this.checkpointTimer);
    await this.checkpoint();
    await this.wal.close();
    this.conn.closeSync();
  }
}

/** One commit unit's WAL output: batches buffered, written as frames, the last one final. */
class Unit {
  private batches: Uint8Array[] = [];
  private bytes = 0;
  private firstLsn: bigint | undefined;
  lastLsn: bigint | undefined;
  private frameFirst: bigint | undefined;

  constructor(
    readonly id: number,
    private readonly wal: WriteAheadLog,
    private readonly frameBytes: number,
  ) {}

  async add(batch: ChangeBatch): Promise<void> {
    const encoded = encodeChangeBatch(batch);
    this.batches.push(encoded);
    this.bytes += encoded.length;
    this.firstLsn ??= batch.lsns[0];
    this.frameFirst ??= batch.lsns[0];
    this.lastLsn = batch.lsns[batch.lsns.length - 1];
    if (this.bytes >= this.frameBytes) await this.flush(false);
  }

  /** Writes the buffered batches as a frame (final: the unit commits with it). */
  async flush(final: boolean): Promise<void> {
    if (this.batches.length === 0 && !final) return;
    const frame: Frame = {
      header: { unit: this.id, final, firstLsn: String(this.frameFirst ?? this.lastLsn ?? 0n), lastLsn: String(this.lastLsn ?? 0n) },
      batches: this.batches,
    };
    await this.wal.append(encodeFrame(frame), this.frameFirst ?? this.lastLsn ?? 0n);
    this.batches = [];
    this.bytes = 0;
    this.frameFirst = undefined;
  }
}

/** Recovery: re-applies each complete unit DuckDB has not, in order, each in one DuckDB transaction. */
class Replay {
  private pending: Frame[] = [];
  applied: bigint;
  lastLsn = 0n;
  lastUnit = 0;
  units = 0;
  private readonly tables = new Map<string, WriteTable | null>();
  private lastProgress = Date.now();

  constructor(
    private readonly conn: DuckDBConnection,
    applied: bigint,
    private readonly log: Logger,
  ) {
    this.applied = applied;
  }

  async frame(frame: Frame): Promise<void> {
    const { header } = frame;
    if (this.pending.length > 0 && this.pending[0]!.header.unit !== header.unit) {
      this.log.warn({ unit: this.pending[0]!.header.unit }, 'discarding a WAL unit that never committed');
      this.pending = [];
    }
    this.pending.push(frame);
    this.lastUnit = Math.max(this.lastUnit, header.unit);
    const last = BigInt(header.lastLsn);
    if (last > this.lastLsn) this.lastLsn = last;
    if (!header.final) return;
    const frames = this.pending;
    this.pending = [];
    if (last <= this.applied) return;
    await this.applyUnit(frames, last);
  }

  async finish(): Promise<void> {
    if (this.pending.length > 0) this.log.warn({ unit: this.pending[0]!.header.unit }, 'discarding a WAL unit that never committed');
    this.pending = [];
  }

  private async applyUnit(frames: Frame[], last: bigint): Promise<void> {
    await this.conn.run('BEGIN TRANSACTION');
    try {
      for (const frame of frames) {
        for (const bytes of frame.batches) await this.applyBatch(decodeChangeBatch(bytes));
      }
      await this.conn.run(`UPDATE arka_meta.state SET applied_lsn = ${last}, applied_at = now() WHERE id = 1`);
      await this.conn.run('COMMIT');
    } catch (error) {
      await this.conn.run('ROLLBACK').catch(() => {});
      throw error;
    }
    this.applied = last;
    this.units++;
    if (Date.now() - this.lastProgress > 2000) {
      this.lastProgress = Date.now();
      this.log.info({ appliedLsn: String(last), units: this.units }, 'replaying the write-ahead log');
    }
  }

  private async applyBatch(batch: ChangeBatch): Promise<void> {
    if (!this.tables.has(batch.table)) {
      this.tables.set(batch.table, await loadWriteTable(this.conn, 'public', batch.table).catch(() => null));
    }
    const table = this.tables.get(batch.table);
    if (!table) {
      this.log.warn({ table: batch.table }, 'WAL changes for a table that no longer exists; skipped');
      return;
    }
    const defs = batch.columns.map((c) => `${quoteIdent(c.name)} ${WAL_COLUMN_TYPES[c.kind]}`);
    await this.conn.run(`CREATE OR REPLACE TEMP TABLE __arka_replay (${[...defs, '__lsn UBIGINT', '__change_type VARCHAR', '__ts BIGINT'].join(', ')})`);
    const appender = await this.conn.createAppender('__arka_replay', 'main', 'temp');
    try {
      for (let row = 0; row < batch.lsns.length; row++) {
        batch.columns.forEach((column, c) => appendWalValue(appender, column.kind, batch.values[c]![row]));
        appender.appendUBigInt(batch.lsns[row]!);
        appender.appendVarchar(batch.changeTypes[row]!);
        appender.appendBigInt(batch.timestamps[row]!);
        appender.endRow();
      }
    } finally {
      appender.closeSync();
    }
    const present = new Set(batch.columns.map((c) => c.name));
    const select = table.columns.map((c) =>
      present.has(c.name) ? `${walRestoreExpression(c, quoteIdent(c.name))} AS ${quoteIdent(c.name)}` : `CAST(NULL AS ${c.type}) AS ${quoteIdent(c.name)}`,
    );
    await this.conn.run(
      `CREATE OR REPLACE TEMP TABLE ${STAGE} AS SELECT ${[...select, '__lsn', '__change_type', "(make_timestamp(__ts) AT TIME ZONE 'UTC') AS __timestamp"].join(', ')} FROM __arka_replay`,
    );
    await applyStage(this.conn, table, STAGE);
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

import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Engine } from '../engine/duckdb.js';
import { SqlError, SqlState } from '../errors.js';
import type { Logger } from '../log.js';
import { decodeChangeBatch, encodeChangeBatch, type ChangeBatch } from '../wal/change-batch.js';
import type { Frame } from '../wal/frame.js';
import { writeFileAtomic } from '../wal/fsync.js';
import { WriteAheadLog } from '../wal/wal.js';
import { applyChangeBatch, applyStage, mergeByTable, stagedBatches, walBatches, type EncodedBatch } from './apply.js';
import { directBatch, directInsert, type DirectInsert } from './direct-insert.js';
import { FastPathFallback, STAGE, stageFastInserts, stageFastUpserts, type EvaluationContext, type Evaluated, type FastInsert } from './dml.js';
import { HotTier, type HotTwin } from './hot-tier.js';
import { loadWriteTable, type WriteTable } from './tables.js';
import { TwinHolds } from './twin-holds.js';
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
  /** Rows acknowledged but not yet applied to DuckDB at most; direct inserts wait for room past it (backpressure). */
  maxApplyRows: number;
  /**
   * The apply waits this long after the previous one before it applies again,
   * unless a read is waiting for it: each apply is a DuckDB transaction whose
   * cost hardly depends on its rows, so waiting a little applies many at once.
   */
  applyIntervalMs: number;
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
  /** Text converts to timestamptz in the session's TimeZone, as in PostgreSQL: the writer's connection takes it for the statement. */
  useTimeZone(zone: string): Promise<void>;
}

type Job = {
  work: (tx: WriteTransaction) => Promise<unknown>;
  /** A plain INSERT … VALUES: batched with the group's others when possible. */
  fast?: FastInsert;
  /** A COPY, which may be acknowledged once durable and applied afterwards (a commit group of its own). */
  applyLater?: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
};
type LeaseRequest = { grant: (lease: WriteLease) => void; fail: (error: unknown) => void };
/** A COPY acknowledged from the WAL whose rows wait in its staging database: `records` reads them as applyStage takes them. */
type StagedApply = { table: WriteTable; records: string; rows: number; release?: () => Promise<void> };
/** Writes acknowledged from the WAL, waiting to be applied to DuckDB: direct inserts' batches (`rows` of them), or a staged COPY. */
type PendingApply = { lastLsn: bigint; rows: number; batches: { table: WriteTable; batch: ChangeBatch }[]; staged?: StagedApply };
/**
 * A read waiting for acknowledged writes; `hot`: it reads them through the
 * hot tier, so an insert there will do, except for the COPYs into its tables
 * that DuckDB must apply first (up to `applied`).
 */
type AppliedWaiter = { lsn: bigint; hot: boolean; applied: bigint; resolve: () => void; reject: (error: unknown) => void; timer: NodeJS.Timeout };

/** Exclusive use of the writer: an explicit transaction, or DDL. */
export interface WriteLease extends WriteTransaction {
  /** BEGIN: the statements that follow commit (or not) together. */
  begin(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** After DDL (committed or rolled back): waits for the hot tier to follow the tables' definitions. */
  settle(): Promise<void>;
  release(): void;
}

/**
 * Whether a statement's records can be applied after its acknowledgement: a
 * COPY's staged inserts into a table whose rows need nothing from DuckDB on
 * the way in (the tables direct inserts go to), so that the apply cannot fail
 * on them, and reads of the table wait for it through the hot tier.
 */
function canApplyLater(evaluated: Evaluated): boolean {
  const { table, insertView, walSource, inserts } = evaluated;
  return insertView !== undefined && walSource !== undefined && inserts !== undefined && table.kind === 'append_only' && !table.checkedOnApply;
}

/** DuckDB threw (rather than Arka refusing): DuckDB has aborted the transaction. */
function abortsTransaction(error: unknown): boolean {
  return !(error instanceof SqlError);
}

/**
 * The single writer. Every change gets its LSN here, in one order.
 *
 * Autocommit statements queue and run in commit groups: one WAL frame, one
 * fsync. Inserts that need nothing from the table's state (direct inserts:
 * constants into an append-only table) are acknowledged once the WAL frame is
 * fsynced and applied to DuckDB afterwards, in batches, by the apply loop; so
 * is a COPY into such a table, from its staging database, in a group of its own.
 * Every other statement first waits for the apply to catch up, then runs in
 * one DuckDB transaction that holds every earlier LSN: evaluated, applied
 * set-based, the WAL frame fsynced, then DuckDB committed with applied_lsn in
 * the same transaction (no lost updates, no double apply). Explicit
 * transactions and DDL lease the writer exclusively, after the apply caught up.
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
  private readonly pendingApply: PendingApply[] = [];
  /** Rows of pendingApply's direct inserts, held in memory here: the bound of the backpressure. */
  private pendingApplyRows = 0;
  private applying: Promise<void> | undefined;
  /** The direct inserts the apply running now took from pendingApply (the hot tier may still need them). */
  private applyingItems: PendingApply[] = [];
  /** Work on the hot tier's connection, one at a time. */
  private hotWork: Promise<void> = Promise.resolve();
  private hotInserting = false;
  /** A batch could not go into the hot tier: reads wait for the apply until it has run. */
  private hotBlocked = false;
  /**
   * Tables (`schema.name`) with an acknowledged COPY not yet applied, and its
   * last LSN: its rows stay out of the twins (they may be millions), so a read
   * of such a table through the hot tier waits for the apply; other tables'
   * reads go on through the hot tier.
   */
  private readonly copiesPending = new Map<string, bigint>();
  /** When a read last read through the hot tier: while reads do, inserts go there as soon as they are acknowledged. */
  private lastHotRead = -Infinity;
  /** Rows the apply has committed wait in the twins for the reads that began before (holdTwins). */
  private readonly twinHolds = new TwinHolds((upTo) => {
    void this.onHot(() => this.hot.discard(upTo)).catch((error) => this.log.error({ err: error }, 'discarding rows of the hot tier failed'));
  });
  private applyTimer: NodeJS.Timeout | undefined;
  private lastApplyEnded = 0;
  private applyRoomWaiters: (() => void)[] = [];
  private appliedWaiters: AppliedWaiter[] = [];
  /** The zone both connections convert text to timestamptz in (undefined: DuckDB's default, the same for both). */
  private timeZone: string | undefined;
  /** The apply failed: DuckDB no longer follows the WAL; writes and waits fail until a restart replays it. */
  private failure: SqlError | undefined;

  private constructor(
    private readonly conn: DuckDBConnection,
    /** Stages a COPY's rows, and reads a statement's rows for the WAL beside the writer's connection (walSource). */
    private readonly walReader: DuckDBConnection,
    private readonly wal: WriteAheadLog,
    private readonly options: WriterOptions,
    private readonly log: Logger,
    /** Acknowledged direct inserts visible to reads before the apply (hot-tier.ts). */
    readonly hot: HotTier,
    applied: bigint,
    /** The highest LSN in the WAL, committed or not: LSNs are never reused. */
    lastLsn: bigint,
    lastUnit: number,
  ) {
    // After recovery DuckDB holds every committed unit, so the durable WAL LSN is the applied one.
    this.watermarks = { nextLsn: (lastLsn > applied ? lastLsn : applied) + 1n, walLsn: applied, duckdbLsn: applied, icebergLsn: 0n };
    this.nextUnit = lastUnit + 1;
    // A failed WAL write stops the writer whichever statement it was for: the WAL takes no more.
    wal.onFailure = (error) => this.fail(error);
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
    const hot = await HotTier.open(await engine.connect(), replay.applied);
    const writer = new Writer(conn, await engine.connect(), wal, options, log, hot, replay.applied, replay.lastLsn, replay.lastUnit);
    engine.setWatermarkSource((name) => writer.watermark(name));
    await writer.checkpoint();
    log.info({ lsn: String(writer.watermarks.walLsn), replayedUnits: replay.units, segments: wal.segmentCount }, 'write-ahead log open');
    return writer;
  }

  status() {
    return { ...this.watermarks, walBytes: this.wal.totalBytes, walSegments: this.wal.segmentCount, queued: this.queue.length };
  }

  /** One watermark by name, for arka_status(). */
  private watermark(name: string): bigint {
    const { walLsn, duckdbLsn, icebergLsn } = this.watermarks;
    switch (name) {
      case 'wal_lsn':
        return walLsn;
      case 'duckdb_lsn':
        return duckdbLsn;
      case 'iceberg_lsn':
        return icebergLsn;
      case 'wal_bytes':
        return BigInt(this.wal.totalBytes);
      case 'wal_segments':
        return BigInt(this.wal.segmentCount);
      case 'apply_lag':
        return walLsn - duckdbLsn;
      case 'apply_queued_rows':
        // With the rows of acknowledged COPYs waiting in their staging databases (at most one: the next waits for the apply).
        return BigInt([...this.applyingItems, ...this.pendingApply].reduce((sum, item) => sum + (item.staged?.rows ?? 0), this.pendingApplyRows));
      default:
        throw new Error(`no watermark named ${name}`);
    }
  }

  /**
   * For reads: resolves once DuckDB has applied `lsn` — or, for a read of
   * tables through the twins `hot` (still current), once the hot tier holds
   * it; bounded by `timeoutMs`, past which the read fails with 57014 rather
   * than wait on.
   */
  waitApplied(lsn: bigint, timeoutMs: number, hot?: readonly HotTwin[]): Promise<void> {
    const throughHot = hot !== undefined && this.hot.current(hot);
    if (throughHot) this.lastHotRead = Date.now();
    const applied = throughHot ? this.copiesPendingIn(hot!) : lsn;
    if (this.visibleLsn(throughHot) >= lsn && this.watermarks.duckdbLsn >= applied) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const waiter: AppliedWaiter = {
        lsn,
        hot: throughHot,
        applied,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.appliedWaiters = this.appliedWaiters.filter((w) => w !== waiter);
          reject(
            new SqlError(SqlState.QueryCanceled, `canceling statement: the writes acknowledged before it (up to LSN ${lsn}) were not applied within ${timeoutMs} ms`, {
              detail: `DuckDB has applied up to LSN ${this.watermarks.duckdbLsn}.`,
              hint: 'The apply is behind; see arka_status(). The wait is set by --read-wait-timeout.',
            }),
          );
        }, timeoutMs),
      };
      this.appliedWaiters.push(waiter);
      if (throughHot && !this.hotBlocked) this.scheduleHot();
      if (!throughHot || this.hotBlocked || applied > this.watermarks.duckdbLsn) this.scheduleApply(true);
    });
  }

  /** The LSN DuckDB must have applied before a read of `twins` through the hot tier: their tables' pending COPYs (0: none). */
  private copiesPendingIn(twins: readonly HotTwin[]): bigint {
    let last = 0n;
    for (const twin of twins) {
      const copy = this.copiesPending.get(`${twin.schema}.${twin.name}`);
      if (copy !== undefined && copy > last) last = copy;
    }
    return last;
  }

  /** The LSN up to which every acknowledged write is visible to a read of DuckDB (with the hot tier, or not). */
  private visibleLsn(throughHot: boolean): bigint {
    const applied = this.watermarks.duckdbLsn;
    return throughHot && this.hot.lsn > applied ? this.hot.lsn : applied;
  }

  /**
   * Puts the acknowledged direct inserts not yet visible into the hot tier,
   * for the reads waiting through it. When a batch cannot go there, the
   * apply makes them visible instead.
   */
  private scheduleHot(): void {
    if (this.hotInserting || this.failure) return;
    const from = this.visibleLsn(true);
    const items = [...this.applyingItems, ...this.pendingApply].filter((item) => item.lastLsn > from);
    if (items.length === 0) return;
    // A COPY's rows stay out of the twins (copiesPending holds its table's reads until the apply): its LSNs are passed over.
    this.hotInserting = true;
    this.onHot(async () => {
      const inserted = await this.hot.insert(mergeByTable(items.flatMap((item) => item.batches)));
      if (inserted) this.hot.lsn = items[items.length - 1]!.lastLsn;
      else this.hotBlocked = true;
    })
      .catch((error) => {
        this.log.error({ err: error }, 'insert into the hot tier failed');
        this.hotBlocked = true;
      })
      .finally(() => {
        this.hotInserting = false;
        this.releaseAppliedWaiters();
        // Blocked, the apply serves the waiting reads (and unblocks); trying again at once would spin.
        if (this.hotBlocked) this.scheduleApply(true);
        else if (this.appliedWaiters.some((waiter) => waiter.hot) || this.hotReadsActive()) this.scheduleHot();
      });
  }

  /** Reads went through the hot tier in the last second: the next are likely to, and find the rows there already. */
  private hotReadsActive(): boolean {
    return Date.now() - this.lastHotRead < 1000 && !this.hotBlocked;
  }

  /**
   * For a read of one twin and its table in one autocommit query, without
   * the transaction that orders its snapshots (takeSnapshots): DuckDB may
   * take its persistent snapshot before an apply commits and its twin
   * snapshot after, so the rows that commit moves stay in the twin until
   * every read begun before it has called the release returned here.
   */
  holdTwins(): () => void {
    return this.twinHolds.hold();
  }

  /** Rows the apply has committed leave the twins, once no read that began before may still need them (holdTwins). */
  private discardHot(): void {
    this.twinHolds.discardAfterReads(this.watermarks.duckdbLsn);
  }

  private onHot(work: () => Promise<void>): Promise<void> {
    const run = this.hotWork.then(work);
    this.hotWork = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs an autocommit statement in the next commit group. `fast` describes a
   * plain INSERT … VALUES, which may be batched with others; `work` is the
   * general path, also used when batching does not apply.
   */
  async submit<T>(work: (tx: WriteTransaction) => Promise<T>, fast?: FastInsert, options: { applyLater?: boolean } = {}): Promise<T> {
    if (this.closed) throw new SqlError(SqlState.AdminShutdown, 'the writer is shut down');
    if (this.failure) throw this.failure;
    while (this.queue.length >= this.options.maxQueued) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, fast, applyLater: options.applyLater, resolve: resolve as (value: unknown) => void, reject });
      void this.pump();
    });
  }

  /**
   * Tells the writer how to know that no session but the one whose statement
   * it is committing has done anything lately: only then may a commit's WAL
   * write block the thread that serves them all (runDirectGroup). Lately, not
   * now: the next message of a session waiting for its acknowledgement may
   * still be on its way.
   */
  watchSessions(othersIdle: () => boolean): void {
    this.othersIdle = othersIdle;
  }

  private othersIdle: () => boolean = () => false;

  /** Waits for exclusive use of the writer (bounded by `timeoutMs`, 0: no bound). */
  acquire(timeoutMs: number): Promise<WriteLease> {
    if (this.closed) return Promise.reject(new SqlError(SqlState.AdminShutdown, 'the writer is shut down'));
    return new Promise<WriteLease>((resolve, reject) => {
      const request: LeaseRequest = { grant: resolve, fail: reject };
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
          try {
            await this.drainApply();
          } catch (error) {
            lease.fail(error);
            continue;
          }
          this.leased = true;
          lease.grant(this.newLease());
          return; // the lease's release() pumps again
        }
        if (this.queue.length === 0) return;
        const jobs = this.queue.splice(0, this.options.maxGroup);
        for (const waiter of this.roomWaiters.splice(0)) waiter();
        await this.loadTablesOf(jobs);
        // In order: runs of direct inserts go to the WAL alone, the rest through DuckDB; a
        // statement that may be applied later commits alone, so its group's applied LSN is its own.
        const direct = jobs.map((job) => this.directInsert(job));
        for (let i = 0; i < jobs.length; ) {
          const start = i;
          const isDirect = direct[i] !== undefined;
          if (jobs[i]!.applyLater) i++;
          else while (i < jobs.length && (direct[i] !== undefined) === isDirect && !jobs[i]!.applyLater) i++;
          try {
            if (isDirect) await this.runDirectGroup(jobs.slice(start, i), direct.slice(start, i) as DirectInsert[]);
            else {
              await this.drainApply();
              await this.runGroup(jobs.slice(start, i));
            }
          } catch (error) {
            for (const job of jobs.slice(start, i)) job.reject(error);
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async runGroup(jobs: Job[]): Promise<void> {
    let pending = jobs;
    let batching = true;
    for (;;) {
      const unit = new Unit(this.nextUnit++, this.wal, this.options.frameBytes, pending.length === 1 && pending[0]!.applyLater === true);
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
        const failure = error instanceof SqlError ? error : new SqlError('58030', `could not commit: ${(error as Error).message}`);
        for (const { job } of done) job.reject(failure);
        return;
      }
      for (const { job, value } of done) job.resolve(value);
      return;
    }
  }

  /**
   * Loads the definitions of the tables the group's fast inserts go to, so
   * that the first insert into a table is direct too. The second connection
   * reads them: the writer's may be applying. A table that cannot be loaded
   * is left to the general path, which reports why.
   */
  private async loadTablesOf(jobs: Job[]): Promise<void> {
    for (const { fast } of jobs) {
      if (fast) await this.table(fast.schema, fast.name, this.walReader).catch(() => undefined);
    }
  }

  /** The job as a direct insert, when it is one and its table's definition is at hand (loadTablesOf). */
  private directInsert(job: Job): DirectInsert | undefined {
    if (!job.fast) return undefined;
    const table = this.tables.get(`${job.fast.schema}.${job.fast.name}`);
    return table ? directInsert(table, job.fast) : undefined;
  }

  /**
   * Direct inserts: LSNs, one WAL frame, one fsync, acknowledged; the rows
   * then wait for the apply loop (and the group waits for room there first).
   */
  private async runDirectGroup(jobs: Job[], inserts: DirectInsert[]): Promise<void> {
    while (this.pendingApplyRows >= this.options.maxApplyRows && !this.failure) {
      await new Promise<void>((resolve) => this.applyRoomWaiters.push(resolve));
    }
    if (this.failure) throw this.failure;
    const byTable = new Map<WriteTable, DirectInsert[]>();
    for (const insert of inserts) byTable.set(insert.table, [...(byTable.get(insert.table) ?? []), insert]);
    const unit = new Unit(this.nextUnit++, this.wal, this.options.frameBytes);
    const timestamp = BigInt(Date.now()) * 1000n;
    const pending: PendingApply = { lastLsn: 0n, rows: 0, batches: [] };
    for (const [table, tableInserts] of byTable) {
      const rows = tableInserts.reduce((sum, insert) => sum + insert.rows.length, 0);
      const batch = directBatch(tableInserts, this.reserveLsns(rows), timestamp);
      await unit.add(batch);
      pending.batches.push({ table, batch });
      pending.rows += rows;
    }
    // One statement, and no other session has done anything lately: its write blocks no one, and
    // goes out from this thread, without the two thread wake-ups of libuv's pool.
    const inline = jobs.length === 1 && this.queue.length === 0 && this.wal.syncsQuickly && this.othersIdle();
    try {
      await unit.flush(true, inline);
    } catch (error) {
      // The WAL may hold a partial frame now: nothing more can be written safely.
      this.fail(error);
      throw this.failure;
    }
    const last = unit.lastLsn!;
    assert(last > this.watermarks.walLsn, 'LSNs go backwards');
    this.watermarks.walLsn = last;
    pending.lastLsn = last;
    this.pendingApply.push(pending);
    this.pendingApplyRows += pending.rows;
    this.scheduleApply();
    if (this.hotReadsActive()) this.scheduleHot();
    const acknowledge = () =>
      jobs.forEach((job, i) => {
        const rows = inserts[i]!.rows.length;
        job.resolve({ records: rows, affected: rows, tag: `INSERT 0 ${rows}` });
      });
    // With statements queued, their group's write goes out first (the pump
    // goes on in this same turn) and these responses are sent while it is
    // on its way, rather than delay it: a third less time between writes.
    if (this.queue.length > 0) setImmediate(acknowledge);
    else acknowledge();
  }

  /** Starts the apply now when a read waits for it or much is pending, else once applyIntervalMs has passed since the last. */
  private scheduleApply(urgent = false): void {
    if (this.applying || this.failure || this.pendingApply.length === 0) return;
    const wait = this.lastApplyEnded + this.options.applyIntervalMs - Date.now();
    const pressing = urgent || this.appliedWaiters.some((waiter) => !waiter.hot || this.hotBlocked) || this.pendingApplyRows * 2 >= this.options.maxApplyRows;
    if (wait > 0 && !pressing) {
      this.applyTimer ??= setTimeout(() => {
        this.applyTimer = undefined;
        this.scheduleApply(true);
      }, wait);
      return;
    }
    clearTimeout(this.applyTimer);
    this.applyTimer = undefined;
    this.applying = this.applyPending().finally(() => {
      this.applying = undefined;
      this.lastApplyEnded = Date.now();
      this.scheduleApply();
    });
  }

  /**
   * One apply: everything acknowledged and not yet applied goes to DuckDB in
   * one transaction, with applied_lsn, then read-your-writes waiters whose
   * LSN is reached are released. scheduleApply starts the next.
   */
  private async applyPending(): Promise<void> {
    {
      const items = this.pendingApply.splice(0);
      this.applyingItems = items;
      const started = performance.now();
      const last = items[items.length - 1]!.lastLsn;
      const rows = items.reduce((sum, item) => sum + item.rows, 0);
      const staged = items.flatMap((item) => (item.staged ? [item.staged] : []));
      const stagedRows = staged.reduce((sum, copy) => sum + copy.rows, 0);
      try {
        await this.conn.run('BEGIN TRANSACTION');
        // In LSN order: the direct inserts between two COPYs are merged by table, a COPY goes in as staged.
        for (let i = 0; i < items.length; ) {
          const copy = items[i]!.staged;
          if (copy) {
            await applyStage(this.conn, copy.table, copy.records, true);
            i++;
            continue;
          }
          const start = i;
          while (i < items.length && !items[i]!.staged) i++;
          for (const { table, batch } of mergeByTable(items.slice(start, i).flatMap((item) => item.batches))) await applyChangeBatch(this.conn, table, batch);
        }
        await this.recordApplied(last, true);
      } catch (error) {
        await this.rollbackQuietly();
        this.fail(error);
        return;
      } finally {
        this.applyingItems = [];
        // Applied, or left to the replay at the next start: the stages' memory goes.
        for (const copy of staged) await copy.release?.().catch((error: unknown) => this.log.warn({ err: error }, 'could not drop a COPY stage'));
      }
      if (staged.length > 0) {
        this.log.info({ rows: stagedRows, ms: Math.round(performance.now() - started), lsn: String(last) }, 'COPY applied to DuckDB');
      }
      this.watermarks.duckdbLsn = last;
      for (const copy of staged) {
        const key = `${copy.table.schema}.${copy.table.name}`;
        if ((this.copiesPending.get(key) ?? 0n) <= last) this.copiesPending.delete(key);
      }
      this.hotBlocked = false;
      this.discardHot();
      if (this.appliedWaiters.some((waiter) => waiter.hot && waiter.lsn > last)) this.scheduleHot();
      this.pendingApplyRows -= rows;
      this.log.trace({ rows, ms: Math.round((performance.now() - started) * 100) / 100, lsn: String(last) }, 'applied to DuckDB');
      for (const waiter of this.applyRoomWaiters.splice(0)) waiter();
      this.releaseAppliedWaiters();
    }
  }

  private releaseAppliedWaiters(): void {
    this.appliedWaiters = this.appliedWaiters.filter((waiter) => {
      if (waiter.lsn > this.visibleLsn(waiter.hot) || waiter.applied > this.watermarks.duckdbLsn) return true;
      clearTimeout(waiter.timer);
      waiter.resolve();
      return false;
    });
  }

  /** Waits until DuckDB holds every acknowledged write (before a statement that reads DuckDB's state). */
  private async drainApply(): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      this.scheduleApply(true);
      if (!this.applying) break;
      await this.applying;
    }
    assert(this.pendingApply.length === 0, 'the apply stopped with changes pending');
  }

  /** The apply or a WAL write failed: stop applying and writing; DuckDB stays at its last LSN and a restart replays the WAL. */
  private fail(error: unknown): void {
    if (this.failure) return;
    // Never applied now (the WAL holds them for the replay): their stages' memory goes.
    for (const { staged } of this.pendingApply) {
      void staged?.release?.().catch((releaseError: unknown) => this.log.warn({ err: releaseError }, 'could not drop a COPY stage'));
    }
    this.log.error({ err: error, duckdbLsn: String(this.watermarks.duckdbLsn), walLsn: String(this.watermarks.walLsn) }, 'the writer failed; restart to replay the WAL');
    this.failure = new SqlError('58030', `could not write: ${(error as Error).message}`, { hint: 'The write-ahead log holds every acknowledged write; restart Arka to replay it.' });
    for (const waiter of this.appliedWaiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(this.failure);
    }
    for (const waiter of this.applyRoomWaiters.splice(0)) waiter();
  }

  /** Records applied_lsn in DuckDB's open transaction (and commits it, in the same call, when asked). */
  private async recordApplied(last: bigint, commit = false): Promise<void> {
    await this.conn.run(
      `UPDATE arka_meta.state SET applied_lsn = ${last}, wal_bytes = ${this.wal.totalBytes}, wal_segments = ${this.wal.segmentCount}, applied_at = now() WHERE id = 1${commit ? '; COMMIT' : ''}`,
    );
  }

  /** A batch of fast inserts, one set-based statement per table. */
  private async applyFastInserts(unit: Unit, jobs: Job[]): Promise<{ job: Job; value: unknown }[]> {
    const byTable = new Map<string, Job[]>();
    // By table and time zone: statements of different sessions are in no order among themselves.
    for (const job of jobs) {
      const key = `${job.fast!.schema}.${job.fast!.name}\0${job.fast!.timeZone ?? ''}`;
      byTable.set(key, [...(byTable.get(key) ?? []), job]);
    }
    const context = { conn: this.conn, reserveLsns: (count: number) => this.reserveLsns(count), timestampMicros: BigInt(Date.now()) * 1000n };
    for (const tableJobs of byTable.values()) {
      const first = tableJobs[0]!.fast!;
      const table = await this.table(first.schema, first.name);
      if (first.timeZone) await this.useTimeZone(first.timeZone);
      const inserts = tableJobs.map((job) => job.fast!);
      const records = await (first.upsert ? stageFastUpserts : stageFastInserts)(context, table, inserts);
      this.log.debug({ table: table.name, statements: inserts.length, records, upserts: first.upsert !== undefined }, 'statements batched');
      await this.transaction(unit).apply({ table, records, affected: records, tag: '' });
    }
    return jobs.map((job) => {
      const rows = job.fast!.rows.length;
      return { job, value: { records: rows, affected: rows, tag: `INSERT 0 ${rows}` } };
    });
  }

  /** Writes the unit's final frame (durable when written), records applied_lsn and commits DuckDB. */
  private async commitUnit(unit: Unit): Promise<void> {
    if (unit.staged) return this.commitForLater(unit, unit.staged);
    if (unit.lastLsn === undefined) {
      await this.conn.run('COMMIT');
      return;
    }
    await unit.flush(true);
    const last = unit.lastLsn;
    assert(last >= this.watermarks.walLsn, 'LSNs go backwards');
    this.watermarks.walLsn = last;
    try {
      await this.recordApplied(last, true);
    } catch (error) {
      // The WAL holds the unit and DuckDB does not: no later unit may commit past it (the replay
      // starts after the applied LSN and would skip it), so the writer stops; a restart applies it.
      this.fail(error);
      throw new SqlError('58030', `could not commit: ${(error as Error).message}`, {
        detail: 'The changes are in the write-ahead log: the restart that replays it applies them.',
        hint: 'Restart Arka to replay the write-ahead log.',
      });
    }
    this.watermarks.duckdbLsn = last;
    this.releaseAppliedWaiters();
  }

  /**
   * A COPY's unit: DuckDB's transaction (which only read) ends, the final
   * frame makes the COPY durable, and its stage waits for the apply like a
   * direct insert's rows.
   */
  private async commitForLater(unit: Unit, staged: StagedApply): Promise<void> {
    try {
      await this.conn.run('COMMIT');
    } catch (error) {
      await staged.release?.();
      throw error;
    }
    try {
      await unit.flush(true);
    } catch (error) {
      await staged.release?.();
      // The WAL may hold a partial frame now: nothing more can be written safely.
      this.fail(error);
      throw this.failure;
    }
    const last = unit.lastLsn!;
    assert(last > this.watermarks.walLsn, 'LSNs go backwards');
    this.watermarks.walLsn = last;
    this.copiesPending.set(`${staged.table.schema}.${staged.table.name}`, last);
    this.pendingApply.push({ lastLsn: last, rows: 0, batches: [], staged });
    this.scheduleApply(true);
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
          scratch: writer.walReader,
        };
      },
      apply: async (evaluated) => {
        if (unit.applyLater && unit.staged === undefined && canApplyLater(evaluated)) {
          await writer.writeForLater(unit, evaluated);
          return;
        }
        try {
          await writer.applyEvaluated(unit, evaluated);
        } finally {
          await evaluated.release?.();
        }
      },
      invalidateTables: () => writer.invalidateTables(),
      useTimeZone: (zone) => writer.useTimeZone(zone),
    };
  }

  /** DDL ran: table definitions are read again, and the hot tier's twins follow once it is over (resyncHot). */
  private invalidateTables(): void {
    this.tables.clear();
    this.hot.suspend();
  }

  /** After DDL: the twins follow the tables' new definitions. */
  private resyncHot(): Promise<void> {
    return this.onHot(() => this.hot.resync()).catch((error) => this.log.error({ err: error }, 'the hot tier could not follow a DDL change; reads wait for the apply'));
  }

  private async applyEvaluated(unit: Unit, evaluated: Evaluated): Promise<void> {
    if (evaluated.records === 0) return;
    const { table, records } = evaluated;
    const stage = evaluated.insertView ?? STAGE;
    if (!evaluated.walSource) {
      await applyStage(this.conn, table, stage, evaluated.insertView !== undefined);
      await this.writeToWal(unit, table, stagedBatches(this.conn, table, stage, evaluated.inserts), records);
      return;
    }
    // The WAL is written from a second read of the rows, on another connection, while the writer's applies the stage.
    const [wal, applied] = await Promise.allSettled([
      this.writeToWal(unit, table, walBatches(this.walReader, table, evaluated.walSource, evaluated.inserts), records),
      applyStage(this.conn, table, stage, true),
    ]);
    if (applied.status === 'rejected') throw applied.reason;
    if (wal.status === 'rejected') throw wal.reason;
  }

  /**
   * A COPY acknowledged before it is applied: its change records go to the
   * unit's WAL frames, read from its stage, and the stage is kept for the
   * apply (commitUnit hands it over).
   */
  private async writeForLater(unit: Unit, evaluated: Evaluated): Promise<void> {
    const { table, records, insertView, walSource, inserts, release } = evaluated;
    try {
      await this.writeToWal(unit, table, walBatches(this.walReader, table, walSource!, inserts), records);
    } catch (error) {
      await release?.();
      throw error;
    }
    unit.staged = { table, records: insertView!, rows: records, release };
  }

  /** Writes a statement's change batches to the unit (a large statement reports its progress); they must be its `records`. */
  private async writeToWal(unit: Unit, table: WriteTable, batches: AsyncIterable<EncodedBatch>, records: number): Promise<void> {
    let written = 0;
    let reported = Date.now();
    for await (const batch of batches) {
      await unit.addEncoded(batch);
      written += batch.rows;
      if (Date.now() - reported > 2000) {
        reported = Date.now();
        this.log.info({ table: table.name, records: written, of: records }, 'writing change records to the WAL');
      }
    }
    assert.equal(written, records, 'the change records written to the WAL are not the statement\'s');
  }

  /** The writer's connection, and the WAL reader that reads a statement's rows again, take the statement's session zone. */
  private async useTimeZone(zone: string): Promise<void> {
    if (zone === this.timeZone) return;
    const set = `SET TimeZone = '${zone.replaceAll("'", "''")}'`;
    await this.conn.run(set);
    await this.walReader.run(set);
    this.timeZone = zone;
  }

  /** The next `count` LSNs, in one order for every change. */
  private reserveLsns(count: number): bigint {
    assert(count > 0, 'reserving no LSNs');
    const first = this.watermarks.nextLsn;
    this.watermarks.nextLsn += BigInt(count);
    return first;
  }

  /** A table's definition, read on `conn` the first time (and again after DDL). */
  private async table(schema: string, name: string, conn = this.conn): Promise<WriteTable> {
    const key = `${schema}.${name}`;
    let table = this.tables.get(key);
    if (!table) {
      table = await loadWriteTable(conn, schema, name);
      this.tables.set(key, table);
    }
    return table;
  }

  private newLease(): WriteLease {
    let unit: Unit | undefined;
    let released = false;
    let changedTables = false;
    const writer = this;
    const base = (): WriteTransaction => this.transaction(unit ?? new Unit(0, this.wal, this.options.frameBytes));
    return {
      conn: this.conn,
      context: (rewrite, parameterText) => base().context(rewrite, parameterText),
      apply: (evaluated) => {
        if (!unit) throw new SqlError(SqlState.InternalError, 'write outside a leased transaction');
        return writer.transaction(unit).apply(evaluated);
      },
      invalidateTables: () => {
        changedTables = true;
        writer.invalidateTables();
      },
      useTimeZone: (zone) => writer.useTimeZone(zone),
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
      async settle() {
        if (!changedTables) return;
        changedTables = false;
        await writer.resyncHot();
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
    else await this.drainApply().catch(() => {}); // a failed apply is replayed at the next start
    clearInterval(this.checkpointTimer);
    await this.checkpoint();
    await this.wal.close();
    this.walReader.closeSync();
    this.conn.closeSync();
  }
}

/** One commit unit's WAL output: batches buffered, written as frames, the last one final. */
class Unit {
  private batches: Uint8Array[] = [];
  /** A COPY written for an apply after its acknowledgement (Writer.writeForLater). */
  staged: StagedApply | undefined;
  private bytes = 0;
  lastLsn: bigint | undefined;
  private frameFirst: bigint | undefined;
  /** The frame being written: a large unit builds its next frame meanwhile (two frames in memory at most). */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly id: number,
    private readonly wal: WriteAheadLog,
    private readonly frameBytes: number,
    /** The unit's only statement may be applied after its acknowledgement. */
    readonly applyLater = false,
  ) {}

  add(batch: ChangeBatch): Promise<void> {
    return this.addEncoded({ bytes: encodeChangeBatch(batch), firstLsn: batch.lsns[0]!, lastLsn: batch.lsns[batch.lsns.length - 1]!, rows: batch.lsns.length });
  }

  async addEncoded(batch: EncodedBatch): Promise<void> {
    this.batches.push(batch.bytes);
    this.bytes += batch.bytes.length;
    assert(batch.firstLsn <= batch.lastLsn && (this.lastLsn === undefined || batch.firstLsn > this.lastLsn), 'WAL batches out of LSN order');
    this.frameFirst ??= batch.firstLsn;
    this.lastLsn = batch.lastLsn;
    if (this.bytes >= this.frameBytes) await this.flush(false);
  }

  /**
   * Writes the buffered batches as a frame (final: the unit commits with it,
   * and every frame is written when this returns; `inline`: see
   * WriteAheadLog.append).
   */
  async flush(final: boolean, inline = false): Promise<void> {
    if (this.batches.length === 0 && !final) return;
    const frame: Frame = {
      header: { unit: this.id, final, firstLsn: String(this.frameFirst ?? this.lastLsn ?? 0n), lastLsn: String(this.lastLsn ?? 0n) },
      batches: this.batches,
    };
    const firstLsn = this.frameFirst ?? this.lastLsn ?? 0n;
    this.batches = [];
    this.bytes = 0;
    this.frameFirst = undefined;
    const previous = this.writing;
    const write = previous.then(() => this.wal.append(frame, firstLsn, inline));
    // An abandoned unit's write may fail with nobody waiting for it.
    write.catch(() => undefined);
    this.writing = write;
    await (final ? write : previous);
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
    await applyChangeBatch(this.conn, table, batch);
  }
}

import { execFile } from 'node:child_process';
import { closeSync, constants, open, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Engine } from '../engine/duckdb.js';
import type { Logger } from '../log.js';
import { copyLoadSql, copyStageDefinition, copyStageTableSql, nextCopyStage, type CopySource, type PrestagedCopy } from '../write/dml.js';
import type { WriteTable } from '../write/tables.js';

/** The bytes kept back from DuckDB until the data ends: psql's `\.` end marker may be in them (cutEndMarker). */
const HELD_BYTES = 5;

/**
 * COPYs staged as they arrive at once, at most: DuckDB's read of the FIFO
 * holds one of libuv's four threads until the data ends (the others carry
 * the file writes, the WAL and every other DuckDB call).
 */
const MAX_STREAMING_STAGES = 1;
let streamingStages = 0;

/**
 * Stages a COPY's rows while the client is still sending them: DuckDB's
 * parallel CSV reader reads the data through a FIFO, on a connection of the
 * COPY's own, into an in-memory database of its own, so parsing and casting
 * overlap the transfer instead of following it (the data still goes to the
 * file too). Anything unusual — a bad row, a line too long for the parallel
 * reader, the client giving up — only makes the stage unusable: the COPY then
 * stages from the file as before, which reports errors with line numbers.
 *
 * The FIFO's write end is opened once DuckDB has opened its read end (an
 * open for writing waits for a reader; if the load fails before reading,
 * an open for reading here ends that wait), so closing it is DuckDB's end of
 * file and never drops data DuckDB has not read. Writes are non-blocking:
 * when DuckDB stops reading, writes stop here (the load's failure ends them).
 */
export class StreamingStage implements PrestagedCopy {
  private held: Buffer = Buffer.alloc(0);
  /** The stage cannot be used (the load failed, or the stage was released); writes stop. */
  private failed = false;
  private ended = false;
  private released = false;
  private readonly loaded: Promise<void>;
  /** The FIFO's write end, once DuckDB has opened the read end (`opened`). */
  private pipe: Socket | undefined;
  private readonly opened: Promise<void>;

  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly database: string,
    private readonly fifo: string,
    load: Promise<unknown>,
    readonly definition: string,
    private readonly log: Logger,
  ) {
    this.loaded = load.then(
      () => undefined,
      (error: unknown) => {
        this.failed = true;
        this.pipe?.destroy();
        this.log.debug({ err: error }, 'COPY rows could not be staged as they arrived; they are staged from the file');
      },
    );
    // A plain descriptor, owned by the socket (a FileHandle would close it again when collected).
    this.opened = promisify(open)(fifo, constants.O_WRONLY).then((fd) => {
      const pipe = new Socket({ fd, readable: false, writable: true });
      pipe.on('error', () => {
        this.failed = true;
      });
      this.pipe = pipe;
      if (this.failed) pipe.destroy();
    });
    // A load that failed before opening the FIFO leaves the open above waiting for a reader: be one.
    void this.loaded.then(() => {
      if (this.pipe || !this.failed) return;
      closeSync(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK));
    });
  }

  /** The data ended and every row of it is in the stage. */
  get staged(): boolean {
    return this.ended && !this.failed;
  }

  get rows(): string {
    return `${this.database}.main.copy_rows`;
  }

  static async start(
    engine: Engine,
    tempDir: string,
    name: string,
    table: WriteTable,
    targets: string[],
    source: Omit<CopySource, 'path'>,
    timeZone: string,
    log: Logger,
  ): Promise<StreamingStage> {
    if (streamingStages >= MAX_STREAMING_STAGES) throw new Error('another COPY is being staged as it arrives');
    // Counted before the first wait, so two COPYs starting together cannot both pass the check.
    streamingStages++;
    const fifo = join(tempDir, `${name}.fifo`);
    let conn: DuckDBConnection | undefined;
    try {
      await promisify(execFile)('mkfifo', ['-m', '600', fifo]);
      conn = await engine.connect();
      const database = nextCopyStage();
      const rows = `${database}.main.copy_rows`;
      // Text converts to timestamptz in the session's zone, as on the writer's connection (Writer.useTimeZone).
      await conn.run(`SET TimeZone = '${timeZone.replaceAll("'", "''")}'`);
      await conn.run(`ATTACH ':memory:' AS ${database}`);
      await conn.run(copyStageTableSql(table, rows, false));
      const load = conn.run(copyLoadSql(table, targets, { ...source, path: fifo }, rows, 'parallel'));
      return new StreamingStage(conn, database, fifo, load, copyStageDefinition(table, targets), log);
    } catch (error) {
      streamingStages--;
      conn?.closeSync();
      await rm(fifo, { force: true });
      throw error;
    }
  }

  /** Passes data on to DuckDB (all but the last few bytes, until end()), waiting while the FIFO is full. */
  async write(pieces: Buffer[]): Promise<void> {
    await this.opened;
    if (this.failed) return;
    const pipe = this.pipe!;
    const data = Buffer.concat([this.held, ...pieces]);
    const ready = Math.max(0, data.length - HELD_BYTES);
    this.held = Buffer.from(data.subarray(ready));
    if (ready > 0 && !pipe.write(data.subarray(0, ready))) {
      await Promise.race([new Promise((resolve) => pipe.once('drain', resolve)), this.loaded]);
    }
  }

  /** The data is complete: the rest goes to DuckDB (without psql's end marker, `cut`), and the load finishes (then see `staged`). */
  async end(cut: (tail: Buffer) => Buffer): Promise<void> {
    await this.opened;
    if (!this.failed) {
      const pipe = this.pipe!;
      await Promise.race([new Promise((resolve) => pipe.write(cut(this.held), resolve)), this.loaded]);
      // Closing the write end is DuckDB's end of file.
      pipe.destroy();
    }
    await this.loaded;
    await rm(this.fifo, { force: true });
    this.ended = true;
  }

  /** The COPY is over, failed, or does not want the stage: DuckDB's read ends, and the stage goes (once). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.failed = true;
    await this.opened;
    this.pipe?.destroy();
    await this.loaded;
    streamingStages--;
    await rm(this.fifo, { force: true });
    await this.conn.run(`DETACH ${this.database}`).catch((error: unknown) => this.log.warn({ err: error }, 'could not drop a COPY stage'));
    this.conn.closeSync();
  }
}

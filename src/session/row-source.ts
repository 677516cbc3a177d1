import type { DuckDBMaterializedResult, DuckDBResult, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { SqlError, SqlState } from '../errors.js';

/**
 * A result column: its output name and DuckDB type, and the PostgreSQL type
 * when it is not the one the DuckDB type maps to (see OutputTarget).
 */
export type Column = { name: string; type: DuckDBType; pg?: { oid: number; typmod: number } };

/** One batch of rows, column-major (DuckDB's vectors). */
export type Chunk = { columns: DuckDBValue[][]; rowCount: number };

/** Where a result's rows come from, a chunk at a time. */
export interface RowSource {
  nextChunk(): Promise<Chunk | null>;
  /**
   * Reads the rest into memory, so the DuckDB connection is free for another
   * statement while a suspended portal still has rows to give.
   */
  detach(maxRows: number): Promise<void>;
}

/**
 * Rows streamed from DuckDB: only one chunk is held at a time. `finished` is
 * called once DuckDB has given its last row (or the rest is in memory).
 */
export class DuckDBRowSource implements RowSource {
  private buffered: Chunk[] | undefined;

  constructor(
    private readonly result: DuckDBResult,
    private finished?: () => void,
  ) {}

  async nextChunk(): Promise<Chunk | null> {
    if (this.buffered) return this.buffered.shift() ?? null;
    const chunk = await this.result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) {
      this.finish();
      return null;
    }
    return { columns: chunk.getColumns(), rowCount: chunk.rowCount };
  }

  async detach(maxRows: number): Promise<void> {
    if (this.buffered) return;
    try {
      this.buffered = await this.readAll(maxRows);
    } finally {
      this.finish();
    }
  }

  private finish(): void {
    const finished = this.finished;
    this.finished = undefined;
    finished?.();
  }

  private async readAll(maxRows: number): Promise<Chunk[]> {
    const chunks: Chunk[] = [];
    let rows = 0;
    for (let chunk = await this.nextChunk(); chunk; chunk = await this.nextChunk()) {
      rows += chunk.rowCount;
      if (rows > maxRows) {
        throw new SqlError(
          SqlState.ProgramLimitExceeded,
          `an open portal holds more than ${maxRows} unread rows and another statement needs the connection`,
          { hint: 'Read the portal to its end (or close it) before running another statement.' },
        );
      }
      chunks.push(chunk);
    }
    return chunks;
  }
}

/** Rows DuckDB computed whole (a small result: returnsFewRows), read chunk by chunk without another call. */
export class MaterializedRowSource implements RowSource {
  private next = 0;

  constructor(private readonly result: DuckDBMaterializedResult) {}

  async nextChunk(): Promise<Chunk | null> {
    while (this.next < this.result.chunkCount) {
      const chunk = this.result.getChunk(this.next++);
      if (chunk.rowCount > 0) return { columns: chunk.getColumns(), rowCount: chunk.rowCount };
    }
    return null;
  }

  async detach(): Promise<void> {}
}

/** Rows Arka computed itself (SHOW, EXPLAIN). */
export class ArrayRowSource implements RowSource {
  private done = false;

  constructor(private readonly rows: DuckDBValue[][]) {}

  async nextChunk(): Promise<Chunk | null> {
    if (this.done || this.rows.length === 0) return null;
    this.done = true;
    const columnCount = this.rows[0]!.length;
    const columns: DuckDBValue[][] = [];
    for (let c = 0; c < columnCount; c++) columns.push(this.rows.map((row) => row[c]!));
    return { columns, rowCount: this.rows.length };
  }

  async detach(): Promise<void> {}
}

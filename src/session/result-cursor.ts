import type { DuckDBValue } from '@duckdb/node-api';
import type { BackendWriter } from '../../protocol/backend.js';
import { FormatCode, type FieldDescription } from '../../protocol/messages.js';
import { SqlError, SqlState, notSupported } from '../errors.js';
import { binaryEncoder } from '../types/binary-out.js';
import { pgTypeOf } from '../types/mapping.js';
import { textEncoder, type OutputSettings } from '../types/text-out.js';
import type { Chunk, Column, RowSource } from './row-source.js';

type Encoder = { binary: false; encode: (value: DuckDBValue) => string } | { binary: true; encode: (value: DuckDBValue) => Uint8Array };

/** Expands Bind's result format codes (none, one for all, or one each) to one per column. */
export function formatsFor(columnCount: number, requested: readonly FormatCode[]): FormatCode[] {
  if (requested.length === 0) return new Array<FormatCode>(columnCount).fill(FormatCode.Text);
  if (requested.length === 1) return new Array<FormatCode>(columnCount).fill(requested[0]!);
  if (requested.length !== columnCount) {
    throw new SqlError(
      SqlState.ProtocolViolation,
      `bind message has ${requested.length} result formats but query has ${columnCount} columns`,
    );
  }
  return [...requested];
}

export function fieldDescriptions(columns: readonly Column[], formats: readonly FormatCode[]): FieldDescription[] {
  return columns.map((column, i) => {
    const pg = { ...pgTypeOf(column.type), ...column.pg };
    return {
      name: column.name,
      tableOid: 0,
      columnAttr: 0,
      typeOid: pg.oid,
      typeSize: pg.typlen,
      typeModifier: pg.typmod,
      format: formats[i] ?? FormatCode.Text,
    };
  });
}

function encoderFor(column: Column, format: FormatCode, settings: OutputSettings): Encoder {
  if (format === FormatCode.Text) return { binary: false, encode: textEncoder(column.type, settings) };
  const encode = binaryEncoder(column.type);
  if (!encode) throw notSupported(`binary format is not supported for type ${column.type.toString()}`);
  return { binary: true, encode };
}

/** Hooks the cursor calls while writing rows: bounded output and cancellation. */
export type WriteHooks = {
  /** Sends what is buffered when it is large, waiting for the socket to drain. */
  flushIfLarge(): Promise<void>;
  /** Throws the cancel error when the statement was canceled. */
  checkCanceled(): void;
};

/** The rows still to be sent of one result: a portal's state between Executes. */
export class ResultCursor {
  private chunk: Chunk | null = null;
  private offset = 0;
  private exhausted = false;
  private readonly encoders: Encoder[];
  rowsSent = 0;

  constructor(
    readonly columns: readonly Column[],
    readonly formats: readonly FormatCode[],
    private readonly source: RowSource,
    settings: OutputSettings,
  ) {
    this.encoders = columns.map((column, i) => encoderFor(column, formats[i]!, settings));
  }

  get done(): boolean {
    return this.exhausted;
  }

  detach(maxRows: number): Promise<void> {
    return this.exhausted ? Promise.resolve() : this.source.detach(maxRows);
  }

  /** Writes DataRows, at most `maxRows` (0: all). Returns true when no rows remain. */
  async write(out: BackendWriter, maxRows: number, hooks: WriteHooks): Promise<boolean> {
    let budget = maxRows > 0 ? maxRows : Infinity;
    const encoders = this.encoders;
    const columnCount = encoders.length;
    while (budget > 0) {
      if (!this.chunk || this.offset >= this.chunk.rowCount) {
        hooks.checkCanceled();
        await hooks.flushIfLarge();
        this.chunk = await this.source.nextChunk();
        this.offset = 0;
        if (!this.chunk) {
          this.exhausted = true;
          return true;
        }
      }
      const { columns, rowCount } = this.chunk;
      const end = Math.min(rowCount, this.offset + budget);
      for (let row = this.offset; row < end; row++) {
        out.beginDataRow(columnCount);
        for (let c = 0; c < columnCount; c++) {
          const value = columns[c]![row];
          if (value === null || value === undefined) out.nullValue();
          else {
            const encoder = encoders[c]!;
            if (encoder.binary) out.bytes(encoder.encode(value));
            else out.text(encoder.encode(value));
          }
        }
        out.endDataRow();
      }
      budget -= end - this.offset;
      this.rowsSent += end - this.offset;
      this.offset = end;
    }
    // The row limit was reached: done only if nothing is left.
    if (this.chunk && this.offset < this.chunk.rowCount) return false;
    this.chunk = await this.source.nextChunk();
    this.offset = 0;
    if (!this.chunk) this.exhausted = true;
    return this.exhausted;
  }
}

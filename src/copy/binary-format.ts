import { SqlError } from '../errors.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const BAD_FORMAT = '22P04';

/**
 * PostgreSQL's binary COPY format, parsed as it streams in: a signature,
 * flags and header extension, then tuples (int16 field count, each field an
 * int32 length, -1 for NULL, and its bytes), then -1.
 */
export class BinaryCopyReader {
  private buffer: Buffer = Buffer.alloc(0);
  private headerRead = false;
  private ended = false;
  tuples = 0;

  constructor(
    private readonly columnCount: number,
    /** Largest single field accepted (a bound on memory). */
    private readonly maxFieldBytes: number,
  ) {}

  /** Feeds bytes; returns the tuples completed by them. */
  push(chunk: Buffer): (Buffer | null)[][] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const rows: (Buffer | null)[][] = [];
    let at = 0;
    if (!this.headerRead) {
      if (this.buffer.length < 19) return rows;
      if (!this.buffer.subarray(0, 11).equals(SIGNATURE)) throw new SqlError(BAD_FORMAT, 'COPY file signature not recognized');
      const extension = this.buffer.readInt32BE(15);
      if (extension < 0) throw new SqlError(BAD_FORMAT, 'invalid COPY file header (missing length)');
      if (this.buffer.length < 19 + extension) return rows;
      at = 19 + extension;
      this.headerRead = true;
    }
    for (;;) {
      if (this.ended || this.buffer.length - at < 2) break;
      const fields = this.buffer.readInt16BE(at);
      if (fields === -1) {
        this.ended = true;
        at += 2;
        break;
      }
      if (fields !== this.columnCount) {
        throw new SqlError(BAD_FORMAT, `row field count is ${fields}, expected ${this.columnCount}`, { where: `COPY, line ${this.tuples + 1}` });
      }
      let cursor = at + 2;
      const row: (Buffer | null)[] = [];
      let complete = true;
      for (let f = 0; f < fields; f++) {
        if (this.buffer.length - cursor < 4) {
          complete = false;
          break;
        }
        const length = this.buffer.readInt32BE(cursor);
        cursor += 4;
        if (length === -1) {
          row.push(null);
          continue;
        }
        if (length < 0 || length > this.maxFieldBytes) throw new SqlError(BAD_FORMAT, `invalid field size ${length}`);
        if (this.buffer.length - cursor < length) {
          complete = false;
          break;
        }
        row.push(this.buffer.subarray(cursor, cursor + length));
        cursor += length;
      }
      if (!complete) break;
      rows.push(row);
      this.tuples++;
      at = cursor;
    }
    this.buffer = this.buffer.subarray(at);
    return rows;
  }

  /** The stream ended: it must have ended exactly at the trailer (or at a tuple boundary). */
  finish(): void {
    if (!this.headerRead) throw new SqlError(BAD_FORMAT, 'COPY file signature not recognized');
    if (this.buffer.length > 0) throw new SqlError(BAD_FORMAT, 'unexpected EOF in COPY data');
  }
}

export const BINARY_COPY_HEADER = Buffer.concat([SIGNATURE, Buffer.alloc(8)]);
export const BINARY_COPY_TRAILER = Buffer.from([0xff, 0xff]);

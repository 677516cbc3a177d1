import type { DuckDBValue } from '@duckdb/node-api';
import type { BackendWriter } from '../../protocol/backend.js';
import { FormatCode } from '../../protocol/messages.js';
import { notSupported } from '../errors.js';
import type { Column, RowSource } from '../session/row-source.js';
import { binaryEncoder } from '../types/binary-out.js';
import { textEncoder, type OutputSettings } from '../types/text-out.js';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from './binary-format.js';
import type { CopyOptions } from './options.js';
import { csvField, textField } from './text-format.js';

export interface CopyOutIo {
  readonly out: BackendWriter;
  /** Sends buffered output when large, waiting while the client is not reading; throws when canceled. */
  flushIfLarge(): Promise<void>;
  checkCanceled(): void;
}

type RowEncoder = (columns: DuckDBValue[][], row: number) => Uint8Array | string;

function rowEncoder(columns: readonly Column[], options: CopyOptions, settings: OutputSettings): RowEncoder {
  if (options.format === 'binary') {
    const encoders = columns.map((column) => {
      const encode = binaryEncoder(column.type);
      if (!encode) throw notSupported(`binary COPY is not supported for type ${column.type.toString()}`);
      return encode;
    });
    return (values, row) => {
      const fields = encoders.map((encode, c) => {
        const value = values[c]![row];
        return value === null || value === undefined ? null : encode(value);
      });
      const size = 2 + fields.reduce((sum, field) => sum + 4 + (field?.length ?? 0), 0);
      const out = Buffer.allocUnsafe(size);
      let at = out.writeInt16BE(fields.length, 0);
      for (const field of fields) {
        at = out.writeInt32BE(field ? field.length : -1, at);
        if (field) {
          out.set(field, at);
          at += field.length;
        }
      }
      return out;
    };
  }
  const encoders = columns.map((column) => textEncoder(column.type, settings));
  const quoteValue =
    options.format === 'csv'
      ? (text: string) => csvField(text, options.delimiter, options.quote, options.escape, options.null)
      : textField;
  return (values, row) =>
    encoders
      .map((encode, c) => {
        const value = values[c]![row];
        return value === null || value === undefined ? options.null : quoteValue(encode(value));
      })
      .join(options.delimiter) + '\n';
}

/** COPY … TO STDOUT: CopyOutResponse, one CopyData per row, CopyDone. Returns the row count. */
export async function sendCopyOut(io: CopyOutIo, columns: readonly Column[], source: RowSource, options: CopyOptions, settings: OutputSettings): Promise<number> {
  const format = options.format === 'binary' ? FormatCode.Binary : FormatCode.Text;
  io.out.copyOutResponse(format, new Array<FormatCode>(columns.length).fill(format));
  const encode = rowEncoder(columns, options, settings);
  // PostgreSQL sends the binary header in the same CopyData as the first row
  // (some clients' readers expect that), and alone only before the trailer.
  let pendingHeader: Buffer | undefined = options.format === 'binary' ? BINARY_COPY_HEADER : undefined;
  if (options.header && options.format !== 'binary') {
    const quote = options.format === 'csv' ? (name: string) => csvField(name, options.delimiter, options.quote, options.escape, options.null) : textField;
    io.out.copyData(Buffer.from(columns.map((column) => quote(column.name)).join(options.delimiter) + '\n'));
  }
  let rows = 0;
  for (let chunk = await source.nextChunk(); chunk; chunk = await source.nextChunk()) {
    for (let row = 0; row < chunk.rowCount; row++) {
      const encoded = encode(chunk.columns, row);
      const bytes = typeof encoded === 'string' ? Buffer.from(encoded) : encoded;
      io.out.copyData(pendingHeader ? Buffer.concat([pendingHeader, bytes]) : bytes);
      pendingHeader = undefined;
    }
    rows += chunk.rowCount;
    io.checkCanceled();
    await io.flushIfLarge();
  }
  if (options.format === 'binary') io.out.copyData(pendingHeader ? Buffer.concat([pendingHeader, BINARY_COPY_TRAILER]) : BINARY_COPY_TRAILER);
  io.out.copyDone();
  return rows;
}

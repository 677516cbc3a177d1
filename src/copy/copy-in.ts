import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { BackendWriter } from '../../protocol/backend.js';
import { FormatCode, type FrontendMessage, type StartupPhaseMessage } from '../../protocol/messages.js';
import { fromDuckDBError } from '../engine/errors.js';
import { SqlError, SqlState } from '../errors.js';
import type { Logger } from '../log.js';
import { names } from '../sql/ast.js';
import type { AstNode } from '../sql/parse.js';
import { decodeParameter } from '../types/params.js';
import { pgTypeByName } from '../types/pg-types.js';
import { textEncoder } from '../types/text-out.js';
import { readCsvSql, type CopySource } from '../write/dml.js';
import { BinaryCopyReader } from './binary-format.js';
import type { CopyOptions } from './options.js';
import { TextToCsv, csvField } from './text-format.js';

/** What COPY FROM STDIN needs from the session. */
export interface CopyInIo {
  readonly out: BackendWriter;
  flush(): Promise<void>;
  /** The next frontend message; undefined when the client is gone. */
  next(): Promise<StartupPhaseMessage | FrontendMessage | undefined>;
  readonly conn: DuckDBConnection;
  readonly log: Logger;
}

/** Staged data is written to the file in pieces of about this size (clients send a CopyData per line). */
const WRITE_BYTES = 1024 * 1024;

/** The largest single binary field accepted. */
const MAX_BINARY_FIELD = 256 * 1024 * 1024;

export type Target = { table: string; columns: { name: string; oid: number }[] };

async function target(conn: DuckDBConnection, relation: AstNode, attlist: AstNode[] | undefined): Promise<Target> {
  if (relation.schemaname && relation.schemaname !== 'public') {
    throw new SqlError(SqlState.InvalidSchemaName, `schema "${relation.schemaname}" does not exist`);
  }
  const table = relation.relname as string;
  const reader = await conn.runAndReadAll(
    `SELECT column_name, pg_type, is_array FROM arka_meta.columns WHERE schema_name = 'public' AND table_name = $1 ORDER BY ordinal`,
    [table],
  );
  const all = reader.getRowsJS().map(([name, pgType, isArray]) => {
    const type = pgTypeByName(String(pgType))!;
    return { name: String(name), oid: isArray ? type.arrayOid : type.oid };
  });
  if (all.length === 0) throw new SqlError(SqlState.UndefinedTable, `relation "${table}" does not exist`);
  const wanted = attlist ? names(attlist) : all.map((c) => c.name);
  const columns = wanted.map((name) => {
    const column = all.find((c) => c.name === name);
    if (!column) throw new SqlError(SqlState.UndefinedColumn, `column "${name}" of relation "${table}" does not exist`);
    return column;
  });
  return { table, columns };
}

/** Where the CSV goes besides the file, as it arrives (streaming-stage.ts). */
export type CopySink = {
  write(pieces: Buffer[]): Promise<void>;
  /** The data is complete; `cut` takes psql's end marker off the last bytes. */
  end(cut: (tail: Buffer) => Buffer): Promise<void>;
  /** The COPY failed: the sink is not wanted. */
  release(): Promise<void>;
};

/**
 * Receives COPY FROM STDIN data into a CSV file (never all in memory): CSV
 * as sent, text format converted as it streams, binary decoded and written
 * as CSV. Returns the file, ready for DuckDB's reader. `openSink` may give a
 * second destination for the same CSV, opened before the data comes.
 */
export async function receiveCopyData<Sink extends CopySink>(
  io: CopyInIo,
  ast: AstNode,
  options: CopyOptions,
  tempDir: string,
  name: string,
  openSink?: (target: Target, source: Omit<CopySource, 'path'>) => Promise<Sink | undefined>,
): Promise<{ source: CopySource; target: Target; sink: Sink | undefined }> {
  const copyTarget = await target(io.conn, ast.relation, ast.attlist);
  const path = join(tempDir, `${name}.csv`);
  const format = csvFormat(ast, options, copyTarget);
  const sink = await openSink?.(copyTarget, format);
  const file = await open(path, 'w+').catch(async (error: unknown) => {
    await sink?.release();
    throw error;
  });
  const columnCount = copyTarget.columns.length;
  const wireFormat = options.format === 'binary' ? FormatCode.Binary : FormatCode.Text;
  io.out.copyInResponse(wireFormat, new Array<FormatCode>(columnCount).fill(wireFormat));
  await io.flush();
  const decoder = new StringDecoder('utf8');
  const text = options.format === 'text' ? new TextToCsv(options.delimiter, options.null, options.header) : undefined;
  const binary = options.format === 'binary' ? new BinaryCopyReader(columnCount, MAX_BINARY_FIELD) : undefined;
  const binaryToText = copyTarget.columns.map((column) => ({ oid: column.oid }));
  let received = 0;
  let lastLog = Date.now();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flushPending = async () => {
    if (pendingBytes === 0) return;
    const pieces = pending;
    pending = [];
    pendingBytes = 0;
    await Promise.all([file.writev(pieces), sink?.write(pieces)]);
  };
  const write = async (data: string | Buffer) => {
    if (data.length === 0) return;
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    pending.push(bytes);
    pendingBytes += bytes.length;
    if (pendingBytes >= WRITE_BYTES) await flushPending();
  };
  try {
    for (;;) {
      const message = await io.next();
      if (!message) throw new SqlError(SqlState.ConnectionException, 'client disconnected during COPY');
      if (message.kind === 'CopyData') {
        received += message.data.length;
        if (text) await write(text.push(decoder.write(message.data)));
        else if (binary) await write(binaryRowsToCsv(binary.push(message.data), binaryToText));
        else await write(message.data);
        if (Date.now() - lastLog > 5000) {
          lastLog = Date.now();
          io.log.info({ table: copyTarget.table, bytes: received }, 'COPY FROM STDIN in progress');
        }
      } else if (message.kind === 'CopyDone') {
        break;
      } else if (message.kind === 'CopyFail') {
        throw new SqlError(SqlState.QueryCanceled, `COPY from stdin failed: ${message.message}`);
      } else if (message.kind === 'Flush' || message.kind === 'Sync') {
        continue; // PostgreSQL ignores these during COPY IN
      } else {
        throw new SqlError(SqlState.ProtocolViolation, `unexpected message type ${message.kind} during COPY from stdin`);
      }
    }
    if (text) await write(text.push(decoder.end()) + text.end());
    binary?.finish();
    await flushPending();
    const csv = options.format === 'csv';
    if (csv) await cutEndMarker(file);
    await sink?.end((tail) => (csv ? tail.subarray(0, tail.length - endMarkerBytes(tail)) : tail));
  } catch (error) {
    await sink?.release();
    await file.close();
    await rm(path, { force: true });
    throw error;
  }
  await file.close();
  return { target: copyTarget, source: { ...format, path }, sink };
}

/** How DuckDB's reader reads the CSV the data becomes. */
function csvFormat(ast: AstNode, options: CopyOptions, copyTarget: Target): Omit<CopySource, 'path'> {
  const csv = options.format === 'csv';
  return {
    columns: ast.attlist ? copyTarget.columns.map((c) => c.name) : undefined,
    header: csv && options.header,
    delimiter: csv ? options.delimiter : ',',
    quote: csv ? options.quote : '"',
    escape: csv ? options.escape : '"',
    nullString: csv ? options.null : '',
  };
}

/** psql ends inline CSV data with a `\.` line, which PostgreSQL takes as the end of the data. */
async function cutEndMarker(file: FileHandle): Promise<void> {
  const { size } = await file.stat();
  const tail = Buffer.alloc(Math.min(size, 5));
  await file.read(tail, 0, tail.length, size - tail.length);
  const cut = endMarkerBytes(tail);
  if (cut > 0) await file.truncate(size - cut);
}

/** The bytes of an end marker line at the end of `tail` (the data's last 5 bytes at most), to cut. */
function endMarkerBytes(tail: Buffer): number {
  const match = /(^|\n)\\\.\r?\n?$/.exec(tail.toString('latin1'));
  return match ? match[0].length - match[1]!.length : 0;
}

/** Binary values decoded by their column's type, written as PostgreSQL text output, which DuckDB casts back. */
function binaryRowsToCsv(rows: (Buffer | null)[][], columns: { oid: number }[]): string {
  let out = '';
  for (const row of rows) {
    out += row
      .map((field, i) => {
        if (field === null) return '';
        const decoded = decodeParameter(columns[i]!.oid, FormatCode.Binary, field, { timeZone: 'UTC' });
        const value = decoded.value === null ? '' : textEncoder(decoded.type, { timeZone: 'UTC', extraFloatDigits: 3 })(decoded.value);
        return csvField(value, ',', '"', '"', '');
      })
      .join(',');
    out += '\n';
  }
  return out;
}

/**
 * Turns DuckDB's failure to load COPY data into PostgreSQL's error, with the
 * line (CONTEXT `COPY t, line n, column c: "v"`): the file is scanned again
 * on the session's connection to find the first value that does not cast.
 */
export async function copyError(conn: DuckDBConnection, error: unknown, source: CopySource, target: Target): Promise<SqlError> {
  if (error instanceof SqlError) return error;
  const raw = (error as Error).message ?? String(error);
  const csvLine = /Line: (\d+)/.exec(raw);
  if (/CSV Error/i.test(raw)) {
    const line = csvLine ? Number(csvLine[1]) : undefined;
    const message = /Expected Number of Columns: \d+ Found: (\d+)/.exec(raw);
    const text = message && Number(message[1]) > target.columns.length ? 'extra data after last expected column' : message ? `missing data for column "${target.columns[Number(message[1])]?.name ?? ''}"` : raw.split('\n')[0]!.replace(/^[A-Za-z ]+Error: /, '');
    return new SqlError('22P04', text, line ? { where: `COPY ${target.table}, line ${line}` } : {});
  }
  const mapped = fromDuckDBError(error);
  try {
    const typeRows = await conn.runAndReadAll(
      `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'public' AND table_name = $1`,
      [target.table],
    );
    const types = new Map(typeRows.getRowsJS().map(([name, type]) => [String(name), String(type)]));
    const fails = target.columns.map((column, i) => `(c${i + 1} IS NOT NULL AND TRY_CAST(c${i + 1} AS ${types.get(column.name)}) IS NULL)`);
    const values = target.columns.map((_, i) => `c${i + 1}`);
    const reader = await conn.runAndReadAll(
      `SELECT n, ${fails.join(', ')}, ${values.join(', ')} FROM (SELECT row_number() OVER () AS n, * FROM ${readCsvSql(source, target.columns.length, 'long-lines')})
       WHERE ${fails.join(' OR ')} ORDER BY n LIMIT 1`,
    );
    const row = reader.getRowsJS()[0];
    if (row) {
      const count = target.columns.length;
      const line = Number(row[0]) + (source.header ? 1 : 0);
      const index = row.slice(1, 1 + count).findIndex((failed) => failed === true);
      const column = target.columns[index];
      return new SqlError(mapped.code, mapped.message, {
        ...mapped.extra,
        where: `COPY ${target.table}, line ${line}${column ? `, column ${column.name}: "${String(row[1 + count + index])}"` : ''}`,
      });
    }
  } catch {
    // The diagnosis is best effort: the original error stands.
  }
  return mapped;
}


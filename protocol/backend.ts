// Encoder for the PostgreSQL v3 backend (server → client) messages. Messages
// are appended to one growable buffer, so that a batch of them (say a result
// set and ReadyForQuery) goes out in one socket write.
// https://www.postgresql.org/docs/15/protocol-message-formats.html

import assert from 'node:assert';
import type { ErrorFields, FieldDescription, FormatCode } from './messages.js';

/** ErrorResponse/NoticeResponse fields after S, V, C and M, in the order PostgreSQL sends them. */
const OPTIONAL_ERROR_FIELDS: [letter: string, key: keyof ErrorFields][] = [
  ['D', 'detail'],
  ['H', 'hint'],
  ['P', 'position'],
  ['p', 'internalPosition'],
  ['q', 'internalQuery'],
  ['W', 'where'],
  ['s', 'schema'],
  ['t', 'table'],
  ['c', 'column'],
  ['d', 'dataType'],
  ['n', 'constraint'],
  ['F', 'file'],
  ['L', 'line'],
  ['R', 'routine'],
];

const EMPTY = Buffer.alloc(0);
/** Up to this, take() copies the bytes out (Buffer.allocUnsafe takes them from Node's pool) and keeps its buffer. */
const SMALL_TAKE_BYTES = 2048;

export class BackendWriter {
  readonly #initialCapacity: number;
  #buf = EMPTY;
  #length = 0;
  /** Offset of the DataRow being written, or -1. */
  #rowStart = -1;
  #rowColumns = 0;
  #rowWritten = 0;

  constructor(initialCapacity = 16 * 1024) {
    this.#initialCapacity = initialCapacity;
  }

  /** Bytes pending. */
  get length(): number {
    return this.#length;
  }

  /**
   * Returns the pending bytes and starts afresh. The result is the writer's
   * no longer (a copy of a small response, or a view of a large one's buffer,
   * which the writer then lets go of): the socket may keep it queued.
   */
  take(): Buffer {
    assert(this.#rowStart < 0, 'take() inside a DataRow');
    let out: Buffer;
    if (this.#length <= SMALL_TAKE_BYTES) {
      // A small response (a command's completion, a few rows) is copied out, from Node's
      // shared pool, and the buffer kept: a fresh 16 KB buffer per statement was most of the garbage.
      out = Buffer.allocUnsafe(this.#length);
      this.#buf.copy(out, 0, 0, this.#length);
    } else {
      out = this.#buf.subarray(0, this.#length);
      this.#buf = EMPTY;
    }
    this.#length = 0;
    return out;
  }

  authenticationOk(): this {
    return this.#authentication(0);
  }

  authenticationCleartextPassword(): this {
    return this.#authentication(3);
  }

  authenticationSASL(mechanisms: string[]): this {
    const start = this.#begin(0x52); // 'R'
    this.#int32(10);
    for (const mechanism of mechanisms) this.#cstring(mechanism);
    this.#uint8(0);
    return this.#end(start);
  }

  authenticationSASLContinue(data: Buffer | string): this {
    return this.#authentication(11, data);
  }

  authenticationSASLFinal(data: Buffer | string): this {
    return this.#authentication(12, data);
  }

  parameterStatus(name: string, value: string): this {
    const start = this.#begin(0x53); // 'S'
    this.#cstring(name);
    this.#cstring(value);
    return this.#end(start);
  }

  backendKeyData(processId: number, secretKey: number): this {
    const start = this.#begin(0x4b); // 'K'
    this.#int32(processId);
    this.#int32(secretKey);
    return this.#end(start);
  }

  readyForQuery(status: 'I' | 'T' | 'E'): this {
    const start = this.#begin(0x5a); // 'Z'
    this.#uint8(status.charCodeAt(0));
    return this.#end(start);
  }

  rowDescription(fields: FieldDescription[]): this {
    const start = this.#begin(0x54); // 'T'
    this.#int16(fields.length);
    for (const field of fields) {
      this.#cstring(field.name);
      this.#uint32(field.tableOid);
      this.#int16(field.columnAttr);
      this.#uint32(field.typeOid);
      this.#int16(field.typeSize);
      this.#int32(field.typeModifier);
      this.#int16(field.format);
    }
    return this.#end(start);
  }

  /** Starts a DataRow; write exactly `columnCount` values with text/bytes/nullValue, then endDataRow. */
  beginDataRow(columnCount: number): this {
    const start = this.#begin(0x44); // 'D'
    this.#int16(columnCount);
    this.#rowStart = start;
    this.#rowColumns = columnCount;
    this.#rowWritten = 0;
    return this;
  }

  text(value: string): this {
    this.#column();
    // Room for the worst case (3 bytes per UTF-16 unit) when the string is
    // short, which saves a scan; its exact size when long, which saves memory.
    this.#ensure(4 + (value.length <= 1024 ? 3 * value.length : Buffer.byteLength(value)));
    const written = this.#buf.write(value, this.#length + 4);
    this.#buf.writeInt32BE(written, this.#length);
    this.#length += 4 + written;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.#column();
    this.#int32(value.length);
    this.#raw(value);
    return this;
  }

  nullValue(): this {
    this.#column();
    this.#int32(-1);
    return this;
  }

  endDataRow(): this {
    assert(this.#rowStart >= 0, 'endDataRow() without beginDataRow()');
    assert(this.#rowWritten === this.#rowColumns, 'DataRow has fewer values than its column count');
    const start = this.#rowStart;
    this.#rowStart = -1;
    return this.#end(start);
  }

  dataRow(values: (string | Uint8Array | null)[]): this {
    this.beginDataRow(values.length);
    for (const value of values) {
      if (value === null) this.nullValue();
      else if (typeof value === 'string') this.text(value);
      else this.bytes(value);
    }
    return this.endDataRow();
  }

  commandComplete(tag: string): this {
    const start = this.#begin(0x43); // 'C'
    this.#cstring(tag);
    return this.#end(start);
  }

  emptyQueryResponse(): this {
    return this.#empty(0x49); // 'I'
  }

  errorResponse(fields: ErrorFields): this {
    return this.#errorOrNotice(0x45, fields); // 'E'
  }

  noticeResponse(fields: ErrorFields): this {
    return this.#errorOrNotice(0x4e, fields); // 'N'
  }

  parseComplete(): this {
    return this.#empty(0x31); // '1'
  }

  bindComplete(): this {
    return this.#empty(0x32); // '2'
  }

  closeComplete(): this {
    return this.#empty(0x33); // '3'
  }

  noData(): this {
    return this.#empty(0x6e); // 'n'
  }

  portalSuspended(): this {
    return this.#empty(0x73); // 's'
  }

  parameterDescription(typeOids: number[]): this {
    const start = this.#begin(0x74); // 't'
    this.#int16(typeOids.length);
    for (const oid of typeOids) this.#uint32(oid);
    return this.#end(start);
  }

  copyInResponse(format: FormatCode, columnFormats: FormatCode[]): this {
    return this.#copyResponse(0x47, format, columnFormats); // 'G'
  }

  copyOutResponse(format: FormatCode, columnFormats: FormatCode[]): this {
    return this.#copyResponse(0x48, format, columnFormats); // 'H'
  }

  copyData(data: Uint8Array): this {
    const start = this.#begin(0x64); // 'd'
    this.#raw(data);
    return this.#end(start);
  }

  copyDone(): this {
    return this.#empty(0x63); // 'c'
  }

  negotiateProtocolVersion(newestMinor: number, unrecognizedOptions: string[]): this {
    const start = this.#begin(0x76); // 'v'
    this.#int32(newestMinor);
    this.#int32(unrecognizedOptions.length);
    for (const option of unrecognizedOptions) this.#cstring(option);
    return this.#end(start);
  }

  notificationResponse(processId: number, channel: string, payload: string): this {
    const start = this.#begin(0x41); // 'A'
    this.#int32(processId);
    this.#cstring(channel);
    this.#cstring(payload);
    return this.#end(start);
  }

  #authentication(code: number, data?: Buffer | string): this {
    const start = this.#begin(0x52); // 'R'
    this.#int32(code);
    if (typeof data === 'string') this.#utf8(data);
    else if (data) this.#raw(data);
    return this.#end(start);
  }

  #errorOrNotice(type: number, fields: ErrorFields): this {
    const start = this.#begin(type);
    this.#field('S', fields.severity);
    this.#field('V', fields.severity);
    this.#field('C', fields.code);
    this.#field('M', fields.message);
    for (const [letter, key] of OPTIONAL_ERROR_FIELDS) {
      const value = fields[key];
      if (value !== undefined) this.#field(letter, String(value));
    }
    this.#uint8(0);
    return this.#end(start);
  }

  #field(letter: string, value: string): void {
    this.#uint8(letter.charCodeAt(0));
    this.#cstring(value);
  }

  #copyResponse(type: number, format: FormatCode, columnFormats: FormatCode[]): this {
    const start = this.#begin(type);
    this.#uint8(format);
    this.#int16(columnFormats.length);
    for (const columnFormat of columnFormats) this.#int16(columnFormat);
    return this.#end(start);
  }

  #empty(type: number): this {
    return this.#end(this.#begin(type));
  }

  /** Writes the type byte and room for the length; returns the message's offset for #end. */
  #begin(type: number): number {
    assert(this.#rowStart < 0, 'message inside a DataRow');
    const start = this.#length;
    this.#ensure(5);
    this.#buf[start] = type;
    this.#length += 5;
    return start;
  }

  /** Fills in the length (which counts itself, not the type byte). */
  #end(start: number): this {
    this.#buf.writeInt32BE(this.#length - start - 1, start + 1);
    return this;
  }

  /** Counts one value of the DataRow being written. */
  #column(): void {
    assert(this.#rowStart >= 0, 'DataRow value without beginDataRow()');
    assert(this.#rowWritten < this.#rowColumns, 'DataRow has more values than its column count');
    this.#rowWritten++;
  }

  #ensure(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.#buf.length, this.#initialCapacity));
    this.#buf.copy(grown, 0, 0, this.#length);
    this.#buf = grown;
  }

  #uint8(value: number): void {
    this.#ensure(1);
    this.#buf.writeUInt8(value, this.#length);
    this.#length += 1;
  }

  #int16(value: number): void {
    this.#ensure(2);
    this.#buf.writeInt16BE(value, this.#length);
    this.#length += 2;
  }

  #int32(value: number): void {
    this.#ensure(4);
    this.#buf.writeInt32BE(value, this.#length);
    this.#length += 4;
  }

  /** OIDs are unsigned. */
  #uint32(value: number): void {
    this.#ensure(4);
    this.#buf.writeUInt32BE(value, this.#length);
    this.#length += 4;
  }

  #cstring(value: string): void {
    // A NUL inside would end the string early and desynchronize the client.
    assert(!value.includes('\0'), 'NUL in a protocol string');
    this.#utf8(value);
    this.#uint8(0);
  }

  #utf8(value: string): void {
    this.#ensure(Buffer.byteLength(value));
    this.#length += this.#buf.write(value, this.#length);
  }

  #raw(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.#length);
    this.#length += bytes.length;
  }
}

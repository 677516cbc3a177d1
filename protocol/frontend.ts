// Decoder for the PostgreSQL v3 frontend (client → server) messages. Pure: the
// server feeds it the bytes of each TCP chunk and gets back whole messages.
// https://www.postgresql.org/docs/15/protocol-message-formats.html

import {
  CANCEL_REQUEST_CODE,
  FormatCode,
  GSSENC_REQUEST_CODE,
  ProtocolError,
  SSL_REQUEST_CODE,
  type FrontendMessage,
  type StartupPhaseMessage,
} from './messages.js';

export type FrontendParserOptions = {
  /** Largest accepted message, in bytes, including the 4-byte length. */
  maxMessageLength: number;
};

/** PostgreSQL's limits for messages that carry no bulk data (PQ_SMALL_MESSAGE_LIMIT, MAX_STARTUP_PACKET_LENGTH). */
const SMALL = 10_000;
/** PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH. */
const AUTH = 65_535;

/**
 * The largest length each message type may declare (its int32 length field),
 * capped by maxMessageLength. Types absent here are unknown. Small limits stop
 * a client from making the server buffer megabytes for a Sync or a Describe.
 */
const MAX_LENGTH: (number | undefined)[] = [];
for (const [type, max] of Object.entries({
  p: AUTH, // AuthenticationResponse: password, SASLInitialResponse, SASLResponse
  Q: Infinity, // Query
  P: Infinity, // Parse
  B: Infinity, // Bind
  D: SMALL, // Describe
  E: SMALL, // Execute
  C: SMALL, // Close
  S: 4, // Sync
  H: 4, // Flush
  d: Infinity, // CopyData
  c: 4, // CopyDone
  f: SMALL, // CopyFail
  X: 4, // Terminate
  F: Infinity, // FunctionCall
})) {
  MAX_LENGTH[type.charCodeAt(0)] = max;
}

/** Start size of the buffer for a message split across chunks: it then grows with the bytes received. */
const MIN_PENDING = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * Splits the byte stream into messages and decodes them. Buffers in the
 * returned messages (CopyData, Bind parameters, AuthenticationResponse) are
 * views of the pushed chunks, or of a buffer the parser never reuses, so they
 * stay valid after later pushes.
 */
export class FrontendParser {
  readonly #maxMessageLength: number;
  /** Until the StartupMessage: packets have no type byte. */
  #startupPhase = true;
  /** The partial message: its first #pendingLength bytes are filled. */
  #pending = EMPTY;
  #pendingLength = 0;
  /** Total length of the partial message, once its header is in; else 0. */
  #pendingFrame = 0;

  constructor(options: FrontendParserOptions) {
    this.#maxMessageLength = options.maxMessageLength;
  }

  /** Bytes held for a partial message. */
  get pendingBytes(): number {
    return this.#pendingLength;
  }

  /**
   * Feeds the bytes of one TCP chunk (any split). Returns every message
   * completed by it, in order. Throws ProtocolError on malformed input; after
   * a throw the parser is unusable.
   */
  push(chunk: Buffer): (StartupPhaseMessage | FrontendMessage)[] {
    const messages: (StartupPhaseMessage | FrontendMessage)[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      let frame: Buffer;
      const available = chunk.length - offset;
      const length =
        this.#pendingLength === 0 && available >= this.#headerLength()
          ? this.#frameLength(chunk, offset)
          : Infinity;
      if (length <= available) {
        // The whole message is in the chunk: decode it in place, no copy.
        frame = chunk.subarray(offset, offset + length);
        offset += length;
      } else {
        offset = this.#fill(chunk, offset);
        if (this.#pendingFrame === 0 || this.#pendingLength < this.#pendingFrame) break; // chunk used up
        frame = this.#pending.subarray(0, this.#pendingLength);
        this.#pending = EMPTY;
        this.#pendingLength = 0;
        this.#pendingFrame = 0;
      }
      const message = this.#parse(frame);
      // The client must wait for our answer to SSLRequest/GSSENCRequest: bytes
      // sent before it would be read as if they came over the encrypted
      // channel (CVE-2021-23214).
      if ((message.kind === 'SSLRequest' || message.kind === 'GSSENCRequest') && offset < chunk.length) {
        throw new ProtocolError(`received unencrypted data after ${message.kind}`);
      }
      messages.push(message);
    }
    return messages;
  }

  /** Bytes needed to know a message's length: int32 length, preceded after startup by the type byte. */
  #headerLength(): number {
    return this.#startupPhase ? 4 : 5;
  }

  /** Validates the header at `offset` and returns the message's total length in bytes. */
  #frameLength(buf: Buffer, offset: number): number {
    if (this.#startupPhase) {
      const length = buf.readInt32BE(offset);
      if (length < 8 || length > Math.min(SMALL, this.#maxMessageLength)) {
        throw new ProtocolError(`invalid length of startup packet: ${length}`);
      }
      return length;
    }
    const type = buf[offset];
    const max = MAX_LENGTH[type];
    if (max === undefined) throw new ProtocolError(`invalid frontend message type ${type}`);
    const length = buf.readInt32BE(offset + 1);
    if (length < 4 || length > Math.min(max, this.#maxMessageLength)) {
      throw new ProtocolError(`invalid length ${length} of message type "${String.fromCharCode(type)}"`);
    }
    return 1 + length;
  }

  /** Copies bytes of `chunk` from `offset` into the partial message, up to its end; returns the new offset. */
  #fill(chunk: Buffer, offset: number): number {
    if (this.#pendingFrame === 0) {
      offset = this.#append(chunk, offset, this.#headerLength());
      if (this.#pendingLength < this.#headerLength()) return offset;
      this.#pendingFrame = this.#frameLength(this.#pending, 0);
    }
    return this.#append(chunk, offset, this.#pendingFrame);
  }

  #append(chunk: Buffer, offset: number, upTo: number): number {
    const end = Math.min(chunk.length, offset + upTo - this.#pendingLength);
    const filled = this.#pendingLength + (end - offset);
    if (filled > this.#pending.length) {
      // Grow with the bytes received rather than to the declared length: a
      // client may declare a large message and never send it.
      const grown = Buffer.allocUnsafe(Math.min(upTo, Math.max(filled, 2 * this.#pending.length, MIN_PENDING)));
      this.#pending.copy(grown, 0, 0, this.#pendingLength);
      this.#pending = grown;
    }
    chunk.copy(this.#pending, this.#pendingLength, offset, end);
    this.#pendingLength = filled;
    return end;
  }

  /** Decodes one whole message (header included). */
  #parse(frame: Buffer): StartupPhaseMessage | FrontendMessage {
    if (!this.#startupPhase) return parseTyped(frame[0], frame.subarray(5));
    const message = parseStartupPacket(new Reader(frame.subarray(4)));
    if (message.kind === 'Startup') this.#startupPhase = false;
    return message;
  }
}

function parseStartupPacket(r: Reader): StartupPhaseMessage {
  const code = r.int32();
  switch (code) {
    case SSL_REQUEST_CODE:
      r.end();
      return { kind: 'SSLRequest' };
    case GSSENC_REQUEST_CODE:
      r.end();
      return { kind: 'GSSENCRequest' };
    case CANCEL_REQUEST_CODE: {
      const message = { kind: 'CancelRequest' as const, processId: r.int32(), secretKey: r.int32() };
      r.end();
      return message;
    }
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  // Major version 1234 is reserved for the requests above.
  if (major === 1234) throw new ProtocolError(`unknown request code 1234.${minor}`);
  if (major !== 3) {
    throw new ProtocolError(`unsupported frontend protocol ${major}.${minor}: server supports 3.0`, '0A000');
  }
  // No prototype: a client-chosen key such as "__proto__" must stay plain data.
  const parameters: Record<string, string> = Object.create(null);
  for (let name = r.cstring(); name !== ''; name = r.cstring()) parameters[name] = r.cstring();
  r.end();
  return { kind: 'Startup', protocolVersion: code, parameters };
}

function parseTyped(type: number, body: Buffer): FrontendMessage {
  if (type === 0x64) return { kind: 'CopyData', data: body }; // 'd', the hot path: no reader
  const r = new Reader(body);
  let message: FrontendMessage;
  switch (type) {
    case 0x70: // 'p'
      return { kind: 'AuthenticationResponse', body };
    case 0x46: // 'F': the session rejects it, so its arguments are not decoded
      return { kind: 'FunctionCall' };
    case 0x53: // 'S'
      return { kind: 'Sync' };
    case 0x48: // 'H'
      return { kind: 'Flush' };
    case 0x63: // 'c'
      return { kind: 'CopyDone' };
    case 0x58: // 'X'
      return { kind: 'Terminate' };
    case 0x51: // 'Q'
      message = { kind: 'Query', sql: r.cstring() };
      break;
    case 0x50: // 'P'
      message = { kind: 'Parse', name: r.cstring(), sql: r.cstring(), parameterTypes: parameterTypes(r) };
      break;
    case 0x42: // 'B'
      message = parseBind(r);
      break;
    case 0x44: // 'D'
      message = { kind: 'Describe', target: target(r), name: r.cstring() };
      break;
    case 0x43: // 'C'
      message = { kind: 'Close', target: target(r), name: r.cstring() };
      break;
    case 0x45: {
      // 'E'
      const portal = r.cstring();
      const maxRows = r.int32();
      if (maxRows < 0) throw new ProtocolError(`invalid row count ${maxRows} in Execute`);
      message = { kind: 'Execute', portal, maxRows };
      break;
    }
    case 0x66: // 'f'
      message = { kind: 'CopyFail', message: r.cstring() };
      break;
    default:
      // #frameLength admits only the types above.
      throw new ProtocolError(`invalid frontend message type ${type}`);
  }
  r.end();
  return message;
}

function parameterTypes(r: Reader): number[] {
  const count = r.count(4);
  const oids: number[] = [];
  for (let i = 0; i < count; i++) oids.push(r.uint32());
  return oids;
}

function parseBind(r: Reader): FrontendMessage {
  const portal = r.cstring();
  const statement = r.cstring();
  const parameterFormats = formatCodes(r);
  const count = r.count(4);
  if (parameterFormats.length > 1 && parameterFormats.length !== count) {
    throw new ProtocolError(`bind message has ${parameterFormats.length} parameter formats but ${count} parameters`);
  }
  const parameters: (Buffer | null)[] = [];
  for (let i = 0; i < count; i++) {
    const length = r.int32();
    if (length < -1) throw new ProtocolError(`invalid length ${length} of bind parameter ${i + 1}`);
    parameters.push(length === -1 ? null : r.bytes(length));
  }
  const resultFormats = formatCodes(r);
  return { kind: 'Bind', portal, statement, parameterFormats, parameters, resultFormats };
}

function formatCodes(r: Reader): FormatCode[] {
  const count = r.count(2);
  const codes: FormatCode[] = [];
  for (let i = 0; i < count; i++) {
    const code = r.uint16();
    if (code !== FormatCode.Text && code !== FormatCode.Binary) throw new ProtocolError(`invalid format code ${code}`);
    codes.push(code);
  }
  return codes;
}

function target(r: Reader): 'S' | 'P' {
  const byte = r.uint8();
  if (byte === 0x53) return 'S';
  if (byte === 0x50) return 'P';
  throw new ProtocolError(`invalid Describe/Close target ${byte}`);
}

/**
 * Body of a 'p' message answering AuthenticationSASL: the mechanism, then the
 * client-first-message (length -1: none).
 */
export function parseSASLInitialResponse(body: Buffer): { mechanism: string; data: Buffer | null } {
  const r = new Reader(body);
  const mechanism = r.cstring();
  const length = r.int32();
  if (length < -1) throw new ProtocolError(`invalid length ${length} of SASL initial response`);
  const data = length === -1 ? null : r.bytes(length);
  r.end();
  return { mechanism, data };
}

/**
 * Body of a 'p' message answering AuthenticationCleartextPassword. (A
 * SASLResponse body is the mechanism's data as it is: no decoding.)
 */
export function parsePasswordMessage(body: Buffer): string {
  const r = new Reader(body);
  const password = r.cstring();
  r.end();
  return password;
}

/** Reads the body of one message; any read past its end is a ProtocolError. */
class Reader {
  readonly #buf: Buffer;
  #offset = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  uint8(): number {
    this.#need(1);
    return this.#buf[this.#offset++];
  }

  uint16(): number {
    this.#need(2);
    const value = this.#buf.readUInt16BE(this.#offset);
    this.#offset += 2;
    return value;
  }

  int32(): number {
    this.#need(4);
    const value = this.#buf.readInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  uint32(): number {
    this.#need(4);
    const value = this.#buf.readUInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  /** An int16 element count, checked against the bytes left for elements of at least `elementSize` bytes. */
  count(elementSize: number): number {
    const count = this.uint16();
    if (count * elementSize > this.#buf.length - this.#offset) {
      throw new ProtocolError(`count ${count} overruns the message`);
    }
    return count;
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(): string {
    const nul = this.#buf.indexOf(0, this.#offset);
    if (nul < 0) throw new ProtocolError('string without terminator in message');
    const value = this.#buf.toString('utf8', this.#offset, nul);
    this.#offset = nul + 1;
    return value;
  }

  /** A view, not a copy. */
  bytes(length: number): Buffer {
    this.#need(length);
    const start = this.#offset;
    this.#offset += length;
    return this.#buf.subarray(start, this.#offset);
  }

  end(): void {
    if (this.#offset !== this.#buf.length) throw new ProtocolError('message has trailing bytes');
  }

  #need(length: number): void {
    if (this.#buf.length - this.#offset < length) throw new ProtocolError('message is truncated');
  }
}

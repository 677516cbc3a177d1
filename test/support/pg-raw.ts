// A minimal PostgreSQL v3 client for differential tests that must see the
// wire bytes themselves: node-postgres decodes every field as UTF-8 text, so
// binary results cannot be compared through it. Trust auth only.

import { connect } from 'node:net';
import type { Socket } from 'node:net';

export type RawField = { name: string; typeOid: number; typmod: number; format: number };
export type RawResult = { fields: RawField[]; rows: (Buffer | null)[][] };
export type RawParam = { oid: number; format: 0 | 1; data: Buffer | null };

export class PgServerError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

type Message = { type: string; body: Buffer };

export class RawPgClient {
  private buffered = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private closed: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = new Error('connection closed');
      this.wake();
    });
    socket.on('error', (error) => {
      this.closed = error;
      this.wake();
    });
  }

  static async connect(host: string, port: number, user = 'postgres', database = 'postgres'): Promise<RawPgClient> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawPgClient(socket);
    const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`);
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8 + params.length, 0);
    startup.writeInt32BE(196608, 4);
    socket.write(Buffer.concat([startup, params]));
    await client.untilReady();
    return client;
  }

  /** Runs one statement through Parse/Bind/Execute, all result columns in `resultFormat`. */
  async query(sql: string, resultFormat: 0 | 1 = 0, params: RawParam[] = []): Promise<RawResult> {
    const parse = [cstring(''), cstring(sql), int16(params.length), ...params.map((p) => int32(p.oid))];
    const bind = [
      cstring(''), cstring(''),
      int16(params.length), ...params.map((p) => int16(p.format)),
      int16(params.length), ...params.map((p) => (p.data === null ? int32(-1) : Buffer.concat([int32(p.data.length), p.data]))),
      int16(1), int16(resultFormat),
    ];
    this.socket.write(Buffer.concat([
      frame('P', parse), frame('B', bind), frame('D', [Buffer.from('P'), cstring('')]),
      frame('E', [cstring(''), int32(0)]), frame('S', []),
    ]));
    const result: RawResult = { fields: [], rows: [] };
    await this.untilReady((message) => {
      if (message.type === 'T') result.fields = parseRowDescription(message.body);
      else if (message.type === 'D') result.rows.push(parseDataRow(message.body));
    });
    return result;
  }

  async close(): Promise<void> {
    this.socket.end(frame('X', []));
    await new Promise<void>((resolve) => (this.closed ? resolve() : this.socket.once('close', () => resolve())));
  }

  /** Reads messages until ReadyForQuery; rejects with the first ErrorResponse. */
  private async untilReady(onMessage: (message: Message) => void = () => {}): Promise<void> {
    let error: PgServerError | undefined;
    for (;;) {
      const message = await this.next();
      if (message.type === 'E') error ??= parseError(message.body);
      else if (message.type === 'R' && message.body.readInt32BE(0) !== 0) throw new Error('only trust authentication is supported');
      else if (message.type === 'Z') {
        if (error) throw error;
        return;
      } else onMessage(message);
    }
  }

  private async next(): Promise<Message> {
    for (;;) {
      if (this.buffered.length >= 5) {
        const length = this.buffered.readInt32BE(1);
        if (this.buffered.length >= 1 + length) {
          const message = { type: String.fromCharCode(this.buffered[0]), body: this.buffered.subarray(5, 1 + length) };
          this.buffered = this.buffered.subarray(1 + length);
          return message;
        }
      }
      if (this.closed) throw this.closed;
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}

function parseRowDescription(body: Buffer): RawField[] {
  const fields: RawField[] = [];
  let at = 2;
  for (let i = body.readInt16BE(0); i > 0; i--) {
    const end = body.indexOf(0, at);
    const name = body.toString('utf8', at, end);
    at = end + 1;
    fields.push({ name, typeOid: body.readUInt32BE(at + 6), typmod: body.readInt32BE(at + 12), format: body.readInt16BE(at + 16) });
    at += 18;
  }
  return fields;
}

function parseDataRow(body: Buffer): (Buffer | null)[] {
  const values: (Buffer | null)[] = [];
  let at = 2;
  for (let i = body.readInt16BE(0); i > 0; i--) {
    const length = body.readInt32BE(at);
    at += 4;
    if (length < 0) values.push(null);
    else {
      values.push(Buffer.from(body.subarray(at, at + length)));
      at += length;
    }
  }
  return values;
}

function parseError(body: Buffer): PgServerError {
  const fields: Record<string, string> = {};
  let at = 0;
  while (body[at] !== 0 && at < body.length) {
    const end = body.indexOf(0, at + 1);
    fields[String.fromCharCode(body[at])] = body.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return new PgServerError(fields.M ?? 'unknown error', fields.C ?? '');
}

function frame(type: string, parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function cstring(text: string): Buffer {
  return Buffer.from(text + '\0');
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

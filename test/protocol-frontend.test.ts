import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialize } from 'pg-protocol';
import { FrontendParser, parsePasswordMessage, parseSASLInitialResponse } from '../protocol/frontend.js';
import {
  CANCEL_REQUEST_CODE,
  FormatCode,
  GSSENC_REQUEST_CODE,
  PROTOCOL_VERSION_3,
  ProtocolError,
  SSL_REQUEST_CODE,
  type FrontendMessage,
  type StartupPhaseMessage,
} from '../protocol/messages.js';

type Message = StartupPhaseMessage | FrontendMessage;

// --- encoding by hand, for what pg-protocol's serializer lacks -------------

const i16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const cstr = (s: string) => Buffer.from(s + '\0');

/** A typed message: type byte, int32 length, body. */
function typed(type: string, ...body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  return Buffer.concat([Buffer.from(type), i32(payload.length + 4), payload]);
}

/** A startup-phase packet: int32 length, int32 code, body. */
function packet(code: number, ...body: Buffer[]): Buffer {
  const payload = Buffer.concat([i32(code), ...body]);
  return Buffer.concat([i32(payload.length + 4), payload]);
}

/** Startup parameters are a prototype-less object. */
const params = (entries: Record<string, string>) => Object.assign(Object.create(null), entries);

const STARTUP = serialize.startup({ user: 'alice', database: 'db' });
const STARTUP_MESSAGE: Message = {
  kind: 'Startup',
  protocolVersion: PROTOCOL_VERSION_3,
  parameters: params({ user: 'alice', database: 'db', client_encoding: 'UTF8' }),
};

/** A parser past the startup phase. */
function typedParser(maxMessageLength = 1 << 20): FrontendParser {
  const parser = new FrontendParser({ maxMessageLength });
  assert.deepEqual(parser.push(STARTUP), [STARTUP_MESSAGE]);
  return parser;
}

function assertProtocolError(fn: () => unknown, code = '08P01'): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

/** Deterministic PRNG (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits `bytes` at random points (chunks of 1 to maxChunk bytes). */
function randomChunks(bytes: Buffer, rand: () => number, maxChunk: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const size = 1 + Math.floor(rand() * maxChunk);
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

function pushAll(parser: FrontendParser, chunks: Buffer[]): Message[] {
  return chunks.flatMap((chunk) => parser.push(chunk));
}

// --- every message type ----------------------------------------------------

const utf8 = 'héllo ☃ 𝄞 🎉';

/** [encoded bytes, expected message], in the typed phase. */
const TYPED_CASES: [string, Buffer, FrontendMessage][] = [
  ['password', serialize.password(`pw ${utf8}`), { kind: 'AuthenticationResponse', body: cstr(`pw ${utf8}`) }],
  [
    'SASLInitialResponse',
    serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', 'n,,n=,r=abc'),
    { kind: 'AuthenticationResponse', body: Buffer.concat([cstr('SCRAM-SHA-256'), i32(11), Buffer.from('n,,n=,r=abc')]) },
  ],
  [
    'SASLResponse',
    serialize.sendSCRAMClientFinalMessage('c=biws,r=abc,p=xyz'),
    { kind: 'AuthenticationResponse', body: Buffer.from('c=biws,r=abc,p=xyz') },
  ],
  ['Query', serialize.query(`SELECT '${utf8}'`), { kind: 'Query', sql: `SELECT '${utf8}'` }],
  ['empty Query', serialize.query(''), { kind: 'Query', sql: '' }],
  [
    'Parse',
    serialize.parse({ name: 's1', text: 'SELECT $1, $2, $3', types: [23, 0, 4294967295] }),
    { kind: 'Parse', name: 's1', sql: 'SELECT $1, $2, $3', parameterTypes: [23, 0, 4294967295] },
  ],
  ['unnamed Parse', serialize.parse({ text: 'SELECT 1' }), { kind: 'Parse', name: '', sql: 'SELECT 1', parameterTypes: [] }],
  [
    'Bind',
    serialize.bind({ portal: 'p1', statement: 's1', values: [utf8, null, Buffer.from([0, 1, 255]), ''], binary: true }),
    {
      kind: 'Bind',
      portal: 'p1',
      statement: 's1',
      parameterFormats: [FormatCode.Text, FormatCode.Text, FormatCode.Binary, FormatCode.Text],
      parameters: [Buffer.from(utf8), null, Buffer.from([0, 1, 255]), Buffer.alloc(0)],
      resultFormats: [FormatCode.Binary],
    },
  ],
  [
    'Bind without formats',
    typed('B', cstr(''), cstr(''), i16(0), i16(1), i32(1), Buffer.from('7'), i16(0)),
    {
      kind: 'Bind',
      portal: '',
      statement: '',
      parameterFormats: [],
      parameters: [Buffer.from('7')],
      resultFormats: [],
    },
  ],
  [
    'Bind with one format for all',
    typed('B', cstr(''), cstr('s'), i16(1), i16(1), i16(2), i32(-1), i32(0), i16(2), i16(0), i16(1)),
    {
      kind: 'Bind',
      portal: '',
      statement: 's',
      parameterFormats: [FormatCode.Binary],
      parameters: [null, Buffer.alloc(0)],
      resultFormats: [FormatCode.Text, FormatCode.Binary],
    },
  ],
  ['Describe statement', serialize.describe({ type: 'S', name: 's1' }), { kind: 'Describe', target: 'S', name: 's1' }],
  ['Describe portal', serialize.describe({ type: 'P' }), { kind: 'Describe', target: 'P', name: '' }],
  ['Execute', serialize.execute({ portal: 'p1', rows: 100 }), { kind: 'Execute', portal: 'p1', maxRows: 100 }],
  ['Execute all', serialize.execute(), { kind: 'Execute', portal: '', maxRows: 0 }],
  ['Close portal', serialize.close({ type: 'P', name: 'p1' }), { kind: 'Close', target: 'P', name: 'p1' }],
  ['Close statement', serialize.close({ type: 'S' }), { kind: 'Close', target: 'S', name: '' }],
  ['Sync', serialize.sync(), { kind: 'Sync' }],
  ['Flush', serialize.flush(), { kind: 'Flush' }],
  ['CopyData', serialize.copyData(Buffer.from(`1\t${utf8}\n`)), { kind: 'CopyData', data: Buffer.from(`1\t${utf8}\n`) }],
  ['empty CopyData', typed('d'), { kind: 'CopyData', data: Buffer.alloc(0) }],
  ['CopyDone', serialize.copyDone(), { kind: 'CopyDone' }],
  ['CopyFail', serialize.copyFail(`aborted ${utf8}`), { kind: 'CopyFail', message: `aborted ${utf8}` }],
  ['Terminate', serialize.end(), { kind: 'Terminate' }],
  ['FunctionCall', typed('F', i32(1598), i16(0), i16(0), i16(0)), { kind: 'FunctionCall' }],
];

/** [encoded bytes, expected message], in the startup phase. */
const STARTUP_CASES: [string, Buffer, StartupPhaseMessage][] = [
  ['StartupMessage', STARTUP, STARTUP_MESSAGE],
  [
    'StartupMessage 3.2 with a protocol option',
    packet(0x00030002, cstr('user'), cstr(utf8), cstr('_pq_.opt'), cstr('1'), cstr('__proto__'), cstr('x'), cstr('')),
    { kind: 'Startup', protocolVersion: 0x00030002, parameters: params({ user: utf8, '_pq_.opt': '1', ['__proto__']: 'x' }) },
  ],
  ['SSLRequest', serialize.requestSsl(), { kind: 'SSLRequest' }],
  ['GSSENCRequest', packet(GSSENC_REQUEST_CODE), { kind: 'GSSENCRequest' }],
  ['CancelRequest', serialize.cancel(4242, -123456789), { kind: 'CancelRequest', processId: 4242, secretKey: -123456789 }],
];

for (const [name, bytes, expected] of STARTUP_CASES) {
  test(`startup phase: ${name}`, () => {
    const parser = new FrontendParser({ maxMessageLength: 1 << 20 });
    assert.deepEqual(parser.push(bytes), [expected]);
    assert.equal(parser.pendingBytes, 0);
  });
}

for (const [name, bytes, expected] of TYPED_CASES) {
  test(`typed phase: ${name}`, () => {
    const parser = typedParser();
    assert.deepEqual(parser.push(bytes), [expected]);
    assert.equal(parser.pendingBytes, 0);
  });
}

test('the startup phase continues after SSLRequest and GSSENCRequest', () => {
  const parser = new FrontendParser({ maxMessageLength: 1 << 20 });
  assert.deepEqual(parser.push(serialize.requestSsl()), [{ kind: 'SSLRequest' }]);
  assert.deepEqual(parser.push(packet(GSSENC_REQUEST_CODE)), [{ kind: 'GSSENCRequest' }]);
  assert.deepEqual(parser.push(STARTUP), [STARTUP_MESSAGE]);
  assert.deepEqual(parser.push(serialize.sync()), [{ kind: 'Sync' }]);
});

test('bytes after SSLRequest or GSSENCRequest in the same chunk are rejected', () => {
  for (const request of [serialize.requestSsl(), packet(GSSENC_REQUEST_CODE)]) {
    assertProtocolError(() => new FrontendParser({ maxMessageLength: 1024 }).push(Buffer.concat([request, STARTUP])));
    // Also when the request itself arrived split.
    const parser = new FrontendParser({ maxMessageLength: 1024 });
    assert.deepEqual(parser.push(request.subarray(0, 3)), []);
    assertProtocolError(() => parser.push(Buffer.concat([request.subarray(3), STARTUP.subarray(0, 1)])));
  }
});

test('password and SASL bodies decode with the helpers', () => {
  assert.equal(parsePasswordMessage(cstr(utf8)), utf8);
  assert.equal(parsePasswordMessage(cstr('')), '');
  assert.deepEqual(parseSASLInitialResponse(Buffer.concat([cstr('SCRAM-SHA-256'), i32(3), Buffer.from('abc')])), {
    mechanism: 'SCRAM-SHA-256',
    data: Buffer.from('abc'),
  });
  assert.deepEqual(parseSASLInitialResponse(Buffer.concat([cstr('SCRAM-SHA-256'), i32(-1)])), {
    mechanism: 'SCRAM-SHA-256',
    data: null,
  });
  // As the parser hands them over.
  const [password] = typedParser().push(serialize.password('secret'));
  assert.equal(password.kind === 'AuthenticationResponse' && parsePasswordMessage(password.body), 'secret');
  const [initial] = typedParser().push(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', 'n,,n=,r=xyz'));
  assert.deepEqual(initial.kind === 'AuthenticationResponse' && parseSASLInitialResponse(initial.body), {
    mechanism: 'SCRAM-SHA-256',
    data: Buffer.from('n,,n=,r=xyz'),
  });
});

test('malformed password and SASL bodies throw ProtocolError', () => {
  assertProtocolError(() => parsePasswordMessage(Buffer.from('secret')));
  assertProtocolError(() => parsePasswordMessage(Buffer.from('secret\0x')));
  assertProtocolError(() => parsePasswordMessage(Buffer.alloc(0)));
  assertProtocolError(() => parseSASLInitialResponse(Buffer.from('SCRAM-SHA-256')));
  assertProtocolError(() => parseSASLInitialResponse(cstr('SCRAM-SHA-256')));
  assertProtocolError(() => parseSASLInitialResponse(Buffer.concat([cstr('M'), i32(-2)])));
  assertProtocolError(() => parseSASLInitialResponse(Buffer.concat([cstr('M'), i32(4), Buffer.from('abc')])));
  assertProtocolError(() => parseSASLInitialResponse(Buffer.concat([cstr('M'), i32(2), Buffer.from('abc')])));
});

// --- splitting ---------------------------------------------------------------

/** Every typed case after a startup, as one stream. */
const STREAM = Buffer.concat([STARTUP, ...TYPED_CASES.map(([, bytes]) => bytes)]);
const STREAM_MESSAGES: Message[] = [STARTUP_MESSAGE, ...TYPED_CASES.map(([, , message]) => message)];

test('a stream parses the same when split at every byte boundary', () => {
  for (let i = 0; i <= STREAM.length; i++) {
    const parser = new FrontendParser({ maxMessageLength: 1 << 20 });
    assert.deepEqual(pushAll(parser, [STREAM.subarray(0, i), STREAM.subarray(i)]), STREAM_MESSAGES, `split at ${i}`);
    assert.equal(parser.pendingBytes, 0);
  }
});

test('a stream parses the same fed one byte at a time', () => {
  const parser = new FrontendParser({ maxMessageLength: 1 << 20 });
  const messages: Message[] = [];
  for (let i = 0; i < STREAM.length; i++) {
    messages.push(...parser.push(STREAM.subarray(i, i + 1)));
    assert.ok(parser.pendingBytes <= 1 + 4 + STREAM.length);
  }
  assert.deepEqual(messages, STREAM_MESSAGES);
  assert.equal(parser.pendingBytes, 0);
});

test('a stream parses the same in random chunks', () => {
  const rand = random(1);
  for (let round = 0; round < 500; round++) {
    const parser = new FrontendParser({ maxMessageLength: 1 << 20 });
    assert.deepEqual(pushAll(parser, randomChunks(STREAM, rand, 1 + (round % 64))), STREAM_MESSAGES, `round ${round}`);
    assert.equal(parser.pendingBytes, 0);
  }
});

test('large CopyData messages in random chunks', () => {
  const rand = random(2);
  const payloads = [200_000, 70_000, 1, 65_536, 300].map((size) => {
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = Math.floor(rand() * 256);
    return data;
  });
  const stream = Buffer.concat([STARTUP, ...payloads.map((data) => serialize.copyData(data)), serialize.copyDone()]);
  const expected = [STARTUP_MESSAGE, ...payloads.map((data) => ({ kind: 'CopyData', data })), { kind: 'CopyDone' }];
  for (const maxChunk of [1, 1000, 16_384, 100_000, 500_000]) {
    const parser = new FrontendParser({ maxMessageLength: 1 << 20 });
    assert.deepEqual(pushAll(parser, randomChunks(stream, rand, maxChunk)), expected, `chunks up to ${maxChunk}`);
  }
});

test('whole messages in a chunk are not copied; split ones stay valid after later pushes', () => {
  const parser = typedParser();
  const chunk = Buffer.concat([serialize.copyData(Buffer.from('abc')), serialize.copyData(Buffer.from('def'))]);
  const messages = parser.push(chunk);
  for (const message of messages) {
    assert.ok(message.kind === 'CopyData' && message.data.buffer === chunk.buffer);
  }
  const split = serialize.copyData(Buffer.from('first'));
  assert.deepEqual(parser.push(split.subarray(0, 7)), []);
  const [first] = parser.push(split.subarray(7));
  const second = serialize.copyData(Buffer.from('other'));
  parser.push(second.subarray(0, 7));
  parser.push(second.subarray(7));
  assert.deepEqual(first, { kind: 'CopyData', data: Buffer.from('first') });
});

test('pendingBytes counts the bytes of the partial message', () => {
  const parser = typedParser();
  const query = serialize.query('SELECT 1');
  assert.deepEqual(parser.push(Buffer.concat([serialize.sync(), query.subarray(0, 3)])), [{ kind: 'Sync' }]);
  assert.equal(parser.pendingBytes, 3);
  assert.deepEqual(parser.push(query.subarray(3, 9)), []);
  assert.equal(parser.pendingBytes, 9);
  assert.deepEqual(parser.push(query.subarray(9)), [{ kind: 'Query', sql: 'SELECT 1' }]);
  assert.equal(parser.pendingBytes, 0);
});

// --- malformed input ---------------------------------------------------------

test('startup phase: invalid lengths', () => {
  for (const length of [-1, -2147483648, 0, 3, 4, 7, 10_001, 2147483647]) {
    assertProtocolError(() => new FrontendParser({ maxMessageLength: 1 << 20 }).push(i32(length)));
  }
  // The smaller of the limits applies.
  assertProtocolError(() => new FrontendParser({ maxMessageLength: 100 }).push(i32(101)));
  const parser = new FrontendParser({ maxMessageLength: 100 });
  assert.deepEqual(parser.push(i32(100)), []);
  assert.equal(parser.pendingBytes, 4);
});

test('startup phase: unsupported protocols and unknown request codes', () => {
  const parse = (bytes: Buffer) => () => new FrontendParser({ maxMessageLength: 1024 }).push(bytes);
  assertProtocolError(parse(packet(0x00020000, cstr('user'), cstr('a'), cstr(''))), '0A000');
  assertProtocolError(parse(packet(0x00040000, cstr(''))), '0A000');
  assertProtocolError(parse(packet(0, cstr(''))), '0A000');
  assertProtocolError(parse(packet(-1, cstr(''))), '0A000');
  assertProtocolError(parse(packet((1234 << 16) | 9999, cstr(''))), '08P01');
});

test('startup phase: malformed packets', () => {
  const parse = (bytes: Buffer) => () => new FrontendParser({ maxMessageLength: 1024 }).push(bytes);
  // No terminator after the last pair, a name without a value, trailing bytes.
  assertProtocolError(parse(packet(PROTOCOL_VERSION_3, cstr('user'), cstr('a'))));
  assertProtocolError(parse(packet(PROTOCOL_VERSION_3)));
  assertProtocolError(parse(packet(PROTOCOL_VERSION_3, cstr('user'), cstr(''))));
  assertProtocolError(parse(packet(PROTOCOL_VERSION_3, cstr('user'), Buffer.from('a'))));
  assertProtocolError(parse(packet(PROTOCOL_VERSION_3, cstr('user'), cstr('a'), cstr(''), Buffer.from('x'))));
  // Requests with extra or missing bytes.
  assertProtocolError(parse(packet(SSL_REQUEST_CODE, i32(0))));
  assertProtocolError(parse(packet(GSSENC_REQUEST_CODE, Buffer.from([0]))));
  assertProtocolError(parse(packet(CANCEL_REQUEST_CODE, i32(1))));
  assertProtocolError(parse(packet(CANCEL_REQUEST_CODE, i32(1), i32(2), i32(3))));
});

test('typed phase: invalid lengths are rejected before the body is buffered', () => {
  for (const length of [-1, -2147483648, 0, 3, 1025, 2147483647]) {
    const parser = typedParser(1024);
    assertProtocolError(() => parser.push(Buffer.concat([Buffer.from('d'), i32(length)])));
    assert.ok(parser.pendingBytes <= 5);
  }
  // The header, split: the error comes with its last byte.
  const parser = typedParser(1024);
  const header = Buffer.concat([Buffer.from('Q'), i32(1 << 30)]);
  for (let i = 0; i < 4; i++) assert.deepEqual(parser.push(header.subarray(i, i + 1)), []);
  assertProtocolError(() => parser.push(header.subarray(4)));
  assert.ok(parser.pendingBytes <= 5);
  // The limit itself is accepted.
  const atLimit = typedParser(1024);
  assert.deepEqual(atLimit.push(Buffer.concat([Buffer.from('d'), i32(1024)])), []);
  assert.equal(atLimit.pendingBytes, 5);
});

test('typed phase: per-type limits', () => {
  // Messages without a body must have length 4.
  for (const type of ['S', 'H', 'c', 'X']) {
    assertProtocolError(() => typedParser().push(typed(type, Buffer.from([0]))));
  }
  // Small messages cannot be large, even under maxMessageLength.
  for (const type of ['D', 'E', 'C', 'f']) {
    assertProtocolError(() => typedParser().push(Buffer.concat([Buffer.from(type), i32(10_001)])));
  }
  assertProtocolError(() => typedParser().push(Buffer.concat([Buffer.from('p'), i32(65_536)])));
});

test('typed phase: unknown type bytes', () => {
  for (const type of [0, 0x5a, 0x61, 0x70 + 1, 0xff]) {
    assertProtocolError(() => typedParser().push(Buffer.concat([Buffer.from([type]), i32(4)])));
  }
  // A second StartupMessage is not a typed message.
  assertProtocolError(() => typedParser().push(STARTUP));
});

test('typed phase: malformed bodies', () => {
  const cases: [string, Buffer][] = [
    ['Query without NUL', typed('Q', Buffer.from('SELECT 1'))],
    ['Query with trailing bytes', typed('Q', cstr('SELECT 1'), Buffer.from('x'))],
    ['Parse truncated', typed('P', cstr('s'), cstr('SELECT 1'), Buffer.from([0]))],
    ['Parse count overrun', typed('P', cstr('s'), cstr('SELECT $1'), i16(2), i32(23))],
    ['Parse trailing', typed('P', cstr('s'), cstr('SELECT $1'), i16(1), i32(23), Buffer.from([0]))],
    ['Parse without statement text', typed('P', cstr('s'))],
    ['Bind bad parameter format', typed('B', cstr(''), cstr(''), i16(1), i16(2), i16(0), i16(0))],
    ['Bind negative format', typed('B', cstr(''), cstr(''), i16(1), i16(-1), i16(0), i16(0))],
    ['Bind bad result format', typed('B', cstr(''), cstr(''), i16(0), i16(0), i16(1), i16(7))],
    ['Bind format count overrun', typed('B', cstr(''), cstr(''), i16(3), i16(0), i16(0))],
    ['Bind parameter count overrun', typed('B', cstr(''), cstr(''), i16(0), i16(2), i32(-1), i16(0))],
    ['Bind format/parameter mismatch', typed('B', cstr(''), cstr(''), i16(2), i16(0), i16(0), i16(1), i32(-1), i16(0))],
    ['Bind parameter length -2', typed('B', cstr(''), cstr(''), i16(0), i16(1), i32(-2), i16(0))],
    ['Bind parameter overrun', typed('B', cstr(''), cstr(''), i16(0), i16(1), i32(10), Buffer.from('abc'), i16(0))],
    ['Bind without result formats', typed('B', cstr(''), cstr(''), i16(0), i16(0))],
    ['Bind trailing', typed('B', cstr(''), cstr(''), i16(0), i16(0), i16(0), Buffer.from([1]))],
    ['Bind without statement NUL', typed('B', cstr(''), Buffer.from('s'))],
    ['Describe bad target', typed('D', Buffer.from('X'), cstr('s'))],
    ['Describe empty', typed('D')],
    ['Describe without NUL', typed('D', Buffer.from('Ss'))],
    ['Close bad target', typed('C', Buffer.from('Q'), cstr(''))],
    ['Close trailing', typed('C', Buffer.from('S'), cstr(''), Buffer.from('x'))],
    ['Execute negative maxRows', typed('E', cstr(''), i32(-1))],
    ['Execute truncated', typed('E', cstr(''), i16(0))],
    ['Execute trailing', typed('E', cstr(''), i32(0), Buffer.from([0]))],
    ['CopyFail without NUL', typed('f', Buffer.from('boom'))],
    ['CopyFail trailing', typed('f', cstr('boom'), Buffer.from('!'))],
  ];
  for (const [name, bytes] of cases) {
    assert.throws(
      () => typedParser().push(bytes),
      (error: unknown) => error instanceof ProtocolError && error.code === '08P01',
      name,
    );
  }
});

// --- fuzzing -------------------------------------------------------------------

const FUZZ_MAX = 4096;

/** Pushes `chunks`; returns normally or with a ProtocolError. Anything else fails the test. */
function survive(parser: FrontendParser, chunks: Buffer[]): void {
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      assert.ok(parser.pendingBytes <= FUZZ_MAX + 5, `pendingBytes ${parser.pendingBytes}`);
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    assert.ok(error.code === '08P01' || error.code === '0A000');
  }
}

function randomBytes(rand: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(rand() * 256);
  return bytes;
}

test('fuzz: random bytes, in both phases', () => {
  const rand = random(3);
  for (let round = 0; round < 4000; round++) {
    const bytes = randomBytes(rand, Math.floor(rand() * 80));
    const parser = round % 2 ? typedParser(FUZZ_MAX) : new FrontendParser({ maxMessageLength: FUZZ_MAX });
    survive(parser, randomChunks(bytes, rand, 16));
  }
});

test('fuzz: well-framed messages with random bodies', () => {
  const rand = random(4);
  const types = 'pQPBDECSHdcfXF';
  for (let round = 0; round < 4000; round++) {
    const messages = Array.from({ length: 1 + Math.floor(rand() * 4) }, () =>
      typed(types[Math.floor(rand() * types.length)], randomBytes(rand, Math.floor(rand() * 24))),
    );
    survive(typedParser(FUZZ_MAX), randomChunks(Buffer.concat(messages), rand, 32));
  }
});

test('fuzz: mutations of a valid stream', () => {
  const rand = random(5);
  const interesting = [-1, 0, 3, 4, 5, 8, FUZZ_MAX, FUZZ_MAX + 1, 0x7fffffff, -0x80000000];
  for (let round = 0; round < 4000; round++) {
    const bytes = Buffer.from(STREAM);
    const mutations = 1 + Math.floor(rand() * 3);
    let length = bytes.length;
    for (let m = 0; m < mutations; m++) {
      const at = Math.floor(rand() * length);
      switch (Math.floor(rand() * 4)) {
        case 0: // bit flip
          bytes[at] ^= 1 << Math.floor(rand() * 8);
          break;
        case 1: // truncation
          length = at;
          break;
        case 2: // length tampering: an int32 anywhere, so also in real length fields
          if (at + 4 <= length) bytes.writeInt32BE(interesting[Math.floor(rand() * interesting.length)], at);
          break;
        case 3: // a random byte
          bytes[at] = Math.floor(rand() * 256);
          break;
      }
    }
    survive(new FrontendParser({ maxMessageLength: FUZZ_MAX }), randomChunks(bytes.subarray(0, length), rand, 64));
  }
});

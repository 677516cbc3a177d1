import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError } from 'node:assert';
import { PassThrough } from 'node:stream';
import { parse } from 'pg-protocol';
import { BackendWriter } from '../protocol/backend.js';
import { FormatCode, type ErrorFields } from '../protocol/messages.js';

/** Decodes backend messages with pg-protocol, as node-postgres would. */
async function decode(bytes: Buffer): Promise<Record<string, unknown>[]> {
  const stream = new PassThrough();
  const messages: Record<string, unknown>[] = [];
  const done = parse(stream, (message) => messages.push(message as unknown as Record<string, unknown>));
  stream.end(bytes);
  await done;
  return messages;
}

async function decodeOne(writer: BackendWriter): Promise<Record<string, unknown>> {
  const messages = await decode(writer.take());
  assert.equal(messages.length, 1);
  return messages[0];
}

const utf8 = 'héllo ☃ 𝄞 🎉';

test('authentication messages', async () => {
  assert.deepEqual(await decodeOne(new BackendWriter().authenticationOk()), { name: 'authenticationOk', length: 8 });
  assert.deepEqual(await decodeOne(new BackendWriter().authenticationCleartextPassword()), {
    name: 'authenticationCleartextPassword',
    length: 8,
  });
  assert.deepEqual(await decodeOne(new BackendWriter().authenticationSASL(['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'])), {
    name: 'authenticationSASL',
    length: 42,
    mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'],
  });
  const serverFirst = 'r=abc,s=c2FsdA==,i=4096';
  for (const data of [serverFirst, Buffer.from(serverFirst)]) {
    assert.deepEqual(await decodeOne(new BackendWriter().authenticationSASLContinue(data)), {
      name: 'authenticationSASLContinue',
      length: 8 + serverFirst.length,
      data: serverFirst,
    });
    assert.deepEqual(await decodeOne(new BackendWriter().authenticationSASLFinal(data)), {
      name: 'authenticationSASLFinal',
      length: 8 + serverFirst.length,
      data: serverFirst,
    });
  }
});

test('session start messages', async () => {
  const writer = new BackendWriter()
    .parameterStatus('application_name', utf8)
    .backendKeyData(4242, -123456789)
    .readyForQuery('I')
    .readyForQuery('T')
    .readyForQuery('E');
  const [status, key, ...ready] = await decode(writer.take());
  assert.equal(status.name, 'parameterStatus');
  assert.equal(status.parameterName, 'application_name');
  assert.equal(status.parameterValue, utf8);
  assert.equal(key.name, 'backendKeyData');
  assert.equal(key.processID, 4242);
  assert.equal(key.secretKey, -123456789);
  assert.deepEqual(
    ready.map((m) => [m.name, m.status]),
    [
      ['readyForQuery', 'I'],
      ['readyForQuery', 'T'],
      ['readyForQuery', 'E'],
    ],
  );
});

test('RowDescription', async () => {
  const message = await decodeOne(
    new BackendWriter().rowDescription([
      { name: 'id', tableOid: 16384, columnAttr: 1, typeOid: 20, typeSize: 8, typeModifier: -1, format: FormatCode.Text },
      { name: utf8, tableOid: 0, columnAttr: 0, typeOid: 4294967295, typeSize: -1, typeModifier: 68, format: FormatCode.Binary },
    ]),
  );
  assert.equal(message.name, 'rowDescription');
  assert.equal(message.fieldCount, 2);
  assert.deepEqual(
    (message.fields as object[]).map((field) => ({ ...field })),
    [
      { name: 'id', tableID: 16384, columnID: 1, dataTypeID: 20, dataTypeSize: 8, dataTypeModifier: -1, format: 'text' },
      { name: utf8, tableID: 0, columnID: 0, dataTypeID: 4294967295, dataTypeSize: -1, dataTypeModifier: 68, format: 'binary' },
    ],
  );
  const empty = await decodeOne(new BackendWriter().rowDescription([]));
  assert.deepEqual([empty.name, empty.fieldCount, empty.fields], ['rowDescription', 0, []]);
});

test('DataRow: text, multi-byte UTF-8, NULLs, empty strings', async () => {
  const long = '☃'.repeat(2000) + 'x'; // past the short-string fast path
  const writer = new BackendWriter(16)
    .beginDataRow(5)
    .text('42')
    .text(utf8)
    .nullValue()
    .text('')
    .text(long)
    .endDataRow()
    .dataRow(['a', null, utf8])
    .dataRow([]);
  const rows = await decode(writer.take());
  assert.deepEqual(
    rows.map((row) => [row.name, row.fields]),
    [
      ['dataRow', ['42', utf8, null, '', long]],
      ['dataRow', ['a', null, utf8]],
      ['dataRow', []],
    ],
  );
});

test('DataRow: binary values, exact bytes', async () => {
  const bin = new Uint8Array([0, 1, 0xfe, 0xff]);
  const bytes = new BackendWriter().dataRow([bin, null, Buffer.from('é')]).take();
  // pg-protocol decodes values as text, so check the bytes themselves too.
  assert.deepEqual(
    bytes,
    Buffer.from([
      0x44, 0, 0, 0, 4 + 2 + (4 + 4) + 4 + (4 + 2),
      0, 3,
      0, 0, 0, 4, 0, 1, 0xfe, 0xff,
      0xff, 0xff, 0xff, 0xff,
      0, 0, 0, 2, 0xc3, 0xa9,
    ]),
  );
  const [row] = await decode(bytes);
  assert.deepEqual((row.fields as unknown[]).slice(1), [null, 'é']);
});

test('query completion messages', async () => {
  const writer = new BackendWriter()
    .commandComplete('INSERT 0 5')
    .emptyQueryResponse()
    .parseComplete()
    .bindComplete()
    .closeComplete()
    .noData()
    .portalSuspended()
    .parameterDescription([23, 25, 4294967295])
    .parameterDescription([]);
  const messages = await decode(writer.take());
  assert.deepEqual(
    messages.map((m) => m.name),
    [
      'commandComplete',
      'emptyQuery',
      'parseComplete',
      'bindComplete',
      'closeComplete',
      'noData',
      'portalSuspended',
      'parameterDescription',
      'parameterDescription',
    ],
  );
  assert.equal(messages[0].text, 'INSERT 0 5');
  assert.ok(messages.slice(1, 7).every((m) => m.length === 4));
  assert.deepEqual(messages[7].dataTypeIDs, [23, 25, 4294967295]);
  assert.deepEqual(messages[8].dataTypeIDs, []);
});

/** [letter, value] pairs of an ErrorResponse/NoticeResponse, decoded by hand to check order and V. */
function errorFieldPairs(message: Buffer): [string, string][] {
  const pairs: [string, string][] = [];
  let offset = 5;
  while (message[offset] !== 0) {
    const end = message.indexOf(0, offset + 1);
    pairs.push([String.fromCharCode(message[offset]), message.toString('utf8', offset + 1, end)]);
    offset = end + 1;
  }
  assert.equal(offset, message.length - 1);
  return pairs;
}

test('ErrorResponse and NoticeResponse', async () => {
  const full: ErrorFields = {
    severity: 'ERROR',
    code: '23505',
    message: `duplicate key ${utf8}`,
    detail: 'Key (id)=(1) already exists.',
    hint: 'hint ☃',
    position: 17,
    internalPosition: 3,
    internalQuery: 'SELECT 1',
    where: 'PL/pgSQL function f()',
    schema: 'public',
    table: 'tëst',
    column: 'id',
    dataType: 'int4',
    constraint: 'test_pkey',
    file: 'nbtinsert.c',
    line: 666,
    routine: '_bt_check_unique',
  };
  const bytes = new BackendWriter().errorResponse(full).take();
  const [error] = await decode(bytes);
  assert.equal(error.name, 'error');
  assert.deepEqual(
    {
      severity: error.severity,
      code: error.code,
      message: error.message,
      detail: error.detail,
      hint: error.hint,
      position: error.position,
      internalPosition: error.internalPosition,
      internalQuery: error.internalQuery,
      where: error.where,
      schema: error.schema,
      table: error.table,
      column: error.column,
      dataType: error.dataType,
      constraint: error.constraint,
      file: error.file,
      line: error.line,
      routine: error.routine,
    },
    { ...full, position: '17', internalPosition: '3', line: '666' },
  );
  assert.deepEqual(
    errorFieldPairs(bytes).map(([letter]) => letter),
    ['S', 'V', 'C', 'M', 'D', 'H', 'P', 'p', 'q', 'W', 's', 't', 'c', 'd', 'n', 'F', 'L', 'R'],
  );

  const noticeBytes = new BackendWriter().noticeResponse({ severity: 'NOTICE', code: '00000', message: utf8 }).take();
  const [notice] = await decode(noticeBytes);
  assert.equal(notice.name, 'notice');
  assert.equal(notice.message, utf8);
  assert.equal(notice.severity, 'NOTICE');
  assert.equal(notice.code, '00000');
  assert.deepEqual(errorFieldPairs(noticeBytes), [
    ['S', 'NOTICE'],
    ['V', 'NOTICE'],
    ['C', '00000'],
    ['M', utf8],
  ]);
});

test('COPY messages', async () => {
  const data = Buffer.from(`1\t${utf8}\n`);
  const messages = await decode(
    new BackendWriter()
      .copyInResponse(FormatCode.Text, [FormatCode.Text, FormatCode.Text])
      .copyOutResponse(FormatCode.Binary, [FormatCode.Binary])
      .copyData(data)
      .copyData(new Uint8Array(0))
      .copyDone()
      .take(),
  );
  assert.deepEqual(
    messages.map((m) => [m.name, m.binary, m.columnTypes]),
    [
      ['copyInResponse', false, [0, 0]],
      ['copyOutResponse', true, [1]],
      ['copyData', undefined, undefined],
      ['copyData', undefined, undefined],
      ['copyDone', undefined, undefined],
    ],
  );
  assert.deepEqual(messages[2].chunk, data);
  assert.deepEqual(messages[3].chunk, Buffer.alloc(0));
});

test('NotificationResponse', async () => {
  const message = await decodeOne(new BackendWriter().notificationResponse(77, 'chän', utf8));
  assert.deepEqual([message.name, message.processId, message.channel, message.payload], ['notification', 77, 'chän', utf8]);
});

test('NegotiateProtocolVersion, exact bytes (pg-protocol does not decode it)', () => {
  assert.deepEqual(
    new BackendWriter().negotiateProtocolVersion(0, ['_pq_.a', '_pq_.b']).take(),
    Buffer.concat([
      Buffer.from([0x76, 0, 0, 0, 4 + 4 + 4 + 7 + 7]),
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 2]),
      Buffer.from('_pq_.a\0_pq_.b\0'),
    ]),
  );
});

test('the buffer grows and take() hands it over', async () => {
  const writer = new BackendWriter(8);
  for (let i = 0; i < 10_000; i++) writer.dataRow([String(i), utf8]);
  writer.commandComplete('SELECT 10000');
  const length = writer.length;
  const first = writer.take();
  assert.equal(first.length, length);
  assert.equal(writer.length, 0);
  const copy = Buffer.from(first);
  // Writing more must not touch the bytes already taken (the socket may still hold them).
  writer.dataRow(['overwritten?']).readyForQuery('I');
  assert.deepEqual(first, copy);
  const messages = await decode(first);
  assert.equal(messages.length, 10_001);
  assert.deepEqual(messages[9999].fields, ['9999', utf8]);
  assert.equal(messages[10_000].text, 'SELECT 10000');
  assert.deepEqual(
    (await decode(writer.take())).map((m) => m.name),
    ['dataRow', 'readyForQuery'],
  );
  assert.equal(new BackendWriter().take().length, 0);
});

test('invariants are asserted', () => {
  const throwsAssertion = (fn: () => unknown) => assert.throws(fn, AssertionError);
  throwsAssertion(() => new BackendWriter().beginDataRow(2).text('a').endDataRow());
  throwsAssertion(() => new BackendWriter().beginDataRow(1).text('a').nullValue());
  throwsAssertion(() => new BackendWriter().text('a'));
  throwsAssertion(() => new BackendWriter().bytes(new Uint8Array(1)));
  throwsAssertion(() => new BackendWriter().nullValue());
  throwsAssertion(() => new BackendWriter().endDataRow());
  throwsAssertion(() => new BackendWriter().beginDataRow(1).readyForQuery('I'));
  throwsAssertion(() => new BackendWriter().beginDataRow(1).beginDataRow(1));
  throwsAssertion(() => new BackendWriter().beginDataRow(0).take());
  throwsAssertion(() => new BackendWriter().commandComplete('a\0b'));
  throwsAssertion(() => new BackendWriter().errorResponse({ severity: 'ERROR', code: 'XX000', message: 'a\0' }));
});

test('take(): what it returned stays as it was while the writer goes on, small responses and large', async () => {
  const writer = new BackendWriter();
  const small = writer.commandComplete('INSERT 0 1').readyForQuery('I').take();
  const smallBytes = Buffer.from(small);
  // The next responses reuse (small) or replace (large) the writer's buffer: the bytes already taken must not change.
  writer.commandComplete('DELETE 99').readyForQuery('T');
  const large = writer.dataRow(['x'.repeat(10_000)]).take();
  const largeBytes = Buffer.from(large);
  writer.commandComplete('UPDATE 7').take();
  assert.deepEqual(small, smallBytes);
  assert.deepEqual(large, largeBytes);
  assert.deepEqual(
    (await decode(small)).map((m) => m['name']),
    ['commandComplete', 'readyForQuery'],
  );
  assert.equal((await decode(large)).length, 3, 'the pending messages taken with the large row');
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startArka, type ArkaProcess } from './support/arka.js';
import { names, serialize, WireClient } from './support/wire.js';
import { rawTypes } from './support/raw-types.js';

/** Raw strings for every type: tests compare PostgreSQL's text format exactly. */

async function sqlState(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code: string }).code;
  }
  throw new Error('expected an error');
}

describe('server over node-postgres', () => {
  let arka: ArkaProcess;
  let client: pg.Client;

  before(async () => {
    arka = await startArka();
    client = await arka.client({ types: rawTypes });
  });
  after(async () => {
    await client?.end();
    await arka?.destroy();
  });

  test('the quick start statements', async () => {
    const created = await client.query('CREATE TABLE users (user_id INTEGER PRIMARY KEY, name TEXT, age INTEGER)');
    assert.equal(created.command, 'CREATE');
    const events = await client.query('CREATE TABLE events (ts TIMESTAMPTZ, user_id INTEGER, amount NUMERIC(12,2))');
    assert.equal(events.command, 'CREATE');
    const series = await client.query("SELECT g AS id, 'n' || g AS name FROM generate_series(1, 5) g");
    assert.deepEqual(series.fields.map((f) => f.name), ['id', 'name']);
    assert.deepEqual(series.rows, [1, 2, 3, 4, 5].map((g) => ({ id: String(g), name: `n${g}` })));
    assert.equal(series.rowCount, 5);
    const ranked = await client.query('SELECT u.name, RANK() OVER (ORDER BY u.age DESC) FROM users u');
    assert.deepEqual(ranked.fields.map((f) => [f.name, f.dataTypeID]), [['name', 25], ['rank', 20]]);
    assert.equal(ranked.rowCount, 0);
  });

  test('PostgreSQL column names for unnamed expressions', async () => {
    const result = await client.query({
      rowMode: 'array',
      text: "SELECT 1, 7/2, 'a'::text, x::int, CASE WHEN true THEN 1 END, coalesce(null, 2), current_user FROM (VALUES (1)) v(x)",
    });
    assert.deepEqual(result.fields.map((f) => f.name), ['?column?', '?column?', 'text', 'x', 'case', 'coalesce', 'current_user']);
    assert.deepEqual(result.rows, [['1', '3', 'a', '1', '1', '2', 'arka']]);
    const counted = await client.query('SELECT count(*), max(x) FROM (VALUES (1), (2)) v(x)');
    assert.deepEqual(counted.fields.map((f) => f.name), ['count', 'max']);
    const values = await client.query('VALUES (1, 2)');
    assert.deepEqual(values.fields.map((f) => f.name), ['column1', 'column2']);
    const star = await client.query('SELECT *, 1 AS one FROM (VALUES (1, 2)) t(a, b)');
    assert.deepEqual(star.fields.map((f) => f.name), ['a', 'b', 'one']);
  });

  test('several statements in one Query, and an empty one', async () => {
    const results = (await client.query('SELECT 1 AS a; SELECT 2 AS b, 3 AS c')) as unknown as pg.QueryResult[];
    assert.equal(results.length, 2);
    assert.deepEqual(results[0]!.rows, [{ a: '1' }]);
    assert.deepEqual(results[1]!.rows, [{ b: '2', c: '3' }]);
    const empty = await client.query('-- nothing here');
    assert.equal(empty.command, null);
  });

  test('version, settings and session functions', async () => {
    const { rows } = await client.query(
      "SELECT version() AS v, current_setting('DateStyle') AS ds, current_database() AS db, current_schema() AS s",
    );
    assert.match(rows[0].v, /^PostgreSQL 15\.\d+ .*Arka/);
    assert.equal(rows[0].ds, 'ISO, MDY');
    assert.equal(rows[0].db, 'arka');
    assert.equal(rows[0].s, 'public');
    await client.query("SET application_name = 'tests'");
    assert.deepEqual((await client.query('SHOW application_name')).rows, [{ application_name: 'tests' }]);
    await client.query('SET extra_float_digits = 3');
    assert.equal((await client.query("SELECT current_setting('extra_float_digits') AS v")).rows[0].v, '3');
    assert.equal(await sqlState(client.query('SET no_such_setting = 1')), '42704');
    assert.equal(await sqlState(client.query("SELECT current_setting('no_such_setting')")), '42704');
    await client.query('RESET extra_float_digits');
    assert.equal((await client.query('SHOW extra_float_digits')).rows[0].extra_float_digits, '1');
  });

  test('TimeZone changes timestamptz output', async () => {
    await client.query("SET TimeZone = 'Asia/Kolkata'");
    const { rows } = await client.query("SELECT '2024-01-02 03:04:05+00'::timestamptz AS t");
    assert.equal(rows[0].t, '2024-01-02 08:34:05+05:30');
    await client.query('RESET TimeZone');
    assert.equal((await client.query("SELECT '2024-01-02 03:04:05+00'::timestamptz AS t")).rows[0].t, '2024-01-02 03:04:05+00');
  });

  test('errors carry real SQLSTATEs', async () => {
    assert.equal(await sqlState(client.query('SELEC 1')), '42601');
    assert.equal(await sqlState(client.query('SELECT * FROM no_such_table')), '42P01');
    assert.equal(await sqlState(client.query('SELECT no_such_column FROM users')), '42703');
    assert.equal(await sqlState(client.query('SELECT no_such_function(1)')), '42883');
    assert.equal(await sqlState(client.query("SELECT 'abc'::int")), '22P02');
    assert.equal(await sqlState(client.query('SELECT 1/0')), '22012');
    assert.equal(await sqlState(client.query('SELECT 5 % 0')), '22012');
    assert.equal(await sqlState(client.query('CREATE TABLE users (x int)')), '42P07');
    assert.equal(await sqlState(client.query('LISTEN x')), '0A000');
    // The connection is still good.
    assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, '1');
  });

  test('a syntax error reports its position', async () => {
    try {
      await client.query('SELECT 1 FROM WHERE');
      assert.fail('expected an error');
    } catch (error) {
      const e = error as { code: string; position: string };
      assert.equal(e.code, '42601');
      assert.equal(e.position, '15');
    }
  });

  test('transactions: honest state, failed block, rollback of DDL', async () => {
    await client.query('BEGIN');
    await client.query('CREATE TABLE t_rolled_back (a int)');
    assert.equal(await sqlState(client.query('SELECT 1/0')), '22012');
    assert.equal(await sqlState(client.query('SELECT 1')), '25P02');
    const end = await client.query('COMMIT');
    assert.equal(end.command, 'ROLLBACK');
    assert.equal(await sqlState(client.query('SELECT * FROM t_rolled_back')), '42P01');
    await client.query('BEGIN');
    await client.query('CREATE TABLE t_committed (a int)');
    await client.query('COMMIT');
    assert.equal((await client.query('SELECT count(*) AS n FROM t_committed')).rows[0].n, '0');
  });

  test('DDL: drop, add column, if (not) exists', async () => {
    await client.query('CREATE TABLE ddl_t (id bigint PRIMARY KEY, v varchar(20))');
    await client.query('CREATE TABLE IF NOT EXISTS ddl_t (id bigint)');
    await client.query('ALTER TABLE ddl_t ADD COLUMN extra numeric(10,2) DEFAULT 1.5');
    const columns = await client.query('SELECT * FROM ddl_t');
    assert.deepEqual(columns.fields.map((f) => [f.name, f.dataTypeID]), [['id', 20], ['v', 25], ['extra', 1700]]);
    assert.equal(await sqlState(client.query('ALTER TABLE ddl_t ADD COLUMN v text')), '42701');
    assert.equal((await client.query('DROP TABLE ddl_t')).command, 'DROP');
    assert.equal(await sqlState(client.query('DROP TABLE ddl_t')), '42P01');
    await client.query('DROP TABLE IF EXISTS ddl_t');
  });

  test('extended protocol: parameters, named statements, binary results', async () => {
    const typed = await client.query({ text: 'SELECT $1::int + 1 AS n, $2::text AS t, $3::float8 AS f', values: ['41', 'hi', '1.5'] });
    assert.deepEqual(typed.rows, [{ n: '42', t: 'hi', f: '1.5' }]);
    const named = { name: 'series', text: 'SELECT g FROM generate_series(1, $1) g', values: [3] };
    assert.equal((await client.query(named)).rowCount, 3);
    assert.equal((await client.query({ ...named, values: [5] })).rowCount, 5);
    const binaryClient = await arka.client({ binary: true } as pg.ClientConfig);
    try {
      const { rows } = await binaryClient.query('SELECT 42::int AS i, true AS b, 2.5::float8 AS f, $1::text AS t', ['x']);
      assert.deepEqual(rows, [{ i: 42, b: true, f: 2.5, t: 'x' }]);
    } finally {
      await binaryClient.end();
    }
  });

  test('a table survives a restart', async () => {
    const dataDir = arka.dataDir;
    await client.end();
    assert.equal(await arka.stop(), 0);
    arka = await startArka({ dataDir });
    client = await arka.client({ types: rawTypes });
    const { fields, rowCount } = await client.query('SELECT * FROM users');
    assert.deepEqual(fields.map((f) => f.name), ['user_id', 'name', 'age']);
    assert.equal(rowCount, 0);
    assert.equal(await sqlState(client.query('CREATE TABLE users (x int)')), '42P07');
  });
});

describe('server over the raw protocol', () => {
  let arka: ArkaProcess;
  before(async () => {
    arka = await startArka();
  });
  after(async () => arka?.destroy());

  test('Execute with a row limit suspends the portal', async () => {
    const wire = await WireClient.connect(arka.port);
    wire.send(
      serialize.parse({ text: 'SELECT i FROM range(10) t(i)' }),
      serialize.bind({}),
      serialize.execute({ rows: 4 }),
      serialize.execute({ rows: 4 }),
      serialize.execute({ rows: 4 }),
      serialize.sync(),
    );
    const messages = await wire.until('readyForQuery');
    assert.deepEqual(names(messages), [
      'parseComplete', 'bindComplete',
      'dataRow', 'dataRow', 'dataRow', 'dataRow', 'portalSuspended',
      'dataRow', 'dataRow', 'dataRow', 'dataRow', 'portalSuspended',
      'dataRow', 'dataRow', 'commandComplete',
      'readyForQuery',
    ]);
    // As in PostgreSQL, the tag counts the rows of the last Execute.
    assert.equal(messages.at(-2)!['text'], 'SELECT 2');
    wire.end();
  });

  test('a small result computed whole (a LIMIT) suspends and resumes the same, with other statements between', async () => {
    const wire = await WireClient.connect(arka.port);
    wire.send(
      serialize.parse({ name: 'small', text: 'SELECT i FROM range(10) t(i) ORDER BY i LIMIT 6' }),
      serialize.bind({ portal: 'p', statement: 'small' }),
      serialize.execute({ portal: 'p', rows: 4 }),
      serialize.parse({ name: 'one', text: 'SELECT 1' }),
      serialize.bind({ portal: 'q', statement: 'one' }),
      serialize.execute({ portal: 'q' }),
      serialize.execute({ portal: 'p', rows: 4 }),
      serialize.sync(),
    );
    const messages = await wire.until('readyForQuery');
    assert.deepEqual(names(messages), [
      'parseComplete', 'bindComplete',
      'dataRow', 'dataRow', 'dataRow', 'dataRow', 'portalSuspended',
      'parseComplete', 'bindComplete', 'dataRow', 'commandComplete',
      'dataRow', 'dataRow', 'commandComplete',
      'readyForQuery',
    ]);
    const rows = messages.filter((m) => m.name === 'dataRow').map((m) => (m['fields'] as string[])[0]);
    assert.deepEqual(rows, ['0', '1', '2', '3', '1', '4', '5']);
    assert.equal(messages.at(-2)!['text'], 'SELECT 2');
    wire.end();
  });

  test('after an error, messages are skipped until Sync', async () => {
    const wire = await WireClient.connect(arka.port);
    wire.send(
      serialize.parse({ text: 'SELECT 1' }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.parse({ name: 'bad', text: 'SELECT * FROM nowhere' }),
      serialize.bind({ statement: 'bad' }),
      serialize.execute({}),
      serialize.sync(),
      serialize.parse({ text: 'SELECT 2' }),
      serialize.bind({}),
      serialize.execute({}),
      serialize.sync(),
    );
    const first = await wire.until('readyForQuery');
    assert.deepEqual(names(first), ['parseComplete', 'bindComplete', 'dataRow', 'commandComplete', 'error', 'readyForQuery']);
    assert.equal(first[4]!['code'], '42P01');
    const second = await wire.until('readyForQuery');
    assert.deepEqual(names(second), ['parseComplete', 'bindComplete', 'dataRow', 'commandComplete', 'readyForQuery']);
    assert.equal(second[2]!['fields'][0], '2');
    wire.end();
  });

  test('Describe reports parameter and column types', async () => {
    const wire = await WireClient.connect(arka.port);
    wire.send(
      serialize.parse({ name: 's', text: 'SELECT $1::int8 AS a, $2::text AS b, $3::date AS c' }),
      serialize.describe({ type: 'S', name: 's' }),
      serialize.sync(),
    );
    const messages = await wire.until('readyForQuery');
    assert.deepEqual(names(messages), ['parseComplete', 'parameterDescription', 'rowDescription', 'readyForQuery']);
    assert.deepEqual(messages[1]!['dataTypeIDs'], [20, 25, 1082]);
    assert.deepEqual(messages[2]!['fields'].map((f: pg.FieldDef) => [f.name, f.dataTypeID]), [['a', 20], ['b', 25], ['c', 1082]]);
    wire.end();
  });

  test('ReadyForQuery reports I, T and E', async () => {
    const wire = await WireClient.connect(arka.port);
    const status = async (sql: string) => {
      wire.send(serialize.query(sql));
      return (await wire.until('readyForQuery')).at(-1)!['status'];
    };
    assert.equal(await status('BEGIN'), 'T');
    assert.equal(await status('SELECT 1'), 'T');
    assert.equal(await status('SELECT nope'), 'E');
    assert.equal(await status('ROLLBACK'), 'I');
    wire.end();
  });

  test('CancelRequest stops a running query with 57014', async () => {
    const wire = await WireClient.connect(arka.port);
    wire.send(serialize.query('SELECT count(*) FROM range(1000000000000) a(x) WHERE x % 7 = 3'));
    await new Promise((r) => setTimeout(r, 300));
    const canceller = await import('node:net').then(({ connect }) => connect({ host: '127.0.0.1', port: arka.port }));
    await new Promise((r) => canceller.once('connect', r));
    canceller.end(serialize.cancel(wire.processId, wire.secretKey));
    const messages = await wire.until('readyForQuery');
    const error = messages.find((m) => m.name === 'error');
    assert.equal(error?.['code'], '57014');
    // The session is still usable.
    wire.send(serialize.query('SELECT 1'));
    assert.deepEqual(names(await wire.until('readyForQuery')), ['rowDescription', 'dataRow', 'commandComplete', 'readyForQuery']);
    wire.end();
  });

  test('statement_timeout cancels a long query', async () => {
    const wire = await WireClient.connect(arka.port);
    wire.send(serialize.query("SET statement_timeout = '200ms'; SELECT count(*) FROM range(1000000000000) a(x) WHERE x % 7 = 3"));
    const messages = await wire.until('readyForQuery');
    const error = messages.find((m) => m.name === 'error');
    assert.equal(error?.['code'], '57014');
    assert.match(error?.['message'], /statement timeout/);
    wire.end();
  });

  test('garbage before startup gets a closed socket; the server carries on', async () => {
    const { connect } = await import('node:net');
    const socket = connect({ host: '127.0.0.1', port: arka.port });
    await new Promise((r) => socket.once('connect', r));
    socket.on('error', () => {});
    socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]));
    await new Promise((r) => socket.once('close', r));
    const wire = await WireClient.connect(arka.port);
    wire.send(serialize.query('SELECT 1'));
    await wire.until('readyForQuery');
    wire.end();
  });

  test('a malformed message after startup gets 08P01 and a closed socket', async () => {
    const wire = await WireClient.connect(arka.port);
    wire.send(Buffer.from([0x51, 0x00, 0x00, 0x00, 0x02])); // Query with length 2
    const messages = await wire.until('error');
    assert.equal(messages.at(-1)!['code'], '08P01');
    await wire.closedByServer();
  });

  test('SSLRequest is answered N', async () => {
    const { connect } = await import('node:net');
    const socket = connect({ host: '127.0.0.1', port: arka.port });
    await new Promise((r) => socket.once('connect', r));
    socket.write(serialize.requestSsl());
    const answer = await new Promise<Buffer>((r) => socket.once('data', r));
    assert.equal(answer.toString(), 'N');
    socket.destroy();
  });
});

describe('SCRAM-SHA-256 authentication', () => {
  let arka: ArkaProcess;
  before(async () => {
    arka = await startArka({ password: 's3cret', user: 'alice' });
  });
  after(async () => arka?.destroy());

  test('the right password connects', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: arka.port, user: 'alice', password: 's3cret', database: 'arka' });
    await client.connect();
    assert.equal((await client.query('SELECT current_user AS u')).rows[0].u, 'alice');
    await client.end();
  });

  test('a wrong password is 28P01', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: arka.port, user: 'alice', password: 'wrong', database: 'arka' });
    assert.equal(await sqlState(client.connect()), '28P01');
  });

  test('a wrong user is 28P01', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: arka.port, user: 'mallory', password: 's3cret', database: 'arka' });
    assert.equal(await sqlState(client.connect()), '28P01');
  });
});

describe('startup refusal', () => {
  test('a non-loopback address without a password is refused', async () => {
    await assert.rejects(startArka({ args: ['--host', '0.0.0.0'] }), /without a password/);
  });
});

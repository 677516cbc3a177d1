// The write path through real clients: DML semantics, CDC records,
// transactions, COPY in three formats, and their failure paths.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startArka, type ArkaProcess } from './support/arka.js';
import { startPostgres, type PostgresServer } from './support/postgres.js';
import { names, serialize, WireClient } from './support/wire.js';
import { rawTypes } from './support/raw-types.js';

async function sqlError(promise: Promise<unknown>): Promise<{ code: string; message: string; detail?: string; hint?: string; where?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected an error');
}

function psql(port: number, script: string, user = 'arka', database = 'arka'): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile('psql', ['-X', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', database, '-f', '-'], (error, stdout, stderr) =>
      resolve({ stdout, stderr, code: error ? Number((error as { code?: number }).code ?? 1) : 0 }),
    );
    child.stdin!.end(script);
  });
}

describe('write path', () => {
  let arka: ArkaProcess;
  let client: pg.Client;
  before(async () => {
    arka = await startArka();
    client = await arka.client({ types: rawTypes });
    await client.query('CREATE TABLE users (user_id INTEGER PRIMARY KEY, name TEXT, age INTEGER)');
    await client.query('CREATE TABLE events (ts TIMESTAMPTZ, user_id INTEGER, amount NUMERIC(12,2))');
  });
  after(async () => {
    await client?.end();
    await arka?.destroy();
  });

  test('the issue walk-through: DML tags and the CDC log', async () => {
    assert.equal((await client.query("INSERT INTO users VALUES (1, 'Alice', 30), (2, 'Bob', 25)")).rowCount, 2);
    const updated = await client.query("UPDATE users SET age = age + 1 WHERE name = 'Alice'");
    assert.equal(updated.command, 'UPDATE');
    assert.equal(updated.rowCount, 1);
    assert.equal((await client.query('DELETE FROM users WHERE user_id = 2')).rowCount, 1);
    const upsert = await client.query("INSERT INTO users VALUES (3, 'Cy', 40) ON CONFLICT (user_id) DO UPDATE SET age = EXCLUDED.age RETURNING *");
    assert.deepEqual(upsert.rows, [{ user_id: '3', name: 'Cy', age: '40' }]);
    const changes = await client.query({
      text: "SELECT user_id, name, age, __lsn, __change_type FROM arka_changes('users') ORDER BY __lsn",
      rowMode: 'array',
    });
    assert.deepEqual(changes.rows, [
      ['1', 'Alice', '30', '1', 'INSERT'],
      ['2', 'Bob', '25', '2', 'INSERT'],
      ['1', 'Alice', '30', '3', 'UPDATE_BEFORE'],
      ['1', 'Alice', '31', '4', 'UPDATE_AFTER'],
      ['2', 'Bob', '25', '5', 'DELETE'],
      ['3', 'Cy', '40', '6', 'INSERT'],
    ]);
    const status = (await client.query('SELECT * FROM arka_status()')).rows[0];
    assert.equal(status.wal_lsn, '6');
    assert.equal(status.duckdb_lsn, '6');
    assert.equal(status.iceberg_lsn, '0');
    assert.equal(status.wal_segments, '1');
  });

  test('upserts, DO NOTHING, INSERT … SELECT, DEFAULT and serial', async () => {
    await client.query('CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL, qty int DEFAULT 7)');
    const inserted = await client.query("INSERT INTO items (label) VALUES ('a'), ('b') RETURNING id, qty");
    assert.deepEqual(inserted.rows, [{ id: '1', qty: '7' }, { id: '2', qty: '7' }]);
    await client.query("INSERT INTO items VALUES (DEFAULT, 'c', DEFAULT)");
    assert.equal((await client.query("INSERT INTO items VALUES (1, 'again') ON CONFLICT DO NOTHING")).rowCount, 0);
    const upserted = await client.query("INSERT INTO items VALUES (1, 'x', 1), (10, 'y', 1) ON CONFLICT (id) DO UPDATE SET qty = items.qty + EXCLUDED.qty RETURNING id, label, qty");
    assert.deepEqual(upserted.rows, [{ id: '10', label: 'y', qty: '1' }, { id: '1', label: 'a', qty: '8' }]);
    assert.equal((await client.query('INSERT INTO items (id, label) SELECT id + 100, label || \'!\' FROM items WHERE id < 3')).rowCount, 2);
    const all = await client.query({ text: 'SELECT id, label, qty FROM items ORDER BY id', rowMode: 'array' });
    assert.deepEqual(all.rows, [
      ['1', 'a', '8'], ['2', 'b', '7'], ['3', 'c', '7'], ['10', 'y', '1'], ['101', 'a!', '7'], ['102', 'b!', '7'],
    ]);
    const twice = await sqlError(client.query("INSERT INTO items VALUES (5, 'p'), (5, 'q') ON CONFLICT (id) DO UPDATE SET label = 'z'"));
    assert.equal(twice.code, '21000');
    assert.equal((await sqlError(client.query("INSERT INTO items VALUES (1, 'z') ON CONFLICT (label) DO NOTHING"))).code, '42P10');
  });

  test('constraint and type errors write nothing', async () => {
    const before = (await client.query('SELECT max(__lsn) AS lsn FROM arka_changes(\'users\')')).rows[0].lsn;
    const duplicate = await sqlError(client.query("INSERT INTO users VALUES (10, 'ok', 1), (1, 'dup', 1)"));
    assert.equal(duplicate.code, '23505');
    assert.equal(duplicate.detail, 'Key (user_id)=(1) already exists.');
    assert.equal((await sqlError(client.query("INSERT INTO users VALUES (NULL, 'n', 1)"))).code, '23502');
    assert.equal((await sqlError(client.query("INSERT INTO users VALUES (11, 'bad', 'abc')"))).code, '22P02');
    assert.equal((await sqlError(client.query('UPDATE users SET age = age / 0'))).code, '22012');
    assert.equal((await sqlError(client.query('UPDATE users SET user_id = 1 WHERE user_id = 3'))).code, '23505');
    assert.equal((await sqlError(client.query('INSERT INTO no_such_table VALUES (1)'))).code, '42P01');
    assert.equal((await sqlError(client.query('UPDATE users SET nope = 1'))).code, '42703');
    assert.deepEqual((await client.query('SELECT user_id FROM users ORDER BY 1')).rows, [{ user_id: '1' }, { user_id: '3' }]);
    assert.equal((await client.query('SELECT max(__lsn) AS lsn FROM arka_changes(\'users\')')).rows[0].lsn, before);
  });

  test('append-only tables refuse UPDATE and DELETE with a hint', async () => {
    await client.query("INSERT INTO events VALUES ('2024-01-01 00:00:00+00', 1, 12.5)");
    const update = await sqlError(client.query('UPDATE events SET amount = 1'));
    assert.equal(update.code, '0A000');
    assert.match(update.hint!, /PRIMARY KEY/);
    assert.equal((await sqlError(client.query('DELETE FROM events'))).code, '0A000');
    assert.equal((await client.query('SELECT count(*) AS n FROM events')).rows[0].n, '1');
  });

  test('EXPLAIN ANALYZE of a write is refused (it would bypass the WAL); EXPLAIN of one shows its plan', async () => {
    const before = (await client.query('SELECT count(*) AS n FROM events')).rows[0].n;
    const refused = await sqlError(client.query("EXPLAIN ANALYZE INSERT INTO events VALUES ('2024-01-02 00:00:00+00', 2, 1)"));
    assert.equal(refused.code, '0A000');
    assert.match(refused.hint!, /write-ahead log/);
    assert.equal((await sqlError(client.query('EXPLAIN (ANALYZE) DELETE FROM users'))).code, '0A000');
    const plan = await client.query("EXPLAIN INSERT INTO events VALUES ('2024-01-02 00:00:00+00', 2, 1)");
    assert.ok(plan.rows.length > 0);
    assert.ok((await client.query('EXPLAIN ANALYZE SELECT count(*) FROM events')).rows.length > 0);
    assert.equal((await client.query('SELECT count(*) AS n FROM events')).rows[0].n, before, 'nothing was inserted');
  });

  test('UPDATE and DELETE with expressions over the old row, joins and RETURNING', async () => {
    await client.query('CREATE TABLE accounts (id int PRIMARY KEY, balance numeric(10,2), owner text)');
    await client.query("INSERT INTO accounts VALUES (1, 100, 'a'), (2, 50, 'b'), (3, 0, 'c')");
    const moved = await client.query("UPDATE accounts SET balance = balance * 2, owner = upper(owner) WHERE balance > 10 RETURNING id, balance, owner");
    assert.deepEqual(moved.rows, [{ id: '1', balance: '200.00', owner: 'A' }, { id: '2', balance: '100.00', owner: 'B' }]);
    await client.query('CREATE TABLE closing (id int PRIMARY KEY)');
    await client.query('INSERT INTO closing VALUES (2), (3)');
    const deleted = await client.query('DELETE FROM accounts a USING closing c WHERE a.id = c.id RETURNING a.id');
    assert.deepEqual(deleted.rows.map((r) => r.id).sort(), ['2', '3']);
    const swapped = await client.query('UPDATE accounts SET id = id + 1000');
    assert.equal(swapped.rowCount, 1);
    assert.deepEqual((await client.query('SELECT id FROM accounts')).rows, [{ id: '1001' }]);
  });

  test('transactions: atomic across tables, read their own writes, roll back', async () => {
    await client.query('CREATE TABLE t1 (id int PRIMARY KEY)');
    await client.query('CREATE TABLE t2 (id int)');
    const other = await arka.client({ types: rawTypes });
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO t1 VALUES (1)');
      await client.query('INSERT INTO t2 VALUES (1)');
      assert.equal((await client.query('SELECT count(*) AS n FROM t1')).rows[0].n, '1');
      await client.query('ROLLBACK');
      assert.equal((await client.query('SELECT (SELECT count(*) FROM t1) + (SELECT count(*) FROM t2) AS n')).rows[0].n, '0');

      await client.query('BEGIN');
      await client.query('INSERT INTO t1 VALUES (2)');
      await client.query('INSERT INTO t2 VALUES (2)');
      await client.query('COMMIT');
      assert.equal((await other.query('SELECT count(*) AS n FROM t1 JOIN t2 USING (id)')).rows[0].n, '1');

      await client.query('BEGIN');
      await client.query('INSERT INTO t1 VALUES (3)');
      assert.equal((await sqlError(client.query('INSERT INTO t1 VALUES (3)'))).code, '23505');
      assert.equal((await sqlError(client.query('SELECT 1'))).code, '25P02');
      assert.equal((await client.query('COMMIT')).command, 'ROLLBACK');
      assert.equal((await client.query('SELECT count(*) AS n FROM t1 WHERE id = 3')).rows[0].n, '0');

      // A multi-statement Query is one implicit transaction.
      await sqlError(client.query('INSERT INTO t1 VALUES (4); INSERT INTO t1 VALUES (4)'));
      assert.equal((await client.query('SELECT count(*) AS n FROM t1 WHERE id = 4')).rows[0].n, '0');
    } finally {
      await other.end();
    }
  });

  test('ORM-style usage through pg: parameters, RETURNING, upserts', async () => {
    await client.query('CREATE TABLE people (id bigserial PRIMARY KEY, email text NOT NULL, score double precision, born date)');
    const created = await client.query('INSERT INTO people (email, score, born) VALUES ($1, $2, $3) RETURNING id, email', ['a@x', 1.5, '2000-01-02']);
    assert.deepEqual(created.rows, [{ id: '1', email: 'a@x' }]);
    assert.equal(created.fields[0]!.dataTypeID, 20);
    const upsert = 'INSERT INTO people (id, email, score) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET score = EXCLUDED.score RETURNING score';
    assert.deepEqual((await client.query(upsert, [1, 'a@x', 9])).rows, [{ score: '9' }]);
    assert.equal((await client.query('UPDATE people SET score = score + $1 WHERE id = $2', [1, 1])).rowCount, 1);
    assert.equal((await client.query('DELETE FROM people WHERE email = $1', ['nobody'])).rowCount, 0);
    await client.query('BEGIN');
    await client.query('INSERT INTO people (email) VALUES ($1)', ['b@x']);
    await client.query('COMMIT');
    const all = await client.query('SELECT id, email, score, born FROM people ORDER BY id');
    assert.deepEqual(all.rows, [
      { id: '1', email: 'a@x', score: '10', born: '2000-01-02' },
      { id: '2', email: 'b@x', score: null, born: null },
    ]);
  });

  test('a write is visible to every other connection once acknowledged', async () => {
    await client.query('CREATE TABLE seen (id int PRIMARY KEY, by int)');
    const clients = await Promise.all(Array.from({ length: 8 }, () => arka.client({ types: rawTypes })));
    try {
      await Promise.all(
        clients.map(async (c, i) => {
          for (let k = 0; k < 10; k++) {
            const id = i * 100 + k;
            await c.query('INSERT INTO seen VALUES ($1, $2)', [id, i]);
            const reader = clients[(i + 1) % clients.length]!;
            assert.equal((await reader.query('SELECT count(*) AS n FROM seen WHERE id = $1', [id])).rows[0].n, '1');
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});

describe('COPY', () => {
  let arka: ArkaProcess;
  let postgres: PostgresServer;
  let client: pg.Client;
  let reference: pg.Client;
  const schema = 'CREATE TABLE copied (id int PRIMARY KEY, name text, amount numeric(12,2), ts timestamptz, ok boolean)';
  before(async () => {
    [arka, postgres] = await Promise.all([startArka(), startPostgres()]);
    client = await arka.client({ types: rawTypes });
    reference = new pg.Client({ host: postgres.host, port: postgres.port, user: 'postgres', database: 'postgres', types: rawTypes });
    await reference.connect();
    for (const c of [client, reference]) {
      await c.query("SET TimeZone = 'UTC'");
      await c.query(schema);
    }
  });
  after(async () => {
    await client?.end();
    await reference?.end();
    await arka?.destroy();
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const dir = mkdtempSync(join(tmpdir(), 'arka-copy-files-'));
  const contents = async (c: pg.Client) => (await c.query({ text: 'SELECT * FROM copied ORDER BY id', rowMode: 'array' })).rows;

  test('text, CSV and binary in, the same rows as PostgreSQL', async () => {
    const text = join(dir, `arka-copy-${process.pid}.txt`);
    writeFileSync(text, '1\tplain\t1.50\t2024-01-02 03:04:05+00\tt\n2\twith\\ttab \\\\ and \\N\t\\N\t\\N\tf\n');
    const csv = join(dir, `arka-copy-${process.pid}.csv`);
    writeFileSync(csv, 'id;name;amount;ts;ok\n3;"quoted; ""text""";2;2024-06-01 00:00:00+02;true\n4;;;;\n5;"";0;;false\n');
    const binary = join(dir, `arka-copy-${process.pid}.bin`);
    await reference.query('CREATE TABLE binary_source (id int, name text, amount numeric(12,2), ts timestamptz, ok boolean)');
    await reference.query("INSERT INTO binary_source VALUES (6, 'bin ✓', 12345.67, '2000-01-01 00:00:00.5+00', true), (7, NULL, -1, NULL, NULL)");
    const exported = await psql(postgres.port, `\\copy binary_source TO '${binary}' (FORMAT binary)\n`, 'postgres', 'postgres');
    assert.equal(exported.code, 0, exported.stderr);
    const script = [`\\copy copied FROM '${text}'`, `\\copy copied FROM '${csv}' (FORMAT csv, HEADER true, DELIMITER ';')`, `\\copy copied FROM '${binary}' (FORMAT binary)`].join('\n');
    const [mine, theirs] = await Promise.all([psql(arka.port, script + '\n'), psql(postgres.port, script + '\n', 'postgres', 'postgres')]);
    assert.equal(mine.stderr, theirs.stderr);
    assert.equal(mine.stdout, theirs.stdout);
    assert.deepEqual(await contents(client), await contents(reference));
  });

  test('COPY TO STDOUT in text, CSV and binary is byte for byte PostgreSQL\'s', async () => {
    for (const format of ['', '(FORMAT csv, HEADER true)', '(FORMAT binary)']) {
      const out = (port: number) => join(dir, `arka-out-${process.pid}-${port}`);
      const script = (port: number) => `\\copy (SELECT * FROM copied ORDER BY id) TO '${out(port)}' ${format}\n\\copy copied TO '${out(port)}.all' ${format}\n`;
      const [mine, theirs] = await Promise.all([psql(arka.port, script(arka.port)), psql(postgres.port, script(postgres.port), 'postgres', 'postgres')]);
      assert.equal(mine.code, 0, mine.stderr);
      assert.equal(theirs.code, 0, theirs.stderr);
      const { readFileSync } = await import('node:fs');
      assert.deepEqual(readFileSync(out(arka.port)), readFileSync(out(postgres.port)), `COPY TO ${format}`);
      assert.equal(readFileSync(`${out(arka.port)}.all`).length, readFileSync(`${out(postgres.port)}.all`).length);
    }
  });

  test('a bad row rejects the whole COPY, with its line number', async () => {
    const bad = join(dir, `arka-bad-${process.pid}.csv`);
    writeFileSync(bad, 'id,name,amount,ts,ok\n100,a,1,,\n101,b,1,,\n102,c,not a number,,\n');
    const before = await contents(client);
    const result = await psql(arka.port, `\\copy copied FROM '${bad}' CSV HEADER\n`);
    assert.match(result.stderr, /ERROR: {2}invalid input syntax for type numeric: "not a number"/);
    assert.match(result.stderr, /CONTEXT: {2}COPY copied, line 4, column amount: "not a number"/);
    const duplicate = join(dir, `arka-dup-${process.pid}.csv`);
    writeFileSync(duplicate, '200,x,1,,\n1,dup,1,,\n');
    const dup = await psql(arka.port, `\\copy copied FROM '${duplicate}' CSV\n`);
    assert.match(dup.stderr, /duplicate key value violates unique constraint "copied_pkey"/);
    const extra = join(dir, `arka-extra-${process.pid}.csv`);
    writeFileSync(extra, '300,x,1,,,surplus\n');
    const surplus = await psql(arka.port, `\\copy copied FROM '${extra}' CSV\n`);
    assert.match(surplus.stderr, /ERROR: {2}extra data after last expected column/);
    assert.deepEqual(await contents(client), before);
  });

  test('huge rows, and a client that disconnects mid-COPY', async () => {
    const big = 'x'.repeat(8 * 1024 * 1024);
    const wire = await WireClient.connect(arka.port);
    wire.send(serialize.query('COPY copied (id, name) FROM STDIN'));
    await wire.until('copyInResponse');
    wire.send(serialize.copyData(Buffer.from(`1000\t${big}\n`)), serialize.copyData(Buffer.from('1001\tsmall\n')), serialize.copyDone());
    const done = await wire.until('readyForQuery');
    assert.deepEqual(names(done), ['commandComplete', 'readyForQuery']);
    assert.equal(done[0]!['text'], 'COPY 2');
    assert.equal((await client.query('SELECT length(name) AS n FROM copied WHERE id = 1000')).rows[0].n, String(big.length));
    wire.send(serialize.query('COPY copied (id, name) FROM STDIN'));
    await wire.until('copyInResponse');
    wire.send(serialize.copyData(Buffer.from('2000\tnever\n')));
    wire.socket.destroy();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await client.query('SELECT count(*) AS n FROM copied WHERE id = 2000')).rows[0].n, '0');
    const failing = await WireClient.connect(arka.port);
    failing.send(serialize.query('COPY copied (id, name) FROM STDIN'));
    await failing.until('copyInResponse');
    failing.send(serialize.copyData(Buffer.from('2001\tnever\n')), serialize.copyFail('client gave up'));
    const failed = await failing.until('readyForQuery');
    assert.equal(failed.find((m) => m.name === 'error')!['code'], '57014');
    failing.end();
    assert.equal((await client.query('SELECT count(*) AS n FROM copied WHERE id >= 2000')).rows[0].n, '0');
    // Neither COPY left its file, or the FIFO its rows were staged through as they arrived.
    assert.deepEqual(readdirSync(join(arka.dataDir, 'tmp')), []);
  });

  test('a table changed while a COPY into it is arriving: the rows take the new definition', async () => {
    await client.query('CREATE TABLE copy_ddl (id int, v text)');
    const wire = await WireClient.connect(arka.port);
    wire.send(serialize.query('COPY copy_ddl (id, v) FROM STDIN'));
    await wire.until('copyInResponse');
    wire.send(serialize.copyData(Buffer.from('1\tone\n')));
    // The rows being staged as they arrive were cast for the table as it was: they are staged again.
    await client.query("ALTER TABLE copy_ddl ADD COLUMN note text DEFAULT 'later'");
    wire.send(serialize.copyData(Buffer.from('2\ttwo\n')), serialize.copyDone());
    const done = await wire.until('readyForQuery');
    assert.deepEqual(names(done), ['commandComplete', 'readyForQuery']);
    assert.equal(done[0]!['text'], 'COPY 2');
    wire.end();
    const rows = (await client.query({ text: 'SELECT id, v, note FROM copy_ddl ORDER BY id', rowMode: 'array' })).rows;
    assert.deepEqual(rows, [['1', 'one', 'later'], ['2', 'two', 'later']]);
  });

  test('the table dropped while a COPY into it is arriving: 42P01, and the staging database of the COPY goes', async () => {
    await client.query('CREATE TABLE copy_gone (id int, v text)');
    const copyWhile = async (ddl: string, code: string) => {
      const wire = await WireClient.connect(arka.port);
      wire.send(serialize.query('COPY copy_gone (id, v) FROM STDIN'));
      await wire.until('copyInResponse');
      wire.send(serialize.copyData(Buffer.from('1\tone\n')));
      await client.query(ddl);
      wire.send(serialize.copyData(Buffer.from('2\ttwo\n')), serialize.copyDone());
      const done = await wire.until('readyForQuery');
      assert.deepEqual(names(done), ['error', 'readyForQuery'], ddl);
      assert.equal(done[0]!['code'], code, ddl);
      wire.end();
      const staging = await client.query("SELECT database_name FROM duckdb_databases() WHERE database_name LIKE 'arka_copy%'");
      assert.deepEqual(staging.rows, [], `a staging database outlived the COPY refused after ${ddl}`);
    };
    await copyWhile('DROP TABLE copy_gone', '42P01');
  });
});

// Inserts acknowledged from the WAL and applied to DuckDB afterwards (the
// direct path): the values they store and the errors they give must be
// PostgreSQL's, whether the JS conversion takes them or hands them on to
// DuckDB; reads wait for the apply, bounded.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { directInsert } from '../src/write/direct-insert.js';
import { insertAsJson } from '../src/write/json-insert.js';
import { mergeByTable } from '../src/write/apply.js';
import type { FastCell, FastInsert } from '../src/write/dml.js';
import type { WriteTable } from '../src/write/tables.js';
import { readInput } from '../src/write/value-input.js';
import { startArka, type ArkaProcess } from './support/arka.js';
import { startPostgres, type PostgresServer } from './support/postgres.js';
import { rawTypes } from './support/raw-types.js';

describe('value input in JS', () => {
  test('accepts what PostgreSQL accepts, exactly', () => {
    assert.equal(readInput('INTEGER', ' 42 '), 42);
    assert.equal(readInput('INTEGER', '+7'), 7);
    assert.equal(readInput('INTEGER', '-2147483648'), -2147483648);
    assert.equal(readInput('SMALLINT', '32767'), 32767);
    assert.equal(readInput('BIGINT', '-9223372036854775808'), -9223372036854775808n);
    assert.equal(readInput('DOUBLE', '1e3'), 1000);
    assert.equal(readInput('DOUBLE', ' .5'), 0.5);
    assert.equal(readInput('DOUBLE', '0.0'), 0);
    assert.equal(readInput('FLOAT', '0.1'), Math.fround(0.1));
    assert.equal(readInput('VARCHAR', " it's "), " it's ");
    assert.equal(readInput('BOOLEAN', ' YES '), true);
    assert.equal(readInput('BOOLEAN', 'off'), false);
  });

  test('hands on anything it is not sure of (DuckDB then gives PostgreSQL’s error or value)', () => {
    for (const [type, text] of [
      ['INTEGER', '2147483648'],
      ['INTEGER', '1.5'],
      ['INTEGER', '1_000'],
      ['INTEGER', ''],
      ['SMALLINT', '32768'],
      ['BIGINT', '9223372036854775808'],
      ['DOUBLE', '1e400'],
      ['DOUBLE', '1e-400'],
      ['DOUBLE', 'NaN'],
      ['DOUBLE', 'Infinity'],
      ['FLOAT', '1e39'],
      ['FLOAT', '1e-50'],
      ['VARCHAR', 'a\0b'],
      ['VARCHAR', 'bad \uFFFD'],
      ['BOOLEAN', 'maybe'],
      ['DATE', '2024-01-01'],
      ['DECIMAL(12,2)', '1.50'],
    ] as const) {
      assert.equal(readInput(type, text), undefined, `${type} ${JSON.stringify(text)}`);
    }
  });

  const table = (overrides: Partial<WriteTable> = {}): WriteTable => ({
    schema: 'public',
    name: 't',
    kind: 'append_only',
    primaryKey: [],
    columns: [
      { name: 'id', type: 'INTEGER', notNull: true, default: null, wal: 'int32' },
      { name: 'label', type: 'VARCHAR', notNull: false, default: null, wal: 'text' },
      { name: 'at', type: 'DATE', notNull: false, default: null, wal: 'text' },
    ],
    qualified: '"public"."t"',
    changes: 'arka_meta."changes_t"',
    checkedOnApply: false,
    ...overrides,
  });
  const cell = (text: string | null, origin: FastCell['origin'] = 'unknown'): FastCell => ({ sql: '', text, origin });
  const insert = (rows: (FastCell | null)[][], columns?: string[]): FastInsert => ({ schema: 'public', name: 't', columns, rows });

  test('an insert is direct only when nothing in the table’s state can change its outcome', () => {
    assert.deepEqual(directInsert(table(), insert([[cell('1'), cell('a')]]))?.rows, [[1, 'a', null]]);
    assert.deepEqual(directInsert(table(), insert([[cell('x'), cell('2')]], ['label', 'id']))?.rows, [[2, 'x', null]]);
    assert.deepEqual(directInsert(table(), insert([[cell('12', 'integer'), cell('12', 'integer')]]))?.rows, [[12, '12', null]]);
    assert.deepEqual(directInsert(table(), insert([[cell('3', { type: 'INTEGER' }), cell(null)]]))?.rows, [[3, null, null]]);
    const refused: [string, WriteTable, FastInsert][] = [
      ['a primary key', table({ kind: 'primary_key', primaryKey: ['id'] }), insert([[cell('1')]])],
      ['constraints DuckDB checks', table({ checkedOnApply: true }), insert([[cell('1')]])],
      ['NULL into NOT NULL', table(), insert([[cell(null), cell('a')]])],
      ['an omitted NOT NULL column', table(), insert([[cell('a')]], ['label'])],
      ['a default that is not NULL', table({ columns: table().columns.map((c) => (c.name === 'label' ? { ...c, default: "'x'" } : c)) }), insert([[cell('1')]], ['id'])],
      ['a value of a type JS does not read', table(), insert([[cell('1'), cell('a'), cell('2024-01-01')]])],
      ['a parameter of another type', table(), insert([[cell('1', { type: 'BIGINT' })]])],
      ['a decimal constant into an integer', table(), insert([[cell('1.5', 'numeric')]])],
      ['a boolean into an integer', table(), insert([[cell('t', 'boolean')]])],
      ['a cast', table(), insert([[{ sql: "CAST('1' AS INTEGER)", text: '1', origin: undefined }]])],
      ['an unknown column', table(), insert([[cell('1')]], ['nope'])],
      ['a column named twice', table(), insert([[cell('1'), cell('2')]], ['id', 'id'])],
      ['more values than columns', table(), insert([[cell('1'), cell('a'), cell(null), cell('4')]])],
    ];
    for (const [why, t, i] of refused) assert.equal(directInsert(t, i), undefined, why);
  });
});

describe('direct inserts against PostgreSQL', () => {
  let arka: ArkaProcess;
  let postgres: PostgresServer;
  let mine: pg.Client;
  let theirs: pg.Client;
  const schema = [
    'CREATE TABLE d (n int, i2 smallint, i4 int, i8 bigint, f4 real, f8 double precision, t text, vc varchar(10), b boolean, day date)',
    "CREATE TABLE dn (k int NOT NULL, v text DEFAULT 'default')",
  ];

  before(async () => {
    [arka, postgres] = await Promise.all([startArka({ args: ['--log-level', 'trace'] }), startPostgres()]);
    mine = await arka.client({ types: rawTypes });
    theirs = new pg.Client({ host: postgres.host, port: postgres.port, user: 'postgres', database: 'postgres', types: rawTypes });
    await theirs.connect();
    for (const sql of schema) await Promise.all([mine.query(sql), theirs.query(sql)]);
  });
  after(async () => {
    await mine?.end();
    await theirs?.end();
    await arka?.destroy();
    await postgres?.stop();
  });

  type Outcome = { tag?: string; code?: string; message?: string };
  const run = async (client: pg.Client, text: string, values?: unknown[]): Promise<Outcome> => {
    try {
      const result = await client.query({ text, values });
      return { tag: `${result.command} ${result.rowCount}` };
    } catch (error) {
      const { code, message } = error as { code: string; message: string };
      return { code, message };
    }
  };

  test('every value stored, and every error, is PostgreSQL’s', async () => {
    const cases: [string, unknown[]?][] = [
      ["INSERT INTO d (n, i4, t) VALUES (1, 1, 'warm-up: the first insert loads the table')"],
      ["INSERT INTO d (n, i2, i4, i8, f4, f8, t, vc, b) VALUES (2, ' 12 ', '+5', '-9223372036854775808', '0.1', '1e3', 'it''s', 'short', 'yes')"],
      ['INSERT INTO d (n, i2, i4, i8, f4, f8, t, vc, b) VALUES (3, 1, 2, 3, 1.5, 2.25, 12, 34, true)'],
      ["INSERT INTO d (n, f4, f8) VALUES (4, '3.4028235e38', '1.7976931348623157e308')"],
      ["INSERT INTO d (n, f4, f8) VALUES (5, '1.17549435e-38', '4.9e-324')"],
      ["INSERT INTO d (n, b) VALUES (6, 'off'), (7, ' TRUE '), (8, '0')"],
      ['INSERT INTO d (n, i4, t) VALUES (9, NULL, NULL), (10, DEFAULT, DEFAULT)'],
      ["INSERT INTO d (n, i8, f8) VALUES (11, 99999999999, 99999999999.5)"],
      ["INSERT INTO d (n, day) VALUES (12, '2024-02-29')"],
      ["INSERT INTO dn VALUES (1, 'direct')"],
      ['INSERT INTO dn (k) VALUES (2)'],
      ["INSERT INTO dn VALUES (NULL, 'null key')"],
      ["INSERT INTO dn (v) VALUES ('omitted')"],
      ['INSERT INTO dn VALUES ($1, $2)', [null, 'null parameter']],
      ["INSERT INTO d (n, i2) VALUES (14, '32768')"],
      ["INSERT INTO d (n, i4) VALUES (15, 'abc')"],
      ["INSERT INTO d (n, i4) VALUES (16, '1.5')"],
      ["INSERT INTO d (n, i4) VALUES (17, 1.5)"],
      ["INSERT INTO d (n, f4) VALUES (18, '1e39')"],
      ["INSERT INTO d (n, f8) VALUES (19, '1e-400')"],
      ["INSERT INTO d (n, b) VALUES (20, 'maybe')"],
      ["INSERT INTO d (n, i4) VALUES (23, 'NaN')"],
      ["INSERT INTO d (n, f8) VALUES (24, 'NaN'), (25, '-Infinity')"],
      ['INSERT INTO d (n, i2, i4, i8, f4, f8, t, b) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [26, '7', ' 8', '9', '0.25', '-1.5e-7', 'param ✓', 'on']],
      ['INSERT INTO d (n, i4, t) VALUES ($1, $2, $3)', [27, null, "quote ' and \\ backslash"]],
      ['INSERT INTO d (n, i4) VALUES ($1, $2)', [28, '2147483648']],
      ['INSERT INTO d (n, i4) VALUES ($1, $2)', [29, 'x']],
      ['INSERT INTO d (n, i2) VALUES ($1::int, $2::int)', [30, '5']],
      ["INSERT INTO d VALUES (31, 1, 2, 3, 4, 5, 6, 7, true, '2024-01-01')"],
      ['INSERT INTO d VALUES (33, 1, 2, 3, 4, 5, 6, 7, true)'],
      ['INSERT INTO d VALUES (34, 1, 2, 3, 4, 5, 6, 7, true, NULL, 11)'],
      ["INSERT INTO d (n, t, vc) VALUES (32, repeat('x', 3), 'ok')"],
      ["INSERT INTO d (n, f4, f8, t) VALUES (35, '-0', '-0', 'emoji 😀, \"json\" [1,2] and a tab\t')"],
      ["INSERT INTO d (n, f4, f8, i8, i2) VALUES (36, '-3.4028235e38', '-4.9e-324', '9223372036854775807', '-32768'), (37, NULL, NULL, NULL, NULL)"],
    ];
    for (const [sql, values] of cases) {
      const [a, p] = await Promise.all([run(mine, sql, values), run(theirs, sql, values)]);
      assert.deepEqual(a, p, sql);
    }
    const rows = async (client: pg.Client) =>
      (await client.query({ text: 'SELECT n, i2, i4, i8, f4, f8, t, vc, b, day FROM d ORDER BY n', rowMode: 'array' })).rows;
    assert.deepEqual(await rows(mine), await rows(theirs));
    const keyed = async (client: pg.Client) => (await client.query({ text: 'SELECT k, v FROM dn ORDER BY k', rowMode: 'array' })).rows;
    assert.deepEqual(await keyed(mine), await keyed(theirs));
    const changes = (await mine.query("SELECT count(*) AS n, count(DISTINCT __lsn) AS lsns FROM arka_changes('d')")).rows[0];
    assert.deepEqual(changes, { n: String((await rows(theirs)).length), lsns: changes.lsns });
    assert.equal(changes.lsns, changes.n);
    assert.ok(arka.logs().includes('"msg":"applied to DuckDB"'), 'some of the inserts took the direct path');
  });

  test('another connection sees an acknowledged insert: its read waits for it to be visible', async () => {
    await mine.query('CREATE TABLE seen (k int, v text)');
    const readers = await Promise.all([arka.client({ types: rawTypes }), arka.client({ types: rawTypes })]);
    try {
      for (let i = 0; i < 200; i++) {
        await mine.query({ text: 'INSERT INTO seen VALUES ($1, $2)', values: [i, `v${i}`] });
        const reader = readers[i % 2]!;
        const { rows } = await reader.query({ text: 'SELECT count(*) AS n, max(k) AS k FROM seen', rowMode: 'array' });
        assert.deepEqual(rows, [[String(i + 1), String(i)]]);
      }
      // The reads went through the hot tier; the CDC log is read from DuckDB, so reading it waits for the apply.
      assert.deepEqual((await mine.query("SELECT count(*) AS n FROM arka_changes('seen')")).rows, [{ n: '200' }]);
      const status = (await mine.query('SELECT wal_lsn = duckdb_lsn AS caught_up, apply_lag FROM arka_status()')).rows[0];
      assert.deepEqual(status, { caught_up: 't', apply_lag: '0' });
    } finally {
      await Promise.all(readers.map((r) => r.end()));
    }
  });
});

describe('a read that waits too long for the apply', () => {
  let arka: ArkaProcess;
  before(async () => {
    arka = await startArka({ args: ['--read-wait-timeout', '1'] });
  });
  after(async () => {
    await arka?.destroy();
  });

  test('fails with 57014 and a hint, and a later read sees everything', async () => {
    const writer = await arka.client({ types: rawTypes });
    const reader = await arka.client({ types: rawTypes });
    try {
      await writer.query('CREATE TABLE bulk (k int, v text)');
      await writer.query("INSERT INTO bulk VALUES (0, 'warm-up')");
      const rows = 20_000;
      const values = Array.from({ length: rows }, (_, i) => `(${i + 1}, 'payload ${i}')`).join(', ');
      let timedOut: { code: string; message: string; hint: string } | undefined;
      for (let attempt = 0; attempt < 5 && !timedOut; attempt++) {
        await writer.query(`INSERT INTO bulk VALUES ${values}`);
        try {
          await reader.query('SELECT count(*) FROM bulk');
        } catch (error) {
          timedOut = error as typeof timedOut;
        }
      }
      assert.ok(timedOut, 'applying 20,000 rows takes more than 1 ms');
      assert.equal(timedOut.code, '57014');
      assert.match(timedOut.message, /^canceling statement: the writes acknowledged before it \(up to LSN \d+\) were not applied within 1 ms$/);
      assert.match(timedOut.hint, /--read-wait-timeout/);
      let count: string | undefined;
      for (let attempt = 0; attempt < 1000 && count === undefined; attempt++) {
        count = await reader.query('SELECT count(*) AS n FROM bulk').then(
          (r) => r.rows[0].n as string,
          () => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20)),
        );
      }
      assert.equal(Number(count) % rows, 1, 'every acknowledged insert is there once the apply caught up');
    } finally {
      await writer.end();
      await reader.end();
    }
  });
});

describe('--apply-interval', () => {
  let arka: ArkaProcess | undefined;
  after(async () => {
    await arka?.destroy();
  });

  test('acknowledged inserts wait for the interval to reach DuckDB (a crash replays them from the WAL); a read applies them at once', async () => {
    arka = await startArka({ args: ['--apply-interval', '600000'] });
    const writer = await arka.client({ types: rawTypes });
    // No interval has begun before the first apply after a start: this one is applied at once.
    await writer.query('CREATE TABLE earlier (k int)');
    await writer.query('INSERT INTO earlier VALUES (1)');
    await writer.query('CREATE TABLE later (k int, v text)');
    await writer.query("INSERT INTO later VALUES (0, 'the first insert into the table')");
    for (let k = 1; k <= 3; k++) await writer.query({ text: 'INSERT INTO later VALUES ($1, $2)', values: [k, `row ${k}`] });
    await writer.end();
    // Far longer than the default interval: without the option the inserts would be applied by now.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await arka.kill();

    arka = await startArka({ dataDir: arka.dataDir, args: ['--apply-interval', '600000'] });
    const replayed = Number(/"replayedUnits":(\d+)/.exec(arka.logs())?.[1]);
    // Each insert into `later` is direct, the first too (the writer loads the table's definition beforehand).
    assert.equal(replayed, 4, 'the direct inserts were acknowledged but not applied: the WAL replays them');
    const client = await arka.client({ types: rawTypes });
    try {
      await client.query("INSERT INTO later VALUES (4, 'after the restart')");
      const { rows } = await client.query({ text: 'SELECT k, v FROM later ORDER BY k', rowMode: 'array' });
      assert.deepEqual(rows, [['0', 'the first insert into the table'], ['1', 'row 1'], ['2', 'row 2'], ['3', 'row 3'], ['4', 'after the restart']]);
    } finally {
      await client.end();
    }
  });

  test('a value that is not a positive integer is refused at start', async () => {
    await assert.rejects(startArka({ args: ['--apply-interval', '0'] }), /--apply-interval must be a positive integer, got "0"/);
  });
});

describe('the apply as JSON parameters', () => {
  test('a batch with a value JSON cannot carry exactly is left to the appender, untouched', async () => {
    const batch = (kind: 'text' | 'float64', value: unknown) => ({
      table: 't',
      columns: [{ name: 'c', kind }],
      values: [[value]],
      lsns: [1n],
      changeTypes: ['INSERT'],
      timestamps: [0n],
    });
    // Refused before DuckDB is used: no connection or table is needed to tell.
    for (const refused of [batch('text', 'lone \uD800 surrogate'), batch('float64', Number.NaN), batch('float64', -Infinity)]) {
      assert.equal(await insertAsJson(undefined as never, undefined as never, refused), false);
    }
  });
});

describe('one apply of many commit groups', () => {
  test('merges large groups of one table into one batch, in LSN order, leaving the groups as they were', () => {
    const t = { schema: 'public', name: 't' } as WriteTable; // only its identity matters here
    const rows = 300_000; // past what a spread into push() takes as arguments
    const group = (first: number) => ({
      table: t,
      batch: {
        table: 't',
        columns: [{ name: 'id', kind: 'int32' as const }],
        values: [Array.from({ length: rows }, (_, i) => first + i)],
        lsns: Array.from({ length: rows }, (_, i) => BigInt(first + i)),
        changeTypes: new Array<string>(rows).fill('INSERT'),
        timestamps: new Array<bigint>(rows).fill(0n),
      },
    });
    const groups = [group(1), group(1 + rows), group(1 + 2 * rows)];
    const [merged, ...others] = mergeByTable(groups);
    assert.equal(others.length, 0);
    assert.equal(merged!.table, t);
    assert.equal(merged!.batch.lsns.length, 3 * rows);
    assert.equal(merged!.batch.values[0]!.length, 3 * rows);
    assert.ok(merged!.batch.lsns.every((lsn, i) => lsn === BigInt(i + 1)));
    assert.ok(merged!.batch.values[0]!.every((value, i) => value === i + 1));
    assert.ok(groups.every((g) => g.batch.lsns.length === rows && g.batch.values[0]!.length === rows), 'a group was changed');
  });
});

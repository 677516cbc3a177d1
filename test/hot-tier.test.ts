// The hot tier (src/write/hot-tier.ts): a read on any connection sees the
// inserts acknowledged before it through the tables' in-memory twins, before
// the apply has committed them to the persistent database — with the same
// values, each row once, in every query shape — and a crash still replays
// them from the WAL.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { startArka, type ArkaProcess } from './support/arka.js';
import { rawTypes } from './support/raw-types.js';

const status = async (client: pg.Client) => {
  const { rows } = await client.query('SELECT wal_lsn, duckdb_lsn FROM arka_status()');
  return { wal: BigInt(rows[0].wal_lsn), duckdb: BigInt(rows[0].duckdb_lsn) };
};

const rowsOf = async (client: pg.Client, sql: string) => (await client.query({ text: sql, rowMode: 'array' })).rows;

describe('reads through the hot tier, with the apply held back', () => {
  let arka: ArkaProcess;
  let writer: pg.Client;
  let reader: pg.Client;
  before(async () => {
    arka = await startArka({ args: ['--apply-interval', '600000'] });
    writer = await arka.client({ types: rawTypes });
    reader = await arka.client({ types: rawTypes });
    // The first apply after a start runs at once; the ones after it wait for the interval.
    // (The CDC log is not in the hot tier: reading it waits for the apply.)
    await writer.query('CREATE TABLE warm (k int)');
    await writer.query('INSERT INTO warm VALUES (1)');
    await reader.query("SELECT count(*) FROM arka_changes('warm')");
    await writer.query('CREATE TABLE events (k int, big bigint, small smallint, note text, ok boolean, ratio double precision, r real)');
  });
  after(async () => {
    await writer?.end();
    await reader?.end();
    await arka?.destroy();
  });

  test('another connection sees acknowledged inserts before DuckDB has applied them, with the values the apply stores', async () => {
    await writer.query(`INSERT INTO events VALUES (1, 9223372036854775807, -32768, 'first', true, 0.25, 1.5), (2, NULL, NULL, NULL, NULL, NULL, NULL)`);
    await writer.query({ text: 'INSERT INTO events VALUES ($1, $2, $3, $4, $5, $6, $7)', values: [3, '-42', 7, "it's \u00e9\u{1F600}", false, -1.5, '0.1'] });
    const hot = await rowsOf(reader, 'SELECT k, big, small, note, ok, ratio, r FROM events ORDER BY k');
    const { wal, duckdb } = await status(reader);
    assert.ok(duckdb < wal, `the inserts are not applied yet (duckdb_lsn ${duckdb}, wal_lsn ${wal})`);
    assert.deepEqual(hot, [
      ['1', '9223372036854775807', '-32768', 'first', 't', '0.25', '1.5'],
      ['2', null, null, null, null, null, null],
      ['3', '-42', '7', "it's \u00e9\u{1F600}", 'f', '-1.5', '0.1'],
    ]);
    // A view hides which tables it reads: a read of one waits for the apply, and then reads the persistent rows.
    await writer.query('CREATE VIEW events_view AS SELECT * FROM events');
    const cold = await rowsOf(reader, 'SELECT k, big, small, note, ok, ratio, r FROM events_view ORDER BY k');
    const applied = await status(reader);
    assert.equal(applied.duckdb, applied.wal, 'reading the view applied everything acknowledged');
    assert.deepEqual(cold, hot);
    assert.deepEqual(await rowsOf(reader, 'SELECT k, big, small, note, ok, ratio, r FROM events ORDER BY k'), hot, 'each row once after the apply');
  });

  test('every query shape reads the twin: aliases, schema-qualified names, joins, subqueries, prepared statements; a CTE of the same name is the CTE', async () => {
    await writer.query('CREATE TABLE pairs (k int, v text)');
    await writer.query("INSERT INTO pairs VALUES (1, 'one'), (2, 'two')");
    await writer.query('CREATE TABLE keyed (k int PRIMARY KEY, label text)');
    await writer.query("INSERT INTO keyed VALUES (1, 'keyed one')");
    await writer.query("INSERT INTO pairs VALUES (3, 'three')");
    assert.ok((await status(reader)).duckdb < (await status(reader)).wal);
    assert.deepEqual(await rowsOf(reader, 'SELECT p.k, p.v FROM pairs p ORDER BY p.k'), [['1', 'one'], ['2', 'two'], ['3', 'three']]);
    assert.deepEqual(await rowsOf(reader, 'SELECT pairs.v FROM public.pairs WHERE pairs.k = 3'), [['three']]);
    assert.deepEqual(await rowsOf(reader, 'SELECT a.k, b.v FROM pairs AS a JOIN pairs b ON b.k = a.k + 1 ORDER BY a.k'), [['1', 'two'], ['2', 'three']]);
    assert.deepEqual(await rowsOf(reader, 'SELECT count(*) FROM pairs WHERE k IN (SELECT k FROM pairs WHERE v LIKE \'t%\')'), [['2']]);
    assert.deepEqual(await rowsOf(reader, 'SELECT p.v, k.label FROM pairs p LEFT JOIN keyed k USING (k) ORDER BY p.k'), [['one', 'keyed one'], ['two', null], ['three', null]]);
    assert.deepEqual(await rowsOf(reader, 'WITH pairs AS (SELECT 42 AS k) SELECT k FROM pairs'), [['42']]);
    assert.deepEqual(await rowsOf(reader, 'WITH recent AS (SELECT * FROM pairs WHERE k > 1) SELECT count(*) FROM recent'), [['2']]);
    const prepared = { name: 'pairs-count', text: 'SELECT count(*) AS n, max(k) AS m FROM pairs WHERE k >= $1', values: [1] };
    assert.deepEqual((await reader.query(prepared)).rows, [{ n: '3', m: '3' }]);
    await writer.query("INSERT INTO pairs VALUES (4, 'four')");
    assert.deepEqual((await reader.query(prepared)).rows, [{ n: '4', m: '4' }]);
    assert.deepEqual(await rowsOf(reader, 'TABLE pairs ORDER BY k DESC LIMIT 1'), [['4', 'four']]);
    assert.deepEqual(await rowsOf(reader, 'SELECT count(*) FROM ONLY pairs'), [['4']]);
    assert.deepEqual(await rowsOf(reader, "(TABLE pairs) UNION ALL (SELECT 9, 'nine') ORDER BY 1"), [['1', 'one'], ['2', 'two'], ['3', 'three'], ['4', 'four'], ['9', 'nine']]);
    const { wal, duckdb } = await status(reader);
    assert.ok(duckdb < wal, 'all of it read through the twin: nothing was applied');
    // `schema.table.column` is left as written (the read waits for the apply instead).
    assert.deepEqual(await rowsOf(reader, 'SELECT public.pairs.k FROM public.pairs ORDER BY 1'), [['1'], ['2'], ['3'], ['4']]);
  });

  test('a table changed by DDL gets a new twin: rows with the new column are read before the apply', async () => {
    await writer.query('CREATE TABLE grows (k int)');
    await writer.query('INSERT INTO grows VALUES (1)');
    await writer.query("ALTER TABLE grows ADD COLUMN label text DEFAULT 'none'");
    await writer.query("INSERT INTO grows VALUES (2, 'two')");
    assert.ok((await status(reader)).duckdb < (await status(reader)).wal);
    assert.deepEqual(await rowsOf(reader, 'SELECT * FROM grows ORDER BY k'), [['1', 'none'], ['2', 'two']]);
    await writer.query('DROP TABLE grows');
    await writer.query('CREATE TABLE grows (name text, n bigint)');
    await writer.query("INSERT INTO grows VALUES ('again', 7)");
    assert.deepEqual(await rowsOf(reader, 'SELECT * FROM grows'), [['again', '7']]);
  });

  test('the CDC log waits for the apply (it is not in the hot tier)', async () => {
    await writer.query('CREATE TABLE logged (k int)');
    await writer.query('INSERT INTO logged VALUES (10), (20)');
    const changes = await rowsOf(reader, "SELECT k, __change_type FROM arka_changes('logged') ORDER BY __lsn");
    assert.deepEqual(changes, [['10', 'INSERT'], ['20', 'INSERT']]);
    await writer.query('INSERT INTO logged VALUES (30)');
    assert.deepEqual(await rowsOf(reader, 'SELECT count(*) FROM arka_meta.changes_logged'), [['3']], 'the CDC table read by name waits too');
  });

  test('a transaction reads one snapshot of the table and its twin, and an idle one does not keep applied rows in the twin', async () => {
    await writer.query('CREATE TABLE held (k int)');
    await writer.query('INSERT INTO held VALUES (1), (2)');
    const idle = await arka.client({ types: rawTypes });
    try {
      await idle.query('BEGIN');
      assert.deepEqual(await rowsOf(idle, 'SELECT count(*) FROM held'), [['2']]);
      for (let k = 3; k <= 5; k++) await writer.query({ text: 'INSERT INTO held VALUES ($1)', values: [k] });
      assert.deepEqual(await rowsOf(reader, 'SELECT count(*) FROM held'), [['5']]);
      // Reading the CDC log makes the apply commit them; then they leave the twin although the transaction is open.
      assert.deepEqual(await rowsOf(reader, "SELECT count(*) FROM arka_changes('held')"), [['5']]);
      let inTwin: string | undefined;
      for (let attempt = 0; attempt < 100 && inTwin !== '0'; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20));
        inTwin = (await rowsOf(reader, 'SELECT count(*) FROM arka_hot.public.held'))[0][0];
      }
      assert.equal(inTwin, '0', 'the applied rows left the twin');
      assert.deepEqual(await rowsOf(idle, 'SELECT count(*), count(DISTINCT k) FROM held'), [['2', '2']], 'the transaction still reads its snapshot');
      await idle.query('COMMIT');
      assert.deepEqual(await rowsOf(idle, 'SELECT count(*), count(DISTINCT k) FROM held'), [['5', '5']]);
    } finally {
      await idle.end();
    }
  });

  test('a crash before the apply loses nothing: the WAL replays what the twins held', async () => {
    await writer.query('CREATE TABLE crash_hot (k int, v text)');
    for (let k = 1; k <= 5; k++) await writer.query({ text: 'INSERT INTO crash_hot VALUES ($1, $2)', values: [k, `v${k}`] });
    assert.deepEqual(await rowsOf(reader, 'SELECT count(*) FROM crash_hot'), [['5']]);
    assert.ok((await status(reader)).duckdb < (await status(reader)).wal);
    await writer.end();
    await reader.end();
    await arka.kill();
    arka = await startArka({ dataDir: arka.dataDir, args: ['--apply-interval', '600000'] });
    writer = await arka.client({ types: rawTypes });
    reader = await arka.client({ types: rawTypes });
    assert.deepEqual(await rowsOf(reader, 'SELECT k, v FROM crash_hot ORDER BY k'), [1, 2, 3, 4, 5].map((k) => [String(k), `v${k}`]));
    await writer.query("INSERT INTO crash_hot VALUES (6, 'after')");
    assert.deepEqual(await rowsOf(reader, 'SELECT count(*), count(DISTINCT k) FROM crash_hot'), [['6', '6']]);
  });
});

describe('reads while the apply moves rows out of the twins', () => {
  let arka: ArkaProcess;
  before(async () => {
    arka = await startArka({ args: ['--apply-interval', '1'] });
  });
  after(async () => {
    await arka?.destroy();
  });

  test('sixteen connections each read another’s acknowledged insert while the apply commits it: every read finds it', async () => {
    const clients = await Promise.all(Array.from({ length: 16 }, () => arka.client({ types: rawTypes })));
    try {
      for (let round = 0; round < 8; round++) {
        await clients[0]!.query(`CREATE TABLE seen_${round} (who int, i int)`);
        await Promise.all(
          clients.map(async (client, c) => {
            const other = clients[(c + 7) % clients.length]!;
            for (let i = 0; i < 3; i++) {
              await client.query(`INSERT INTO seen_${round} VALUES (${c}, ${i})`);
              const { rows } = await other.query({ text: `SELECT count(*) FROM seen_${round} WHERE who = ${c}`, rowMode: 'array' });
              assert.deepEqual(rows, [[String(i + 1)]], `round ${round}: another connection counts connection ${c}'s rows`);
            }
          }),
        );
      }
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
  });

  test('a connection that closes or reads again right after a read (its transaction still ending) leaves the server whole', async () => {
    const writer = await arka.client({ types: rawTypes });
    try {
      await writer.query('CREATE TABLE brief (k int)');
      for (let round = 0; round < 40; round++) {
        await writer.query(`INSERT INTO brief VALUES (${round})`);
        const client = await arka.client({ types: rawTypes });
        // Simple and extended protocol, back to back: each waits for the ROLLBACK of the read before it.
        const simple = await client.query({ text: 'SELECT count(*) FROM brief', rowMode: 'array' });
        const prepared = await client.query({ name: 'count_brief', text: 'SELECT count(*) FROM brief WHERE k >= $1', values: [0], rowMode: 'array' });
        assert.deepEqual([simple.rows, prepared.rows], [[[String(round + 1)]], [[String(round + 1)]]]);
        // Terminate right behind the read's response: the ROLLBACK may still be running.
        client.query({ text: 'SELECT count(*) FROM brief', rowMode: 'array' }).catch(() => undefined);
        await client.end();
      }
      assert.deepEqual((await writer.query({ text: 'SELECT count(*) FROM brief', rowMode: 'array' })).rows, [['40']]);
      assert.deepEqual([arka.process.exitCode, arka.process.signalCode], [null, null], 'the server is still running');
    } finally {
      await writer.end();
    }
  });

  test('every read counts each acknowledged row exactly once, and never fewer than were acknowledged before it', async () => {
    const writer = await arka.client({ types: rawTypes });
    const readers = await Promise.all([1, 2, 3].map(() => arka.client({ types: rawTypes })));
    const inTransactions = await arka.client({ types: rawTypes });
    await writer.query('CREATE TABLE stream (k int, v text)');
    let acknowledged = 0;
    let writing = true;
    const inserts = 300;
    const rowsPerInsert = 10;
    const reads = readers.map(async (reader) => {
      let last = 0;
      let checked = 0;
      while (writing || checked === 0) {
        const before = acknowledged;
        const { rows } = await reader.query({ text: 'SELECT count(*) AS n, count(DISTINCT k) AS d, coalesce(max(k), 0) AS m FROM stream', rowMode: 'array' });
        const [n, distinct, max] = rows[0].map(Number);
        assert.equal(n, distinct, 'no row is counted twice');
        assert.equal(max, n, 'no row is missing below the highest');
        assert.ok(n >= before, `a read sees the ${before} rows acknowledged before it (saw ${n})`);
        assert.ok(n >= last, 'reads never go backwards');
        last = n;
        checked++;
      }
      return checked;
    });
    const transactions = (async () => {
      let checked = 0;
      while (writing || checked === 0) {
        await inTransactions.query('BEGIN');
        const first = await inTransactions.query({ text: 'SELECT count(*), count(DISTINCT k) FROM stream', rowMode: 'array' });
        await new Promise((resolve) => setTimeout(resolve, 5));
        const second = await inTransactions.query({ text: 'SELECT count(*), count(DISTINCT k) FROM stream', rowMode: 'array' });
        await inTransactions.query('COMMIT');
        assert.equal(first.rows[0][0], first.rows[0][1], 'no row counted twice in a transaction');
        assert.deepEqual(second.rows, first.rows, 'a transaction reads one snapshot');
        checked++;
      }
      return checked;
    })();
    try {
      for (let i = 0; i < inserts; i++) {
        const values = Array.from({ length: rowsPerInsert }, (_, r) => `(${i * rowsPerInsert + r + 1}, 'v')`).join(', ');
        await writer.query(`INSERT INTO stream VALUES ${values}`);
        acknowledged = (i + 1) * rowsPerInsert;
      }
      writing = false;
      const checks = await Promise.all([...reads, transactions]);
      assert.ok(checks.every((n) => n > 0));
      assert.deepEqual((await readers[0]!.query({ text: 'SELECT count(*), count(DISTINCT k) FROM stream', rowMode: 'array' })).rows, [[String(inserts * rowsPerInsert), String(inserts * rowsPerInsert)]]);
      const logged = await readers[0]!.query({ text: "SELECT count(*) FROM arka_changes('stream')", rowMode: 'array' });
      assert.deepEqual(logged.rows, [[String(inserts * rowsPerInsert)]]);
    } finally {
      writing = false;
      await Promise.allSettled([...reads, transactions]);
      await writer.end();
      await Promise.all([...readers, inTransactions].map((r) => r.end()));
    }
  });
});

// An autocommit COPY into an append-only table is acknowledged once its WAL
// frames are fsynced and applied to DuckDB afterwards, from its staging
// database, like a direct insert's rows: every connection's read still sees
// it whole, the CDC log holds it once, reads of other tables do not wait for
// its apply, a kill -9 between the acknowledgement and the apply loses
// nothing and duplicates nothing, and the staging database goes once it is
// applied.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startArka, type ArkaProcess } from './support/arka.js';
import { copyIn } from './support/copy-in.js';
import { WireClient } from './support/wire.js';

const ROWS = 200_000;
const csv = (from: number, count: number) => Buffer.from(Array.from({ length: count }, (_, i) => `${from + i},row ${from + i}\n`).join(''));

/** Waits until DuckDB has applied every acknowledged write (arka_status). */
async function applied(arka: ArkaProcess): Promise<void> {
  const client = await arka.client();
  try {
    for (let tries = 0; tries < 600; tries++) {
      const { rows } = await client.query('SELECT wal_lsn, duckdb_lsn FROM arka_status()');
      if (rows[0].wal_lsn === rows[0].duckdb_lsn) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail('the apply did not catch up within 30 s');
  } finally {
    await client.end();
  }
}

describe('COPY applied after its acknowledgement', () => {
  let arka: ArkaProcess;
  before(async () => {
    arka = await startArka();
  });
  after(async () => {
    await arka?.destroy();
  });

  test('every connection reads the acknowledged rows whole, with the inserts that follow in LSN order', async () => {
    const wire = await WireClient.connect(arka.port);
    const reader = await arka.client();
    const writer = await arka.client();
    try {
      await reader.query('CREATE TABLE later (id bigint, note text)');
      assert.deepEqual(await copyIn(wire, 'COPY later FROM STDIN (FORMAT csv)', [csv(1, ROWS / 2), csv(ROWS / 2 + 1, ROWS / 2)]), { kind: 'acked', tag: `COPY ${ROWS}` });
      // Right behind the acknowledgement: a direct insert from another connection, and reads from a third that wrote nothing.
      await writer.query("INSERT INTO later VALUES (0, 'after the copy')");
      const counted = await reader.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids, sum(id)::text AS total FROM later');
      assert.deepEqual(counted.rows, [{ n: ROWS + 1, ids: ROWS + 1, total: String((ROWS * (ROWS + 1)) / 2) }]);
      const changes = await reader.query({
        text: "SELECT min(__lsn)::text, max(__lsn)::text, count(*)::int, max(__lsn) FILTER (WHERE id = 0)::text FROM arka_changes('later')",
        rowMode: 'array',
      });
      const [first, last, count, insertLsn] = changes.rows[0] as [string, string, number, string];
      assert.equal(count, ROWS + 1);
      assert.equal(BigInt(last) - BigInt(first), BigInt(ROWS), 'the COPY and the insert have consecutive LSNs');
      assert.equal(insertLsn, last, 'the insert that followed the COPY has the last LSN');

      await applied(arka);
      const logs = arka.logs();
      const acknowledged = logs.indexOf('"msg":"COPY FROM STDIN committed"');
      const appliedAt = logs.indexOf('"msg":"COPY applied to DuckDB"');
      assert.ok(acknowledged >= 0 && appliedAt > acknowledged, 'the COPY was acknowledged before it was applied');
      const staging = await reader.query("SELECT database_name FROM duckdb_databases() WHERE database_name LIKE 'arka_copy%'");
      assert.deepEqual(staging.rows, [], 'a staging database outlived its apply');
    } finally {
      wire.end();
      await reader.end();
      await writer.end();
    }
  });

  test('reads of other tables go on through the hot tier while the COPY is applied', async () => {
    const wire = await WireClient.connect(arka.port);
    const client = await arka.client();
    try {
      await client.query('CREATE TABLE bulk (id bigint, note text)');
      await client.query('CREATE TABLE beside (id bigint)');
      const rows = 5 * ROWS;
      const chunks = Array.from({ length: 10 }, (_, i) => csv(1 + (i * rows) / 10, rows / 10));
      assert.deepEqual(await copyIn(wire, 'COPY bulk FROM STDIN (FORMAT csv)', chunks), { kind: 'acked', tag: `COPY ${rows}` });
      // arka_status() reads no table: it answers at once, with the COPY's LSNs acknowledged.
      const copied = BigInt((await client.query('SELECT wal_lsn FROM arka_status()')).rows[0].wal_lsn);
      await client.query('INSERT INTO beside VALUES (1)');
      assert.deepEqual((await client.query('SELECT count(*)::int AS n FROM beside')).rows, [{ n: 1 }]);
      const applied = BigInt((await client.query('SELECT duckdb_lsn FROM arka_status()')).rows[0].duckdb_lsn);
      assert.ok(applied < copied, `the read of another table did not wait for the COPY's apply (DuckDB at ${applied}, the COPY ends at ${copied})`);
      assert.deepEqual((await client.query('SELECT count(*)::int AS n FROM bulk')).rows, [{ n: rows }]);
    } finally {
      wire.end();
      await client.end();
    }
  });

  test('kill -9 right after the acknowledgement: after the restart the rows are there once', async () => {
    const crashing = await startArka();
    try {
      const setup = await crashing.client();
      await setup.query('CREATE TABLE survives (id bigint, note text)');
      await setup.end();
      const wire = await WireClient.connect(crashing.port);
      const outcome = await copyIn(wire, 'COPY survives FROM STDIN (FORMAT csv)', [csv(1, ROWS)]);
      assert.deepEqual(outcome, { kind: 'acked', tag: `COPY ${ROWS}` });
      await crashing.kill();
      wire.end();

      const restarted = await startArka({ dataDir: crashing.dataDir });
      try {
        const client = await restarted.client();
        const { rows } = await client.query("SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids, (SELECT count(*)::int FROM arka_changes('survives')) AS changes FROM survives");
        assert.deepEqual(rows, [{ n: ROWS, ids: ROWS, changes: ROWS }]);
        await client.end();
      } finally {
        await restarted.destroy();
      }
    } finally {
      await crashing.destroy().catch(() => undefined);
    }
  });
});

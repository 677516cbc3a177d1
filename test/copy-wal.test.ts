// A COPY's change records in the WAL are exactly the rows it inserted: read
// from the WAL segment files and compared with the table (arka_changes),
// both for a COPY staged in a database of its own and read again for the WAL
// (every column given, or left out without a default) and for one staged in
// the writer's transaction and read back from the inserted rows (a left-out
// column with a default, which DuckDB evaluates as it inserts). No staging
// database outlives its COPY.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { decodeChangeBatch, type ChangeBatch } from '../src/wal/change-batch.js';
import { scanFrame } from '../src/wal/frame.js';
import { startArka, type ArkaProcess } from './support/arka.js';
import { copyIn } from './support/copy-in.js';
import { segmentPath, segments } from './support/wal-files.js';
import { WireClient } from './support/wire.js';
import { rawTypes } from './support/raw-types.js';

/** Every change batch of `table` in the WAL, in order. */
function walBatches(dataDir: string, table: string): ChangeBatch[] {
  const out: ChangeBatch[] = [];
  for (const name of segments(dataDir)) {
    const bytes = readFileSync(segmentPath(dataDir, name));
    for (let offset = 0; ; ) {
      const scan = scanFrame(bytes, offset);
      if (scan.kind !== 'frame') break;
      for (const encoded of scan.frame.batches) {
        const batch = decodeChangeBatch(encoded);
        if (batch.table === table) out.push(batch);
      }
      offset = scan.end;
    }
  }
  return out;
}

describe('COPY in the WAL', () => {
  let arka: ArkaProcess;
  before(async () => {
    arka = await startArka();
  });
  after(async () => {
    await arka?.destroy();
  });

  test('the WAL holds each COPY row once, with consecutive LSNs, as the table holds it', async () => {
    const client = await arka.client({ types: rawTypes });
    const wire = await WireClient.connect(arka.port);
    try {
      await client.query("CREATE TABLE cw (id int, note text, amount numeric(10,2), ts timestamptz, flag boolean, score float8, n int DEFAULT 7)");
      await client.query("CREATE TABLE cd (id int, note text, stamp timestamptz DEFAULT now(), seq int DEFAULT 3)");
      const rows = Array.from({ length: 5000 }, (_, i) =>
        i % 97 === 0 ? `${i},,,,,,\n` : `${i},"note ${i}, ✓ ""q""",${(i / 7).toFixed(2)},2024-03-0${1 + (i % 9)} 10:00:00.${String(i).padStart(6, '0')}+02,${i % 2 === 0},${i / 3},${i % 11}\n`,
      );
      const full = await copyIn(wire, 'COPY cw FROM STDIN (FORMAT csv)', [Buffer.from(rows.slice(0, 2500).join('')), Buffer.from(rows.slice(2500).join(''))]);
      assert.deepEqual(full, { kind: 'acked', tag: 'COPY 5000' });
      const partial = await copyIn(wire, 'COPY cw (id, note, n) FROM STDIN', [Buffer.from('9001\tleft out: amount, ts, flag, score\t5\n9002\t\\N\t\\N\n')]);
      assert.deepEqual(partial, { kind: 'acked', tag: 'COPY 2' });
      const defaulted = await copyIn(wire, 'COPY cd (id, note) FROM STDIN', [Buffer.from(Array.from({ length: 300 }, (_, i) => `${i}\tdefaulted ${i}\n`).join(''))]);
      assert.deepEqual(defaulted, { kind: 'acked', tag: 'COPY 300' });

      await client.query('CREATE TABLE cs (id bigserial PRIMARY KEY, note text)');
      // Lines longer than the parallel reader takes (2 MB), on both ways of staging.
      const long = 'y'.repeat(3_000_000);
      assert.deepEqual(await copyIn(wire, 'COPY cs FROM STDIN', [Buffer.from(`100\tgiven key\n101\t${long}\n`)]), { kind: 'acked', tag: 'COPY 2' });
      assert.deepEqual(await copyIn(wire, 'COPY cs (note) FROM STDIN', [Buffer.from(`from the sequence\n${long}\n`)]), { kind: 'acked', tag: 'COPY 2' });
      const refused = await copyIn(wire, 'COPY cs FROM STDIN', [Buffer.from('200\tfine\nnot a number\tbad\n')]);
      assert.equal(refused.kind, 'error');
      assert.deepEqual((await client.query('SELECT id, left(note, 17) AS note, length(note) AS length FROM cs ORDER BY id')).rows, [
        { id: '1', note: 'from the sequence', length: '17' },
        { id: '2', note: 'y'.repeat(17), length: '3000000' },
        { id: '100', note: 'given key', length: '9' },
        { id: '101', note: 'y'.repeat(17), length: '3000000' },
      ]);
      const staging = await client.query("SELECT database_name FROM duckdb_databases() WHERE database_name LIKE 'arka_copy%'");
      assert.deepEqual(staging.rows, [], 'a staging database outlived its COPY');

      for (const [table, columns] of [['cw', 'id, note, CAST(amount AS VARCHAR), epoch_us(ts), flag, score, n'], ['cd', 'id, note, epoch_us(stamp), seq'], ['cs', 'id, note']] as const) {
        const stored = (await client.query({ text: `SELECT ${columns}, __lsn FROM arka_changes('${table}') ORDER BY __lsn`, rowMode: 'array' })).rows;
        const batches = walBatches(arka.dataDir, table);
        const logged = batches.flatMap((batch) =>
          batch.lsns.map((lsn, r) => [...batch.values.map((values) => values[r]), lsn, batch.changeTypes[r]]),
        );
        assert.equal(logged.length, stored.length, `${table}: one WAL record per row`);
        logged.forEach((record, r) => {
          const want = stored[r]!;
          const asText = record.slice(0, -2).map((value) => (value === null ? null : typeof value === 'boolean' ? (value ? 't' : 'f') : String(value)));
          assert.deepEqual(asText, want.slice(0, -1), `${table} record ${r}`);
          assert.equal(String(record.at(-2)), want.at(-1));
          assert.equal(record.at(-1), 'INSERT');
        });
        const lsns = logged.map((record) => record.at(-2) as bigint);
        const statementStarts = lsns.filter((lsn, i) => i === 0 || lsn !== lsns[i - 1]! + 1n).length;
        assert.ok(statementStarts <= (table === 'cd' ? 1 : 2), `${table}: each COPY's LSNs are consecutive`);
      }
    } finally {
      wire.end();
      await client.end();
    }
  });
});

// Upserts (ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c, …) from many
// connections are batched by the writer into one set-based evaluation per
// commit group. Whatever order the writer gave them, the result must be what
// PostgreSQL gives for the same statements in that order, the CDC log must
// chain (each UPDATE_BEFORE is the row as the previous record left it), and a
// statement PostgreSQL refuses fails alone with PostgreSQL's SQLSTATE.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startArka, type ArkaProcess } from './support/arka.js';
import { startPostgres, type PostgresServer } from './support/postgres.js';
import { rawTypes } from './support/raw-types.js';

const SETUP = [
  "CREATE TABLE up (id int PRIMARY KEY, tag text, n int, keep text NOT NULL DEFAULT 'kept')",
  "INSERT INTO up VALUES (1, 'orig-1', 1, 'orig-keep-1'), (2, 'orig-2', 2, 'orig-keep-2'), (3, NULL, NULL, 'orig-keep-3')",
];

type Statement = { text: string; values: unknown[]; tags: string[] };

/** Client c's statements: single-row and two-row upserts on keys 1…8 shared with the other clients, each row tagged uniquely. */
function statementsOf(c: number, count: number): Statement[] {
  const out: Statement[] = [];
  for (let i = 0; i < count; i++) {
    const key = 1 + ((c * 7 + i * 3) % 8);
    const tag = `c${c}-s${i}`;
    if (i % 5 === 4) {
      const other = 1 + ((key + 3) % 8);
      out.push({
        text: 'INSERT INTO up (id, tag, n) VALUES ($1, $2, $3), ($4, $5, $6) ON CONFLICT (id) DO UPDATE SET tag = EXCLUDED.tag, n = EXCLUDED.n',
        values: [key, `${tag}a`, i, other, `${tag}b`, -i],
        tags: [`${tag}a`, `${tag}b`],
      });
    } else if (i % 3 === 2) {
      out.push({ text: "INSERT INTO up VALUES ($1, $2, $3, 'given') ON CONFLICT (id) DO UPDATE SET n = EXCLUDED.n, tag = EXCLUDED.tag", values: [key, tag, i * 10], tags: [tag] });
    } else {
      out.push({ text: 'INSERT INTO up (id, tag, n) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET tag = EXCLUDED.tag, n = EXCLUDED.n', values: [key, tag, i], tags: [tag] });
    }
  }
  return out;
}

describe('upserts batched in commit groups', () => {
  let arka: ArkaProcess;
  let postgres: PostgresServer;
  let reference: pg.Client;

  before(async () => {
    [arka, postgres] = await Promise.all([startArka({ args: ['--log-level', 'debug'] }), startPostgres()]);
    reference = new pg.Client({ host: postgres.host, port: postgres.port, user: 'postgres', database: 'postgres', types: rawTypes });
    await reference.connect();
    const setup = await arka.client({ types: rawTypes });
    for (const sql of SETUP) {
      await setup.query(sql);
      await reference.query(sql);
    }
    await setup.end();
  });
  after(async () => {
    await reference?.end();
    await arka?.destroy();
    await postgres?.stop();
  });

  test("eight connections' upserts end as PostgreSQL ends the same statements in the writer's order", async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => arka.client({ types: rawTypes })));
    const byTag = new Map<string, Statement>();
    try {
      await Promise.all(
        clients.map(async (client, c) => {
          for (const statement of statementsOf(c, 30)) {
            statement.tags.forEach((tag) => byTag.set(tag, statement));
            const result = await client.query({ text: statement.text, values: statement.values });
            assert.equal(result.rowCount, statement.tags.length);
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
    const batched = arka
      .logs()
      .split('\n')
      .filter((line) => line.includes('"statements batched"') && line.includes('"upserts":true'))
      .map((line) => JSON.parse(line) as { statements: number });
    assert.ok(batched.some((entry) => entry.statements > 1), 'some commit groups held several upserts, evaluated together');

    const mine = await arka.client({ types: rawTypes });
    try {
      // The writer's order, from the CDC log: each statement's rows are contiguous.
      const written = (await mine.query({ text: "SELECT tag FROM arka_changes('up') WHERE __change_type IN ('INSERT', 'UPDATE_AFTER') AND tag LIKE 'c%' ORDER BY __lsn", rowMode: 'array' })).rows.map((r) => r[0] as string);
      assert.equal(written.length, byTag.size, 'one INSERT or UPDATE_AFTER per proposed row');
      const order: Statement[] = [];
      for (const tag of written) if (order.at(-1) !== byTag.get(tag)) order.push(byTag.get(tag)!);
      assert.equal(order.length, new Set(byTag.values()).size, "each statement's records are contiguous");
      for (const statement of order) await reference.query({ text: statement.text, values: statement.values });
      const table = (client: pg.Client) => client.query({ text: 'SELECT id, tag, n, keep FROM up ORDER BY id', rowMode: 'array' }).then((r) => r.rows);
      assert.deepEqual(await table(mine), await table(reference));

      // The CDC log chains: per key, each UPDATE_BEFORE is the row as the record before it left it.
      const changes = (await mine.query({ text: "SELECT id, tag, n, keep, __change_type, __lsn FROM arka_changes('up') ORDER BY __lsn", rowMode: 'array' })).rows;
      const current = new Map<string, unknown[]>();
      let previousLsn = 0n;
      for (const [id, tag, n, keep, type, lsn] of changes) {
        assert.ok(BigInt(lsn) > previousLsn, 'LSNs increase');
        const row = [id, tag, n, keep];
        if (type === 'UPDATE_BEFORE') {
          assert.deepEqual(row, current.get(id), `UPDATE_BEFORE of ${id} at ${lsn} is the current row`);
        } else if (type === 'UPDATE_AFTER') {
          assert.equal(BigInt(lsn), previousLsn + 1n, 'UPDATE_AFTER follows its UPDATE_BEFORE');
          current.set(id, row);
        } else {
          assert.equal(type, 'INSERT');
          assert.equal(current.has(id), false, `INSERT of ${id} only when it is new`);
          current.set(id, row);
        }
        previousLsn = BigInt(lsn);
      }
    } finally {
      await mine.end();
    }
  });

  test('a statement PostgreSQL refuses fails alone, with its SQLSTATE, while the others of its group commit', async () => {
    const failing: Statement[] = [
      { text: 'INSERT INTO up (id, tag) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET tag = EXCLUDED.tag', values: [null, 'null key'], tags: [] },
      { text: 'INSERT INTO up (id, tag) VALUES ($1, $2), ($1, $3) ON CONFLICT (id) DO UPDATE SET tag = EXCLUDED.tag', values: [20, 'twice a', 'twice b'], tags: [] },
      { text: 'INSERT INTO up (id, keep) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET tag = EXCLUDED.tag', values: [21, null], tags: [] },
    ];
    const fine: Statement[] = Array.from({ length: 5 }, (_, i) => ({
      text: 'INSERT INTO up (id, tag) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET tag = EXCLUDED.tag',
      values: [30 + i, `fine ${i}`],
      tags: [],
    }));
    const outcome = async (client: pg.Client, statement: Statement) =>
      client.query({ text: statement.text, values: statement.values }).then(
        (r) => `${r.command} ${r.rowCount}`,
        (error: { code: string }) => error.code,
      );
    const clients = await Promise.all([...failing, ...fine].map(() => arka.client({ types: rawTypes })));
    try {
      const mine = await Promise.all([...failing, ...fine].map((statement, i) => outcome(clients[i]!, statement)));
      const theirs: string[] = [];
      for (const statement of [...failing, ...fine]) theirs.push(await outcome(reference, statement));
      assert.deepEqual(mine, theirs);
      assert.deepEqual(theirs.slice(0, 3), ['23502', '21000', '23502']);
      const rows = (client: pg.Client) => client.query({ text: 'SELECT id, tag, keep FROM up WHERE id >= 20 ORDER BY id', rowMode: 'array' }).then((r) => r.rows);
      assert.deepEqual(await rows(clients[0]!), await rows(reference));
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
  });
});

// postgres (postgres.js) writing: tagged-template INSERT/UPDATE/DELETE with
// its sql(object) and sql(rows) helpers, RETURNING, sql.begin committed and
// rolled back by a throwing callback, the pipelined sql.begin(sql => [...])
// form, and COPY through its writable and readable streams.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { attempt, connection, report } from './env.js';

const sql = postgres({ ...connection, max: 1, onnotice: () => {} });
const result = (rows: postgres.RowList<postgres.Row[]>) => ({ command: rows.command, count: rows.count, rows: [...rows] });
const table = async () => [...(await sql`SELECT * FROM pjs_items ORDER BY id`)];

await sql`DROP TABLE IF EXISTS pjs_items`;
await sql`CREATE TABLE pjs_items (id bigint PRIMARY KEY, name text NOT NULL, qty integer, price numeric(10,2), ok boolean, seen_at timestamptz)`;

const out: Record<string, unknown> = {};
// One row from an object, several from an array of objects (one multi-row VALUES).
const apple = { id: 1, name: 'apple', qty: 3, price: '1.25', ok: true, seen_at: new Date('2024-01-02T03:04:05.5Z') };
out.insertObject = result(await sql`INSERT INTO pjs_items ${sql(apple)} RETURNING *`);
const more = [
  { id: 2, name: 'pear', qty: null, price: '0.50', ok: false },
  { id: 3, name: "fig's", qty: 7, price: null, ok: null },
  { id: 4, name: 'kiwi', qty: 1, price: '2.00', ok: true },
];
out.insertRows = result(await sql`INSERT INTO pjs_items ${sql(more, 'id', 'name', 'qty', 'price', 'ok')} RETURNING id, name`);
// UPDATE with sql(object, ...columns) and a bound WHERE.
out.updateObject = result(await sql`UPDATE pjs_items SET ${sql({ name: 'pear (ripe)', qty: 5 }, 'name', 'qty')} WHERE id = ${2} RETURNING *`);
// Several rows RETURNING: PostgreSQL promises no order, so they are sorted.
const doubled = result(await sql`UPDATE pjs_items SET qty = qty * ${2} WHERE id IN ${sql([1, 3])} RETURNING id, qty`);
doubled.rows.sort((a, b) => Number(a.id) - Number(b.id));
out.updateExpression = doubled;
out.delete = result(await sql`DELETE FROM pjs_items WHERE id = ${4}`);
out.afterAutocommit = await table();

// sql.begin: the callback's writes commit together; its value is returned.
out.begin = await sql.begin(async (tx) => {
  const [row] = await tx`INSERT INTO pjs_items (id, name, qty) VALUES (${10}, ${'in tx'}, ${1}) RETURNING id`;
  await tx`UPDATE pjs_items SET qty = qty + 1 WHERE id = ${row!.id}`;
  const [seen] = await tx`SELECT qty FROM pjs_items WHERE id = ${row!.id}`;
  return { id: row!.id, qty: seen!.qty };
});
// A callback that fails: postgres.js sends ROLLBACK and rethrows.
out.beginFailed = await attempt(() =>
  sql.begin(async (tx) => {
    await tx`INSERT INTO pjs_items (id, name) VALUES (${11}, ${'rolled back'})`;
    await tx`INSERT INTO pjs_items (id, name) VALUES (${1}, ${'duplicate'})`;
  }),
);
// A callback that throws without a database error.
out.beginThrown = await attempt(() =>
  sql.begin(async (tx) => {
    await tx`UPDATE pjs_items SET name = 'never' WHERE id = ${1}`;
    throw Object.assign(new Error('application error'), { code: 'APP' });
  }),
);
// The pipelined form: an array of queries sent together inside BEGIN … COMMIT.
out.beginPipelined = (
  await sql.begin((tx) => [tx`UPDATE pjs_items SET ok = NOT ok WHERE id = ${1}`, tx`INSERT INTO pjs_items (id, name) VALUES (${12}, ${'pipelined'}) RETURNING id`])
).map((rows) => result(rows as postgres.RowList<postgres.Row[]>));
out.afterTransactions = await table();

// COPY FROM STDIN through a writable stream, COPY TO STDOUT through a readable one.
await pipeline(Readable.from(['20\tcopied\t\\N\t3.50\tt\n', '21\ttab\\there\t2\t\\N\tf\n']), await sql`COPY pjs_items (id, name, qty, price, ok) FROM STDIN`.writable());
let copied = '';
for await (const chunk of await sql`COPY (SELECT id, name, qty, price, ok FROM pjs_items ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER true)`.readable()) {
  copied += chunk.toString();
}
out.copyOut = copied;
out.count = result(await sql`SELECT count(*)::int AS n FROM pjs_items`);
await sql.end();
report(out);

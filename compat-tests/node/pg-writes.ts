// node-postgres writing: parameterized INSERT/UPDATE/DELETE … RETURNING, a
// transaction committed and one rolled back after an error, ON CONFLICT,
// and the command tags and row counts pg reports.
import pg from 'pg';
import { attempt, connection, report } from './env.js';

const client = new pg.Client(connection);
await client.connect();
const run = async (text: string, values?: unknown[]) => {
  const result = await client.query({ text, values, rowMode: 'array' });
  return {
    command: result.command,
    rowCount: result.rowCount,
    fields: result.fields.map((f) => [f.name, f.dataTypeID]),
    rows: result.rows,
  };
};
const table = async () => (await client.query('SELECT * FROM pg_items ORDER BY id')).rows;

await client.query('DROP TABLE IF EXISTS pg_items, pg_arrays');
await client.query(`CREATE TABLE pg_items (
  id serial PRIMARY KEY, name text NOT NULL, qty integer DEFAULT 0, price numeric(10,2),
  added date, seen_at timestamptz, ok boolean, body bytea, doc json)`);

const out: Record<string, unknown> = {};
// Parameterized INSERT … RETURNING: the serial id and the defaults come back.
out.insertReturning = await run(
  'INSERT INTO pg_items (name, price, added, seen_at, ok, doc) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
  ['apple', '1.25', '2024-02-29', new Date('2024-01-02T03:04:05.123Z'), true, { k: [1, 'two'] }],
);
out.multiRow = await run('INSERT INTO pg_items (name, qty) VALUES ($1, $2), ($3, $4), ($5, DEFAULT) RETURNING id, name, qty', [
  'pear', 2, "fig's", null, 'kiwi',
]);
// A bytea parameter inside a transaction, and one in autocommit.
out.byteaInTransaction = await attempt(async () => {
  await client.query('BEGIN');
  const inserted = await run('INSERT INTO pg_items (name, body) VALUES ($1, $2) RETURNING id, body', ['bytes', Buffer.from([0, 255, 16])]);
  await client.query('COMMIT');
  return inserted;
});

// A transaction: several writes, read-your-writes inside, COMMIT.
await client.query('BEGIN');
out.txUpdate = await run('UPDATE pg_items SET qty = qty + $1 WHERE id = $2 RETURNING id, qty', [10, 1]);
out.txDelete = await run('DELETE FROM pg_items WHERE name = $1 RETURNING id, name', ['kiwi']);
out.txInsert = await run('INSERT INTO pg_items (id, name) VALUES ($1, $2) RETURNING id', [100, 'explicit id']);
out.txSeesOwnWrites = await run('SELECT count(*)::int AS n, max(qty) AS top FROM pg_items');
out.txCommit = (await client.query('COMMIT')).command;
out.afterCommit = await table();

// A transaction that fails: the error, 25P02 for the next statement, ROLLBACK undoes the insert.
await client.query('BEGIN');
await client.query('INSERT INTO pg_items (id, name) VALUES ($1, $2)', [200, 'rolled back']);
out.duplicate = await attempt(() => run('INSERT INTO pg_items (id, name) VALUES ($1, $2)', [100, 'duplicate']));
out.aborted = await attempt(() => run('SELECT 1'));
out.rollback = (await client.query('ROLLBACK')).command;
out.afterRollback = await run('SELECT count(*)::int FROM pg_items WHERE id = 200');
// An explicit ROLLBACK without an error.
await client.query('BEGIN');
await client.query('UPDATE pg_items SET name = $1', ['everything renamed']);
await client.query('ROLLBACK');

// ON CONFLICT … DO UPDATE … RETURNING, and DO NOTHING.
out.upsert = await run(
  `INSERT INTO pg_items (id, name, qty) VALUES ($1, $2, $3)
   ON CONFLICT (id) DO UPDATE SET qty = pg_items.qty + EXCLUDED.qty, name = EXCLUDED.name RETURNING id, name, qty`,
  [1, 'apple (upserted)', 5],
);
out.doNothing = await run('INSERT INTO pg_items (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING id', [100, 'ignored']);
out.updateNone = await run('UPDATE pg_items SET qty = 0 WHERE id = $1', [999]);
out.notNull = await attempt(() => run('UPDATE pg_items SET name = NULL WHERE id = $1', [1]));
out.final = await table();

// Array parameters: node-postgres sends a JS array as the text '{…}' with no type, for the column to take.
await client.query('CREATE TABLE pg_arrays (id integer PRIMARY KEY, tags text[], counts integer[])');
out.arrayParameters = await attempt(async () => {
  await client.query('INSERT INTO pg_arrays VALUES ($1, $2, $3)', [1, ['a', 'b c', null], [1, 2]]);
  return (await client.query('SELECT * FROM pg_arrays')).rows;
});
await client.end();
report(out);

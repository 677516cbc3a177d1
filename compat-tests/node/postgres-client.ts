// postgres (postgres.js): its default fetch_types at connect, named prepared
// statements (Parse + Describe + Flush without Sync), and introspection.
import postgres from 'postgres';
import { attempt, connection, report } from './env.js';

const sql = postgres({ ...connection, max: 1, onnotice: () => {} });
const rows = (result: postgres.RowList<postgres.Row[]>) => ({
  columns: result.columns.map((c) => [c.name, c.type]),
  rows: [...result],
});
report({
  // prepare: true (the default) uses named statements; the first query also fetches array types.
  arrays: rows(await sql`SELECT ARRAY[1, 2]::int4[] AS ints, ARRAY['a', 'b']::text[] AS texts, ${[3, 4]}::int4[] AS bound`),
  parameters: rows(await sql`SELECT ${1}::int4 + 1 AS n, ${'x'}::text AS t, ${true}::bool AS b`),
  again: rows(await sql`SELECT ${2}::int4 + 1 AS n, ${'y'}::text AS t, ${false}::bool AS b`),
  tables: rows(
    await sql`SELECT c.relname, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm') ORDER BY c.relname`,
  ),
  columns: rows(
    await sql`SELECT column_name, data_type, udt_name, is_nullable FROM information_schema.columns
              WHERE table_schema = 'public' AND table_name = ${'order_items'} ORDER BY ordinal_position`,
  ),
  describeTable: rows(await sql`SELECT * FROM order_items`),
  error: await attempt(async () => rows(await sql`SELECT * FROM no_such_table`)),
  afterError: rows(await sql`SELECT 1 AS one`),
});
await sql.end();

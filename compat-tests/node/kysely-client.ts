// Kysely over node-postgres: schema introspection and typed queries.
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { connection, report } from './env.js';

const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ ...connection, max: 1 }) }) });
const tables = await db.introspection.getTables();
const schemas = await db.introspection.getSchemas();
report({
  schemas: schemas.map((s) => s.name).filter((name) => name === 'public'),
  tables: tables
    .filter((t) => t.schema === 'public')
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((t) => ({ ...t, columns: [...t.columns].sort((a, b) => a.name.localeCompare(b.name)) })),
  query: await db.selectFrom('users').select(['user_id', 'name']).where('user_id', '=', 1).orderBy('name').execute(),
  joined: await db
    .selectFrom('order_items as o')
    .leftJoin('users as u', 'u.user_id', 'o.order_id')
    .select(['o.sku', 'u.name', sql<number>`count(*) over ()`.as('total')])
    .execute(),
});
await db.destroy();

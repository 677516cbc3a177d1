// Knex: schema inspection (hasTable, hasColumn, columnInfo) and queries.
import knex from 'knex';
import { connection, report } from './env.js';

const db = knex({ client: 'pg', connection, pool: { min: 0, max: 1 } });
report({
  hasTable: [await db.schema.hasTable('users'), await db.schema.hasTable('no_such_table')],
  hasColumn: [await db.schema.hasColumn('users', 'email'), await db.schema.hasColumn('users', 'nope')],
  columnInfo: {
    users: await db('users').columnInfo(),
    events: await db('events').columnInfo(),
    order_items: await db('order_items').columnInfo(),
  },
  query: await db('users').select('user_id', 'name').where('active', true).orderBy('user_id'),
  raw: (await db.raw('SELECT ?::int AS n, ?::text AS t', [7, 'seven'])).rows,
});
await db.destroy();

// Drizzle ORM over node-postgres: typed queries built from a schema declaration.
import { and, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { bigint, boolean, integer, numeric, pgTable, primaryKey, smallint, text, timestamp, varchar } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { connection, report } from './env.js';

const users = pgTable('users', {
  userId: integer('user_id').primaryKey(),
  name: varchar('name', { length: 100 }).notNull(),
  email: text('email'),
  age: smallint('age'),
  score: numeric('score', { precision: 10, scale: 2 }),
  active: boolean('active').default(true),
  createdAt: timestamp('created_at', { withTimezone: true }),
});
const orderItems = pgTable(
  'order_items',
  {
    orderId: bigint('order_id', { mode: 'number' }),
    lineNo: integer('line_no'),
    sku: varchar('sku', { length: 32 }).notNull(),
    quantity: integer('quantity').default(1),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.lineNo] })],
);

const pool = new pg.Pool({ ...connection, max: 1 });
const db = drizzle(pool);
report({
  select: await db.select().from(users).where(and(eq(users.active, true), eq(users.userId, 1))),
  join: await db
    .select({ sku: orderItems.sku, name: users.name })
    .from(orderItems)
    .leftJoin(users, eq(users.userId, orderItems.orderId))
    .orderBy(orderItems.sku),
  count: await db.select({ n: sql<number>`count(*)::int` }).from(users),
  prepared: await db.select().from(orderItems).where(eq(orderItems.orderId, sql.placeholder('id'))).prepare('items_by_order').execute({ id: 1 }),
});
await pool.end();

// Drizzle ORM writing through its query builders: insert … returning,
// update … returning, delete, onConflictDoUpdate / DoNothing, and
// db.transaction committed, failing, and rolled back with tx.rollback().
import { eq, gt, inArray, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { boolean, integer, numeric, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { connection, report } from './env.js';

const items = pgTable('drizzle_items', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  qty: integer('qty').default(0),
  price: numeric('price', { precision: 10, scale: 2 }),
  ok: boolean('ok'),
  seenAt: timestamp('seen_at', { withTimezone: true }),
});

const pool = new pg.Pool({ ...connection, max: 1 });
const db = drizzle(pool);
const table = () => db.select().from(items).orderBy(items.id);
/** Runs `step`, returning its value or the error: Drizzle wraps the driver's error in `cause`. */
const attempt = async <T>(step: () => Promise<T>) => {
  try {
    return await step();
  } catch (error) {
    const e = error as { name: string; message: string; cause?: { code?: string; message: string } };
    return { error: e.name, code: e.cause?.code, cause: e.cause?.message };
  }
};

await db.execute(sql`DROP TABLE IF EXISTS drizzle_items`);
await db.execute(sql`CREATE TABLE drizzle_items (
  id serial PRIMARY KEY, name text NOT NULL, qty integer DEFAULT 0, price numeric(10,2), ok boolean, seen_at timestamptz)`);

const out: Record<string, unknown> = {};
out.insertReturning = await db
  .insert(items)
  .values([
    { name: 'apple', qty: 3, price: '1.25', ok: true, seenAt: new Date('2024-01-02T03:04:05.5Z') },
    { name: 'pear', price: '0.50', ok: false },
    { name: "fig's", qty: 7 },
  ])
  .returning();
out.insert = (await db.insert(items).values({ name: 'kiwi', qty: 1 })).rowCount;
out.updateReturning = await db.update(items).set({ name: 'pear (ripe)', qty: 5 }).where(eq(items.id, 2)).returning({ id: items.id, name: items.name });
out.updateExpression = (await db.update(items).set({ qty: sql`${items.qty} * 2` }).where(gt(items.qty, 2))).rowCount;
out.delete = await db.delete(items).where(eq(items.name, 'kiwi')).returning({ id: items.id });
out.upsert = await db
  .insert(items)
  .values({ id: 3, name: 'fig (merged)', qty: 70 })
  .onConflictDoUpdate({ target: items.id, set: { name: sql`excluded.name`, qty: sql`${items.qty} + excluded.qty` } })
  .returning({ id: items.id, name: items.name, qty: items.qty });
out.doNothing = (await db.insert(items).values({ id: 1, name: 'ignored' }).onConflictDoNothing()).rowCount;
out.afterWrites = await table();

out.transaction = await db.transaction(async (tx) => {
  const [row] = await tx.insert(items).values({ id: 10, name: 'in transaction' }).returning({ id: items.id });
  await tx.update(items).set({ ok: null }).where(inArray(items.id, [1, 2]));
  return { row, seen: (await tx.select({ n: sql<number>`count(*)::int` }).from(items))[0] };
});
out.transactionFailed = await attempt(() =>
  db.transaction(async (tx) => {
    await tx.insert(items).values({ id: 11, name: 'rolled back' });
    await tx.insert(items).values({ id: 1, name: 'duplicate' });
  }),
);
out.transactionRolledBack = await attempt(() =>
  db.transaction(async (tx) => {
    await tx.update(items).set({ name: 'everything renamed' });
    tx.rollback();
  }),
);
out.final = await table();
await pool.end();
report(out);

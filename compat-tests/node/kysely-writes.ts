// Kysely writing through its builders: schema.createTable with a serial
// primary key, insertInto … returning, updateTable, deleteFrom, onConflict,
// and transactions committed and rolled back.
import { Kysely, PostgresDialect, sql, type Generated } from 'kysely';
import pg from 'pg';
import { attempt, connection, report } from './env.js';

type Item = { id: Generated<number>; name: string; qty: number | null; price: string | null; ok: boolean | null };
const db = new Kysely<{ kysely_items: Item }>({ dialect: new PostgresDialect({ pool: new pg.Pool({ ...connection, max: 1 }) }) });
const table = () => db.selectFrom('kysely_items').selectAll().orderBy('id').execute();

await db.schema.dropTable('kysely_items').ifExists().execute();
await db.schema
  .createTable('kysely_items')
  .addColumn('id', 'serial', (c) => c.primaryKey())
  .addColumn('name', 'varchar(100)', (c) => c.notNull())
  .addColumn('qty', 'integer', (c) => c.defaultTo(0))
  .addColumn('price', 'numeric(10, 2)')
  .addColumn('ok', 'boolean')
  .execute();

const out: Record<string, unknown> = {};
out.insertReturning = await db
  .insertInto('kysely_items')
  .values([
    { name: 'apple', qty: 3, price: '1.25', ok: true },
    { name: 'pear', price: '0.50', ok: false },
    { name: "fig's", qty: 7 },
  ])
  .returning(['id', 'name', 'qty'])
  .execute();
out.insertResult = await db.insertInto('kysely_items').values({ name: 'kiwi', qty: 1 }).executeTakeFirst();
out.update = await db.updateTable('kysely_items').set({ name: 'pear (ripe)', qty: 5 }).where('id', '=', 2).executeTakeFirst();
out.updateReturning = await db
  .updateTable('kysely_items')
  .set((eb) => ({ qty: eb('qty', '*', 2) }))
  .where('id', '=', 1)
  .returningAll()
  .execute();
out.delete = await db.deleteFrom('kysely_items').where('name', '=', 'kiwi').executeTakeFirst();
out.upsert = await db
  .insertInto('kysely_items')
  .values({ id: 3, name: 'fig (merged)', qty: 70 })
  .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ name: eb.ref('excluded.name'), qty: sql<number>`kysely_items.qty + excluded.qty` })))
  .returning(['id', 'name', 'qty'])
  .execute();
out.doNothing = await db.insertInto('kysely_items').values({ id: 1, name: 'ignored' }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
out.afterWrites = await table();

out.transaction = await db.transaction().execute(async (trx) => {
  const row = await trx.insertInto('kysely_items').values({ id: 10, name: 'in transaction' }).returning('id').executeTakeFirstOrThrow();
  await trx.updateTable('kysely_items').set({ ok: null }).where('id', '=', 1).execute();
  return { row, count: await trx.selectFrom('kysely_items').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst() };
});
out.transactionFailed = await attempt(() =>
  db.transaction().execute(async (trx) => {
    await trx.insertInto('kysely_items').values({ id: 11, name: 'rolled back' }).execute();
    await trx.insertInto('kysely_items').values({ id: 1, name: 'duplicate' }).execute();
  }),
);
out.final = await table();
await db.destroy();
report(out);

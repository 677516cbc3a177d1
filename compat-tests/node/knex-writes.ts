// Knex writing through its builders: schema.createTable with increments(),
// insert … returning, update, increment, delete, onConflict merge/ignore,
// batchInsert, and transactions committed and rolled back.
import knex from 'knex';
import { attempt, connection, report } from './env.js';

const db = knex({ client: 'pg', connection, pool: { min: 0, max: 1 } });
const table = () => db('knex_items').select('*').orderBy('id');

await db.schema.dropTableIfExists('knex_items');
await db.schema.createTable('knex_items', (t) => {
  t.increments('id');
  t.string('name', 100).notNullable();
  t.integer('qty').defaultTo(0);
  t.decimal('price', 10, 2);
  t.boolean('ok');
  t.timestamp('seen_at', { useTz: true });
});

const out: Record<string, unknown> = {};
out.insertReturning = await db('knex_items')
  .insert([
    { name: 'apple', qty: 3, price: '1.25', ok: true, seen_at: new Date('2024-01-02T03:04:05.5Z') },
    { name: 'pear', price: '0.50', ok: false },
    { name: "fig's", qty: 7 },
  ])
  .returning(['id', 'name', 'qty']);
// Without returning(), knex resolves to node-postgres's result.
out.insertCount = ((await db('knex_items').insert({ name: 'kiwi', qty: 1 })) as unknown as { rowCount: number }).rowCount;
out.update = await db('knex_items').where({ id: 2 }).update({ name: 'pear (ripe)', qty: 5 });
out.updateReturning = await db('knex_items').where('qty', '>', 4).update({ ok: true }, ['id', 'ok']);
(out.updateReturning as { id: number }[]).sort((a, b) => a.id - b.id);
out.increment = await db('knex_items').where({ id: 1 }).increment('qty', 10);
out.delete = await db('knex_items').where({ name: 'kiwi' }).del();
out.upsertMerge = await db('knex_items').insert({ id: 3, name: 'fig (merged)', qty: 70 }).onConflict('id').merge(['name', 'qty']).returning('*');
out.upsertIgnore = await db('knex_items').insert({ id: 1, name: 'ignored' }).onConflict('id').ignore().returning('id');
out.afterWrites = await table();

// Transactions: the callback form commits; a failing statement rolls back.
out.transaction = await db.transaction(async (trx) => {
  const [row] = await trx('knex_items').insert({ id: 10, name: 'in transaction' }).returning('id');
  await trx('knex_items').where({ id: 1 }).decrement('qty', 1);
  return { inserted: row, seen: await trx('knex_items').count('* as n').first() };
});
out.transactionFailed = await attempt(() =>
  db.transaction(async (trx) => {
    await trx('knex_items').insert({ id: 11, name: 'rolled back' });
    await trx('knex_items').insert({ id: 1, name: 'duplicate' });
  }),
);
// The manual form: trx.rollback() discards.
const trx = await db.transaction();
await trx('knex_items').update({ name: 'everything renamed' });
await trx.rollback();
out.batchInsert = await db.batchInsert(
  'knex_items',
  [20, 21, 22, 23, 24].map((id) => ({ id, name: `batch ${id}`, qty: id })),
  2,
);
out.final = await table();
await db.destroy();
report(out);

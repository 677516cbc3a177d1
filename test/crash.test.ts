// Crash safety of the write path against the real server process.
//
// Rounds of concurrent writers on one data directory, each ended by `kill -9`
// at a random moment; after every restart the data must agree with what the
// clients were told:
//   1. acknowledged means durable (present, exactly once),
//   2. statements, transactions and COPY batches are wholly present or wholly
//      absent (in flight: either, never partial), their LSNs contiguous,
//   3. replay never duplicates,
//   and the LSNs are unique and keep increasing across rounds.
// Then: no lost updates under concurrent increments, and read-your-writes
// across connections.
//
// ARKA_CRASH_SEED=<n> replays a run's random choices (kill moments, operations);
// ARKA_CRASH_ROUNDS=<n> changes the number of kill rounds (default 5).

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startArka, tempDataDir, type ArkaProcess } from './support/arka.js';
import { copyIn } from './support/copy-in.js';
import { WireClient } from './support/wire.js';

const ROUNDS = Number(process.env['ARKA_CRASH_ROUNDS'] ?? 5);
const SEED = Number(process.env['ARKA_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

/** A client whose connection errors (the server stopping or killed) never become uncaught exceptions. */
async function connect(arka: ArkaProcess, config: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const client = await arka.client(config);
  client.on('error', () => {});
  return client;
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the model: what the clients were told ---------------------------------

/**
 * acked: CommandComplete (or COMMIT) arrived — must be present exactly once.
 * maybe: sent, no answer before the kill — present wholly or absent wholly.
 * never: rolled back, or the commit was never sent — must be absent.
 */
type Fate = 'acked' | 'maybe' | 'never';

type Batch = { size: number; fate: Fate; round: number };
type KvRow = { n: number; tag: string };

type Model = {
  /** Single-row inserts into events, by payload; `order` is the writer's sequence for the ordering check. */
  singles: Map<string, { fate: Fate; writer: number; seq: number }>;
  /** Multi-row INSERT … SELECT statements into events, by batch id. */
  bulk: Map<string, Batch>;
  /** Transactions: one orders row and three order_lines rows, by order id. */
  orders: Map<number, { fate: Fate; round: number; mode: string }>;
  /** COPY FROM STDIN batches into copy_rows, by batch id. */
  copies: Map<string, Batch>;
  /** The primary-key table as acknowledged (null: absent), key 0 excepted. */
  kv: Map<number, KvRow | null>;
  /** The state a key would have if its in-flight operation committed. */
  kvPending: Map<number, KvRow | null>;
  /** Key 0: a counter only ever incremented by one. */
  counter: { base: number; acked: number; maybe: number };
  /** arka_status().wal_lsn after each restart, and when each round began. */
  lsnAfterRestart: bigint[];
  roundStartLsn: Map<number, bigint>;
};

function newModel(): Model {
  return {
    singles: new Map(),
    bulk: new Map(),
    orders: new Map(),
    copies: new Map(),
    kv: new Map(),
    kvPending: new Map(),
    counter: { base: 0, acked: 0, maybe: 0 },
    lsnAfterRestart: [],
    roundStartLsn: new Map(),
  };
}

const SCHEMA = [
  'CREATE TABLE events (payload TEXT, round INTEGER, writer INTEGER, batch TEXT, seq INTEGER)',
  'CREATE TABLE kv (id INTEGER PRIMARY KEY, n INTEGER, tag TEXT)',
  'CREATE TABLE orders (id INTEGER PRIMARY KEY, round INTEGER, total INTEGER)',
  'CREATE TABLE order_lines (order_id INTEGER, line INTEGER, qty INTEGER)',
  'CREATE TABLE copy_rows (batch TEXT, seq INTEGER, payload TEXT)',
  'INSERT INTO kv VALUES (0, 0, NULL)',
];

const BULK_ROWS = 25;
const COPY_ROWS = 400;
const KV_KEYS = 16;

const qty = (orderId: number, line: number) => (orderId % 97) + line;

// ---- the writers ------------------------------------------------------------

type RoundContext = {
  round: number;
  rand: () => number;
  model: Model;
  /** Set just before SIGKILL: from then on, a lost connection is expected. */
  killed: () => boolean;
  failures: string[];
  /** Called on every acknowledgement. */
  ack: () => void;
};

/** An error from a query: expected once the kill has been issued, a failure before. */
function lost(ctx: RoundContext, what: string, error: unknown): void {
  if (!ctx.killed()) ctx.failures.push(`${what} failed before the kill: ${(error as Error).message}`);
}

function expect(ctx: RoundContext, ok: boolean, message: string): void {
  if (!ok) ctx.failures.push(message);
}

/** Single-row inserts (simple or extended protocol) and, every 8th, a multi-row INSERT … SELECT. */
async function eventsWriter(ctx: RoundContext, client: pg.Client, writer: number, extended: boolean): Promise<void> {
  const { round, model } = ctx;
  for (let seq = 0; !ctx.killed(); seq++) {
    if (!extended && seq % 8 === 7) {
      const id = `r${round}-w${writer}-b${seq}`;
      const batch: Batch = { size: BULK_ROWS, fate: 'maybe', round };
      model.bulk.set(id, batch);
      try {
        const result = await client.query(
          `INSERT INTO events SELECT '${id}-' || g, ${round}, ${writer}, '${id}', ${seq} FROM generate_series(1, ${BULK_ROWS}) g`,
        );
        expect(ctx, result.rowCount === BULK_ROWS, `bulk insert ${id} reported ${result.rowCount} rows`);
        batch.fate = 'acked';
        ctx.ack();
      } catch (error) {
        return lost(ctx, `bulk insert ${id}`, error);
      }
      continue;
    }
    const payload = `r${round}-w${writer}-${seq}`;
    const single: { fate: Fate; writer: number; seq: number } = { fate: 'maybe', writer, seq };
    model.singles.set(payload, single);
    try {
      if (extended) {
        const result = await client.query({
          text: 'INSERT INTO events (payload, round, writer, seq) VALUES ($1, $2, $3, $4) RETURNING payload',
          values: [payload, round, writer, seq],
        });
        expect(ctx, result.rows[0]?.payload === payload, `RETURNING of ${payload} gave ${JSON.stringify(result.rows)}`);
      } else {
        const result = await client.query(`INSERT INTO events (payload, round, writer, seq) VALUES ('${payload}', ${round}, ${writer}, ${seq})`);
        expect(ctx, result.rowCount === 1, `insert of ${payload} reported ${result.rowCount} rows`);
      }
      single.fate = 'acked';
      ctx.ack();
    } catch (error) {
      return lost(ctx, `insert ${payload}`, error);
    }
  }
}

/** Upserts, updates, deletes on the writer's own keys of the primary-key table, and increments of the shared counter (key 0). */
async function kvWriter(ctx: RoundContext, client: pg.Client, writer: number): Promise<void> {
  const { round, model, rand } = ctx;
  const keys = Array.from({ length: KV_KEYS }, (_, i) => writer * 1000 + i);
  for (let seq = 0; !ctx.killed(); seq++) {
    const op = rand();
    if (op < 0.2) {
      model.counter.maybe++;
      try {
        const result = await client.query('UPDATE kv SET n = n + 1 WHERE id = 0');
        expect(ctx, result.rowCount === 1, `counter increment reported ${result.rowCount} rows`);
        model.counter.maybe--;
        model.counter.acked++;
        ctx.ack();
      } catch (error) {
        return lost(ctx, 'counter increment', error);
      }
      continue;
    }
    const key = keys[Math.floor(rand() * keys.length)]!;
    const before = model.kv.get(key) ?? null;
    const tag = `r${round}w${writer}s${seq}`;
    const value = Math.floor(rand() * 1_000_000);
    let sql: string;
    let after: KvRow | null;
    let rows: number;
    let returned: KvRow | undefined;
    if (op < 0.45) {
      sql = `INSERT INTO kv VALUES (${key}, ${value}, '${tag}') ON CONFLICT (id) DO UPDATE SET n = excluded.n, tag = excluded.tag RETURNING n, tag`;
      after = { n: value, tag };
      rows = 1;
      returned = after;
    } else if (op < 0.65) {
      sql = `UPDATE kv SET n = n + 3, tag = '${tag}' WHERE id = ${key} RETURNING n, tag`;
      after = before ? { n: before.n + 3, tag } : null;
      rows = before ? 1 : 0;
      returned = after ?? undefined;
    } else if (op < 0.8) {
      sql = `DELETE FROM kv WHERE id = ${key}`;
      after = null;
      rows = before ? 1 : 0;
    } else if (op < 0.9 || before) {
      sql = `INSERT INTO kv VALUES (${key}, ${value}, '${tag}') ON CONFLICT DO NOTHING`;
      after = before ?? { n: value, tag };
      rows = before ? 0 : 1;
    } else {
      sql = `INSERT INTO kv (id, n, tag) VALUES (${key}, ${value}, '${tag}')`;
      after = { n: value, tag };
      rows = 1;
    }
    model.kvPending.set(key, after);
    try {
      const result = await client.query(sql);
      expect(ctx, result.rowCount === rows, `${sql}: ${result.rowCount} rows, the model says ${rows} (key ${key} was ${JSON.stringify(before)})`);
      if (returned) expect(ctx, JSON.stringify(result.rows[0]) === JSON.stringify(returned), `${sql}: RETURNING ${JSON.stringify(result.rows)}`);
      model.kv.set(key, after);
      model.kvPending.delete(key);
      ctx.ack();
    } catch (error) {
      return lost(ctx, sql, error);
    }
  }
}

const orderInsert = (id: number, round: number) => `INSERT INTO orders VALUES (${id}, ${round}, ${qty(id, 1) + qty(id, 2) + qty(id, 3)})`;
const linesInsert = (id: number, lines: number[]) => `INSERT INTO order_lines VALUES ${lines.map((l) => `(${id}, ${l}, ${qty(id, l)})`).join(', ')}`;

/** Transactions over two tables: an orders row and its three order_lines rows commit together or not at all. */
async function ordersWriter(ctx: RoundContext, client: pg.Client): Promise<void> {
  const { round, model } = ctx;
  const modes = ['explicit', 'explicit-read', 'implicit', 'one-query', 'rollback', 'failed'] as const;
  for (let seq = 0; !ctx.killed(); seq++) {
    const id = round * 100_000 + seq;
    const mode = modes[seq % modes.length]!;
    const order: { fate: Fate; round: number; mode: string } = { fate: 'never', round, mode };
    model.orders.set(id, order);
    try {
      switch (mode) {
        case 'explicit':
        case 'explicit-read': {
          await client.query('BEGIN');
          await client.query(orderInsert(id, round));
          await client.query(linesInsert(id, [1, 2]));
          await client.query(linesInsert(id, [3]));
          if (mode === 'explicit-read') {
            const seen = await client.query(`SELECT count(*)::int AS c FROM order_lines WHERE order_id = ${id}`);
            expect(ctx, seen.rows[0]?.c === 3, `transaction ${id} sees ${seen.rows[0]?.c} of its own 3 lines`);
          }
          order.fate = 'maybe';
          const commit = await client.query('COMMIT');
          expect(ctx, commit.command === 'COMMIT', `COMMIT of ${id} answered ${commit.command}`);
          order.fate = 'acked';
          ctx.ack();
          break;
        }
        case 'implicit':
          // Several statements in one Query: one implicit transaction.
          order.fate = 'maybe';
          await client.query(`${orderInsert(id, round)}; ${linesInsert(id, [1])}; ${linesInsert(id, [2, 3])}`);
          order.fate = 'acked';
          ctx.ack();
          break;
        case 'one-query':
          order.fate = 'maybe';
          await client.query(`BEGIN; ${orderInsert(id, round)}; ${linesInsert(id, [1, 2, 3])}; COMMIT`);
          order.fate = 'acked';
          ctx.ack();
          break;
        case 'rollback': {
          await client.query('BEGIN');
          await client.query(orderInsert(id, round));
          await client.query(linesInsert(id, [1, 2, 3]));
          const rollback = await client.query('ROLLBACK');
          expect(ctx, rollback.command === 'ROLLBACK', `ROLLBACK of ${id} answered ${rollback.command}`);
          break;
        }
        case 'failed': {
          // A statement fails inside the transaction: COMMIT must roll back what came before it.
          await client.query('BEGIN');
          await client.query(orderInsert(id, round));
          await client.query(linesInsert(id, [1, 2]));
          let code: string | undefined;
          try {
            await client.query(orderInsert(id, round));
          } catch (error) {
            code = (error as { code?: string }).code;
            if (code === undefined) throw error; // the connection, not the statement
          }
          expect(ctx, code === '23505', `duplicate order ${id} in a transaction gave ${code}`);
          const commit = await client.query('COMMIT');
          expect(ctx, commit.command === 'ROLLBACK', `COMMIT of failed transaction ${id} answered ${commit.command}`);
          break;
        }
      }
    } catch (error) {
      return lost(ctx, `transaction ${id} (${mode})`, error);
    }
  }
}

/** COPY FROM STDIN batches (CSV and text format, several CopyData messages each). */
async function copyWriter(ctx: RoundContext, client: WireClient): Promise<void> {
  const { round, model } = ctx;
  for (let seq = 0; !ctx.killed(); seq++) {
    const id = `r${round}-c${seq}`;
    const csv = seq % 2 === 0;
    const rows = Array.from({ length: COPY_ROWS }, (_, i) => (csv ? `${id},${i},"p,${id}-${i}"\n` : `${id}\t${i}\tp\\t${id}-${i}\n`));
    const chunks: Buffer[] = [];
    for (let i = 0; i < rows.length; i += 50) chunks.push(Buffer.from(rows.slice(i, i + 50).join('')));
    const batch: Batch = { size: COPY_ROWS, fate: 'never', round };
    model.copies.set(id, batch);
    const sql = csv ? 'COPY copy_rows (batch, seq, payload) FROM STDIN (FORMAT csv)' : 'COPY copy_rows FROM STDIN';
    let outcome;
    try {
      outcome = await copyIn(client, sql, chunks, () => (batch.fate = 'maybe'));
    } catch (error) {
      return lost(ctx, `COPY ${id}`, error);
    }
    if (outcome.kind === 'lost') return lost(ctx, `COPY ${id}`, new Error('connection closed'));
    if (outcome.kind === 'error') {
      ctx.failures.push(`COPY ${id} failed: ${outcome.error['message']}`);
      return;
    }
    expect(ctx, outcome.tag === `COPY ${COPY_ROWS}`, `COPY ${id} answered ${outcome.tag}`);
    batch.fate = 'acked';
    ctx.ack();
  }
}

// ---- verification after a restart -------------------------------------------

type CdcRow = { lsn: bigint; type: string };

async function rows<T = Record<string, unknown>>(client: pg.Client, sql: string): Promise<T[]> {
  return (await client.query(sql)).rows as T[];
}

/** Whether `lsns` are consecutive numbers. */
function contiguous(lsns: bigint[]): boolean {
  const sorted = [...lsns].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted.every((lsn, i) => i === 0 || lsn === sorted[i - 1]! + 1n);
}

/** Checks an all-or-nothing item against its fate and returns whether it is present. */
function checkFate(problems: string[], what: string, fate: Fate, present: boolean): void {
  if (fate === 'acked' && !present) problems.push(`${what} was acknowledged but is missing`);
  if (fate === 'never' && present) problems.push(`${what} was never committed but is present`);
}

type Stats = { maybePresent: number; maybeAbsent: number; acked: number };

/**
 * Checks the restarted server's data against the model, then resolves every
 * in-flight item to what was found (so later rounds check it stays so).
 */
async function verify(client: pg.Client, model: Model): Promise<{ problems: string[]; stats: Stats; walLsn: bigint }> {
  const problems: string[] = [];
  const stats: Stats = { maybePresent: 0, maybeAbsent: 0, acked: 0 };
  const resolve = (item: { fate: Fate }, present: boolean) => {
    if (item.fate === 'maybe') {
      if (present) stats.maybePresent++;
      else stats.maybeAbsent++;
      item.fate = present ? 'acked' : 'never';
    } else if (item.fate === 'acked') stats.acked++;
  };

  // -- events: single-row inserts and multi-row statements, exactly once.
  const events = await rows<{ payload: string; batch: string | null; c: number }>(
    client,
    'SELECT payload, batch, count(*)::int AS c FROM events GROUP BY payload, batch',
  );
  const eventCdc = new Map<string, CdcRow[]>();
  for (const r of await rows<{ payload: string; __lsn: string; __change_type: string }>(client, "SELECT payload, __lsn, __change_type FROM arka_changes('events')")) {
    const list = eventCdc.get(r.payload) ?? [];
    list.push({ lsn: BigInt(r.__lsn), type: r.__change_type });
    eventCdc.set(r.payload, list);
  }
  const presentPayloads = new Map<string, number>();
  const bulkSeen = new Map<string, number>();
  for (const e of events) {
    if (e.c !== 1) problems.push(`events payload ${e.payload} is present ${e.c} times`);
    presentPayloads.set(e.payload, e.c);
    if (e.batch !== null) bulkSeen.set(e.batch, (bulkSeen.get(e.batch) ?? 0) + 1);
    else if (!model.singles.has(e.payload)) problems.push(`events payload ${e.payload} was never written`);
    const cdc = eventCdc.get(e.payload) ?? [];
    if (cdc.length !== e.c || cdc.some((r) => r.type !== 'INSERT')) problems.push(`events payload ${e.payload}: CDC records ${JSON.stringify(cdc.map((r) => r.type))} for ${e.c} rows`);
  }
  for (const payload of eventCdc.keys()) if (!presentPayloads.has(payload)) problems.push(`CDC has events payload ${payload} that the table has not`);
  const lsnOfSingle = new Map<string, bigint>();
  for (const [payload, single] of model.singles) {
    const present = presentPayloads.has(payload);
    checkFate(problems, `insert ${payload}`, single.fate, present);
    resolve(single, present);
    const cdc = eventCdc.get(payload);
    if (cdc?.length === 1) lsnOfSingle.set(payload, cdc[0]!.lsn);
  }
  // One writer's acknowledged inserts got increasing LSNs in the order it sent them.
  const byWriter = new Map<number, { seq: number; lsn: bigint }[]>();
  for (const [payload, single] of model.singles) {
    const lsn = lsnOfSingle.get(payload);
    if (lsn === undefined) continue;
    const list = byWriter.get(single.writer) ?? [];
    list.push({ seq: single.seq + 1_000_000 * Number(payload.slice(1, payload.indexOf('-'))), lsn });
    byWriter.set(single.writer, list);
  }
  for (const [writer, list] of byWriter) {
    list.sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.lsn <= list[i - 1]!.lsn) {
        problems.push(`writer ${writer}: a later insert has LSN ${list[i]!.lsn}, not after ${list[i - 1]!.lsn}`);
        break;
      }
    }
  }
  for (const [id, batch] of model.bulk) {
    const seen = bulkSeen.get(id) ?? 0;
    if (seen !== 0 && seen !== batch.size) problems.push(`statement ${id} is partial: ${seen} of ${batch.size} rows`);
    checkFate(problems, `statement ${id}`, batch.fate, seen > 0);
    resolve(batch, seen > 0);
    if (seen === batch.size) {
      const lsns = Array.from({ length: batch.size }, (_, g) => eventCdc.get(`${id}-${g + 1}`)?.[0]?.lsn ?? -1n);
      if (!contiguous(lsns)) problems.push(`statement ${id}: LSNs not contiguous`);
    }
  }
  for (const id of bulkSeen.keys()) if (!model.bulk.has(id)) problems.push(`events batch ${id} was never written`);

  // -- orders + order_lines: transactions wholly present or wholly absent.
  const orderRows = await rows<{ id: number; round: number; total: number }>(client, 'SELECT id, round, total FROM orders');
  const lineRows = await rows<{ order_id: number; line: number; qty: number }>(client, 'SELECT order_id, line, qty FROM order_lines');
  const orderLsn = new Map<number, bigint[]>();
  for (const r of await rows<{ id: number; __lsn: string; __change_type: string }>(client, "SELECT id, __lsn, __change_type FROM arka_changes('orders')")) {
    if (r.__change_type !== 'INSERT') problems.push(`orders CDC has a ${r.__change_type} record`);
    orderLsn.set(r.id, [...(orderLsn.get(r.id) ?? []), BigInt(r.__lsn)]);
  }
  for (const r of await rows<{ order_id: number; __lsn: string }>(client, "SELECT order_id, __lsn FROM arka_changes('order_lines')")) {
    orderLsn.set(r.order_id, [...(orderLsn.get(r.order_id) ?? []), BigInt(r.__lsn)]);
  }
  const orderPresent = new Map(orderRows.map((r) => [r.id, r]));
  const linesOf = new Map<number, { line: number; qty: number }[]>();
  for (const l of lineRows) linesOf.set(l.order_id, [...(linesOf.get(l.order_id) ?? []), { line: l.line, qty: l.qty }]);
  for (const id of new Set([...orderPresent.keys(), ...linesOf.keys()])) {
    if (!model.orders.has(id)) problems.push(`order ${id} was never written`);
  }
  for (const [id, order] of model.orders) {
    const row = orderPresent.get(id);
    const lines = (linesOf.get(id) ?? []).sort((a, b) => a.line - b.line);
    const whole = row !== undefined && JSON.stringify(lines) === JSON.stringify([1, 2, 3].map((l) => ({ line: l, qty: qty(id, l) })));
    const absent = row === undefined && lines.length === 0;
    if (!whole && !absent) problems.push(`transaction ${id} (${order.mode}) is partial: order ${row ? 'present' : 'absent'}, lines ${JSON.stringify(lines)}`);
    checkFate(problems, `transaction ${id} (${order.mode})`, order.fate, !absent);
    resolve(order, !absent);
    if (whole) {
      const lsns = orderLsn.get(id) ?? [];
      if (lsns.length !== 4 || !contiguous(lsns)) problems.push(`transaction ${id}: LSNs ${lsns.join(',')} are not 4 contiguous records`);
    }
  }

  // -- copy_rows: COPY batches wholly present or wholly absent.
  const copyRows = await rows<{ batch: string; c: number; d: number }>(
    client,
    'SELECT batch, count(*)::int AS c, count(DISTINCT seq)::int AS d FROM copy_rows GROUP BY batch',
  );
  const copyCdc = new Map(
    (await rows<{ batch: string; n: number; lo: string; hi: string }>(client, "SELECT batch, count(*)::int AS n, min(__lsn) AS lo, max(__lsn) AS hi FROM arka_changes('copy_rows') GROUP BY batch")).map((r) => [r.batch, r]),
  );
  const copySeen = new Map(copyRows.map((r) => [r.batch, r]));
  for (const id of copySeen.keys()) if (!model.copies.has(id)) problems.push(`COPY batch ${id} was never written`);
  for (const [id, batch] of model.copies) {
    const seen = copySeen.get(id);
    if (seen && (seen.c !== batch.size || seen.d !== batch.size)) problems.push(`COPY ${id} is partial or duplicated: ${seen.c} rows, ${seen.d} distinct, of ${batch.size}`);
    checkFate(problems, `COPY ${id}`, batch.fate, seen !== undefined);
    resolve(batch, seen !== undefined);
    if (seen) {
      const cdc = copyCdc.get(id);
      if (!cdc || cdc.n !== batch.size || BigInt(cdc.hi) - BigInt(cdc.lo) !== BigInt(batch.size - 1)) {
        problems.push(`COPY ${id}: CDC ${JSON.stringify(cdc)} is not ${batch.size} contiguous records`);
      }
    }
  }
  // Every value arrived as sent (CSV quoting, text-format escapes).
  const [mangled] = await rows<{ bad: number; example: string | null }>(
    client,
    `SELECT count(*)::int AS bad, min(payload) AS example FROM copy_rows
     WHERE payload IS DISTINCT FROM (CASE WHEN CAST(split_part(batch, 'c', 2) AS INTEGER) % 2 = 0 THEN 'p,' ELSE 'p' || chr(9) END) || batch || '-' || CAST(seq AS TEXT)`,
  );
  if (mangled!.bad > 0) problems.push(`${mangled!.bad} COPY values differ from what was sent, e.g. ${JSON.stringify(mangled!.example)}`);

  // -- kv: the acknowledged state, or the in-flight operation's result for its key.
  const kvRows = await rows<{ id: number; n: number; tag: string | null }>(client, 'SELECT id, n, tag FROM kv');
  const actual = new Map(kvRows.map((r) => [r.id, r]));
  const counter = actual.get(0);
  const { base, acked, maybe } = model.counter;
  if (!counter) problems.push('the counter row (kv id 0) is missing');
  else {
    if (counter.n < base + acked || counter.n > base + acked + maybe) {
      problems.push(`counter is ${counter.n}: ${base} before the round + ${acked} acknowledged increments (+ up to ${maybe} in flight)`);
    }
    stats.maybePresent += Math.max(0, counter.n - base - acked);
    model.counter = { base: counter.n, acked: 0, maybe: 0 };
  }
  for (const id of actual.keys()) if (id !== 0 && !model.kv.has(id) && !model.kvPending.has(id)) problems.push(`kv key ${id} was never written`);
  const same = (a: KvRow | null, b: { n: number; tag: string | null } | undefined) => (a === null ? b === undefined : b !== undefined && a.n === b.n && a.tag === b.tag);
  for (const key of new Set([...model.kv.keys(), ...model.kvPending.keys()])) {
    const expected = model.kv.get(key) ?? null;
    const got = actual.get(key);
    if (same(expected, got)) {
      model.kv.set(key, expected);
      continue;
    }
    if (model.kvPending.has(key) && same(model.kvPending.get(key)!, got)) {
      model.kv.set(key, model.kvPending.get(key)!);
      stats.maybePresent++;
      continue;
    }
    problems.push(
      `kv key ${key} is ${JSON.stringify(got ?? null)}; acknowledged state ${JSON.stringify(expected)}` +
        (model.kvPending.has(key) ? `, in-flight result ${JSON.stringify(model.kvPending.get(key))}` : ''),
    );
    model.kv.set(key, got ? { n: got.n, tag: got.tag ?? '' } : null);
  }
  model.kvPending.clear();
  // The CDC log, replayed, gives the table (data and CDC commit together).
  const fromCdc = new Map<number, { n: number; tag: string | null } | null>();
  for (const r of await rows<{ id: number; n: number; tag: string | null; __change_type: string }>(
    client,
    "SELECT id, n, tag, __change_type FROM arka_changes('kv') ORDER BY __lsn",
  )) {
    if (r.__change_type === 'INSERT' || r.__change_type === 'UPDATE_AFTER') fromCdc.set(r.id, { n: r.n, tag: r.tag });
    else if (r.__change_type === 'DELETE') fromCdc.set(r.id, null);
  }
  for (const id of new Set([...fromCdc.keys(), ...actual.keys()])) {
    const c = fromCdc.get(id) ?? null;
    const a = actual.get(id);
    if ((c === null) !== (a === undefined) || (c && a && (c.n !== a.n || c.tag !== a.tag))) {
      problems.push(`kv key ${id}: the table has ${JSON.stringify(a ?? null)}, its CDC log says ${JSON.stringify(c)}`);
    }
  }

  // -- LSNs: one counter, unique across tables, the status agrees.
  const lsnCheck = await rows<{ n: number; d: number; hi: string | null }>(
    client,
    `SELECT count(*)::int AS n, count(DISTINCT __lsn)::int AS d, max(__lsn) AS hi FROM (
       SELECT __lsn FROM arka_changes('events') UNION ALL SELECT __lsn FROM arka_changes('kv')
       UNION ALL SELECT __lsn FROM arka_changes('orders') UNION ALL SELECT __lsn FROM arka_changes('order_lines')
       UNION ALL SELECT __lsn FROM arka_changes('copy_rows'))`,
  );
  const { n, d, hi } = lsnCheck[0]!;
  if (n !== d) problems.push(`CDC LSNs are not unique: ${n} records, ${d} distinct LSNs`);
  const [status] = await rows<{ wal_lsn: string; duckdb_lsn: string }>(client, 'SELECT wal_lsn, duckdb_lsn FROM arka_status()');
  const walLsn = BigInt(status!.wal_lsn);
  if (BigInt(status!.duckdb_lsn) !== walLsn) problems.push(`arka_status: wal_lsn ${walLsn} but duckdb_lsn ${status!.duckdb_lsn}`);
  if (hi !== null && BigInt(hi) !== walLsn) problems.push(`the highest CDC LSN is ${hi} but arka_status().wal_lsn is ${walLsn}`);
  const previous = model.lsnAfterRestart[model.lsnAfterRestart.length - 1];
  if (previous !== undefined && walLsn < previous) problems.push(`wal_lsn went backwards across a restart: ${previous} → ${walLsn}`);
  // Rows of round r have LSNs above the wal_lsn at which round r began.
  const roundLsns = await rows<{ round: number; lo: string }>(
    client,
    `SELECT round, min(__lsn) AS lo FROM (SELECT round, __lsn FROM arka_changes('events') UNION ALL SELECT round, __lsn FROM arka_changes('orders')) GROUP BY round`,
  );
  for (const r of roundLsns) {
    const start = model.roundStartLsn.get(r.round);
    if (start !== undefined && BigInt(r.lo) <= start) problems.push(`round ${r.round} wrote LSN ${r.lo}, not after the ${start} it began at`);
  }
  model.lsnAfterRestart.push(walLsn);
  return { problems, stats, walLsn };
}

// ---- the crash rounds --------------------------------------------------------

describe('crash safety: kill -9 during concurrent writes', () => {
  const dataDir = tempDataDir();
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('rounds of concurrent writers killed at a random moment, checked after each restart', { timeout: 120_000 }, async (t) => {
    t.diagnostic(`seed ${SEED} (ARKA_CRASH_SEED=${SEED} replays the random choices)`);
    const rand = prng(SEED);
    const model = newModel();
    let arka = await startArka({ dataDir });
    try {
      const setup = await connect(arka);
      for (const sql of SCHEMA) await setup.query(sql);
      await setup.end();

      for (let round = 1; round <= ROUNDS; round++) {
        const startClient = await connect(arka);
        const [status] = (await startClient.query('SELECT wal_lsn FROM arka_status()')).rows;
        await startClient.end();
        model.roundStartLsn.set(round, BigInt(status.wal_lsn));

        let killed = false;
        let acks = 0;
        let firstAck!: () => void;
        const firstAcked = new Promise<void>((resolve) => (firstAck = resolve));
        const ctx: RoundContext = {
          round,
          rand,
          model,
          killed: () => killed,
          failures: [],
          ack: () => {
            if (acks++ === 0) firstAck();
          },
        };
        const clients = await Promise.all(Array.from({ length: 5 }, () => connect(arka)));
        const wire = await WireClient.connect(arka.port);
        const started = Date.now();
        const writers = [
          eventsWriter(ctx, clients[0]!, 0, false),
          eventsWriter(ctx, clients[1]!, 1, true),
          kvWriter(ctx, clients[2]!, 2),
          kvWriter(ctx, clients[3]!, 3),
          ordersWriter(ctx, clients[4]!),
          copyWriter(ctx, wire),
        ];
        // The kill comes 100–800 ms into the writing, counted from the first
        // acknowledgement (a fresh server's first writes are slow).
        const killAt = 100 + Math.floor(rand() * 700);
        await Promise.race([firstAcked, sleep(10_000)]);
        const warmup = Date.now() - started;
        await sleep(killAt);
        killed = true;
        await arka.kill();
        await Promise.all(writers);
        for (const client of clients) await client.end().catch(() => {});
        assert.deepEqual(ctx.failures, [], `round ${round}: the clients saw wrong answers before the kill`);
        assert.ok(acks > 0, `round ${round}: no write was acknowledged within 10 s`);

        const restartStarted = Date.now();
        arka = await startArka({ dataDir });
        const restartMs = Date.now() - restartStarted;
        const replayed = /"replayedUnits":(\d+)/.exec(arka.logs())?.[1] ?? '?';
        const cut = /cutting a torn WAL tail/.test(arka.logs()) ? ', torn WAL tail cut' : '';
        const client = await connect(arka);
        const { problems, stats, walLsn } = await verify(client, model);
        await client.end();
        t.diagnostic(
          `round ${round}: first ack after ${warmup} ms, killed ${killAt} ms later with ${acks} acks this round; ${stats.acked} acknowledged statements, transactions and COPYs checked (all rounds), in flight: ${stats.maybePresent} committed, ${stats.maybeAbsent} not; wal_lsn ${walLsn}; restart ${restartMs} ms, ${replayed} WAL units replayed${cut}`,
        );
        assert.deepEqual(problems, [], `round ${round} (seed ${SEED}): the data after the restart disagrees with what clients were told`);
        const before = model.roundStartLsn.get(round)!;
        assert.ok(walLsn > before, `round ${round} acknowledged writes, so wal_lsn must grow past ${before}; it is ${walLsn}`);
      }

      // A clean stop and start changes nothing.
      assert.equal(await arka.stop(), 0);
      arka = await startArka({ dataDir });
      const client = await connect(arka);
      const { problems, walLsn } = await verify(client, model);
      await client.end();
      assert.deepEqual(problems, [], 'after a clean restart');
      assert.equal(walLsn, model.lsnAfterRestart[model.lsnAfterRestart.length - 2], 'a clean restart does not move wal_lsn');
    } finally {
      await arka.stop();
    }
  });
});

// ---- concurrency without crashes ---------------------------------------------

describe('concurrent connections', () => {
  let arka: ArkaProcess;

  before(async () => {
    arka = await startArka();
  });
  after(async () => {
    await arka?.destroy();
  });

  test('no lost updates: 16 connections × 50 increments of one row end at exactly 800', { timeout: 60_000 }, async () => {
    const setup = await connect(arka);
    await setup.query('CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER)');
    await setup.query('INSERT INTO counters VALUES (1, 0), (2, 0)');
    const clients = await Promise.all(Array.from({ length: 16 }, () => connect(arka)));
    const returned: number[] = [];
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < 50; i++) {
          const result = await client.query('UPDATE counters SET n = n + 1 WHERE id = 1 RETURNING n');
          assert.equal(result.rowCount, 1);
          returned.push(result.rows[0].n as number);
        }
      }),
    );
    const { rows } = await setup.query('SELECT n FROM counters WHERE id = 1');
    assert.equal(rows[0].n, 800);
    // Every increment saw the one before it: the values returned are 1..800, each once.
    assert.deepEqual([...returned].sort((a, b) => a - b), Array.from({ length: 800 }, (_, i) => i + 1));
    // And the CDC log has them in LSN order, each UPDATE_BEFORE right before its UPDATE_AFTER.
    const cdc = await setup.query("SELECT n, __lsn, __change_type FROM arka_changes('counters') WHERE id = 1 AND __change_type <> 'INSERT' ORDER BY __lsn");
    assert.equal(cdc.rows.length, 1600);
    cdc.rows.forEach((r, i) => {
      const step = Math.floor(i / 2);
      assert.equal(r.__change_type, i % 2 === 0 ? 'UPDATE_BEFORE' : 'UPDATE_AFTER');
      assert.equal(r.n, i % 2 === 0 ? step : step + 1);
      if (i % 2 === 1) assert.equal(BigInt(r.__lsn), BigInt(cdc.rows[i - 1].__lsn) + 1n);
    });

    // The same through explicit transactions mixed with autocommit statements.
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < 4; i++) {
          if (c % 2 === 0) {
            await client.query('BEGIN');
            const read = await client.query('SELECT n FROM counters WHERE id = 2');
            assert.equal(typeof read.rows[0].n, 'number');
            await client.query('UPDATE counters SET n = n + 1 WHERE id = 2');
            await client.query('UPDATE counters SET n = n + 1 WHERE id = 2');
            assert.equal((await client.query('COMMIT')).command, 'COMMIT');
          } else {
            await client.query('UPDATE counters SET n = n + 2 WHERE id = 2');
          }
        }
      }),
    );
    assert.equal((await setup.query('SELECT n FROM counters WHERE id = 2')).rows[0].n, 16 * 4 * 2);
    await Promise.all(clients.map((client) => client.end()));
    await setup.end();
  });

  test('read your writes: an acknowledged write is visible on the same and on another connection', { timeout: 60_000 }, async () => {
    const setup = await connect(arka);
    await setup.query('CREATE TABLE ryw (id INTEGER PRIMARY KEY, who INTEGER, v TEXT)');
    await setup.query('CREATE TABLE ryw_log (who INTEGER, i INTEGER)');
    const clients = await Promise.all(Array.from({ length: 16 }, () => connect(arka)));
    await Promise.all(
      clients.map(async (client, c) => {
        const other = clients[(c + 7) % clients.length]!;
        for (let i = 0; i < 6; i++) {
          const id = c * 1000 + i;
          await client.query({ text: 'INSERT INTO ryw VALUES ($1, $2, $3)', values: [id, c, `v${i}`] });
          assert.deepEqual((await client.query('SELECT v FROM ryw WHERE id = $1', [id])).rows, [{ v: `v${i}` }], `connection ${c} reads its insert ${id}`);
          assert.deepEqual((await other.query('SELECT v FROM ryw WHERE id = $1', [id])).rows, [{ v: `v${i}` }], `another connection reads insert ${id}`);
          await client.query(`UPDATE ryw SET v = 'u${i}' WHERE id = ${id}`);
          assert.deepEqual((await other.query('SELECT v FROM ryw WHERE id = $1', [id])).rows, [{ v: `u${i}` }], `another connection reads update ${id}`);
          await client.query(`INSERT INTO ryw_log VALUES (${c}, ${i})`);
          const logged = await other.query(`SELECT count(*)::int AS n FROM ryw_log WHERE who = ${c}`);
          assert.equal(logged.rows[0].n, i + 1, `another connection counts connection ${c}'s log rows`);
          if (i % 3 === 2) {
            await client.query(`DELETE FROM ryw WHERE id = ${id}`);
            assert.deepEqual((await other.query('SELECT v FROM ryw WHERE id = $1', [id])).rows, [], `another connection sees delete ${id}`);
          }
        }
      }),
    );
    const { rows } = await setup.query('SELECT count(*)::int AS n FROM ryw');
    assert.equal(rows[0].n, 16 * 4);

    // Inside a transaction: visible to itself at once, to others only after COMMIT.
    const [a, b] = clients as [pg.Client, pg.Client];
    await a.query('BEGIN');
    await a.query("INSERT INTO ryw VALUES (99999, -1, 'tx')");
    assert.deepEqual((await a.query('SELECT v FROM ryw WHERE id = 99999')).rows, [{ v: 'tx' }]);
    assert.deepEqual((await b.query('SELECT v FROM ryw WHERE id = 99999')).rows, []);
    await a.query('COMMIT');
    assert.deepEqual((await b.query('SELECT v FROM ryw WHERE id = 99999')).rows, [{ v: 'tx' }]);
    await Promise.all(clients.map((client) => client.end()));
    await setup.end();
  });
});

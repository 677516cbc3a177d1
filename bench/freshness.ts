// How soon a write is visible to another connection: one connection writes
// at a steady rate, another polls for the newest row, and for each write the
// time from its acknowledgement to its first sighting is kept.

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Target } from './common.js';

export const FRESH_TABLE_SQL = 'CREATE TABLE fresh (seq bigint, v text)';
export const FRESH_BATCH_ROWS = 100;
export const FRESH_INTERVAL_MS = 10;
/** How long the reader keeps looking for the last writes once the writer is done. */
const DRAIN_MS = 10_000;

export type Percentiles = { p50: number; p99: number; max: number };
export type FreshnessResult = {
  writes: number;
  /** Rows per second actually written (the target is FRESH_BATCH_ROWS per FRESH_INTERVAL_MS). */
  rowsPerSecond: number;
  /** Writes that started later than their slot because the one before was still waiting for its acknowledgement. */
  lateWrites: number;
  /** Writer round trip: send → acknowledgement. */
  ackMs: Percentiles;
  /** Acknowledgement → first poll result showing the write (0 when seen before the acknowledgement arrived). */
  visibleMs: Percentiles;
  seenBeforeAck: number;
  /** Writes the reader never saw. */
  neverSeen: number;
  polls: number;
  pollMeanMs: number;
};

const POLL = { name: 'arka-bench-poll', text: 'SELECT max(seq) AS m FROM fresh' };

function insertSql(write: number): string {
  const first = write * FRESH_BATCH_ROWS + 1;
  const values = Array.from({ length: FRESH_BATCH_ROWS }, (_, i) => `(${first + i}, 'fresh')`);
  return `INSERT INTO fresh (seq, v) VALUES ${values.join(', ')}`;
}

/** The last seq of a write. */
const lastSeq = (write: number) => (write + 1) * FRESH_BATCH_ROWS;

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN };
}

async function connect(target: Target): Promise<pg.Client> {
  const client = new pg.Client({ host: target.host, port: target.port, user: target.user, database: target.database });
  await client.connect();
  return client;
}

/** Writes for `seconds` into fresh (which must exist and be empty) while polling it. */
export async function measureFreshness(target: Target, seconds: number): Promise<FreshnessResult> {
  const writer = await connect(target);
  const reader = await connect(target);
  try {
    const writes = Math.round((seconds * 1000) / FRESH_INTERVAL_MS);
    const sentAt = new Float64Array(writes);
    const ackAt = new Float64Array(writes);
    const seenAt = new Float64Array(writes).fill(NaN);
    await reader.query(POLL); // prepared before timing

    let writing = true;
    let unseen = 0; // the first write not yet seen
    let polls = 0;
    let pollTime = 0;
    let drainUntil = Infinity;
    let pollError: unknown;
    const polling = (async () => {
      while (unseen < writes && (writing || performance.now() < drainUntil)) {
        const sent = performance.now();
        const result = await reader.query<{ m: string | null }>(POLL);
        const now = performance.now();
        polls++;
        pollTime += now - sent;
        const max = Number(result.rows[0]?.m ?? 0);
        while (unseen < writes && lastSeq(unseen) <= max) seenAt[unseen++] = now;
      }
    })().catch((error: unknown) => {
      pollError = error;
    });

    let lateWrites = 0;
    const start = performance.now();
    try {
      for (let write = 0; write < writes && pollError === undefined; write++) {
        const wait = start + write * FRESH_INTERVAL_MS - performance.now();
        if (wait > 0) await sleep(wait);
        else if (write > 0) lateWrites++;
        sentAt[write] = performance.now();
        await writer.query(insertSql(write));
        ackAt[write] = performance.now();
      }
    } catch (error) {
      drainUntil = 0;
      throw error;
    } finally {
      writing = false;
      drainUntil = Math.min(drainUntil, performance.now() + DRAIN_MS);
      await polling; // it stops within one poll
    }
    if (pollError !== undefined) throw pollError;
    const elapsed = (ackAt[writes - 1]! - start) / 1000;

    const visible: number[] = [];
    let seenBeforeAck = 0;
    for (let write = 0; write < writes; write++) {
      if (Number.isNaN(seenAt[write]!)) continue;
      const lag = seenAt[write]! - ackAt[write]!;
      if (lag < 0) seenBeforeAck++;
      visible.push(Math.max(0, lag));
    }
    return {
      writes,
      rowsPerSecond: (writes * FRESH_BATCH_ROWS) / elapsed,
      lateWrites,
      ackMs: percentiles(Array.from(ackAt, (ack, i) => ack - sentAt[i]!)),
      visibleMs: percentiles(visible),
      seenBeforeAck,
      neverSeen: writes - visible.length,
      polls,
      pollMeanMs: pollTime / polls,
    };
  } finally {
    await Promise.allSettled([writer.end(), reader.end()]);
  }
}

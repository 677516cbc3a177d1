// WAL recovery against the real server process, with the WAL files tampered
// with while the server is stopped:
//   (a) a torn tail is cut, everything acknowledged before it is kept, and
//       the log goes on working;
//   (b) damage anywhere else makes the server refuse to start, naming the
//       segment and the offset, without touching the files;
//   (c) a DuckDB file that is behind the WAL is brought up to date by replay,
//       exactly once, to the very same contents (values, CDC records, LSNs);
//   (d) under a real file size limit: a WAL whose segment cannot be
//       allocated fails the writes with 58030, acknowledges nothing, and
//       after a restart is written again; a group whose DuckDB commit fails
//       after its WAL frame is durable stops the writer, and the restart
//       applies it; so does an apply of acknowledged inserts that fails;
// and checkpoint.json after a clean stop.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, cpSync, existsSync, openSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ARKA_BIN, startArka, tempDataDir, type ArkaOptions, type ArkaProcess } from './support/arka.js';
import { copyIn } from './support/copy-in.js';
import { WireClient } from './support/wire.js';
import { framesOf, readFrames, segmentName, segmentPath, segments, zerosFrom, type FrameInfo } from './support/wal-files.js';
import { rawTypes } from './support/raw-types.js';

/** A client whose connection errors (the server stopping or killed) never become uncaught exceptions. */
async function connect(arka: ArkaProcess, config: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const client = await arka.client(config);
  client.on('error', () => {});
  return client;
}

/** Every value as PostgreSQL's text, so snapshots compare exactly. */

const TABLES = ['events', 'kv', 'typed'] as const;

/** Data directories to delete at the end. */
const dirs: string[] = [];
const track = (dir: string) => (dirs.push(dir), dir);

/** Every table's rows (sorted) and CDC records (in LSN order, with __lsn, __change_type, __timestamp), as text. */
async function snapshot(arka: ArkaProcess): Promise<Record<string, unknown>> {
  const client = await connect(arka, { types: rawTypes });
  try {
    const out: Record<string, unknown> = {};
    for (const table of TABLES) {
      const rows = (await client.query({ text: `SELECT * FROM ${table}`, rowMode: 'array' })).rows.map((r) => JSON.stringify(r)).sort();
      const cdc = (await client.query({ text: `SELECT * FROM arka_changes('${table}') ORDER BY __lsn`, rowMode: 'array' })).rows.map((r) => JSON.stringify(r));
      out[table] = rows;
      out[`${table} CDC`] = cdc;
    }
    out['status'] = (await client.query('SELECT wal_lsn, duckdb_lsn FROM arka_status()')).rows[0];
    return out;
  } finally {
    await client.end();
  }
}

async function walLsn(arka: ArkaProcess): Promise<bigint> {
  const client = await connect(arka);
  try {
    return BigInt((await client.query('SELECT wal_lsn FROM arka_status()')).rows[0].wal_lsn);
  } finally {
    await client.end();
  }
}

const SCHEMA = [
  'CREATE TABLE events (payload TEXT, n INTEGER)',
  'CREATE TABLE kv (id INTEGER PRIMARY KEY, n INTEGER, tag TEXT)',
  `CREATE TABLE typed (id INTEGER PRIMARY KEY, b BOOLEAN, i2 SMALLINT, i8 BIGINT, f4 REAL, f8 DOUBLE PRECISION, num NUMERIC(12,3),
     t TEXT, vc VARCHAR(10), d DATE, ts TIMESTAMP, tstz TIMESTAMPTZ, tm TIME, iv INTERVAL, u UUID, j JSON, bin BYTEA, arr INTEGER[], tarr TEXT[])`,
];

/** Rows of every type, with the awkward values (NULLs, extremes, escapes, precision). */
const TYPED_ROWS = [
  `(1, true, -32768, -9223372036854775808, 0.1, 0.1, -123456789.125, 'plain', 'short', '2024-02-29', '2024-02-29 12:34:56.789012',
    '2024-02-29 12:34:56.789012+05:30', '23:59:59.999999', '1 year 2 mons 3 days 04:05:06.000007', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    '{"a": [1, 2, {"b": null}], "s": "x\\"y"}', '\\x00ff10', ARRAY[1, NULL, 3], ARRAY['a', NULL, 'c'])`,
  `(2, false, 32767, 9223372036854775807, 3.4028235e38, 1.7976931348623157e308, 999999999.999, E'quote '' backslash \\\\ tab \\t newline \\n é 😀', '',
    '0001-01-01', '1969-12-31 23:59:59.999999', '1900-01-01 00:00:00+00', '00:00:00', '-1 days -00:00:01', '00000000-0000-0000-0000-000000000000',
    '[]', '\\x0a', ARRAY[]::INTEGER[], ARRAY['']::TEXT[])`,
  `(3, NULL, NULL, NULL, 'NaN', '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
  `(4, true, 0, 0, -0.0, 5e-324, 0, 'with,comma', 'x', '9999-12-31', '2262-04-11 23:47:16', '2038-01-19 03:14:08+00', '12:00:00', '0 seconds',
    'ffffffff-ffff-ffff-ffff-ffffffffffff', '{"k": "v"}', '\\x5c78', ARRAY[2147483647, -2147483648], ARRAY['a,b', 'c"d', 'e f', '[g]'])`,
];

/** Writes acknowledged one by one (so one frame each): inserts, upserts, updates, deletes, a transaction, a COPY. */
async function writeHistory(arka: ArkaProcess, tag: string, idBase: number): Promise<void> {
  const client = await connect(arka);
  try {
    for (let i = 0; i < 4; i++) await client.query(`INSERT INTO events VALUES ('${tag}-${i}', ${i})`);
    await client.query(`INSERT INTO events SELECT '${tag}-bulk-' || g, g FROM generate_series(1, 30) g`);
    await client.query(`INSERT INTO kv VALUES (${idBase + 1}, 1, '${tag}'), (${idBase + 2}, 2, '${tag}'), (${idBase + 3}, 3, '${tag}')`);
    await client.query(`INSERT INTO kv VALUES (${idBase + 1}, 10, '${tag}-up') ON CONFLICT (id) DO UPDATE SET n = excluded.n, tag = excluded.tag`);
    await client.query(`UPDATE kv SET n = n * 100 WHERE id = ${idBase + 2}`);
    await client.query(`DELETE FROM kv WHERE id = ${idBase + 3}`);
    await client.query('BEGIN');
    await client.query(`INSERT INTO events VALUES ('${tag}-tx', 99)`);
    await client.query(`UPDATE kv SET tag = '${tag}-tx' WHERE id = ${idBase + 1}`);
    await client.query('COMMIT');
    await client.query('BEGIN');
    await client.query(`INSERT INTO events VALUES ('${tag}-rolled-back', -1)`);
    await client.query('ROLLBACK');
  } finally {
    await client.end();
  }
  const wire = await WireClient.connect(arka.port);
  try {
    const outcome = await copyIn(wire, 'COPY events FROM STDIN (FORMAT csv)', [Buffer.from(Array.from({ length: 50 }, (_, i) => `"${tag}-copy-${i}",${i}\n`).join(''))]);
    assert.equal(outcome.kind, 'acked');
  } finally {
    wire.end();
  }
}

/** A stopped server's data directory: the schema, typed rows and a history of writes, one frame each. */
async function makeTemplate(): Promise<string> {
  const arka = await startArka({ dataDir: track(tempDataDir()) });
  try {
    const client = await connect(arka);
    for (const sql of SCHEMA) await client.query(sql);
    for (const row of TYPED_ROWS) await client.query(`INSERT INTO typed VALUES ${row}`);
    await client.query('UPDATE typed SET t = t || \'!\', f4 = f4 * 2 WHERE id = 1');
    await client.end();
    await writeHistory(arka, 'base', 0);
  } finally {
    assert.equal(await arka.stop(), 0);
  }
  return arka.dataDir;
}

function copyDir(from: string): string {
  const to = tempDataDir();
  cpSync(from, to, { recursive: true });
  return to;
}

function onlySegment(dataDir: string): { name: string; path: string; frames: FrameInfo[] } {
  const names = segments(dataDir);
  assert.equal(names.length, 1, `one WAL segment expected, found ${names.join(', ')}`);
  const path = segmentPath(dataDir, names[0]!);
  return { name: names[0]!, path, frames: readFrames(path) };
}

/** Starts the server expecting it to refuse; returns its exit code and output. */
async function refusedStart(dataDir: string): Promise<{ code: number; output: string }> {
  try {
    const arka = await startArka({ dataDir });
    await arka.stop();
  } catch (error) {
    const message = (error as Error).message;
    const match = /arka exited with (\S+) before listening:\n([\s\S]*)$/.exec(message);
    if (match) return { code: Number(match[1]), output: match[2]! };
    throw error;
  }
  assert.fail('the server started on a corrupt WAL');
}

function logLines(arka: ArkaProcess, msg: string): Record<string, unknown>[] {
  return arka
    .logs()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry['msg'] === msg);
}

describe('WAL recovery', () => {
  let template: string;
  let expected: Record<string, unknown>;
  let templateLsn: bigint;

  before(async () => {
    template = await makeTemplate();
    const arka = await startArka({ dataDir: track(copyDir(template)) });
    try {
      expected = await snapshot(arka);
      templateLsn = await walLsn(arka);
    } finally {
      await arka.stop();
    }
    const { frames } = onlySegment(template);
    assert.ok(frames.length >= 12, `the template has ${frames.length} frames`);
    assert.ok(frames.every((f) => f.header.final), 'every frame of the template ends its unit');
  });
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  // ---- (a) torn tails --------------------------------------------------------

  /** Writes `bytes` into the segment at `offset`: where a crash cuts a write short, in the space allocated ahead. */
  const writeAt = (path: string, offset: number, bytes: Uint8Array) => {
    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, bytes, 0, bytes.length, offset);
    } finally {
      closeSync(fd);
    }
  };

  const tornTails: { name: string; tamper: (path: string, frames: FrameInfo[]) => { cutAt: number } }[] = [
    {
      name: 'half of a frame written',
      tamper: (path, frames) => {
        const bytes = readFileSync(path);
        const last = frames[frames.length - 1]!;
        writeAt(path, last.end, bytes.subarray(last.offset, last.offset + Math.floor((last.end - last.offset) / 2)));
        return { cutAt: last.end };
      },
    },
    {
      name: 'fewer bytes than a frame header written',
      tamper: (path, frames) => {
        const end = frames[frames.length - 1]!.end;
        writeAt(path, end, Buffer.from([0x41, 0x52, 0x4b, 0x57, 0x00, 0x00, 0x01]));
        return { cutAt: end };
      },
    },
    {
      name: 'a whole frame whose checksum fails written',
      tamper: (path, frames) => {
        const bytes = readFileSync(path);
        const last = frames[frames.length - 1]!;
        const copy = Buffer.from(bytes.subarray(last.offset, last.end));
        copy[copy.length - 3]! ^= 0xff;
        writeAt(path, last.end, copy);
        return { cutAt: last.end };
      },
    },
    {
      // What a file system can leave after power loss: the last blocks of the write never reached the disk.
      name: 'the last 5 bytes of the last frame never written',
      tamper: (path, frames) => {
        const last = frames[frames.length - 1]!;
        writeAt(path, last.end - 5, Buffer.alloc(5));
        return { cutAt: last.offset };
      },
    },
    {
      // A segment written before segments were allocated ahead.
      name: 'half of a frame appended to a segment that ends at its last frame',
      tamper: (path, frames) => {
        const bytes = readFileSync(path);
        const last = frames[frames.length - 1]!;
        truncateSync(path, last.end);
        appendFileSync(path, bytes.subarray(last.offset, last.offset + Math.floor((last.end - last.offset) / 2)));
        return { cutAt: last.end };
      },
    },
  ];

  for (const variant of tornTails) {
    test(`(a) torn tail: ${variant.name} — cut, acknowledged data kept, new writes durable`, { timeout: 60_000 }, async () => {
      const dataDir = track(copyDir(template));
      const { name, path, frames } = onlySegment(dataDir);
      const { cutAt } = variant.tamper(path, frames);

      let arka = await startArka({ dataDir });
      try {
        const cuts = logLines(arka, 'cutting a torn WAL tail');
        assert.equal(cuts.length, 1, 'the cut is logged');
        assert.equal(cuts[0]!['segment'], name);
        assert.equal(cuts[0]!['offset'], cutAt);
        assert.ok(zerosFrom(readFileSync(path), cutAt), 'the segment is cut where the last whole frame ends');
        assert.deepEqual(await snapshot(arka), expected, 'everything acknowledged before the tail is there, unchanged');

        // New writes go on from there and survive kill -9.
        const client = await connect(arka);
        await client.query("INSERT INTO events VALUES ('after-cut', 1)");
        await client.query("UPDATE kv SET n = n + 1, tag = 'after-cut' WHERE id = 1");
        const lsns = (await client.query("SELECT __lsn FROM arka_changes('events') WHERE payload = 'after-cut'")).rows;
        assert.equal(lsns.length, 1);
        assert.ok(BigInt(lsns[0].__lsn) > templateLsn, `the new write's LSN ${lsns[0].__lsn} follows ${templateLsn}`);
        await client.end();
        await arka.kill();

        arka = await startArka({ dataDir });
        assert.equal(logLines(arka, 'cutting a torn WAL tail').length, 0, 'nothing to cut the second time');
        const bytes = readFileSync(path);
        assert.ok(zerosFrom(bytes, framesOf(bytes).at(-1)!.end), 'the segment is whole frames, then space not yet written');
        const after = await connect(arka);
        assert.deepEqual((await after.query("SELECT payload, n FROM events WHERE payload = 'after-cut'")).rows, [{ payload: 'after-cut', n: 1 }]);
        assert.deepEqual((await after.query('SELECT n, tag FROM kv WHERE id = 1')).rows, [{ n: 11, tag: 'after-cut' }]);
        const changes = await after.query("SELECT count(*)::int AS n, count(DISTINCT __lsn)::int AS d FROM arka_changes('events')");
        assert.equal(changes.rows[0].n, changes.rows[0].d, 'CDC LSNs unique');
        await after.end();
      } finally {
        await arka.stop();
      }
    });
  }

  test('(a) the space after the last frame is not a torn tail: a segment is allocated ahead, nothing is cut', { timeout: 60_000 }, async () => {
    const dataDir = track(copyDir(template));
    const { path, frames } = onlySegment(dataDir);
    const bytes = readFileSync(path);
    assert.ok(bytes.length > frames.at(-1)!.end, 'the segment file is longer than its frames');
    assert.ok(zerosFrom(bytes, frames.at(-1)!.end));
    const arka = await startArka({ dataDir });
    try {
      assert.equal(logLines(arka, 'cutting a torn WAL tail').length, 0);
      assert.deepEqual(await snapshot(arka), expected);
      assert.equal(readFileSync(path).length, bytes.length, 'the segment keeps its size');
    } finally {
      await arka.stop();
    }
  });

  // ---- (b) corruption elsewhere ---------------------------------------------------

  const corruptions: {
    name: string;
    reason: RegExp;
    tamper: (dataDir: string) => { segment: string; offset: number; undo: () => void };
  }[] = [
    {
      name: 'a flipped byte inside an earlier frame’s payload',
      reason: /checksum/,
      tamper: (dataDir) => {
        const { name, path, frames } = onlySegment(dataDir);
        const frame = frames[3]!;
        const at = frame.offset + 12 + Math.floor(frame.payloadLength / 2);
        const bytes = readFileSync(path);
        bytes[at]! ^= 0x10;
        writeFileSync(path, bytes);
        return { segment: name, offset: frame.offset, undo: () => ((bytes[at]! ^= 0x10), writeFileSync(path, bytes)) };
      },
    },
    {
      name: 'a wrong magic number on an earlier frame',
      reason: /magic/,
      tamper: (dataDir) => {
        const { name, path, frames } = onlySegment(dataDir);
        const frame = frames[5]!;
        const bytes = readFileSync(path);
        const original = bytes[frame.offset]!;
        bytes[frame.offset] = 0;
        writeFileSync(path, bytes);
        return { segment: name, offset: frame.offset, undo: () => ((bytes[frame.offset] = original), writeFileSync(path, bytes)) };
      },
    },
    {
      name: 'an earlier frame’s length field off by a few bytes',
      reason: /checksum|overruns|trailing|unreadable/,
      tamper: (dataDir) => {
        const { name, path, frames } = onlySegment(dataDir);
        const frame = frames[2]!;
        const bytes = readFileSync(path);
        bytes.writeUInt32BE(frame.payloadLength + 8, frame.offset + 4);
        writeFileSync(path, bytes);
        return { segment: name, offset: frame.offset, undo: () => (bytes.writeUInt32BE(frame.payloadLength, frame.offset + 4), writeFileSync(path, bytes)) };
      },
    },
    {
      // A bit flip in the high byte of the length: the frame seems to run past the end of the file.
      name: 'an earlier frame’s length field pointing past the end of the segment',
      reason: /.*/,
      tamper: (dataDir) => {
        const { name, path, frames } = onlySegment(dataDir);
        const frame = frames[2]!;
        const bytes = readFileSync(path);
        bytes.writeUInt32BE(frame.payloadLength + 0x01000000, frame.offset + 4);
        writeFileSync(path, bytes);
        return { segment: name, offset: frame.offset, undo: () => (bytes.writeUInt32BE(frame.payloadLength, frame.offset + 4), writeFileSync(path, bytes)) };
      },
    },
    {
      name: 'an incomplete frame at the end of a segment that is not the last',
      reason: /incomplete frame before the last segment/,
      tamper: (dataDir) => {
        const { name, path, frames } = onlySegment(dataDir);
        const split = frames[6]!;
        const bytes = readFileSync(path);
        const second = segmentName(BigInt(split.header.firstLsn));
        // As rotation would have written it: frames before `split` in the first segment, the rest in the next.
        writeFileSync(segmentPath(dataDir, second), bytes.subarray(split.offset));
        writeFileSync(path, bytes.subarray(0, split.offset - 4));
        const previous = frames[5]!;
        return {
          segment: name,
          offset: previous.offset,
          undo: () => {
            rmSync(segmentPath(dataDir, second));
            writeFileSync(path, bytes);
          },
        };
      },
    },
  ];

  for (const variant of corruptions) {
    test(`(b) corruption: ${variant.name} — the server refuses to start and names segment and offset`, { timeout: 60_000 }, async () => {
      const dataDir = track(copyDir(template));
      const { segment, offset, undo } = variant.tamper(dataDir);
      const before = new Map(segments(dataDir).map((name) => [name, readFileSync(segmentPath(dataDir, name))]));

      const { code, output } = await refusedStart(dataDir);
      assert.equal(code, 1, 'non-zero exit');
      const message = new RegExp(`WAL segment ${segment} is corrupt at byte ${offset}: `);
      assert.match(output, message, 'the error names the segment and the offset of the bad frame');
      assert.match(output, variant.reason);
      assert.match(output, /refusing to start/);
      assert.deepEqual(segments(dataDir), [...before.keys()], 'no segment added or removed');
      for (const [name, bytes] of before) assert.ok(readFileSync(segmentPath(dataDir, name)).equals(bytes), `${name} is left as it was`);

      // Repaired, the server starts with everything there.
      undo();
      const arka = await startArka({ dataDir });
      try {
        assert.deepEqual(await snapshot(arka), expected);
      } finally {
        await arka.stop();
      }
    });
  }

  // ---- (c) replay onto a DuckDB file that is behind ----------------------------------

  /** Starts from the template, saves its DuckDB files, writes more, stops: returns the dir, the old DuckDB files and the final snapshot. */
  async function aheadOfDuckDB(): Promise<{ dataDir: string; oldDuckdb: Map<string, Buffer>; final: Record<string, unknown>; units: number }> {
    const dataDir = track(copyDir(template));
    const oldDuckdb = new Map(readdirSync(dataDir).filter((f) => f.startsWith('arka.duckdb')).map((f) => [f, readFileSync(join(dataDir, f))]));
    assert.ok(oldDuckdb.has('arka.duckdb'));
    const framesBefore = onlySegment(dataDir).frames.length;

    const arka = await startArka({ dataDir });
    let final: Record<string, unknown>;
    try {
      await writeHistory(arka, 'later', 100);
      const client = await connect(arka);
      client.on('error', () => {}); // a failure below must not be masked by the stop's 57P01
      await client.query(`INSERT INTO typed SELECT id + 10, b, i2, i8, f4, f8, num, t, vc, d, ts, tstz, tm, iv, u, j, bin, arr, tarr FROM typed`);
      await client.query(`UPDATE typed SET num = num - 1, tarr = ARRAY['x,y', NULL], j = '{"updated": true}' WHERE id IN (1, 12)`);
      await client.query('DELETE FROM typed WHERE id = 13');
      await client.end();
      final = await snapshot(arka);
    } finally {
      assert.equal(await arka.stop(), 0);
    }
    const units = new Set(onlySegment(dataDir).frames.slice(framesBefore).map((f) => f.header.unit)).size;
    return { dataDir, oldDuckdb, final, units };
  }

  function restoreDuckdb(dataDir: string, oldDuckdb: Map<string, Buffer>): void {
    for (const f of readdirSync(dataDir).filter((f) => f.startsWith('arka.duckdb'))) rmSync(join(dataDir, f));
    for (const [f, bytes] of oldDuckdb) writeFileSync(join(dataDir, f), bytes);
  }

  test('(c) an old arka.duckdb with the newer WAL: replay ends with exactly the same contents, once', { timeout: 60_000 }, async () => {
    const { dataDir, oldDuckdb, final, units } = await aheadOfDuckDB();
    assert.notDeepEqual(expected, final);

    // checkpoint.json after the clean stop.
    const checkpoint = JSON.parse(readFileSync(join(dataDir, 'checkpoint.json'), 'utf8')) as Record<string, string>;
    const status = final['status'] as { wal_lsn: string; duckdb_lsn: string };
    assert.deepEqual(Object.keys(checkpoint).sort(), ['duckdb_lsn', 'iceberg_lsn', 'timestamp', 'wal_lsn']);
    assert.equal(checkpoint['wal_lsn'], status.wal_lsn);
    assert.equal(checkpoint['duckdb_lsn'], status.duckdb_lsn);
    assert.equal(checkpoint['iceberg_lsn'], '0');
    assert.ok(Math.abs(Date.parse(checkpoint['timestamp']!) - Date.now()) < 60_000, `timestamp ${checkpoint['timestamp']}`);

    restoreDuckdb(dataDir, oldDuckdb);
    let arka = await startArka({ dataDir });
    try {
      const open = logLines(arka, 'write-ahead log open');
      assert.equal(open[0]!['replayedUnits'], units, 'every unit after the old applied LSN is replayed');
      assert.deepEqual(await snapshot(arka), final, 'replay reproduces the tables and the CDC log exactly');
      await arka.kill();
      arka = await startArka({ dataDir });
      assert.equal(logLines(arka, 'write-ahead log open')[0]!['replayedUnits'], 0, 'nothing is replayed twice');
      assert.deepEqual(await snapshot(arka), final);
      const client = await connect(arka);
      await client.query("INSERT INTO events VALUES ('after-replay', 0)");
      const lsn = (await client.query("SELECT __lsn FROM arka_changes('events') WHERE payload = 'after-replay'")).rows[0].__lsn;
      assert.equal(BigInt(lsn), BigInt(status.wal_lsn) + 1n, 'the LSN counter continues after the replayed ones');
      await client.end();
    } finally {
      await arka.stop();
    }
  });

  test('(c) replay across two segments with a torn tail, after kill -9', { timeout: 60_000 }, async () => {
    const { dataDir, oldDuckdb, final } = await aheadOfDuckDB();
    restoreDuckdb(dataDir, oldDuckdb);
    // Split the segment where rotation could have, and leave a torn write at the end of the second.
    const { path, frames } = onlySegment(dataDir);
    const split = frames[frames.length - 8]!;
    const bytes = readFileSync(path);
    const second = segmentPath(dataDir, segmentName(BigInt(split.header.firstLsn)));
    writeFileSync(second, Buffer.concat([bytes.subarray(split.offset), bytes.subarray(frames[1]!.offset, frames[1]!.offset + 40)]));
    writeFileSync(path, bytes.subarray(0, split.offset));

    let arka = await startArka({ dataDir });
    try {
      assert.equal(logLines(arka, 'cutting a torn WAL tail').length, 1);
      assert.deepEqual(await snapshot(arka), final);
      const client = await connect(arka);
      await client.query("INSERT INTO events VALUES ('after-split', 0)");
      await client.end();
      await arka.kill();
      arka = await startArka({ dataDir });
      assert.equal(segments(dataDir).length, 2, 'the new write went into the last segment');
      const check = await connect(arka);
      assert.equal((await check.query("SELECT count(*)::int AS n FROM events WHERE payload = 'after-split'")).rows[0].n, 1);
      await check.end();
    } finally {
      await arka.stop();
    }
    assert.ok(existsSync(second));
  });

  // ---- units of several frames -------------------------------------------------

  /** The template plus one COPY big enough to be a unit of several WAL frames, then one small write; stopped. */
  async function withBigUnit(): Promise<{ dataDir: string; oldDuckdb: Map<string, Buffer>; bigFrames: FrameInfo[]; final: Record<string, unknown> }> {
    const dataDir = track(copyDir(template));
    const oldDuckdb = new Map(readdirSync(dataDir).filter((f) => f.startsWith('arka.duckdb')).map((f) => [f, readFileSync(join(dataDir, f))]));
    const framesBefore = onlySegment(dataDir).frames.length;
    const arka = await startArka({ dataDir });
    let final: Record<string, unknown>;
    try {
      const wire = await WireClient.connect(arka.port);
      const pad = 'x'.repeat(200);
      const chunks = Array.from({ length: 100 }, (_, i) => Buffer.from(Array.from({ length: 1000 }, (_, j) => `big-${i * 1000 + j}-${pad},${j}\n`).join('')));
      const outcome = await copyIn(wire, 'COPY events FROM STDIN (FORMAT csv)', chunks);
      wire.end();
      assert.deepEqual(outcome, { kind: 'acked', tag: 'COPY 100000' });
      const client = await connect(arka);
      await client.query("INSERT INTO events VALUES ('after-big', 1)");
      await client.end();
      final = await snapshot(arka);
    } finally {
      assert.equal(await arka.stop(), 0);
    }
    const frames = onlySegment(dataDir).frames.slice(framesBefore);
    const bigUnit = frames[0]!.header.unit;
    const bigFrames = frames.filter((f) => f.header.unit === bigUnit);
    assert.ok(bigFrames.length >= 2, `the COPY is a unit of ${bigFrames.length} frames`);
    assert.deepEqual(bigFrames.map((f) => f.header.final), [...bigFrames.slice(1).map(() => false), true]);
    return { dataDir, oldDuckdb, bigFrames, final };
  }

  test('(c) a unit of several frames is replayed whole, once', { timeout: 60_000 }, async () => {
    const { dataDir, oldDuckdb, final } = await withBigUnit();
    restoreDuckdb(dataDir, oldDuckdb);
    let arka = await startArka({ dataDir });
    try {
      assert.equal(logLines(arka, 'write-ahead log open')[0]!['replayedUnits'], 2);
      assert.deepEqual(await snapshot(arka), final);
      await arka.kill();
      arka = await startArka({ dataDir });
      assert.deepEqual(await snapshot(arka), final);
    } finally {
      await arka.stop();
    }
  });

  test('(c) a unit whose final frame never made it is discarded whole, and the log goes on after it', { timeout: 60_000 }, async () => {
    const { dataDir, oldDuckdb, bigFrames } = await withBigUnit();
    restoreDuckdb(dataDir, oldDuckdb);
    // The crash came while the COPY's last frame was being written: its first frames are whole, the last is torn.
    const { path } = onlySegment(dataDir);
    const last = bigFrames[bigFrames.length - 1]!;
    truncateSync(path, last.offset + Math.floor((last.end - last.offset) / 2));

    let arka = await startArka({ dataDir });
    try {
      assert.equal(logLines(arka, 'cutting a torn WAL tail').length, 1);
      assert.equal(logLines(arka, 'discarding a WAL unit that never committed').length, 1, `the incomplete unit is reported:\n${arka.logs()}`);
      assert.deepEqual(await snapshot(arka), expected, 'none of the incomplete unit is applied, everything before it is');
      const client = await connect(arka);
      await client.query("INSERT INTO events VALUES ('after-discard', 1)");
      await client.end();
      await arka.kill();
      // Replay now meets the discarded unit's frames followed by a committed unit.
      restoreDuckdb(dataDir, oldDuckdb);
      arka = await startArka({ dataDir });
      const check = await connect(arka);
      assert.deepEqual(
        (await check.query("SELECT count(*) FILTER (WHERE payload LIKE 'big-%')::int AS big, count(*) FILTER (WHERE payload = 'after-discard')::int AS after FROM events")).rows,
        [{ big: 0, after: 1 }],
      );
      const lsns = await check.query("SELECT count(*)::int AS n, count(DISTINCT __lsn)::int AS d FROM arka_changes('events')");
      assert.equal(lsns.rows[0].n, lsns.rows[0].d);
      await check.end();
    } finally {
      await arka.stop();
    }
  });

  test('(c) a unit whose earlier frames reached the disk out of order, and whose final frame never did, is cut at the hole and discarded', { timeout: 60_000 }, async () => {
    const { dataDir, oldDuckdb, bigFrames } = await withBigUnit();
    restoreDuckdb(dataDir, oldDuckdb);
    // Written without a sync of their own, the unit's first frame never reached the disk (zeros) while its second did;
    // the crash came before the sync that precedes the final frame.
    const { path } = onlySegment(dataDir);
    const [hole, after] = bigFrames;
    assert.equal(after!.header.final, false, 'the unit has two earlier frames');
    assert.ok(after!.header.syncedTo! <= hole!.offset, 'the second frame records that the first was not yet synced');
    const bytes = readFileSync(path);
    bytes.fill(0, hole!.offset, hole!.end);
    writeFileSync(path, bytes.subarray(0, bigFrames.at(-1)!.offset));

    let arka = await startArka({ dataDir });
    try {
      const cuts = logLines(arka, 'cutting a torn WAL tail');
      assert.equal(cuts.length, 1);
      assert.equal(cuts[0]!['offset'], hole!.offset, 'cut where the unsynced bytes start');
      assert.deepEqual(await snapshot(arka), expected, 'none of the unit is applied, everything before it is');
      const client = await connect(arka);
      await client.query("INSERT INTO events VALUES ('after-hole', 1)");
      await client.end();
      await arka.kill();
      arka = await startArka({ dataDir });
      const check = await connect(arka);
      assert.deepEqual((await check.query("SELECT count(*)::int AS n FROM events WHERE payload = 'after-hole'")).rows, [{ n: 1 }]);
      await check.end();
    } finally {
      await arka.stop();
    }
  });

  test('(c) the same hole with the unit\'s final frame after it is damage: the server refuses to start', { timeout: 60_000 }, async () => {
    const { dataDir, bigFrames } = await withBigUnit();
    // The final frame follows a sync of every byte before it: a hole there was synced data, and is never cut.
    const { name, path } = onlySegment(dataDir);
    const hole = bigFrames[0]!;
    const bytes = readFileSync(path);
    bytes.fill(0, hole.offset, hole.end);
    writeFileSync(path, bytes);
    const { code, output } = await refusedStart(dataDir);
    assert.equal(code, 1);
    assert.match(output, new RegExp(`WAL segment ${name} is corrupt at byte ${hole.offset}: `));
  });

  test('(c) kill -9 during replay, then replay again: exactly once', { timeout: 90_000 }, async (t) => {
    const dataDir = track(copyDir(template));
    const oldDuckdb = new Map(readdirSync(dataDir).filter((f) => f.startsWith('arka.duckdb')).map((f) => [f, readFileSync(join(dataDir, f))]));
    let arka = await startArka({ dataDir });
    let final: Record<string, unknown>;
    const UNITS = 150;
    try {
      const client = await connect(arka);
      for (let i = 0; i < UNITS; i++) {
        await client.query(i % 3 === 2 ? `UPDATE kv SET n = n + 1 WHERE id = 1` : `INSERT INTO events VALUES ('unit-${i}', ${i})`);
      }
      await client.end();
      final = await snapshot(arka);
    } finally {
      assert.equal(await arka.stop(), 0);
    }
    restoreDuckdb(dataDir, oldDuckdb);

    // Kill the server several times while it replays (before it listens), at growing delays.
    const attempts: string[] = [];
    for (const delay of [900, 1300, 1700, 2100]) {
      const child = spawn(process.execPath, [ARKA_BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.kill('SIGKILL');
      await exited;
      attempts.push(`${delay} ms: ${/arka listening/.test(output) ? 'had finished' : 'killed before listening'}`);
    }
    arka = await startArka({ dataDir });
    try {
      const replayed = logLines(arka, 'write-ahead log open')[0]!['replayedUnits'] as number;
      t.diagnostic(`kills: ${attempts.join('; ')}; the last start replayed ${replayed} of ${UNITS} units`);
      assert.ok(replayed <= UNITS, `replayed ${replayed} (${attempts.join('; ')})`);
      assert.deepEqual(await snapshot(arka), final, `after interrupted replays (${attempts.join('; ')}; ${replayed} units left for the last start)`);
    } finally {
      await arka.stop();
    }
  });
});

describe('a WAL that cannot be written', () => {
  const rowsOf = async (client: pg.Client, sql: string) => (await client.query({ text: sql, rowMode: 'array' })).rows;

  /** Starts Arka on `dataDir` (with `options`), runs `use` on one connection, and stops it. */
  async function served(dataDir: string, options: Omit<ArkaOptions, 'dataDir'>, use: (client: pg.Client) => Promise<void>): Promise<void> {
    const arka = await startArka({ ...options, dataDir });
    try {
      const client = await connect(arka);
      try {
        await use(client);
      } finally {
        await client.end();
      }
    } finally {
      await arka.stop();
    }
  }

  test('(d) its segment cannot be allocated (a file size limit): writes fail with 58030 and nothing is acknowledged, reads go on; restarted without the limit, the server writes into that same segment', { timeout: 60_000 }, async () => {
    const dataDir = track(tempDataDir());
    // 16 MiB: DuckDB's files stay below it; a 64 MB WAL segment cannot be allocated.
    await served(dataDir, { fileSizeLimit: 16 * 1024 * 1024 }, async (client) => {
      await client.query('CREATE TABLE kept (k int)');
      for (const k of [1, 2]) {
        await assert.rejects(client.query(`INSERT INTO kept VALUES (${k})`), (error: pg.DatabaseError) => {
          assert.equal(error.code, '58030');
          assert.match(error.message, /could not write: EFBIG/);
          assert.match(error.hint ?? '', /restart Arka/);
          return true;
        });
      }
      assert.deepEqual(await rowsOf(client, 'SELECT count(*) FROM kept'), [['0']], 'nothing acknowledged, nothing visible, and the read is served');
    });
    assert.deepEqual(segments(dataDir), [segmentName(1n)], 'the segment was created, and left empty');
    for (const round of [1, 2]) {
      await served(dataDir, {}, async (client) => {
        if (round === 1) await client.query('INSERT INTO kept VALUES (3)');
        assert.deepEqual(await rowsOf(client, 'SELECT count(*) FROM kept'), [['1']], `round ${round}: the write after the restart is there`);
      });
    }
    assert.deepEqual(segments(dataDir), [segmentName(1n)], 'written into the segment left empty, not a new one');
  });

  test('(d) a group whose DuckDB commit fails after its WAL frame is durable (DuckDB\'s WAL past a file size limit): 58030 saying the restart applies it, no write commits after it, and the restart applies it', { timeout: 90_000 }, async () => {
    const dataDir = track(tempDataDir());
    await served(dataDir, {}, async (client) => {
      await client.query('CREATE TABLE wide (k int PRIMARY KEY, v text)');
      await client.query("INSERT INTO wide SELECT g, '' FROM generate_series(1, 50000) g");
      await client.query('CREATE TABLE later (k int)');
    });
    // 28 MiB: the update's 100,000 WAL records fit in Arka's segment (allocated already: about 21 MB
    // used after them); DuckDB's own WAL for it (the rows again, and their CDC records: 36 MB) does not.
    await served(dataDir, { fileSizeLimit: 28 * 1024 * 1024 }, async (client) => {
      await assert.rejects(client.query("UPDATE wide SET v = repeat('y', 300)"), (error: pg.DatabaseError) => {
        assert.equal(error.code, '58030');
        assert.match(error.message, /could not commit: .*File too large/);
        assert.match(error.detail ?? '', /restart that replays it applies them/);
        return true;
      });
      // A write committed now would take the applied LSN past the update, and the replay would skip it.
      await assert.rejects(client.query('INSERT INTO later VALUES (1)'), (error: pg.DatabaseError) => {
        assert.equal(error.code, '58030');
        assert.match(error.hint ?? '', /restart Arka/);
        return true;
      });
      assert.deepEqual(await rowsOf(client, 'SELECT count(*), max(length(v)) FROM wide'), [['50000', '0']], 'reads are served, without the update');
    });
    await served(dataDir, {}, async (client) => {
      assert.deepEqual(await rowsOf(client, 'SELECT count(*), min(length(v)), max(length(v)) FROM wide'), [['50000', '300', '300']], 'the replay applied the update');
      assert.deepEqual(await rowsOf(client, 'SELECT count(*) FROM later'), [['0']]);
      assert.deepEqual(await rowsOf(client, "SELECT __change_type, count(*) FROM arka_changes('wide') GROUP BY 1 ORDER BY 1"), [
        ['INSERT', '50000'],
        ['UPDATE_AFTER', '50000'],
        ['UPDATE_BEFORE', '50000'],
      ]);
    });
  });

  test('(d) an apply that fails (DuckDB\'s WAL past a file size limit) stops the writer: waiting reads and later writes get 58030, and the restart applies every acknowledged insert', { timeout: 90_000 }, async () => {
    const dataDir = track(tempDataDir());
    await served(dataDir, {}, async (client) => {
      await client.query('CREATE TABLE logged (k int, v text)');
      await client.query("INSERT INTO logged VALUES (0, '')");
    });
    // The inserts are acknowledged from Arka's WAL (its segment allocated already; about 17 MB used
    // after them) and applied only when a read of the CDC log asks: DuckDB's WAL for that one apply
    // (the rows and their CDC records, over 30 MB) does not fit under 24 MiB.
    await served(dataDir, { fileSizeLimit: 24 * 1024 * 1024, args: ['--apply-interval', '600000'] }, async (client) => {
      for (let batch = 0; batch < 50; batch++) {
        // Constants only: a direct insert, acknowledged before the apply.
        const values = Array.from({ length: 1000 }, (_, i) => `(${batch * 1000 + i + 1}, '${'z'.repeat(300)}')`).join(', ');
        await client.query(`INSERT INTO logged VALUES ${values}`);
      }
      await assert.rejects(client.query("SELECT count(*) FROM arka_changes('logged')"), (error: pg.DatabaseError) => {
        assert.equal(error.code, '58030');
        assert.match(error.message, /File too large/);
        return true;
      });
      await assert.rejects(client.query('INSERT INTO logged VALUES (-1, NULL)'), (error: pg.DatabaseError) => error.code === '58030');
    });
    await served(dataDir, {}, async (client) => {
      assert.deepEqual(await rowsOf(client, 'SELECT count(*), count(DISTINCT k), min(k), max(k) FROM logged'), [['50001', '50001', 0, 50000]], 'every acknowledged insert, once');
      assert.deepEqual(await rowsOf(client, "SELECT count(*) FROM arka_changes('logged')"), [['50001']]);
    });
  });
});

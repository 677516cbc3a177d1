// The write-ahead log's files, driven directly: appends issued back to back
// (small ones, which keep zeros written ahead of them, and large ones, which
// overtake the zeros; final frames, written durably, through libuv's pool or
// inline, and a unit's earlier frames, written without a sync of their own)
// read back whole and in order
// across segments, each recording how far its segment was durable before it,
// and the space after the last frame is allocated on disk, zeros, before any
// append reaches it; and a frame a short write left unfinished is completed
// from where it stopped.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLogger } from '../src/log.js';
import { encodeFrameParts, type Frame } from '../src/wal/frame.js';
import { WriteAheadLog, writeRest } from '../src/wal/wal.js';
import { tempDataDir } from './support/arka.js';
import { readFrames } from './support/wal-files.js';

const log = createLogger('silent');
const SEGMENT_BYTES = 3 * 1024 * 1024;

/** Frame `i`: its one batch holds `size` bytes derived from `i`, so a frame overwritten in part reads back different; one in five is not final. */
function frameOf(i: number, size: number): Frame {
  const batch = new Uint8Array(size);
  for (let at = 0; at < size; at++) batch[at] = (i * 31 + at) % 251;
  return { header: { unit: i + 1, final: i % 5 !== 3, firstLsn: String(i + 1), lastLsn: String(i + 1) }, batches: [batch] };
}

/** A frame's bytes with the header the WAL gives it (syncedTo takes at most this many more). */
const SYNCED_TO_BYTES = 24;

describe('write-ahead log files', () => {
  test('back-to-back appends of mixed sizes read back whole, in order, across segments; the space ahead is allocated zeros', async () => {
    const dir = join(tempDataDir(), 'wal');
    try {
      const wal = await WriteAheadLog.open(dir, SEGMENT_BYTES, log, async () => {});
      const sizes = Array.from({ length: 3000 }, (_, i) => (i % 100 === 50 ? 700_000 : 1000 + (i % 7) * 100));
      // Not awaited one by one: appends queue behind each other and behind the zeros being written;
      // one in three is written inline (a lone commit's), on this thread rather than libuv's pool.
      await Promise.all(sizes.map((size, i) => wal.append(frameOf(i, size), BigInt(i + 1), i % 3 === 0)));
      const written = wal.segmentCount;
      await wal.close();
      assert.ok(written >= 3, `the appends span several segments (${written})`);

      const segments = readdirSync(dir).sort();
      const last = join(dir, segments.at(-1)!);
      const seen: Frame[] = [];
      const reopened = await WriteAheadLog.open(dir, SEGMENT_BYTES, log, async (frame) => void seen.push(frame));
      await reopened.close();
      assert.equal(seen.length, sizes.length);
      seen.forEach((frame, i) => {
        assert.equal(frame.header.unit, i + 1);
        assert.equal(frame.header.final, frameOf(i, 0).header.final);
        assert.deepEqual(Buffer.from(frame.batches[0]!), Buffer.from(frameOf(i, sizes[i]!).batches[0]!), `frame ${i} reads back as written`);
      });
      // Each frame records how far its segment was durable before it: a final frame, all of it (it
      // follows a sync of everything before it); another, up to the first frame written since a sync.
      for (const name of segments) {
        let durable = 0;
        for (const frame of readFrames(join(dir, name))) {
          const expected = frame.header.final ? frame.offset : durable;
          assert.equal(frame.header.syncedTo, expected, `${name} frame at ${frame.offset} (unit ${frame.header.unit}, final ${frame.header.final})`);
          if (frame.header.final) durable = frame.end;
        }
      }
      // The last segment's frames end well before its size; the zeros written ahead occupy blocks.
      const base = Number(/^segment_(\d+)\.arrow$/.exec(segments.at(-1)!)![1]);
      const dataBytes = sizes.slice(base - 1).reduce((sum, size, k) => sum + encodeFrameParts(frameOf(base - 1 + k, size)).length + SYNCED_TO_BYTES, 0);
      const { blocks, size } = statSync(last);
      assert.equal(size, SEGMENT_BYTES);
      assert.ok(blocks * 512 >= dataBytes + 512 * 1024, `blocks after the data are allocated (${blocks * 512} bytes on disk for ${dataBytes} of frames)`);
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });

  test('a frame a short write left unfinished is completed from where it stopped, wherever that falls among its parts', async () => {
    const dir = tempDataDir();
    try {
      const path = join(dir, 'short-write');
      const { parts, length } = encodeFrameParts(frameOf(7, 5000));
      const whole = Buffer.concat(parts);
      const position = 4096;
      // Cut inside the prefix, at a part's boundary, inside the batch, and one byte short.
      for (const done of [5, parts[0]!.length, parts[0]!.length + 4 + 100, length - 1]) {
        rmSync(path, { force: true });
        const handle = await open(path, 'w+');
        try {
          await handle.write(Buffer.alloc(position, 0xee), 0, position, 0);
          // What the short write got out: the frame's first `done` bytes.
          await handle.write(whole, 0, done, position);
          await writeRest(handle, parts, done, position);
        } finally {
          await handle.close();
        }
        const bytes = readFileSync(path);
        assert.equal(bytes.length, position + length, `cut at ${done}: nothing written past the frame`);
        assert.ok(bytes.subarray(0, position).every((byte) => byte === 0xee), `cut at ${done}: the bytes before the frame are untouched`);
        assert.deepEqual(bytes.subarray(position), whole, `cut at ${done}: the frame is whole`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a segment created but never written (its preallocation failed, or a crash came first) is reopened at the next start and written, not refused', async () => {
    for (const left of ['an empty file', 'a file of zeros at full size']) {
      const dir = join(tempDataDir(), 'wal');
      try {
        mkdirSync(dir, { recursive: true });
        const first = await WriteAheadLog.open(dir, SEGMENT_BYTES, log, async () => {});
        // A frame as large as a segment fills it: the next append starts the next segment.
        await first.append(frameOf(0, SEGMENT_BYTES), 1n);
        await first.close();
        // The next segment, as its creation left it: named for the LSN its first frame was to have.
        writeFileSync(join(dir, 'segment_00000000000000000002.arrow'), left === 'an empty file' ? Buffer.alloc(0) : Buffer.alloc(SEGMENT_BYTES));
        const seen: Frame[] = [];
        const reopened = await WriteAheadLog.open(dir, SEGMENT_BYTES, log, async (frame) => void seen.push(frame));
        assert.equal(seen.length, 1, `${left}: the first segment's frame is replayed`);
        await reopened.append(frameOf(1, 1000), 2n);
        await reopened.close();
        assert.deepEqual(readdirSync(dir).sort(), ['segment_00000000000000000001.arrow', 'segment_00000000000000000002.arrow'], `${left}: no third segment`);
        assert.equal(statSync(join(dir, 'segment_00000000000000000002.arrow')).size, SEGMENT_BYTES, `${left}: the segment is extended to its size`);
        const after: Frame[] = [];
        const last = await WriteAheadLog.open(dir, SEGMENT_BYTES, log, async (frame) => void after.push(frame));
        await last.close();
        assert.deepEqual(after.map((frame) => frame.header.unit), [1, 2], `${left}: both frames read back`);
        assert.deepEqual(Buffer.from(after[1]!.batches[0]!), Buffer.from(frameOf(1, 1000).batches[0]!));
      } finally {
        rmSync(join(dir, '..'), { recursive: true, force: true });
      }
    }
  });
});

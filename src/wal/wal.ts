import { constants, mkdirSync, readdirSync, writevSync } from 'node:fs';
import { open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { fsyncDirectory } from './fsync.js';
import { encodeFrameParts, FRAME_MAGIC, scanFrame, type Frame } from './frame.js';

const SEGMENT_PATTERN = /^segment_(\d{20})\.arrow$/;

export function segmentName(baseLsn: bigint): string {
  return `segment_${baseLsn.toString().padStart(20, '0')}.arrow`;
}

/** Recovery met bytes that are not a torn tail: it stops rather than skip data. */
export class WalCorruptionError extends Error {
  constructor(segment: string, offset: number, reason: string) {
    super(`WAL segment ${segment} is corrupt at byte ${offset}: ${reason}; refusing to start (move the segment aside only if its data may be lost)`);
    this.name = 'WalCorruptionError';
  }
}

type Segment = { name: string; baseLsn: bigint; bytes: number };

/**
 * The write-ahead log: segment files of CRC-checked frames in `wal/`,
 * appended by one writer. A unit's final frame is written through a handle
 * opened with O_DSYNC, so it is durable when the append returns: one system
 * call (one trip to the thread pool) per commit group instead of a write and
 * an fdatasync. A large unit's earlier frames are written without a sync of
 * their own (an O_DSYNC write of 8 MB waits for the device before the next
 * can start: a third of the throughput of writing them all and syncing once),
 * and the durable append that follows them syncs the file first, so every
 * durable append leaves all the bytes before it durable too; open() relies on
 * it. A segment's file is
 * extended to its full size when it is opened for writing, so an append
 * does not change the file's size and its sync has no size to record (a
 * quarter less time per durable write on ext4, measured alone), and the
 * space just after the appends is written with zeros ahead (zeroAhead); the
 * zeros after the last frame are space not yet written. See frame.ts for the
 * layout.
 */
export class WriteAheadLog {
  private handle: FileHandle | undefined;
  /**
   * A write or sync failed: what reached the disk is unknown (a partial frame,
   * or pages the kernel marked clean after the error), so nothing more is
   * appended after it; a restart recovers the log.
   */
  private failure: Error | undefined;
  /** The current segment opened without O_DSYNC, for frames that need no sync of their own (opened at the first). */
  private bulkHandle: FileHandle | undefined;
  /** Bytes of the current segment written through bulkHandle and not yet synced. */
  private unsynced = false;
  /** The current segment's bytes from 0 known to be durable. */
  private syncedTo = 0;
  private appending: Promise<void> = Promise.resolve();
  private current: Segment | undefined;
  /** The current segment's bytes from 0 that are allocated on disk (written, with data or zeros). */
  private zeroedTo = 0;
  /** A write of zeros ahead of the appends, from `zeroedTo` (which stays put meanwhile); an append reaching it waits for it. */
  private zeroing: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    private readonly segmentBytes: number,
    private readonly segments: Segment[],
    private readonly log: Logger,
  ) {}

  /**
   * Opens the log, calling `onFrame` for every frame in order. A torn tail (a
   * crash mid-write) is cut off; corruption anywhere else throws.
   */
  static async open(dir: string, segmentBytes: number, log: Logger, onFrame: (frame: Frame) => Promise<void>): Promise<WriteAheadLog> {
    mkdirSync(dir, { recursive: true });
    const segments: Segment[] = readdirSync(dir)
      .map((name) => ({ name, match: SEGMENT_PATTERN.exec(name) }))
      .filter((entry) => entry.match)
      .map((entry) => ({ name: entry.name, baseLsn: BigInt(entry.match![1]!), bytes: 0 }))
      .sort((a, b) => (a.baseLsn < b.baseLsn ? -1 : a.baseLsn > b.baseLsn ? 1 : 0));
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const path = join(dir, segment.name);
      const bytes = await readFile(path);
      let offset = 0;
      while (offset < bytes.length) {
        const scan = scanFrame(bytes, offset);
        if (scan.kind === 'frame') {
          await onFrame(scan.frame);
          offset = scan.end;
          continue;
        }
        const last = i === segments.length - 1;
        // The last segment's space not yet written to (it was allocated ahead).
        if (last && isZeros(bytes, offset)) break;
        // In the last segment, bytes no complete frame follows are a write the
        // crash cut short, and so are bytes followed only by frames written
        // after them before any sync (a unit's earlier frames reach the disk in
        // any order): neither was ever acknowledged. A good frame written after
        // them was synced means they are damage in the middle, which is never cut.
        if (last && onlyUnsyncedFramesAfter(bytes, offset)) {
          log.warn({ segment: segment.name, offset, discarded: bytes.length - offset }, 'cutting a torn WAL tail');
          await truncate(path, offset);
          const handle = await open(path, 'r+');
          await handle.sync();
          await handle.close();
          break;
        }
        throw new WalCorruptionError(segment.name, offset, scan.kind === 'torn' ? 'incomplete frame before the last segment' : scan.reason);
      }
      segment.bytes = offset;
    }
    return new WriteAheadLog(dir, segmentBytes, segments, log);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  get totalBytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.bytes, 0);
  }

  /**
   * Appends one frame, recording in its header how far the segment was
   * durable before it. A unit's final frame is durable when this returns, and
   * so is everything before it; an earlier frame is only written. Appends run
   * one at a time, in call order. `inline`: a final frame is written by a
   * synchronous system call on the calling thread rather than through
   * libuv's pool, which wakes a pool thread and then this one (on a virtual
   * machine, as long again as the write itself); for when nothing else
   * waits for this thread, and only while syncs are quick (syncsQuickly).
   */
  append(frame: Frame, firstLsn: bigint, inline = false): Promise<void> {
    const appended = this.appending.then(() => {
      if (this.failure) throw new Error(`the write-ahead log stopped after a failed write: ${this.failure.message}`);
      return this.appendNow(frame, firstLsn, inline).catch((error: unknown) => {
        this.failure ??= error as Error;
        this.onFailure?.(this.failure);
        throw error;
      });
    });
    this.appending = appended.catch(() => undefined);
    return appended;
  }

  /** Called once, at the first failed write or sync. */
  onFailure: ((error: Error) => void) | undefined;

  /** The last durable append took less than INLINE_MAX_MS: a slow disk is never waited for with the thread blocked. */
  get syncsQuickly(): boolean {
    return this.lastDurableMs < INLINE_MAX_MS;
  }

  private lastDurableMs = Infinity;

  private async appendNow(frame: Frame, firstLsn: bigint, inline: boolean): Promise<void> {
    if (!this.current || this.current.bytes >= this.segmentBytes) await this.rotate(firstLsn);
    const current = this.current!;
    const durable = frame.header.final;
    if (durable && this.unsynced) await this.sync();
    const { parts, length } = encodeFrameParts({ header: { ...frame.header, syncedTo: this.syncedTo }, batches: frame.batches });
    if (this.zeroing && current.bytes + length > this.zeroedTo) await this.zeroing;
    const handle = durable ? this.handle! : (this.bulkHandle ??= await open(join(this.dir, current.name), constants.O_WRONLY));
    // One O_DSYNC write is one sync: a durable frame goes out in one system call.
    const started = performance.now();
    const bytesWritten = durable && inline ? writevSync(handle.fd, parts, current.bytes) : (await handle.writev(parts, current.bytes)).bytesWritten;
    if (bytesWritten < length) await writeRest(handle, parts, bytesWritten, current.bytes);
    current.bytes += length;
    if (durable) {
      this.syncedTo = current.bytes;
      this.lastDurableMs = performance.now() - started;
    } else this.unsynced = true;
    if (current.bytes > this.zeroedTo) this.zeroedTo = current.bytes;
    if (length < ZERO_AHEAD_BYTES / 16) this.zeroAhead();
  }

  /** Makes every byte written to the current segment durable. */
  private async sync(): Promise<void> {
    await this.handle!.datasync();
    this.unsynced = false;
    this.syncedTo = this.current!.bytes;
  }

  /**
   * Keeps the space after the appends written with zeros, as PostgreSQL
   * prepares its WAL segments: an O_DSYNC append into allocated space changes
   * no metadata, so it waits for no journal commit (a sixth less time per
   * durable write with both cores busy, measured). Only for small appends:
   * a COPY's large frames would overtake the zeros and write twice.
   */
  private zeroAhead(): void {
    const current = this.current!;
    if (this.zeroing || this.zeroedTo >= this.segmentBytes || this.zeroedTo - current.bytes >= ZERO_AHEAD_BYTES / 2) return;
    const from = this.zeroedTo;
    const length = Math.min(ZERO_AHEAD_BYTES, this.segmentBytes - from);
    // rotate() and close() wait for it: the handle outlives it.
    this.zeroing = this.handle!
      .write(ZEROS, 0, length, from)
      .then(({ bytesWritten }) => {
        this.zeroedTo = from + bytesWritten;
      })
      .catch((error) => this.log.warn({ err: error }, 'could not write zeros ahead in the WAL segment'))
      .finally(() => {
        this.zeroing = undefined;
      });
  }


  private async rotate(baseLsn: bigint): Promise<void> {
    await this.zeroing;
    // A segment is complete on disk before the next one exists: only the last can hold unsynced frames.
    if (this.unsynced) await this.sync();
    await this.bulkHandle?.close();
    this.bulkHandle = undefined;
    await this.handle?.close();
    const last = this.segments[this.segments.length - 1];
    // The segment recovery ended in is reopened, even empty (its creation or preallocation failed, or a crash followed it).
    const reopen = !this.current && last !== undefined && last.bytes < this.segmentBytes;
    if (reopen) {
      this.current = last;
    } else {
      this.current = { name: segmentName(baseLsn), baseLsn, bytes: 0 };
      this.segments.push(this.current);
      this.log.debug({ segment: this.current.name }, 'new WAL segment');
    }
    const path = join(this.dir, this.current.name);
    // O_EXCL: a new segment never replaces a file (LSNs are never reused, so names are unique).
    const create = reopen ? 0 : constants.O_CREAT | constants.O_EXCL;
    this.handle = await open(path, constants.O_WRONLY | constants.O_DSYNC | create, 0o644);
    if ((await this.handle.stat()).size < this.segmentBytes) {
      await this.handle.truncate(this.segmentBytes);
      await this.handle.sync();
    } else if (!create) {
      // The segment recovery ended in may hold frames a crash left in the page cache only (a unit's
      // earlier frames): synced now, so that syncedTo is true of every byte before the appends.
      await this.handle.datasync();
    }
    // A reopened segment's entry too: the start that created it may have crashed before its directory was synced.
    await fsyncDirectory(this.dir);
    this.zeroedTo = this.current.bytes;
    this.syncedTo = this.current.bytes;
  }

  async close(): Promise<void> {
    await this.appending;
    await this.zeroing;
    await this.handle?.sync();
    await this.bulkHandle?.close();
    this.bulkHandle = undefined;
    await this.handle?.close();
    this.handle = undefined;
  }
}

/** Writes what a short writev left of `parts` (from byte `done` of them), the frame starting at `position`. */
export async function writeRest(handle: FileHandle, parts: Uint8Array[], done: number, position: number): Promise<void> {
  const rest = Buffer.concat(parts).subarray(done);
  let written = 0;
  while (written < rest.length) {
    const { bytesWritten } = await handle.write(rest, written, rest.length - written, position + done + written);
    written += bytesWritten;
  }
}

/** A durable append slower than this (a disk under load) makes the next ones go through libuv's pool (syncsQuickly). */
const INLINE_MAX_MS = 2;

/** How far ahead of the appends the segment is written with zeros. */
const ZERO_AHEAD_BYTES = 1024 * 1024;
const ZEROS = Buffer.alloc(ZERO_AHEAD_BYTES);

/** Whether every byte from `offset` on is zero. */
function isZeros(bytes: Buffer, offset: number): boolean {
  for (let at = offset; at < bytes.length; at += ZEROS.length) {
    const end = Math.min(at + ZEROS.length, bytes.length);
    if (!bytes.subarray(at, end).equals(ZEROS.subarray(0, end - at))) return false;
  }
  return true;
}

/**
 * Whether every complete, checksummed frame after `offset` (there may be
 * none) was written while the bytes at `offset` were not yet synced: each is
 * a unit's earlier frame (a final frame is written after a sync of all before
 * it) whose header says the segment was durable only up to `offset` or less.
 * Frames of WAL files that record no `syncedTo` count as synced.
 */
function onlyUnsyncedFramesAfter(bytes: Buffer, offset: number): boolean {
  const magic = Buffer.alloc(4);
  magic.writeUInt32BE(FRAME_MAGIC);
  for (let at = bytes.indexOf(magic, offset + 1); at >= 0; at = bytes.indexOf(magic, at + 1)) {
    const scan = scanFrame(bytes, at);
    if (scan.kind !== 'frame') continue;
    const { final, syncedTo } = scan.frame.header;
    if (final || syncedTo === undefined || syncedTo > offset) return false;
  }
  return true;
}

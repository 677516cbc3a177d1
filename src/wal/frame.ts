import { crc32 } from 'node:zlib';

/**
 * A WAL frame: the unit written (and fsynced) at once.
 *
 *   magic u32 'ARKW' | payload length u32 | crc32 of payload u32 | payload
 *   payload = header length u32 | header JSON | batch count u32 | (length u32 | Arrow IPC stream)*
 *
 * The CRC lets recovery tell a torn tail (a crash mid-write) from good data.
 */
export const FRAME_MAGIC = 0x41524b57;
export const FRAME_HEADER_BYTES = 12;
/** A frame larger than this is corruption, not data (frames are cut at ~16 MB). */
export const MAX_FRAME_BYTES = 512 * 1024 * 1024;

export type FrameHeader = {
  /** The commit unit: an autocommit group or one explicit transaction. */
  unit: number;
  /** The unit's last frame: only then are its changes committed. */
  final: boolean;
  firstLsn: string;
  lastLsn: string;
  /**
   * How many bytes of the segment were durable when the frame was written
   * (absent in WAL files from before it was recorded): recovery tells a
   * crash's unsynced writes from damage to synced data by it.
   */
  syncedTo?: number;
};

export type Frame = { header: FrameHeader; batches: Uint8Array[] };

/**
 * A frame as the pieces written one after another: the prefix (magic, length,
 * CRC, and the payload's header) and, per batch, its length and its bytes as
 * they are, so that a large frame is written without being copied into one
 * buffer first (the CRC is computed over the pieces in turn).
 */
export function encodeFrameParts(frame: Frame): { parts: Uint8Array[]; length: number } {
  const header = Buffer.from(JSON.stringify(frame.header));
  const prefix = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4 + header.length + 4);
  let at = FRAME_HEADER_BYTES;
  at = prefix.writeUInt32BE(header.length, at);
  at += header.copy(prefix, at);
  prefix.writeUInt32BE(frame.batches.length, at);
  const parts: Uint8Array[] = [prefix];
  let size = prefix.length - FRAME_HEADER_BYTES;
  let crc = crc32(prefix.subarray(FRAME_HEADER_BYTES));
  for (const batch of frame.batches) {
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(batch.length);
    crc = crc32(batch, crc32(length, crc));
    parts.push(length, batch);
    size += 4 + batch.length;
  }
  prefix.writeUInt32BE(FRAME_MAGIC, 0);
  prefix.writeUInt32BE(size, 4);
  prefix.writeUInt32BE(crc, 8);
  return { parts, length: FRAME_HEADER_BYTES + size };
}

export type FrameScan =
  | { kind: 'frame'; frame: Frame; end: number }
  /** The bytes from here to the end cannot be a complete frame: a torn write. */
  | { kind: 'torn' }
  /** A complete frame whose bytes are wrong. */
  | { kind: 'corrupt'; reason: string };

/** Reads the frame starting at `offset` of a segment's bytes. */
export function scanFrame(bytes: Buffer, offset: number): FrameScan {
  const left = bytes.length - offset;
  if (left < FRAME_HEADER_BYTES) return { kind: 'torn' };
  if (bytes.readUInt32BE(offset) !== FRAME_MAGIC) return { kind: 'corrupt', reason: 'bad frame magic' };
  const size = bytes.readUInt32BE(offset + 4);
  if (size > MAX_FRAME_BYTES) return { kind: 'corrupt', reason: `frame length ${size} is impossible` };
  const end = offset + FRAME_HEADER_BYTES + size;
  if (end > bytes.length) return { kind: 'torn' };
  const payload = bytes.subarray(offset + FRAME_HEADER_BYTES, end);
  if (crc32(payload) !== bytes.readUInt32BE(offset + 8)) {
    // A bad checksum on the very last frame is a write the crash cut short.
    return end === bytes.length ? { kind: 'torn' } : { kind: 'corrupt', reason: 'frame checksum mismatch' };
  }
  try {
    let at = 0;
    const headerLength = payload.readUInt32BE(at);
    at += 4;
    const header = JSON.parse(payload.toString('utf8', at, at + headerLength)) as FrameHeader;
    at += headerLength;
    const count = payload.readUInt32BE(at);
    at += 4;
    const batches: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const length = payload.readUInt32BE(at);
      at += 4;
      if (at + length > payload.length) return { kind: 'corrupt', reason: 'batch overruns its frame' };
      batches.push(payload.subarray(at, at + length));
      at += length;
    }
    if (at !== payload.length) return { kind: 'corrupt', reason: 'trailing bytes in frame' };
    return { kind: 'frame', frame: { header, batches }, end };
  } catch (error) {
    return { kind: 'corrupt', reason: `unreadable frame: ${(error as Error).message}` };
  }
}

// Reads Arka's WAL segment files independently of src/wal, so tests can find
// frame boundaries and tamper with them. The layout (src/wal/frame.ts):
//   magic u32 'ARKW' | payload length u32 | crc32(payload) u32 | payload
//   payload = header length u32 | header JSON | batch count u32 | (length u32 | Arrow IPC)*

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FRAME_MAGIC = 0x41524b57;
export const FRAME_HEADER_BYTES = 12;

export type FrameHeaderJson = { unit: number; final: boolean; firstLsn: string; lastLsn: string; syncedTo?: number };

export type FrameInfo = {
  /** Byte offset of the frame's magic in its segment. */
  offset: number;
  /** Offset just past the frame. */
  end: number;
  payloadLength: number;
  header: FrameHeaderJson;
  batches: number;
};

export function walDir(dataDir: string): string {
  return join(dataDir, 'wal');
}

/** Segment file names, in base-LSN order. */
export function segments(dataDir: string): string[] {
  return readdirSync(walDir(dataDir))
    .filter((name) => /^segment_\d{20}\.arrow$/.test(name))
    .sort();
}

export function segmentPath(dataDir: string, name: string): string {
  return join(walDir(dataDir), name);
}

/** Whether every byte from `offset` on is zero: a segment's space not yet written (segments are allocated ahead). */
export function zerosFrom(bytes: Buffer, offset: number): boolean {
  return bytes.subarray(offset).every((byte) => byte === 0);
}

/** The frames of a well-formed segment (up to its unwritten space); throws if the bytes are not a sequence of whole frames. */
export function framesOf(bytes: Buffer): FrameInfo[] {
  const frames: FrameInfo[] = [];
  let offset = 0;
  while (offset < bytes.length && !zerosFrom(bytes, offset)) {
    if (bytes.length - offset < FRAME_HEADER_BYTES) throw new Error(`partial frame header at ${offset}`);
    if (bytes.readUInt32BE(offset) !== FRAME_MAGIC) throw new Error(`no frame magic at ${offset}`);
    const payloadLength = bytes.readUInt32BE(offset + 4);
    const end = offset + FRAME_HEADER_BYTES + payloadLength;
    if (end > bytes.length) throw new Error(`frame at ${offset} runs past the end`);
    const payload = bytes.subarray(offset + FRAME_HEADER_BYTES, end);
    const headerLength = payload.readUInt32BE(0);
    const header = JSON.parse(payload.toString('utf8', 4, 4 + headerLength)) as FrameHeaderJson;
    const batches = payload.readUInt32BE(4 + headerLength);
    frames.push({ offset, end, payloadLength, header, batches });
    offset = end;
  }
  return frames;
}

export function readFrames(path: string): FrameInfo[] {
  return framesOf(readFileSync(path));
}

/** Segment name for a base LSN, as the server names them. */
export function segmentName(baseLsn: bigint): string {
  return `segment_${baseLsn.toString().padStart(20, '0')}.arrow`;
}

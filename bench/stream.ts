// A 10-million-row result read by psql in full, timed, while the server's
// memory is sampled: a server that streams stays flat however many rows go out.

import { performance } from 'node:perf_hooks';
import { connectionArgs, pgTool, runTool, type Target } from './common.js';
import { rssKiB } from './proc.js';

export const STREAM_ROWS = 10_000_000;
const STREAM_SQL = `SELECT g, g * 2 FROM generate_series(1, ${STREAM_ROWS}) g`;
const RSS_SAMPLE_MS = 50;

export type Memory = { beforeKiB: number; peakKiB: number };
export type StreamResult = { seconds: number; rowsPerSecond: number; serverMemory?: Memory };

/** Times psql reading the whole result; samples serverPid's RSS meanwhile when given. */
export async function streamRows(target: Target, serverPid?: number): Promise<StreamResult> {
  // -X skips ~/.psqlrc, so FETCH_COUNT is unset and psql reads the result in one go.
  const args = ['-X', '-A', '-t', ...connectionArgs(target), '-d', target.database, '-c', STREAM_SQL, '-o', '/dev/null'];
  const memory = serverPid === undefined ? undefined : sampleRss(serverPid);
  const start = performance.now();
  try {
    await runTool(pgTool('psql'), args, 600_000);
  } finally {
    memory?.stop();
  }
  const seconds = (performance.now() - start) / 1000;
  return { seconds, rowsPerSecond: STREAM_ROWS / seconds, serverMemory: memory?.result };
}

function sampleRss(pid: number): { result: Memory; stop(): void } {
  const before = rssKiB(pid);
  const result = { beforeKiB: before, peakKiB: before };
  const timer = setInterval(() => {
    try {
      result.peakKiB = Math.max(result.peakKiB, rssKiB(pid));
    } catch {
      // The server is gone; psql fails and reports it.
    }
  }, RSS_SAMPLE_MS);
  return { result, stop: () => clearInterval(timer) };
}

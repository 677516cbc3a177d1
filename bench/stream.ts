// A 10-million-row result read by psql in full, timed, while the server's
// memory is sampled: a server that streams stays flat however many rows go out.

import { performance } from 'node:perf_hooks';
import { connectionArgs, pgTool, runTool, type Target } from './common.js';
import { watchMemory, type Memory } from './proc.js';

export const STREAM_ROWS = 10_000_000;
const STREAM_SQL = `SELECT g, g * 2 FROM generate_series(1, ${STREAM_ROWS}) g`;

export type StreamResult = { seconds: number; rowsPerSecond: number; serverMemory?: Memory };

/** Times psql reading the whole result; samples serverPid's RSS meanwhile when given. */
export async function streamRows(target: Target, serverPid?: number): Promise<StreamResult> {
  // -X skips ~/.psqlrc, so FETCH_COUNT is unset and psql reads the result in one go.
  const args = ['-X', '-A', '-t', ...connectionArgs(target), '-d', target.database, '-c', STREAM_SQL, '-o', '/dev/null'];
  const memory = serverPid === undefined ? undefined : watchMemory(serverPid);
  const start = performance.now();
  let serverMemory: Memory | undefined;
  try {
    await runTool(pgTool('psql'), args, 600_000);
  } finally {
    serverMemory = memory?.stop();
  }
  const seconds = (performance.now() - start) / 1000;
  return { seconds, rowsPerSecond: STREAM_ROWS / seconds, serverMemory };
}

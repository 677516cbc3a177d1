// Starts a real Arka server process (the CLI, as users run it) on a free
// loopback port with a temporary data directory, for integration tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const ARKA_BIN = join(ROOT, 'bin/arka.js');

export type ArkaProcess = {
  port: number;
  host: string;
  dataDir: string;
  process: ChildProcess;
  /** Everything the server logged (JSON lines). */
  logs(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** Stop and delete the data directory. */
  destroy(): Promise<void>;
  client(options?: Partial<pg.ClientConfig>): Promise<pg.Client>;
};

export type ArkaOptions = {
  dataDir?: string;
  password?: string;
  user?: string;
  args?: string[];
  env?: Record<string, string>;
  /** The kernel's limit on the size of a file the server writes (RLIMIT_FSIZE, set by util-linux's prlimit), in bytes: writes past it fail with EFBIG. */
  fileSizeLimit?: number;
};

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'arka-test-'));
}

export async function startArka(options: ArkaOptions = {}): Promise<ArkaProcess> {
  const dataDir = options.dataDir ?? tempDataDir();
  const args = [ARKA_BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, ...(options.args ?? [])];
  if (options.password) args.push('--password', options.password);
  if (options.user) args.push('--user', options.user);
  const [command, commandArgs] =
    options.fileSizeLimit === undefined ? [process.execPath, args] : ['prlimit', [`--fsize=${options.fileSizeLimit}`, '--', process.execPath, ...args]];
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let output = '';
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`arka did not start within 30 s:\n${output}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"port":(\d+)[^\n]*"msg":"arka listening"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`arka exited with ${code} before listening:\n${output}`));
    });
  });
  const arka: ArkaProcess = {
    port,
    host: '127.0.0.1',
    dataDir,
    process: child,
    logs: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
    destroy: async () => {
      await arka.stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    client: async (config = {}) => {
      const client = new pg.Client({ host: '127.0.0.1', port, user: options.user ?? 'arka', database: 'arka', password: options.password, ...config });
      await client.connect();
      return client;
    },
  };
  return arka;
}

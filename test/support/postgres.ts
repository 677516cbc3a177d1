// A throwaway PostgreSQL 15 for differential tests and benchmarks: initdb into
// a temp dir, start it on a free loopback port, and tear it down again — also
// when the test process dies early, so no postmaster outlives its run.

import { execFile, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type PostgresServer = { port: number; host: string; dataDir: string; stop(): Promise<void> };

const DEBIAN_BIN_DIR = '/usr/lib/postgresql/15/bin';
const HOST = '127.0.0.1';
const START_ATTEMPTS = 3;

/** Asks the kernel for an unused loopback port. Another process may take it before we bind, so callers retry. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

/**
 * Start a throwaway PostgreSQL 15 on a free loopback port (initdb into a temp
 * dir, trust auth, fsync as default, pg_ctl -w start), for tests and
 * benchmarks. Throws a clear error naming the Debian package (postgresql-15)
 * if the binaries are missing.
 */
export async function startPostgres(options: { settings?: Record<string, string> } = {}): Promise<PostgresServer> {
  const binDir = findBinDir();
  const owner = serverOwner();
  const baseDir = makeBaseDir(owner);
  const dataDir = join(baseDir, 'data');
  const logFile = join(baseDir, 'postgres.log');
  const instance: Instance = { binDir, owner, baseDir, dataDir, running: false };
  live.add(instance);
  installExitHooks();
  try {
    // --no-sync only skips initdb's own flush of the files it writes (a throwaway
    // cluster has nothing to lose); the server keeps its default fsync = on.
    await pgRun(instance, 'initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    // Settings go to postgresql.conf rather than pg_ctl -o, whose string passes through a shell.
    const lines = Object.entries(options.settings ?? {}).map(([key, value]) => `${key} = '${value.replace(/'/g, "''")}'\n`);
    if (lines.length > 0) appendFileSync(join(dataDir, 'postgresql.conf'), lines.join(''));
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        writeFileSync(logFile, '');
        if (owner) chownSync(logFile, owner.uid, owner.gid);
        await pgRun(instance, 'pg_ctl', [
          'start', '-w', '-t', '60', '-D', dataDir, '-l', logFile,
          '-o', `-c listen_addresses=${HOST} -c port=${port} -k '${baseDir}'`,
        ]);
        instance.running = true;
        return { port, host: HOST, dataDir, stop: () => stopInstance(instance) };
      } catch (error) {
        const log = readFileSync(logFile, 'utf8');
        // The port was free when we asked but someone bound it since: try another one.
        if (attempt < START_ATTEMPTS && /could not (bind|create any TCP\/IP sockets)/.test(log)) continue;
        throw new Error(`${(error as Error).message}\n--- postgres.log ---\n${log}`);
      }
    }
  } catch (error) {
    await stopInstance(instance);
    throw error;
  }
}

type Owner = { uid: number; gid: number };
type Instance = { binDir: string; owner: Owner | undefined; baseDir: string; dataDir: string; running: boolean };

/** Instances not yet stopped, for the exit hooks. */
const live = new Set<Instance>();

function findBinDir(): string {
  const candidates = [DEBIAN_BIN_DIR, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  for (const dir of candidates) {
    if (['initdb', 'pg_ctl', 'postgres'].every((bin) => isExecutable(join(dir, bin)))) return dir;
  }
  throw new Error(
    `PostgreSQL 15 server binaries (initdb, pg_ctl, postgres) not found in ${DEBIAN_BIN_DIR} or PATH; ` +
      'install the Debian package postgresql-15 (apt-get install postgresql-15)',
  );
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** initdb and postgres refuse to run as root; then they run as the postgres OS user. */
function serverOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid)) {
    throw new Error('running as root, and there is no "postgres" OS user to run PostgreSQL as (the postgresql-15 package creates it)');
  }
  return { uid, gid };
}

function makeBaseDir(owner: Owner | undefined): string {
  // The postgres user must be able to reach the temp dir: if the usual temp
  // parent is closed to others (e.g. a root-only TMPDIR), use /tmp instead.
  const parent = owner && (statSync(tmpdir()).mode & 0o001) === 0 ? '/tmp' : tmpdir();
  const baseDir = mkdtempSync(join(parent, 'arka-pg-'));
  if (owner) {
    chownSync(baseDir, owner.uid, owner.gid);
    chmodSync(baseDir, 0o700);
  }
  return baseDir;
}

function command(instance: Instance, bin: string, args: string[]): [string, string[]] {
  const path = join(instance.binDir, bin);
  return instance.owner ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

async function pgRun(instance: Instance, bin: string, args: string[]): Promise<void> {
  const [file, argv] = command(instance, bin, args);
  try {
    await run(file, argv, { cwd: instance.baseDir, timeout: 120_000 });
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${bin} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

async function stopInstance(instance: Instance): Promise<void> {
  if (!live.delete(instance)) return;
  try {
    if (instance.running) await pgRun(instance, 'pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', instance.dataDir]);
  } finally {
    rmSync(instance.baseDir, { recursive: true, force: true });
  }
}

/** Synchronous, for the 'exit' event, where no more async work can run. */
function stopInstanceSync(instance: Instance): void {
  live.delete(instance);
  if (instance.running) {
    const [file, argv] = command(instance, 'pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', instance.dataDir]);
    spawnSync(file, argv, { cwd: instance.baseDir, stdio: 'ignore', timeout: 30_000 });
  }
  rmSync(instance.baseDir, { recursive: true, force: true });
}

let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const instance of [...live]) stopInstanceSync(instance);
  });
  // A signal ends the process without 'exit'; clean up, then die of the same signal.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const instance of [...live]) stopInstanceSync(instance);
      process.kill(process.pid, signal);
    });
  }
}

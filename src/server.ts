import { randomInt } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { CATALOG_SETUP } from './catalog/catalog.js';
import { Engine } from './engine/duckdb.js';
import { SqlError, SqlState } from './errors.js';
import type { Logger } from './log.js';
import { initParser } from './sql/parse.js';
import { scramSecret, type ScramSecret } from './session/scram.js';
import { Session, type SessionLimits } from './session/session.js';
import { Writer } from './write/writer.js';

export type ServerConfig = {
  host: string;
  port: number;
  dataDir: string;
  user: string;
  /** When set, clients authenticate with SCRAM-SHA-256; otherwise trust (loopback only). */
  password: string | undefined;
  maxConnections: number;
  duckdbMemoryLimit?: string;
  duckdbThreads?: number;
  /** See WriterOptions.applyIntervalMs. */
  applyIntervalMs?: number;
  limits: SessionLimits;
};

/**
 * Each apply is a DuckDB commit, which fsyncs DuckDB's own WAL on the disk
 * Arka's WAL is on: applying every 100 ms rather than every 5 lets single-row
 * inserts run about a third faster (BENCHMARKS.md), and reads never wait for
 * it (a read starts the apply at once).
 */
export const DEFAULT_APPLY_INTERVAL_MS = 100;
/** A session that handled a message this recently counts as active: a commit's WAL write goes inline only while no other is (Writer.watchSessions). */
const ACTIVE_WITHIN_MS = 10;

export const DEFAULT_LIMITS: SessionLimits = {
  maxMessageLength: 1024 * 1024 * 1024,
  maxQueuedMessages: 1024,
  outputFlushBytes: 64 * 1024,
  maxDetachedRows: 1_000_000,
  authenticationTimeoutMs: 60_000,
  readWaitTimeoutMs: 30_000,
};

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** The Arka server: one DuckDB database, one TCP listener, a session per connection. */
export class ArkaServer {
  private readonly sessions = new Map<number, { session: Session; secretKey: number }>();
  private listener: NetServer | undefined;
  private nextProcessId = 1000;
  private stopping = false;
  private readonly tempDir: string;

  private constructor(
    readonly config: ServerConfig,
    private readonly engine: Engine,
    private readonly writer: Writer,
    private readonly scram: ScramSecret | undefined,
    private readonly log: Logger,
  ) {
    this.tempDir = join(config.dataDir, 'tmp');
    rmSync(this.tempDir, { recursive: true, force: true });
    mkdirSync(this.tempDir, { recursive: true });
  }

  static async start(config: ServerConfig, log: Logger): Promise<ArkaServer> {
    if (!config.password && !isLoopback(config.host)) {
      throw new Error(`refusing to listen on ${config.host} without a password: set --password or ARKA_PASSWORD`);
    }
    await initParser();
    const engineOptions = { dataDir: config.dataDir, memoryLimit: config.duckdbMemoryLimit, threads: config.duckdbThreads };
    const engine = await Engine.open(engineOptions, CATALOG_SETUP);
    const writer = await Writer.open(
      engine,
      { dataDir: config.dataDir, segmentBytes: 64 * 1024 * 1024, maxQueued: 4096, maxGroup: 256, frameBytes: 8 * 1024 * 1024, maxApplyRows: 1_000_000, applyIntervalMs: config.applyIntervalMs ?? DEFAULT_APPLY_INTERVAL_MS },
      log,
    );
    const server = new ArkaServer(config, engine, writer, config.password ? scramSecret(config.password) : undefined, log);
    writer.watchSessions(() => server.activeSessions() <= 1);
    await server.listen();
    return server;
  }

  /** The bound address (the port is real even when 0 was asked for). */
  get port(): number {
    const address = this.listener?.address();
    return typeof address === 'object' && address ? address.port : this.config.port;
  }

  private listen(): Promise<void> {
    const listener = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.listener = listener;
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(this.config.port, this.config.host, () => {
        listener.off('error', reject);
        this.log.info({ host: this.config.host, port: this.port, dataDir: this.config.dataDir, auth: this.scram ? 'scram-sha-256' : 'trust' }, 'arka listening');
        resolve();
      });
    });
  }

  private accept(socket: Socket): void {
    const processId = this.nextProcessId++;
    const secretKey = randomInt(0, 2 ** 31);
    const session = new Session(socket, {
      engine: this.engine,
      writer: this.writer,
      tempDir: this.tempDir,
      logger: this.log,
      limits: this.config.limits,
      user: this.config.user,
      scram: this.scram,
      processId,
      secretKey,
      cancelRequest: (pid, key) => this.cancel(pid, key),
      admit: () => this.admit(processId),
    });
    this.sessions.set(processId, { session, secretKey });
    session.run().finally(() => this.sessions.delete(processId));
  }

  /** Sessions active in the last ACTIVE_WITHIN_MS (counted up to 2: the writer asks whether another than the committing one is). */
  activeSessions(): number {
    let active = 0;
    for (const { session } of this.sessions.values()) if (session.activeWithin(ACTIVE_WITHIN_MS) && ++active > 1) break;
    return active;
  }

  private admit(processId: number): SqlError | undefined {
    if (this.stopping) return new SqlError(SqlState.CannotConnectNow, 'the database system is shutting down', {}, 'FATAL');
    const active = [...this.sessions.keys()].filter((pid) => pid !== processId).length;
    if (active >= this.config.maxConnections) {
      return new SqlError(SqlState.TooManyConnections, 'sorry, too many clients already', {}, 'FATAL');
    }
    return undefined;
  }

  private cancel(processId: number, secretKey: number): void {
    const entry = this.sessions.get(processId);
    // A wrong key is ignored silently, as PostgreSQL does, so keys cannot be probed.
    if (entry && entry.secretKey === secretKey) entry.session.cancel();
  }

  /** Graceful stop: no new connections, sessions told and closed, DuckDB closed cleanly. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('arka shutting down');
    const closed = new Promise<void>((resolve) => (this.listener ? this.listener.close(() => resolve()) : resolve()));
    for (const { session } of this.sessions.values()) session.terminate();
    const deadline = Date.now() + 5000;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await closed;
    await this.writer.close();
    this.engine.close();
    this.log.info('arka stopped');
  }
}

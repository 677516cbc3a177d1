import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { DuckDBConnection, DuckDBPreparedStatement, DuckDBResult, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { BackendWriter } from '../../protocol/backend.js';
import { FrontendParser, parseSASLInitialResponse } from '../../protocol/frontend.js';
import {
  CANCEL_REQUEST_CODE,
  FormatCode,
  ProtocolError,
  type Bind,
  type FrontendMessage,
  type Parse,
  type StartupMessage,
  type StartupPhaseMessage,
} from '../../protocol/messages.js';
import { DUCKDB_SEARCH_PATH, type Engine } from '../engine/duckdb.js';
import type { HotReads } from '../sql/hot-reads.js';
import { takeSnapshots } from '../write/hot-tier.js';
import { evaluate, evaluateCopy, fastInsert, returningProbe, type CopySource, type Evaluated, type ParameterInput } from '../write/dml.js';
import { loadWriteTable } from '../write/tables.js';
import { rm } from 'node:fs/promises';
import { copyError, receiveCopyData, type Target } from '../copy/copy-in.js';
import { StreamingStage } from '../copy/streaming-stage.js';
import { sendCopyOut } from '../copy/copy-out.js';
import { copyOptions, type CopyOptions } from '../copy/options.js';
import { quoteIdent } from '../catalog/catalog.js';
import { matchingParen, names } from '../sql/ast.js';
import type { OutputTarget } from '../sql/column-names.js';
import type { Writer, WriteLease, WriteTransaction } from '../write/writer.js';
import { castFromText } from '../write/tables.js';
import { textEncoder } from '../types/text-out.js';
import { quoteLiteral, rewriteForDuckDB } from '../sql/rewrite.js';
import { fromDuckDBError } from '../engine/errors.js';
import { SqlError, SqlState, notSupported } from '../errors.js';
import type { Logger } from '../log.js';
import { parseStatements, tokensOf, type ParsedStatement } from '../sql/parse.js';
import type { RewriteContext } from '../sql/rewrite.js';
import { duckTypeOfOid, pgOidOf } from '../types/mapping.js';
import { PgOid } from '../types/pg-types.js';
import { decodeParameter, InvalidParameterError } from '../types/params.js';
import { bindPlan, preparePlan, unknownLiteral, type PreparedQuery } from './prepared.js';
import { fieldDescriptions, formatsFor, ResultCursor } from './result-cursor.js';
import { ArrayRowSource, DuckDBRowSource, MaterializedRowSource, type Column, type RowSource } from './row-source.js';
import { ScramExchange, ScramProtocolError, type ScramSecret } from './scram.js';
import { SessionSettings, VERSION_STRING } from './settings.js';
import {
  explainRows,
  isDdl,
  planStatement,
  resultColumns,
  rollbackQuietly,
  runUtility,
  utilityColumns,
  type Outcome,
  type Plan,
  type StatementContext,
} from './statements.js';

export type SessionLimits = {
  maxMessageLength: number;
  /** Messages parsed but not yet handled before the socket is paused. */
  maxQueuedMessages: number;
  /** Output buffered before it is written to the socket. */
  outputFlushBytes: number;
  /** Rows a suspended portal may hold in memory when its connection is needed. */
  maxDetachedRows: number;
  /** Startup and authentication must finish within this. */
  authenticationTimeoutMs: number;
  /** A read waits at most this long for DuckDB to apply the writes acknowledged before it (then 57014). */
  readWaitTimeoutMs: number;
};

/** What a session needs from the server. */
export type SessionServices = {
  engine: Engine;
  writer: Writer;
  /** Where COPY FROM STDIN stages its data. */
  tempDir: string;
  logger: Logger;
  limits: SessionLimits;
  /** The configured user and SCRAM secret; no secret means trust. */
  user: string;
  scram: ScramSecret | undefined;
  processId: number;
  secretKey: number;
  /** A CancelRequest arrived on this connection: the server finds the session it names. */
  cancelRequest(processId: number, secretKey: number): void;
  /** Refuses the connection when the server is full or shutting down. */
  admit(): SqlError | undefined;
};

type Statement = { name: string; sql: string; plan: Plan; paramOids: number[]; query?: PreparedQuery; paramTypes?: (DuckDBType | undefined)[]; returning?: Column[] };
type Portal = { name: string; statement: Statement; cursor?: ResultCursor; outcome?: Outcome; formats: FormatCode[]; bind: Bind };

type Phase = 'startup' | 'authenticating' | 'ready' | 'closed';

/** A Bind parameter's value; a bad one is the client's error, with PostgreSQL's SQLSTATE. */
function decodeBindParameter(oid: number, format: FormatCode, data: Buffer): ReturnType<typeof decodeParameter> {
  try {
    return decodeParameter(oid, format, data);
  } catch (error) {
    if (error instanceof InvalidParameterError) throw new SqlError(error.code, error.message);
    throw error;
  }
}

/** One client connection: the protocol state machine around a DuckDB connection. */
export class Session implements StatementContext {
  private readonly parser: FrontendParser;
  private readonly out = new BackendWriter();
  private readonly queue: (StartupPhaseMessage | FrontendMessage)[] = [];
  private wake: (() => void) | undefined;
  private phase: Phase = 'startup';
  private scram: ScramExchange | undefined;
  private connection: DuckDBConnection | undefined;
  readonly settings: SessionSettings;
  rewrite: RewriteContext;
  txStatus: 'I' | 'T' | 'E' = 'I';
  private readonly statements = new Map<string, Statement>();
  private readonly portals = new Map<string, Portal>();
  /** After an error in the extended protocol, messages are skipped until Sync. */
  private skipToSync = false;
  private running = false;
  /** A message is being handled (run), and when the last one was. */
  private handling = false;
  private handledAt = -Infinity;
  private cancelReason: 'user' | 'timeout' | undefined;
  private readonly log: Logger;

  constructor(
    private readonly socket: Socket,
    private readonly services: SessionServices,
  ) {
    this.parser = new FrontendParser({ maxMessageLength: services.limits.maxMessageLength });
    this.settings = new SessionSettings(services.user);
    this.log = services.logger.child({ pid: services.processId, remote: socket.remoteAddress });
    const settings = this.settings;
    this.rewrite = {
      setting: (name) => settings.get(name),
      setSetting: (name, value) => {
        const canonical = settings.set(name, value);
        this.settingChanged(settings.displayName(name), canonical);
        return canonical;
      },
      user: services.user,
      database: 'arka',
      processId: services.processId,
      versionString: VERSION_STRING,
      resolveRelation: (schema, name) => services.writer.hot.resolve(schema, name, DUCKDB_SEARCH_PATH),
    };
  }

  /** The connection statements run on: the writer's while this session holds it (its transaction wrote). */
  get conn(): DuckDBConnection {
    if (this.lease) return this.lease.conn;
    if (!this.connection) throw new SqlError(SqlState.InternalError, 'session has no database connection');
    return this.connection;
  }

  // ---- transactions and writes -------------------------------------------

  private lease: WriteLease | undefined;
  /** An autocommit read's DuckDB transaction is open (beginRead) until its result is read (endRead). */
  private readTransaction = false;
  /** The ROLLBACK ending a read's transaction once DuckDB gave its last row (endReadSoon): the next use of the connection waits for it. */
  private readEnding: Promise<void> | undefined;
  /** The transaction has taken its snapshots (takeSnapshots), at its first read. */
  private snapshotsTaken = false;
  /** Releases the twins' rows held for the read under way (Writer.holdTwins). */
  private twinHold: (() => void) | undefined;

  async beginTransaction(): Promise<void> {
    await this.endRead();
    await this.connection!.run('BEGIN TRANSACTION');
    this.snapshotsTaken = false;
    this.txStatus = 'T';
  }

  async commitTransaction(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    this.portals.clear();
    try {
      if (lease) await lease.commit();
    } catch (error) {
      this.txStatus = 'I';
      await rollbackQuietly(this.connection!);
      throw error;
    } finally {
      await lease?.settle();
      lease?.release();
    }
    await rollbackQuietly(this.connection!); // the read snapshot; it wrote nothing
    this.txStatus = 'I';
  }

  async rollbackTransaction(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    this.portals.clear();
    if (lease) {
      await lease.rollback();
      await lease.settle();
      lease.release();
    }
    await rollbackQuietly(this.connection!);
    this.txStatus = 'I';
  }

  /** Inside a transaction, the first write (or DDL) takes the writer for the rest of it. */
  private async transactionLease(): Promise<WriteLease> {
    if (!this.lease) {
      await this.detachPortals();
      const lease = await this.services.writer.acquire(Number(this.settings.get('lock_timeout')));
      try {
        await lease.begin();
      } catch (error) {
        lease.release();
        throw error;
      }
      this.lease = lease;
    }
    return this.lease;
  }

  /** Runs DDL with the writer leased: in the transaction's lease, or one of its own. */
  private async runDdl(statement: ParsedStatement): Promise<Outcome> {
    // Definitions are dropped before the DDL too: a read planned while it commits must not pair the new table with the old twin.
    if (this.txStatus !== 'I') {
      const lease = await this.transactionLease();
      lease.invalidateTables();
      const outcome = await runUtility(statement, this);
      lease.invalidateTables();
      return outcome;
    }
    await this.detachPortals();
    const lease = await this.services.writer.acquire(Number(this.settings.get('lock_timeout')));
    this.lease = lease;
    try {
      lease.invalidateTables();
      return await runUtility(statement, this);
    } finally {
      lease.invalidateTables();
      this.lease = undefined;
      await lease.settle();
      lease.release();
    }
  }

  /** INSERT / UPDATE / DELETE: in the transaction's lease, or an autocommit commit group. */
  private async runWrite(
    statement: ParsedStatement,
    parameterText?: (n: number) => string | undefined,
    parameterInput?: ParameterInput,
  ): Promise<Outcome> {
    const timeZone = this.settings.get('TimeZone')!;
    const run = async (tx: WriteTransaction): Promise<Evaluated> => {
      await tx.useTimeZone(timeZone);
      const evaluated = await evaluate(tx.context(this.rewrite, parameterText), statement);
      await tx.apply(evaluated);
      return evaluated;
    };
    const evaluated =
      this.txStatus !== 'I'
        ? await run(await this.transactionLease())
        : await this.services.writer.submit(run, fastInsert(statement, timeZone, parameterText, parameterInput));
    const returned = evaluated.returning;
    if (!returned) return { kind: 'command', tag: evaluated.tag };
    return {
      kind: 'rows',
      columns: resultColumns(returned.names, returned.types, undefined),
      source: new ArrayRowSource(returned.rows),
      tag: () => evaluated.tag,
    };
  }

  private copies = 0;

  /** COPY FROM STDIN (staged on disk, then one write) and COPY TO STDOUT (streamed). */
  private async runCopy(statement: ParsedStatement): Promise<Outcome> {
    const ast = statement.ast;
    if (ast.filename || ast.is_program) {
      throw notSupported('COPY to or from a file on the server is not supported', 'Use COPY … FROM STDIN or TO STDOUT (psql: \\copy).');
    }
    const options = copyOptions(ast.options);
    if (!ast.is_from) return this.copyOut(statement, options);
    if (ast.whereClause) throw notSupported('COPY FROM … WHERE is not supported');
    await this.detachPortals();
    const io = { out: this.out, flush: () => this.flush(), next: () => this.next(), conn: this.connection!, log: this.log };
    const name = `copy-${this.services.processId}-${++this.copies}`;
    const timeZone = this.settings.get('TimeZone')!;
    const openStage = (target: Target, format: Omit<CopySource, 'path'>) => this.openCopyStage(target, format, name, timeZone);
    const { source, target, sink: stage } = await receiveCopyData(io, ast, options, this.services.tempDir, name, openStage);
    this.log.debug({ table: target.table, staged: stage?.staged ?? false }, 'COPY FROM STDIN data received');
    // Used once: a group run again (another statement in it failed) stages the rows from the file.
    let prestaged = stage?.staged ? stage : undefined;
    // Handed to the COPY's evaluation, the stage is its to release (after an apply that may follow the acknowledgement).
    let unclaimed = stage;
    try {
      const run = async (tx: WriteTransaction): Promise<Evaluated> => {
        await tx.useTimeZone(timeZone);
        const staged = prestaged;
        prestaged = undefined;
        if (staged) unclaimed = undefined;
        const evaluated = await evaluateCopy(tx.context(this.rewrite), ast.relation, source, staged);
        await tx.apply(evaluated);
        return evaluated;
      };
      const evaluated =
        this.txStatus !== 'I' ? await run(await this.transactionLease()) : await this.services.writer.submit(run, undefined, { applyLater: true });
      this.log.info({ table: target.table, rows: evaluated.records }, 'COPY FROM STDIN committed');
      return { kind: 'command', tag: evaluated.tag };
    } catch (error) {
      throw await copyError(this.connection!, error, source, target);
    } finally {
      await unclaimed?.release();
      await rm(source.path, { force: true });
    }
  }

  /**
   * A stage that loads the COPY's rows as they arrive, when the COPY fills
   * every column that has a default (those are evaluated in the writer's
   * transaction); undefined when it cannot be had, and the COPY stages from its file.
   */
  private async openCopyStage(target: Target, format: Omit<CopySource, 'path'>, name: string, timeZone: string): Promise<StreamingStage | undefined> {
    try {
      const table = await loadWriteTable(this.connection!, 'public', target.table);
      const targets = target.columns.map((c) => c.name);
      if (table.columns.some((c) => c.default !== null && !targets.includes(c.name))) return undefined;
      return await StreamingStage.start(this.services.engine, this.services.tempDir, name, table, targets, format, timeZone, this.log);
    } catch (error) {
      this.log.debug({ err: error }, 'COPY rows are staged from the file');
      return undefined;
    }
  }

  private async copyOut(statement: ParsedStatement, options: CopyOptions): Promise<Outcome> {
    await this.detachPortals();
    await this.beginRead();
    try {
      return await this.copyOutRows(statement, options);
    } finally {
      await this.endRead();
    }
  }

  private async copyOutRows(statement: ParsedStatement, options: CopyOptions): Promise<Outcome> {
    const ast = statement.ast;
    let sql: string;
    let targets: (OutputTarget | null)[] | undefined;
    if (ast.query) {
      const tokens = tokensOf(statement.source, statement.start, statement.end);
      const open = tokens.findIndex((token) => token.text === '(');
      const close = matchingParen(tokens, open);
      const [query] = parseStatements(statement.source.toString('utf8', tokens[open + 1]!.start, tokens[close - 1]!.end));
      const plan = planStatement(query!, this.rewrite);
      if (plan.kind !== 'query') throw notSupported('COPY (…) TO supports only queries');
      sql = plan.sql;
      targets = plan.targets;
    } else {
      const relation = ast.relation;
      const columns = ast.attlist ? names(ast.attlist).map(quoteIdent).join(', ') : '*';
      sql = `SELECT ${columns} FROM ${relation.schemaname ? `${quoteIdent(relation.schemaname)}.` : ''}${quoteIdent(relation.relname)}`;
    }
    const result = await this.conn.stream(sql);
    const columns = resultColumns(result.columnNames(), result.columnTypes(), targets);
    const rows = await sendCopyOut(this.hooksForCopy(), columns, new DuckDBRowSource(result), options, this.outputSettings());
    return { kind: 'command', tag: `COPY ${rows}` };
  }

  private hooksForCopy() {
    return { out: this.out, flushIfLarge: this.hooks.flushIfLarge, checkCanceled: this.hooks.checkCanceled };
  }

  /**
   * A read sees every write acknowledged before it started, on any
   * connection (read your writes, and what PostgreSQL's read committed
   * gives): it waits, bounded by readWaitTimeoutMs, for DuckDB to apply them.
   */
  private async awaitAcknowledgedWrites(hot?: HotReads): Promise<void> {
    // A query that names only tables without twins (and no view) reads nothing the apply has not done at acknowledgement.
    if (hot?.visible && hot.twins.size === 0) return;
    const writer = this.services.writer;
    const twins = hot?.visible ? [...hot.twins.values()].map((read) => read.twin) : undefined;
    await writer.waitApplied(writer.watermarks.walLsn, this.services.limits.readWaitTimeoutMs, twins);
  }

  /**
   * Before a query reads DuckDB on this session's connection. Autocommit: it
   * waits for the writes acknowledged before it (through the hot tier when
   * the plan can), then, when it reads more than one table, or a twin whose
   * rows it streams, runs
   * in a DuckDB transaction of its own until its result is read (endReadSoon; endRead when abandoned): a
   * streaming query outside one can see a concurrent commit in one table and
   * not in another, and the transaction takes its snapshot of the twins
   * before the persistent one (takeSnapshots). In a transaction: the first
   * read takes the transaction's snapshots (ensureTransactionSnapshot).
   */
  private async beginRead(hot?: HotReads, fewRows = false): Promise<void> {
    if (this.txStatus !== 'I') return this.ensureTransactionSnapshot();
    await this.awaitAcknowledgedWrites(hot);
    await this.endRead();
    // One table (or none: `SELECT 1`, the catalog) without a twin is read consistently as it is; so is one
    // read through its twin and in memory at once, the twin keeping the rows an apply moves till then (holdTwins).
    if (hot?.visible && hot.tables <= 1) {
      if (hot.twins.size === 0) return;
      if (fewRows) {
        this.twinHold = this.services.writer.holdTwins();
        return;
      }
    }
    await takeSnapshots(this.conn, true);
    this.readTransaction = true;
  }

  /** The read holding rows in the twins (beginRead) has them: the writer may discard them. */
  private releaseTwins(): void {
    this.twinHold?.();
    this.twinHold = undefined;
  }

  /**
   * The autocommit read's result is read to its end, in memory, or
   * abandoned: its transaction ends (awaited: nothing else may use the
   * connection meanwhile, not even to close it).
   */
  private async endRead(): Promise<void> {
    this.releaseTwins();
    if (this.readEnding) await this.readEnding;
    if (!this.readTransaction) return;
    this.readTransaction = false;
    await rollbackQuietly(this.connection!);
  }

  /**
   * DuckDB gave the read its last row: its transaction ends while the
   * response goes out. Every later use of the connection (handle, endRead)
   * waits for the ROLLBACK first.
   */
  private endReadSoon(): void {
    this.releaseTwins();
    if (!this.readTransaction) return;
    this.readTransaction = false;
    const ending = rollbackQuietly(this.connection!);
    this.readEnding = ending;
    void ending.then(() => {
      if (this.readEnding === ending) this.readEnding = undefined;
    });
  }

  /**
   * The first use of this session's connection in a transaction (a Parse
   * too: preparing a statement in a DuckDB transaction fixes its snapshot)
   * waits for every acknowledged write to be applied, then takes the
   * transaction's snapshots, of the twins first (takeSnapshots). Not when
   * the transaction has written: it reads on the writer's connection.
   */
  private async ensureTransactionSnapshot(): Promise<void> {
    if (this.txStatus === 'I' || this.lease || this.snapshotsTaken) return;
    await this.awaitAcknowledgedWrites();
    await takeSnapshots(this.conn);
    this.snapshotsTaken = true;
  }

  private writeWithParameters(statement: ParsedStatement, portal: Portal): Promise<Outcome> {
    const inputs = this.parameterInputs(portal.statement, portal.bind);
    return this.runWrite(statement, this.parameterLiterals(inputs), inputs);
  }

  /** A Bind's parameters as PostgreSQL text with their DuckDB types, for a write that may be evaluated without DuckDB. */
  private parameterInputs(statement: Statement, bind: Bind): ParameterInput {
    const { values, types: decodedTypes, texts } = this.parameterValues(statement, bind);
    const types = statement.paramTypes ?? [];
    return (n) => {
      const i = n - 1;
      if (i < 0 || i >= values.length) return undefined;
      const value = values[i];
      if (value === null || value === undefined) return { text: null, type: types[i]?.toString() };
      // A binary parameter goes in as PostgreSQL's text for its value.
      const text = texts[i] ?? textEncoder(decodedTypes[i]!, { timeZone: 'UTC', extraFloatDigits: 3 })(value);
      return { text, type: types[i]?.toString() };
    };
  }

  /** A Bind's parameters as SQL literals of their types, for a write statement. */
  private parameterLiterals(inputs: ParameterInput): (n: number) => string | undefined {
    return (n) => {
      const input = inputs(n);
      if (!input) return undefined;
      if (input.text === null) return 'NULL';
      return input.type ? castFromText(quoteLiteral(input.text), input.type) : unknownLiteral(input.text);
    };
  }

  /** Serves the connection until it closes. */
  async run(): Promise<void> {
    const timer = setTimeout(() => {
      if (this.phase !== 'ready') this.close('authentication timeout');
    }, this.services.limits.authenticationTimeoutMs);
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('close', () => this.close());
    this.socket.on('error', (error) => this.log.debug({ err: error }, 'socket error'));
    try {
      for (let message = await this.next(); message; message = await this.next()) {
        this.handling = true;
        await this.handle(message);
        this.handling = false;
        this.handledAt = performance.now();
        if (this.phase === 'ready') clearTimeout(timer);
      }
    } catch (error) {
      this.log.error({ err: error }, 'session failed');
      this.fatal(error instanceof SqlError ? error : new SqlError(SqlState.InternalError, String(error)));
    } finally {
      clearTimeout(timer);
      this.close();
      await this.release();
    }
  }

  /** Handling a message, holding some not yet handled, or done with one less than `ms` ago. */
  activeWithin(ms: number): boolean {
    return this.handling || this.queue.length > 0 || performance.now() - this.handledAt < ms;
  }

  /** CancelRequest for this session: interrupts the statement running now, if any. */
  cancel(reason: 'user' | 'timeout' = 'user'): void {
    if (!this.running) return;
    this.cancelReason = reason;
    this.connection?.interrupt();
  }

  /** Server shutdown: tell the client, then close. */
  terminate(): void {
    if (this.phase === 'closed') return;
    this.out.errorResponse(new SqlError(SqlState.AdminShutdown, 'terminating connection due to administrator command', {}, 'FATAL').toFields());
    this.writeOut();
    this.close('shutdown');
  }

  private receive(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    try {
      this.queue.push(...this.parser.push(chunk));
    } catch (error) {
      const code = error instanceof ProtocolError ? error.code : SqlState.ProtocolViolation;
      this.log.warn({ err: error }, 'protocol violation');
      // Before startup completes, garbage gets a closed socket, not a reply.
      if (this.phase === 'ready') this.fatal(new SqlError(code, (error as Error).message, {}, 'FATAL'));
      this.close('protocol violation');
      return;
    }
    if (this.queue.length > this.services.limits.maxQueuedMessages) this.socket.pause();
    this.wake?.();
  }

  private async next(): Promise<StartupPhaseMessage | FrontendMessage | undefined> {
    while (this.queue.length === 0) {
      if (this.phase === 'closed') return undefined;
      this.socket.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    return this.queue.shift();
  }

  private close(reason?: string): void {
    if (this.phase === 'closed') return;
    if (reason) this.log.debug({ reason }, 'closing connection');
    this.phase = 'closed';
    this.socket.end();
    this.socket.destroySoon?.();
    this.wake?.();
  }

  private async release(): Promise<void> {
    if (!this.connection) return;
    await this.endRead();
    if (this.txStatus !== 'I') await this.rollbackTransaction().catch((error) => this.log.error({ err: error }, 'rollback at disconnect failed'));
    this.connection.closeSync();
    this.connection = undefined;
  }

  private fatal(error: SqlError): void {
    if (this.phase === 'closed') return;
    this.out.errorResponse({ ...error.toFields(), severity: 'FATAL' });
    this.writeOut();
  }

  // ---- output -------------------------------------------------------------

  private writeOut(): boolean {
    if (this.out.length === 0 || this.phase === 'closed') return true;
    return this.socket.write(this.out.take());
  }

  /** Sends buffered output; waits while the client is not reading. */
  private async flush(): Promise<void> {
    if (this.writeOut()) return;
    await Promise.race([once(this.socket, 'drain'), once(this.socket, 'close')]);
  }

  private readonly hooks = {
    flushIfLarge: async (): Promise<void> => {
      if (this.out.length >= this.services.limits.outputFlushBytes) await this.flush();
      if (this.phase === 'closed') throw new SqlError(SqlState.ConnectionException, 'client disconnected');
    },
    checkCanceled: (): void => {
      if (this.cancelReason) throw this.canceledError();
    },
  };

  private canceledError(): SqlError {
    return new SqlError(
      SqlState.QueryCanceled,
      this.cancelReason === 'timeout' ? 'canceling statement due to statement timeout' : 'canceling statement due to user request',
    );
  }

  notice(message: string, severity: 'NOTICE' | 'WARNING' = 'NOTICE', code = '00000'): void {
    const levels = ['debug5', 'debug4', 'debug3', 'debug2', 'debug1', 'log', 'notice', 'warning', 'error'];
    if (levels.indexOf(severity.toLowerCase()) < levels.indexOf(this.settings.get('client_min_messages')!)) return;
    this.out.noticeResponse({ severity, code, message });
  }

  settingChanged(name: string, value: string): void {
    if (SessionSettings.isReported(name)) this.out.parameterStatus(name, value);
  }

  deallocate(name: string | null): void {
    if (name === null) {
      for (const statement of this.statements.values()) statement.query?.prepared?.destroySync();
      this.statements.clear();
      this.portals.clear();
      return;
    }
    const statement = this.statements.get(name);
    if (!statement) throw new SqlError(SqlState.InvalidSqlStatementName, `prepared statement "${name}" does not exist`);
    statement.query?.prepared?.destroySync();
    this.statements.delete(name);
  }

  // ---- dispatch -----------------------------------------------------------

  private async handle(message: StartupPhaseMessage | FrontendMessage): Promise<void> {
    if (this.phase === 'startup' || this.phase === 'authenticating') return this.handleStartup(message);
    const m = message as FrontendMessage;
    if (m.kind === 'Terminate') return this.close('terminate');
    // What follows may use the connection (Sync and Flush do not): the last read's transaction has ended first.
    if (this.readEnding && m.kind !== 'Sync' && m.kind !== 'Flush') await this.readEnding;
    if (m.kind === 'Query') {
      await this.simpleQuery(m.sql);
      return;
    }
    if (m.kind === 'Sync') {
      this.skipToSync = false;
      // An extended-protocol exchange is over: its unnamed portal is gone.
      this.portals.delete('');
      this.out.readyForQuery(this.txStatus);
      await this.flush();
      return;
    }
    if (m.kind === 'Flush') {
      await this.flush();
      return;
    }
    if (this.skipToSync) return;
    try {
      switch (m.kind) {
        case 'Parse':
          return await this.parse(m);
        case 'Bind':
          return await this.bind(m);
        case 'Describe':
          return await this.describe(m.target, m.name);
        case 'Execute':
          return await this.execute(m.portal, m.maxRows);
        case 'Close':
          return this.closeTarget(m.target, m.name);
        case 'CopyData':
        case 'CopyDone':
        case 'CopyFail':
          return; // Outside COPY these are ignored, as PostgreSQL does.
        case 'FunctionCall':
          throw new SqlError(SqlState.FeatureNotSupported, 'the fastpath function call protocol is not supported');
        case 'AuthenticationResponse':
          throw new SqlError(SqlState.ProtocolViolation, 'unexpected password message');
      }
    } catch (error) {
      this.reportError(error);
      this.skipToSync = true;
    }
  }

  private reportError(error: unknown): void {
    const sqlError = error instanceof SqlError ? error : fromDuckDBError(error);
    if (sqlError.code === SqlState.InternalError) this.log.error({ err: error }, 'internal error');
    if (this.txStatus === 'T') this.txStatus = 'E';
    this.out.errorResponse(sqlError.toFields());
  }

  // ---- startup ------------------------------------------------------------

  private async handleStartup(message: StartupPhaseMessage | FrontendMessage): Promise<void> {
    switch (message.kind) {
      case 'SSLRequest':
      case 'GSSENCRequest':
        this.socket.write('N');
        return;
      case 'CancelRequest':
        this.services.cancelRequest(message.processId, message.secretKey);
        this.close('cancel request');
        return;
      case 'Startup':
        return this.startup(message);
      case 'AuthenticationResponse':
        return this.authenticate(message.body);
      default:
        this.fatal(new SqlError(SqlState.ProtocolViolation, `unexpected message ${message.kind} during startup`, {}, 'FATAL'));
        this.close('protocol violation');
    }
  }

  private async startup(message: StartupMessage): Promise<void> {
    if (message.protocolVersion === CANCEL_REQUEST_CODE) return;
    const refused = this.services.admit();
    if (refused) {
      this.fatal(refused);
      this.close('refused');
      return;
    }
    const user = message.parameters['user'];
    if (!user) {
      this.fatal(new SqlError(SqlState.InvalidAuthorizationSpecification, 'no PostgreSQL user name specified in startup packet', {}, 'FATAL'));
      this.close('no user');
      return;
    }
    if (message.protocolVersion !== 196608) {
      const unrecognized = Object.keys(message.parameters).filter((key) => key.startsWith('_pq_.'));
      this.out.negotiateProtocolVersion(0, unrecognized);
    }
    try {
      this.applyStartupParameters(message.parameters);
    } catch (error) {
      this.fatal(error instanceof SqlError ? new SqlError(error.code, error.message, {}, 'FATAL') : fromDuckDBError(error));
      this.close('bad startup parameters');
      return;
    }
    if (this.services.scram) {
      this.phase = 'authenticating';
      this.out.authenticationSASL(['SCRAM-SHA-256']);
      await this.flush();
      return;
    }
    if (user !== this.services.user) return this.authenticationFailed(user);
    await this.authenticated();
  }

  private startupUser = '';

  private applyStartupParameters(parameters: Record<string, string>): void {
    this.startupUser = parameters['user']!;
    for (const [key, value] of Object.entries(parameters)) {
      if (key === 'user' || key === 'database' || key === 'replication' || key.startsWith('_pq_.')) continue;
      if (key === 'options') {
        // `-c name=value` pairs, as libpq's PGOPTIONS sends them.
        for (const match of value.matchAll(/(?:-c\s*|--)([A-Za-z0-9_.]+)=((?:\\ |\S)+)/g)) {
          this.settings.setDefault(match[1]!, match[2]!.replaceAll('\\ ', ' '));
        }
        continue;
      }
      if (key === 'client_encoding' && /^(utf-?8|unicode|sql_ascii)$/i.test(value)) continue;
      this.settings.setDefault(key, value);
    }
    if (parameters['database']) this.rewrite = { ...this.rewrite, database: parameters['database'] };
  }

  private async authenticate(body: Buffer): Promise<void> {
    const secret = this.services.scram;
    if (this.phase !== 'authenticating' || !secret) {
      this.fatal(new SqlError(SqlState.ProtocolViolation, 'unexpected password message', {}, 'FATAL'));
      this.close('protocol violation');
      return;
    }
    try {
      if (!this.scram) {
        const initial = parseSASLInitialResponse(body);
        if (initial.mechanism !== 'SCRAM-SHA-256' || !initial.data) {
          throw new ScramProtocolError('client selected an invalid SASL authentication mechanism');
        }
        this.scram = new ScramExchange(secret);
        this.out.authenticationSASLContinue(this.scram.start(initial.data.toString('utf8')));
        await this.flush();
        return;
      }
      const final = this.scram.finish(body.toString('utf8'));
      if (!final || this.startupUser !== this.services.user) return this.authenticationFailed(this.startupUser);
      this.out.authenticationSASLFinal(final);
      await this.authenticated();
    } catch (error) {
      if (!(error instanceof ScramProtocolError)) throw error;
      this.fatal(new SqlError(SqlState.ProtocolViolation, error.message, {}, 'FATAL'));
      this.close('bad SASL exchange');
    }
  }

  private authenticationFailed(user: string): void {
    this.log.info({ user }, 'authentication failed');
    const message = this.services.scram
      ? `password authentication failed for user "${user}"`
      : `role "${user}" does not exist`;
    const code = this.services.scram ? SqlState.InvalidPassword : SqlState.InvalidAuthorizationSpecification;
    this.fatal(new SqlError(code, message, {}, 'FATAL'));
    this.close('authentication failed');
  }

  private async authenticated(): Promise<void> {
    this.connection = await this.services.engine.connect();
    await this.connection.run(`SET TimeZone = '${this.settings.get('TimeZone')!.replaceAll("'", "''")}'`);
    this.phase = 'ready';
    this.out.authenticationOk();
    for (const name of SessionSettings.reportedNames()) this.out.parameterStatus(name, this.settings.get(name)!);
    this.out.backendKeyData(this.services.processId, this.services.secretKey);
    this.out.readyForQuery(this.txStatus);
    await this.flush();
    this.log.info({ user: this.startupUser, application: this.settings.get('application_name') }, 'connection ready');
  }

  // ---- simple query -------------------------------------------------------

  private async simpleQuery(sql: string): Promise<void> {
    this.skipToSync = false;
    this.portals.delete('');
    try {
      const statements = parseStatements(sql);
      if (statements.length === 0) {
        this.out.emptyQueryResponse();
      } else {
        await this.runStatements(statements);
      }
    } catch (error) {
      this.reportError(error);
    }
    this.out.readyForQuery(this.txStatus);
    await this.flush();
  }

  /**
   * Several statements in one Query run as one implicit transaction, as in
   * PostgreSQL, unless they manage transactions themselves.
   */
  private async runStatements(statements: ParsedStatement[]): Promise<void> {
    const implicit =
      statements.length > 1 && this.txStatus === 'I' && !statements.some((s) => s.type === 'TransactionStmt');
    if (implicit) await this.beginTransaction();
    try {
      for (const statement of statements) {
        this.guardFailedTransaction(statement);
        const plan = planStatement(statement, this.rewrite);
        const outcome = await this.withStatement(() => this.start(plan, undefined));
        if (outcome.kind === 'command') {
          this.out.commandComplete(outcome.tag);
          continue;
        }
        const cursor = new ResultCursor(outcome.columns, formatsFor(outcome.columns.length, []), outcome.source, this.outputSettings());
        this.out.rowDescription(fieldDescriptions(outcome.columns, cursor.formats));
        await this.withStatement(() => cursor.write(this.out, 0, this.hooks));
        this.out.commandComplete(outcome.tag(cursor.rowsSent));
      }
      if (implicit) await this.commitTransaction();
    } catch (error) {
      if (implicit) await this.rollbackTransaction();
      throw error;
    }
  }

  private guardFailedTransaction(statement: ParsedStatement): void {
    if (this.txStatus !== 'E') return;
    const kind = statement.type === 'TransactionStmt' ? (statement.ast.kind as string) : '';
    if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK') return;
    throw new SqlError(SqlState.InFailedSqlTransaction, 'current transaction is aborted, commands ignored until end of transaction block');
  }

  private outputSettings() {
    return { timeZone: this.settings.get('TimeZone')!, extraFloatDigits: Number(this.settings.get('extra_float_digits')) };
  }

  /**
   * Runs one step of a statement with cancel and statement_timeout armed;
   * DuckDB's interrupt error becomes 57014.
   */
  private async withStatement<T>(step: () => Promise<T>): Promise<T> {
    this.running = true;
    this.cancelReason = undefined;
    const timeoutMs = Number(this.settings.get('statement_timeout'));
    const timer = timeoutMs > 0 ? setTimeout(() => this.cancel('timeout'), timeoutMs) : undefined;
    try {
      return await step();
    } catch (error) {
      if (this.cancelReason) throw this.canceledError();
      throw error;
    } finally {
      clearTimeout(timer);
      this.running = false;
      this.cancelReason = undefined;
    }
  }

  /** Frees the DuckDB connection: a suspended portal's stream would be cut by the next statement. */
  private async detachPortals(except?: Portal): Promise<void> {
    for (const portal of this.portals.values()) {
      if (portal !== except && portal.cursor && !portal.cursor.done) await portal.cursor.detach(this.services.limits.maxDetachedRows);
    }
    // The next statement ends any stream left (a portal dropped at Sync) and the read transaction with it.
    await this.endRead();
  }

  /** Starts a statement: a row source for queries, the finished command otherwise. */
  private async start(plan: Plan, bound: { prepared: DuckDBPreparedStatement } | undefined): Promise<Outcome> {
    await this.detachPortals();
    if (plan.kind === 'empty') return { kind: 'command', tag: '' };
    if (plan.kind === 'utility') return isDdl(plan.statement) ? this.runDdl(plan.statement) : runUtility(plan.statement, this);
    if (plan.kind === 'write') return this.runWrite(plan.statement);
    if (plan.kind === 'copy') return this.runCopy(plan.statement);
    await this.beginRead(plan.hot, plan.fewRows);
    try {
      if (plan.explain) {
        const rows = await explainRows(this.conn, plan.sql);
        await this.endRead();
        return rows;
      }
      return await this.startQuery(plan, bound);
    } catch (error) {
      await this.endRead();
      throw error;
    }
  }

  private async startQuery(plan: Extract<Plan, { kind: 'query' }>, bound: { prepared: DuckDBPreparedStatement } | undefined): Promise<Outcome> {
    const rows = (result: DuckDBResult, source: RowSource): Outcome => ({
      kind: 'rows',
      columns: resultColumns(result.columnNames(), result.columnTypes(), plan.targets),
      source,
      tag: (count) => `SELECT ${count}`,
    });
    if (plan.fewRows) {
      const result = bound ? await bound.prepared.run() : await this.conn.run(plan.sql);
      // Every row is in memory: the read's transaction can end now.
      this.endReadSoon();
      return rows(result, new MaterializedRowSource(result));
    }
    const result = bound ? await bound.prepared.stream() : await this.conn.stream(plan.sql);
    return rows(result, new DuckDBRowSource(result, () => this.endReadSoon()));
  }

  // ---- extended query -----------------------------------------------------

  private async parse(message: Parse): Promise<void> {
    if (message.name !== '' && this.statements.has(message.name)) {
      throw new SqlError('42P05', `prepared statement "${message.name}" already exists`);
    }
    const parsed = parseStatements(message.sql);
    if (parsed.length > 1) throw new SqlError(SqlState.SyntaxError, 'cannot insert multiple commands into a prepared statement');
    const statement = parsed[0];
    if (statement) this.guardFailedTransaction(statement);
    const plan: Plan = statement ? planStatement(statement, this.rewrite) : { kind: 'empty' };
    const entry: Statement = { name: message.name, sql: message.sql, plan, paramOids: [] };
    if (plan.kind === 'query' || plan.kind === 'write') await this.ensureTransactionSnapshot();
    if (plan.kind === 'query') {
      await this.detachPortals();
      entry.query = await preparePlan(this.conn, plan, message.parameterTypes, this.rewrite);
      entry.paramOids = entry.query.paramOids;
    } else if (plan.kind === 'write') {
      await this.prepareWrite(entry, plan.statement, message.parameterTypes);
    } else {
      entry.paramOids = [...message.parameterTypes];
    }
    const previous = this.statements.get(message.name);
    previous?.query?.prepared?.destroySync();
    this.statements.set(message.name, entry);
    this.out.parseComplete();
  }

  /** Parameter types (DuckDB infers them from the target table) and RETURNING columns of a write. */
  private async prepareWrite(entry: Statement, statement: ParsedStatement, declared: readonly number[]): Promise<void> {
    await this.detachPortals();
    const prepared = await this.conn.prepare(rewriteForDuckDB(statement, this.rewrite));
    try {
      const count = Math.max(prepared.parameterCount, declared.length);
      entry.paramTypes = [];
      for (let i = 0; i < count; i++) {
        let type: DuckDBType | undefined = declared[i] ? duckTypeOfOid(declared[i]!) : undefined;
        if (!type && i < prepared.parameterCount) {
          try {
            type = prepared.parameterType(i + 1);
          } catch {
            type = undefined; // unknown until a value comes: spliced as PostgreSQL's unknown literal
          }
        }
        entry.paramTypes.push(type);
        entry.paramOids.push(declared[i] || (type ? pgOidOf(type) : PgOid.text));
      }
    } finally {
      prepared.destroySync();
    }
    const probe = returningProbe(statement, this.rewrite);
    if (probe) {
      const reader = await this.conn.runAndReadAll(probe);
      entry.returning = resultColumns(reader.columnNames(), reader.columnTypes(), undefined);
    }
  }

  private async bind(message: Bind): Promise<void> {
    const statement = this.statements.get(message.statement);
    if (!statement) throw new SqlError(SqlState.InvalidSqlStatementName, `prepared statement "${message.statement}" does not exist`);
    if (message.portal !== '' && this.portals.has(message.portal)) {
      throw new SqlError('42P03', `portal "${message.portal}" already exists`);
    }
    const expected = statement.paramOids.length;
    if (message.parameters.length !== expected) {
      throw new SqlError(
        SqlState.ProtocolViolation,
        `bind message supplies ${message.parameters.length} parameters, but prepared statement "${statement.name}" requires ${expected}`,
      );
    }
    const formats = message.parameterFormats;
    if (formats.length > 1 && formats.length !== expected) {
      throw new SqlError(SqlState.ProtocolViolation, `bind message has ${formats.length} parameter formats but ${expected} parameters`);
    }
    const portal: Portal = { name: message.portal, statement, formats: [], bind: message };
    const columns = await this.describeColumns(statement);
    portal.formats = formatsFor(columns?.length ?? 0, message.resultFormats);
    this.portals.set(message.portal, portal);
    this.out.bindComplete();
  }

  /** Decodes a Bind's parameters to DuckDB values of the statement's parameter types. */
  private parameterValues(statement: Statement, bind: Bind): { values: DuckDBValue[]; types: (DuckDBType | undefined)[]; texts: (string | null)[] } {
    const values: DuckDBValue[] = [];
    const types: (DuckDBType | undefined)[] = [];
    const texts: (string | null)[] = [];
    statement.paramOids.forEach((oid, i) => {
      const data = bind.parameters[i] ?? null;
      const format = bind.parameterFormats.length === 1 ? bind.parameterFormats[0]! : (bind.parameterFormats[i] ?? FormatCode.Text);
      texts.push(data === null || format === FormatCode.Binary ? null : data.toString('utf8'));
      if (data === null) {
        values.push(null);
        types.push(statement.query?.paramTypes[i] ?? duckTypeOfOid(oid));
        return;
      }
      const decoded = decodeBindParameter(oid, format, data);
      values.push(decoded.value);
      types.push(decoded.type);
    });
    return { values, types, texts };
  }

  private async describeColumns(statement: Statement): Promise<Column[] | undefined> {
    const plan = statement.plan;
    if (plan.kind === 'query') return statement.query!.columns;
    if (plan.kind === 'utility') return utilityColumns(plan.statement, this.settings);
    if (plan.kind === 'write') return statement.returning;
    return undefined;
  }

  private async describe(target: 'S' | 'P', name: string): Promise<void> {
    if (target === 'S') {
      const statement = this.statements.get(name);
      if (!statement) throw new SqlError(SqlState.InvalidSqlStatementName, `prepared statement "${name}" does not exist`);
      this.out.parameterDescription(statement.paramOids);
      const columns = await this.describeColumns(statement);
      if (columns) this.out.rowDescription(fieldDescriptions(columns, formatsFor(columns.length, [])));
      else this.out.noData();
      return;
    }
    const portal = this.portals.get(name);
    if (!portal) throw new SqlError(SqlState.InvalidCursorName, `portal "${name}" does not exist`);
    const columns = portal.cursor?.columns ?? (await this.describeColumns(portal.statement));
    if (columns) this.out.rowDescription(fieldDescriptions(columns, portal.formats));
    else this.out.noData();
  }

  private async execute(name: string, maxRows: number): Promise<void> {
    const portal = this.portals.get(name);
    if (!portal) throw new SqlError(SqlState.InvalidCursorName, `portal "${name}" does not exist`);
    const plan = portal.statement.plan;
    if (plan.kind === 'empty') {
      this.out.emptyQueryResponse();
      return;
    }
    if (plan.kind !== 'query' || plan.explain) {
      this.guardFailedTransaction(plan.statement);
      portal.outcome ??= await this.withStatement(() =>
        plan.kind === 'write' ? this.writeWithParameters(plan.statement, portal) : this.start(plan, undefined),
      );
      if (portal.outcome.kind === 'command') {
        this.out.commandComplete(portal.outcome.tag);
        return;
      }
      portal.cursor ??= new ResultCursor(portal.outcome.columns, portal.formats, portal.outcome.source, this.outputSettings());
      return this.drain(portal, maxRows, portal.outcome.tag);
    }
    this.guardFailedTransaction(plan.statement);
    if (!portal.cursor) {
      const { values, types, texts } = this.parameterValues(portal.statement, portal.bind);
      const query = portal.statement.query!;
      const cursor = await this.withStatement(async () => {
        await this.detachPortals(portal);
        await this.ensureTransactionSnapshot();
        const prepared = await bindPlan(this.conn, query, values, types, texts);
        const outcome = await this.start(plan, { prepared });
        if (outcome.kind !== 'rows') throw new SqlError(SqlState.InternalError, 'query produced no rows');
        return new ResultCursor(outcome.columns, portal.formats, outcome.source, this.outputSettings());
      });
      portal.cursor = cursor;
    }
    return this.drain(portal, maxRows, (rows) => `SELECT ${rows}`);
  }

  private async drain(portal: Portal, maxRows: number, tag: (rows: number) => string): Promise<void> {
    const cursor = portal.cursor!;
    const before = cursor.rowsSent;
    const done = await this.withStatement(() => cursor.write(this.out, maxRows, this.hooks));
    // As in PostgreSQL, the tag counts the rows of this Execute only.
    if (done) this.out.commandComplete(tag(cursor.rowsSent - before));
    else this.out.portalSuspended();
  }

  private closeTarget(target: 'S' | 'P', name: string): void {
    if (target === 'S') {
      this.statements.get(name)?.query?.prepared?.destroySync();
      this.statements.delete(name);
    } else {
      this.portals.delete(name);
    }
    this.out.closeComplete();
  }
}

import { DuckDBTypeId, VARCHAR, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import { alterTable, createTable, dropTables, quoteIdent, type DdlResult } from '../catalog/catalog.js';
import { SqlError, SqlState, notSupported } from '../errors.js';
import { outputTargets, type OutputTarget } from '../sql/column-names.js';
import { hotReads, type HotReads } from '../sql/hot-reads.js';
import { type AstNode, type ParsedStatement } from '../sql/parse.js';
import { quoteLiteral, rewriteForDuckDB, type RewriteContext } from '../sql/rewrite.js';
import { returnsFewRows } from '../sql/result-size.js';
import { ArrayRowSource, type Column, type RowSource } from './row-source.js';
import type { SessionSettings } from './settings.js';

/** What the session gives a statement to run with. */
export interface StatementContext {
  readonly conn: DuckDBConnection;
  readonly settings: SessionSettings;
  readonly rewrite: RewriteContext;
  txStatus: 'I' | 'T' | 'E';
  notice(message: string, severity?: 'NOTICE' | 'WARNING', code?: string): void;
  /** A reported setting changed: the client gets a ParameterStatus. */
  settingChanged(name: string, value: string): void;
  /** DISCARD ALL / DEALLOCATE: drop prepared statements and portals. */
  deallocate(name: string | null): void;
  /** Transaction control: the session owns the DuckDB and writer transactions. */
  beginTransaction(): Promise<void>;
  commitTransaction(): Promise<void>;
  rollbackTransaction(): Promise<void>;
}

/** How a statement is run, decided once when it is parsed. */
export type Plan =
  | { kind: 'empty' }
  /** Runs on DuckDB and returns rows: SELECT, VALUES, TABLE, WITH, EXPLAIN. */
  | {
      kind: 'query';
      statement: ParsedStatement;
      sql: string;
      targets: (OutputTarget | null)[] | undefined;
      explain: boolean;
      hot: HotReads | undefined;
      /** The result is certainly small (returnsFewRows): it is computed whole, in one DuckDB call. */
      fewRows: boolean;
    }
  /** Run by Arka: SET, SHOW, transaction control, DDL. */
  | { kind: 'utility'; statement: ParsedStatement }
  /** INSERT, UPDATE, DELETE: through the writer, the WAL and the apply. */
  | { kind: 'write'; statement: ParsedStatement }
  /** COPY FROM STDIN / TO STDOUT: a sub-protocol of its own. */
  | { kind: 'copy'; statement: ParsedStatement };

/** The result of running a statement. */
export type Outcome =
  | { kind: 'rows'; columns: Column[]; source: RowSource; tag: (rows: number) => string }
  | { kind: 'command'; tag: string };

const WRITE_STATEMENTS: Record<string, string> = {
  MergeStmt: 'MERGE',
};

const UTILITY_STATEMENTS = new Set([
  'VariableSetStmt',
  'VariableShowStmt',
  'TransactionStmt',
  'CreateStmt',
  'DropStmt',
  'AlterTableStmt',
  'ViewStmt',
  'DiscardStmt',
  'DeallocateStmt',
  'CheckPointStmt',
  'ListenStmt',
  'UnlistenStmt',
]);

/** EXPLAIN ANALYZE (or `(ANALYZE true)`): the statement is run, not only planned. */
function explainRuns(ast: AstNode): boolean {
  return ((ast.options as AstNode[] | undefined) ?? []).some(({ DefElem: option }) => {
    if (option?.defname !== 'analyze') return false;
    const value = option.arg?.String?.sval ?? option.arg?.Boolean?.boolval ?? true;
    return value !== false && value !== 'false' && value !== 'off' && value !== '0';
  });
}

/** A query's plan: its DuckDB text, with the tables it reads through the hot tier. */
function queryPlan(statement: ParsedStatement, rewrite: RewriteContext, targets: (OutputTarget | null)[] | undefined, explain: boolean): Plan {
  const hot = hotReads(statement, rewrite.resolveRelation);
  const fewRows = !explain && statement.type === 'SelectStmt' && returnsFewRows(statement.ast);
  return { kind: 'query', statement, sql: rewriteForDuckDB(statement, rewrite, undefined, hot), targets, explain, hot, fewRows };
}

export function planStatement(statement: ParsedStatement, rewrite: RewriteContext): Plan {
  const { type, ast } = statement;
  if (type === 'SelectStmt') {
    if (ast.intoClause) throw notSupported('SELECT … INTO is not supported', 'Use CREATE TABLE and INSERT … SELECT.');
    if (ast.lockingClause) throw notSupported('SELECT … FOR UPDATE/SHARE is not supported');
    return queryPlan(statement, rewrite, outputTargets(ast), false);
  }
  if (type === 'ExplainStmt') {
    if (!ast.query?.SelectStmt && explainRuns(ast)) {
      throw notSupported('EXPLAIN ANALYZE of a write is not supported', 'It would run the write in DuckDB, outside the write-ahead log; EXPLAIN without ANALYZE shows its plan.');
    }
    return queryPlan(statement, rewrite, undefined, true);
  }
  if (UTILITY_STATEMENTS.has(type)) return { kind: 'utility', statement };
  if (type === 'InsertStmt' || type === 'UpdateStmt' || type === 'DeleteStmt') return { kind: 'write', statement };
  if (type === 'CopyStmt') return { kind: 'copy', statement };
  const write = WRITE_STATEMENTS[type];
  if (write) throw notSupported(`${write} is not supported`);
  throw notSupported(`${type.replace(/Stmt$/, '')} statements are not supported`);
}

/** PostgreSQL types a hint may name for a column DuckDB holds as VARCHAR. */
const VARCHAR_HINTS: Record<string, number> = { varchar: 1043, bpchar: 1042, name: 19, text: 25 };

/** The result's columns as PostgreSQL describes them: DuckDB's, with PostgreSQL's names and hinted types. */
export function resultColumns(
  duckdbNames: readonly string[],
  types: readonly DuckDBType[],
  targets: readonly (OutputTarget | null)[] | undefined,
): Column[] {
  const columns: Column[] = duckdbNames.map((name, i) => ({ name, type: types[i]! }));
  if (!targets) return columns;
  const stars = targets.filter((target) => target === null).length;
  if (stars > 1 || (stars === 0 && targets.length !== columns.length)) return columns;
  const expanded = columns.length - (targets.length - stars);
  let at = 0;
  for (const target of targets) {
    if (target === null) {
      at += expanded;
      continue;
    }
    const column = columns[at++]!;
    column.name = target.name;
    const hint = target.typeHint;
    if (!hint) continue;
    if (hint.name === 'text' && column.type.typeId !== DuckDBTypeId.VARCHAR) column.pg = { oid: 25, typmod: -1 };
    else if (column.type.typeId === DuckDBTypeId.VARCHAR && VARCHAR_HINTS[hint.name] && column.type.alias === undefined) {
      column.pg = { oid: VARCHAR_HINTS[hint.name]!, typmod: hint.typmod };
    }
  }
  return columns;
}

/** EXPLAIN: DuckDB's plan text, as PostgreSQL's one `QUERY PLAN` column of lines. */
export async function explainRows(conn: DuckDBConnection, sql: string): Promise<Outcome> {
  const reader = await conn.runAndReadAll(sql);
  const lines: string[][] = [];
  for (const row of reader.getRowsJS()) {
    for (const line of String(row[row.length - 1] ?? '').split('\n')) if (line.trim() !== '') lines.push([line]);
  }
  return { kind: 'rows', columns: EXPLAIN_COLUMNS, source: new ArrayRowSource(lines), tag: () => 'EXPLAIN' };
}

export const EXPLAIN_COLUMNS: Column[] = [{ name: 'QUERY PLAN', type: VARCHAR }];

/** The columns a utility statement returns (for Describe), or undefined for none. */
export function utilityColumns(statement: ParsedStatement, settings: SessionSettings): Column[] | undefined {
  return statement.type === 'VariableShowStmt' ? showColumns(statement.ast.name as string, settings) : undefined;
}

function showColumns(name: string, settings: SessionSettings): Column[] {
  if (name === 'all') {
    return ['name', 'setting', 'description'].map((column) => ({ name: column, type: VARCHAR }));
  }
  return [{ name: settings.displayName(showAlias(name)), type: VARCHAR }];
}

export async function runUtility(statement: ParsedStatement, context: StatementContext): Promise<Outcome> {
  const { ast } = statement;
  switch (statement.type) {
    case 'VariableShowStmt':
      return show(ast.name as string, context.settings);
    case 'VariableSetStmt':
      return { kind: 'command', tag: await setVariable(ast, context) };
    case 'TransactionStmt':
      return { kind: 'command', tag: await transaction(ast, context) };
    case 'CreateStmt':
      return ddl(await createTable(context.conn, statement), context);
    case 'DropStmt':
      return drop(statement, context);
    case 'AlterTableStmt':
      return ddl(await alterTable(context.conn, statement), context);
    case 'ViewStmt':
      return createView(statement, context);
    case 'DiscardStmt':
      if (ast.target !== 'DISCARD_ALL') return { kind: 'command', tag: `DISCARD ${String(ast.target).replace('DISCARD_', '')}` };
      if (context.txStatus !== 'I') {
        throw new SqlError(SqlState.ActiveSqlTransaction, 'DISCARD ALL cannot run inside a transaction block');
      }
      context.deallocate(null);
      for (const name of context.settings.resetAll()) {
        context.settingChanged(name, context.settings.get(name)!);
      }
      return { kind: 'command', tag: 'DISCARD ALL' };
    case 'DeallocateStmt':
      context.deallocate((ast.name as string | undefined) ?? null);
      return { kind: 'command', tag: ast.name ? 'DEALLOCATE' : 'DEALLOCATE ALL' };
    case 'CheckPointStmt':
      await context.conn.run('CHECKPOINT');
      return { kind: 'command', tag: 'CHECKPOINT' };
    case 'UnlistenStmt':
      return { kind: 'command', tag: 'UNLISTEN' };
    case 'ListenStmt':
      throw notSupported('LISTEN is not supported');
    default:
      throw notSupported(`${statement.type} is not supported`);
  }
}

function ddl(result: DdlResult, context: StatementContext): Outcome {
  for (const notice of result.notices) context.notice(notice);
  return { kind: 'command', tag: result.tag };
}

async function drop(statement: ParsedStatement, context: StatementContext): Promise<Outcome> {
  const { ast } = statement;
  if (ast.removeType === 'OBJECT_TABLE') return ddl(await dropTables(context.conn, statement), context);
  if (ast.removeType === 'OBJECT_VIEW') {
    for (const object of ast.objects as { List: { items: { String: { sval: string } }[] } }[]) {
      const qualified = object.List.items.map((item) => quoteIdent(item.String.sval)).join('.');
      await context.conn.run(`DROP VIEW ${ast.missing_ok ? 'IF EXISTS ' : ''}${qualified}`);
    }
    return { kind: 'command', tag: 'DROP VIEW' };
  }
  throw notSupported(`DROP ${String(ast.removeType).replace('OBJECT_', '')} is not supported`);
}

async function createView(statement: ParsedStatement, context: StatementContext): Promise<Outcome> {
  const view = statement.ast;
  const relation = view.view;
  if (relation.schemaname && relation.schemaname !== 'public') {
    throw new SqlError(SqlState.InvalidSchemaName, `schema "${relation.schemaname}" does not exist`);
  }
  await context.conn.run(rewriteForDuckDB(statement, context.rewrite));
  return { kind: 'command', tag: 'CREATE VIEW' };
}

function show(name: string, settings: SessionSettings): Outcome {
  if (name === 'all') {
    return { kind: 'rows', columns: showColumns(name, settings), source: new ArrayRowSource(settings.all()), tag: () => 'SHOW' };
  }
  const value = settings.get(showAlias(name));
  if (value === undefined) throw new SqlError(SqlState.UndefinedObject, `unrecognized configuration parameter "${name}"`);
  return {
    kind: 'rows',
    columns: showColumns(name, settings),
    source: new ArrayRowSource([[value]]),
    tag: () => 'SHOW',
  };
}

/** Names the grammar gives some settings (`SET TIME ZONE`, `SET NAMES`). */
function showAlias(name: string): string {
  if (name === 'time zone') return 'TimeZone';
  if (name === 'transaction isolation level') return 'transaction_isolation';
  if (name === 'session authorization') return 'session_authorization';
  return name;
}

/** The text a SET argument list stands for: `SET DateStyle = ISO, MDY` → 'ISO, MDY'. */
function setValue(args: any[] | undefined): string {
  return (args ?? [])
    .map((arg) => {
      const constant = arg.A_Const ?? arg.TypeCast?.arg?.A_Const;
      if (!constant) throw new SqlError(SqlState.SyntaxError, 'SET value must be a constant');
      if (constant.sval) return constant.sval.sval as string;
      if (constant.ival) return String(constant.ival.ival ?? 0);
      if (constant.fval) return constant.fval.fval as string;
      if (constant.boolval) return constant.boolval.boolval ? 'on' : 'off';
      throw new SqlError(SqlState.SyntaxError, 'SET value must be a constant');
    })
    .join(', ');
}

async function setVariable(ast: any, context: StatementContext): Promise<string> {
  const { settings } = context;
  const kind = ast.kind as string;
  if (kind === 'VAR_SET_MULTI') return 'SET'; // SET TRANSACTION …, SET SESSION CHARACTERISTICS …: one level only
  if (kind === 'VAR_RESET_ALL') {
    for (const name of settings.resetAll()) await applied(name, settings.get(name)!, context);
    return 'RESET';
  }
  const name = showAlias(ast.name as string);
  if (name === 'names') return setAndReport('client_encoding', setValue(ast.args), context, 'SET');
  if (kind === 'VAR_RESET' || kind === 'VAR_SET_DEFAULT' || (kind === 'VAR_SET_VALUE' && !ast.args)) {
    const value = settings.reset(name);
    await applied(name, value, context);
    return kind === 'VAR_RESET' ? 'RESET' : 'SET';
  }
  if (kind === 'VAR_SET_CURRENT') return 'SET';
  return setAndReport(name, setValue(ast.args), context, 'SET');
}

async function setAndReport(name: string, value: string, context: StatementContext, tag: string): Promise<string> {
  const canonical = context.settings.set(name, value);
  await applied(name, canonical, context);
  return tag;
}

/** Settings DuckDB must know as well, and the ParameterStatus a client expects. */
async function applied(name: string, value: string, context: StatementContext): Promise<void> {
  const display = context.settings.displayName(name);
  if (display === 'TimeZone') await context.conn.run(`SET TimeZone = ${quoteLiteral(value)}`);
  context.settingChanged(display, value);
}

async function transaction(ast: any, context: StatementContext): Promise<string> {
  switch (ast.kind as string) {
    case 'TRANS_STMT_BEGIN':
    case 'TRANS_STMT_START':
      if (context.txStatus !== 'I') {
        context.notice('there is already a transaction in progress', 'WARNING', SqlState.ActiveSqlTransaction);
        return 'BEGIN';
      }
      await context.beginTransaction();
      return 'BEGIN';
    case 'TRANS_STMT_COMMIT':
      if (context.txStatus === 'I') {
        context.notice('there is no transaction in progress', 'WARNING', SqlState.NoActiveSqlTransaction);
        return 'COMMIT';
      }
      if (context.txStatus === 'E') {
        await context.rollbackTransaction();
        return 'ROLLBACK';
      }
      await context.commitTransaction();
      return 'COMMIT';
    case 'TRANS_STMT_ROLLBACK':
      if (context.txStatus === 'I') {
        context.notice('there is no transaction in progress', 'WARNING', SqlState.NoActiveSqlTransaction);
        return 'ROLLBACK';
      }
      await context.rollbackTransaction();
      return 'ROLLBACK';
    default:
      throw notSupported(`${String(ast.kind).replace('TRANS_STMT_', '')} is not supported`, 'Savepoints and two-phase commit are not available.');
  }
}

/** Statements that change the catalog run with the writer leased, so they never interleave with a commit group. */
export function isDdl(statement: ParsedStatement): boolean {
  return ['CreateStmt', 'DropStmt', 'AlterTableStmt', 'ViewStmt', 'CheckPointStmt'].includes(statement.type);
}

/** DuckDB may already have ended a failed transaction; either way none remains. */
export async function rollbackQuietly(conn: DuckDBConnection): Promise<void> {
  try {
    await conn.run('ROLLBACK');
  } catch {
    // no transaction was active
  }
}

import { strict as assert } from 'node:assert';
import type { ScanToken } from 'libpg-query';
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { quoteIdent } from '../catalog/catalog.js';
import { SqlError, SqlState, notSupported } from '../errors.js';
import { expressionSpan, tokenIndexAt } from '../sql/ast.js';
import { parseStatements, tokensOf, type AstNode, type ParsedStatement } from '../sql/parse.js';
import { rewriteForDuckDB, type RewriteContext } from '../sql/rewrite.js';
import type { ConsecutiveInserts } from './apply.js';
import { castFromText, needsTextCast, walReadExpression, type WriteColumn, type WriteTable } from './tables.js';

/** What evaluation needs from the writer. */
export interface EvaluationContext {
  readonly conn: DuckDBConnection;
  readonly rewrite: RewriteContext;
  table(schema: string, name: string): Promise<WriteTable>;
  /** Reserves `count` consecutive LSNs and returns the first. */
  reserveLsns(count: number): bigint;
  /** Microseconds since the epoch, the records' __timestamp. */
  readonly timestampMicros: bigint;
  /** The SQL literal for parameter `$n` (extended protocol); parameters are spliced in, typed. */
  readonly parameterText?: (n: number) => string | undefined;
  /** Another connection, idle while the statement is evaluated: a COPY stages its rows there (evaluateCopy). */
  readonly scratch?: DuckDBConnection;
}

/**
 * A statement's change records, staged in the DuckDB temp table STAGE (user
 * columns, __lsn, __change_type, __timestamp), ready to apply.
 */
export type Evaluated = {
  table: WriteTable;
  records: number;
  /** The count in the command tag. */
  affected: number;
  tag: string;
  returning?: { names: string[]; types: DuckDBType[]; rows: DuckDBValue[][] };
  /**
   * Where the records are when not in STAGE: a COPY's are a subquery over
   * its rows, inserts only, read in LSN order by a plain scan. It reads only
   * the COPY's own staging database, so it can be applied after the
   * acknowledgement, until `release`.
   */
  insertView?: string;
  /** The records are inserts with consecutive LSNs, all at one time. */
  inserts?: ConsecutiveInserts;
  /**
   * SQL that reads the same rows again, in LSN order and in their WAL form
   * (the table's columns only), without the writer's transaction: another
   * connection writes the WAL from it while the writer's applies the stage.
   */
  walSource?: string;
  /** Frees what the statement staged outside the writer's transaction, once it is applied (or failed). */
  release?: () => Promise<void>;
};

export const STAGE = '__arka_stage';
const NEW_ROWS = '__arka_new';
const CHANGED = '__arka_changed';

/** PostgreSQL-syntax SQL built from pieces of the client's statement, rewritten for DuckDB like any query. */
function duckdbSql(postgresSql: string, context: EvaluationContext): string {
  const [statement] = parseStatements(postgresSql);
  if (!statement) throw new SqlError(SqlState.InternalError, 'empty synthesized statement');
  return rewriteForDuckDB(statement, context.rewrite, context.parameterText);
}

/** A query's rows into a (new) temp table; the query is PostgreSQL SQL made of the client's pieces. */
async function intoTempTable(context: EvaluationContext, table: string, postgresSelect: string): Promise<void> {
  await context.conn.run(`CREATE OR REPLACE TEMP TABLE ${table} AS ${duckdbSql(postgresSelect, context)}`);
}

/** The source text of the statement's bytes [start, end). */
function text(statement: ParsedStatement, start: number, end: number): string {
  return statement.source.toString('utf8', start, end);
}

function spanText(statement: ParsedStatement, node: unknown, tokens: ScanToken[]): string {
  const span = expressionSpan(node, tokens);
  if (!span) throw new SqlError(SqlState.SyntaxError, 'could not read an expression of the statement');
  return text(statement, span[0], span[1]);
}

/** A SET value's SQL: a string literal for a bytea or array column is read as PostgreSQL's text form. */
function assignedText(statement: ParsedStatement, value: AstNode, tokens: ScanToken[], column: WriteColumn): string {
  const source = spanText(statement, value, tokens);
  return value.A_Const?.sval !== undefined && needsTextCast(column.type) ? castFromText(source, column.type) : source;
}

/** The source text of [start, end) with replacements of sub-ranges. */
function spliceText(statement: ParsedStatement, start: number, end: number, edits: { start: number; end: number; text: string }[]): string {
  let out = '';
  let at = start;
  for (const edit of [...edits].sort((a, b) => a.start - b.start)) {
    out += text(statement, at, edit.start) + edit.text;
    at = edit.end;
  }
  return out + text(statement, at, end);
}

/** In `INSERT … VALUES`, string literals bound for bytea or array columns are read as PostgreSQL's text form. */
function textCastEdits(statement: ParsedStatement, tokens: ScanToken[], table: WriteTable, ast: AstNode): { start: number; end: number; text: string }[] {
  const rows = ast.selectStmt?.SelectStmt?.valuesLists as AstNode[] | undefined;
  if (!rows || !table.columns.some((c) => needsTextCast(c.type))) return [];
  const targets: WriteColumn[] = ast.cols
    ? (ast.cols as AstNode[]).map((c) => table.columns.find((column) => column.name === c.ResTarget.name)!).filter(Boolean)
    : table.columns;
  const edits: { start: number; end: number; text: string }[] = [];
  for (const row of rows) {
    (row.List.items as AstNode[]).forEach((item, i) => {
      const column = targets[i];
      if (!column || !needsTextCast(column.type) || item.A_Const?.sval === undefined) return;
      const span = expressionSpan(item, tokens);
      if (span) edits.push({ start: span[0], end: span[1], text: castFromText(text(statement, span[0], span[1]), column.type) });
    });
  }
  return edits;
}

/** Index of the first token at bracket depth 0 whose text (lower case) is one of `words`, at or after `from`. */
function topLevelKeyword(tokens: ScanToken[], from: number, words: readonly string[]): number {
  let depth = 0;
  for (let i = from; i < tokens.length; i++) {
    const t = tokens[i]!.text;
    if (t === '(' || t === '[') depth++;
    else if (t === ')' || t === ']') depth--;
    else if (depth === 0 && words.includes(t.toLowerCase())) return i;
  }
  return -1;
}

function relationOf(node: AstNode): { schema: string; name: string; alias: string | undefined } {
  const schema = (node.schemaname as string | undefined) ?? 'public';
  if (schema !== 'public') throw new SqlError(SqlState.InvalidSchemaName, `schema "${schema}" does not exist`);
  return { schema, name: node.relname as string, alias: node.alias?.aliasname as string | undefined };
}

/** The statement's __timestamp as SQL (a TIMESTAMPTZ). */
const recordTimestamp = (context: Pick<EvaluationContext, 'timestampMicros'>): string => `(make_timestamp(${context.timestampMicros}) AT TIME ZONE 'UTC')`;

const columnList = (columns: readonly WriteColumn[], prefix = ''): string =>
  columns.map((c) => `${prefix}${quoteIdent(c.name)}`).join(', ');

function keyColumns(table: WriteTable): WriteColumn[] {
  return table.primaryKey.map((key) => table.columns.find((c) => c.name === key)!);
}

function requirePrimaryKey(table: WriteTable, verb: string): void {
  if (table.kind === 'append_only') {
    throw notSupported(`${verb} is not supported on append-only table "${table.name}"`, 'Declare a PRIMARY KEY on the table to allow UPDATE and DELETE.');
  }
}

/** 23502 for the first NULL in a NOT NULL column among `rows` (a temp table with the table's columns). */
async function checkNotNull(conn: DuckDBConnection, table: WriteTable, rows: string, prefix = ''): Promise<void> {
  const required = table.columns.filter((c) => c.notNull);
  if (required.length === 0) return;
  const probe = required.map((c) => `bool_or(${quoteIdent(prefix + c.name)} IS NULL)`).join(', ');
  const found = (await conn.runAndReadAll(`SELECT ${probe} FROM ${rows}`)).getRowsJS()[0]!;
  const index = found.findIndex((v) => v === true);
  if (index >= 0) {
    throw new SqlError(SqlState.NotNullViolation, `null value in column "${required[index]!.name}" of relation "${table.name}" violates not-null constraint`, {
      table: table.name,
      column: required[index]!.name,
    });
  }
}

function uniqueViolation(table: WriteTable, key: unknown[]): SqlError {
  return new SqlError(SqlState.UniqueViolation, `duplicate key value violates unique constraint "${table.name}_pkey"`, {
    detail: `Key (${table.primaryKey.join(', ')})=(${key.map(String).join(', ')}) already exists.`,
    table: table.name,
    constraint: `${table.name}_pkey`,
  });
}

/** The key equality `a.k = b.k AND …`. */
function keyJoin(table: WriteTable, left: string, right: string, rightPrefix = ''): string {
  return keyColumns(table)
    .map((c) => `${left}.${quoteIdent(c.name)} = ${right}.${quoteIdent(rightPrefix + c.name)}`)
    .join(' AND ');
}

/**
 * Builds STAGE from inserted rows (NEW_ROWS, in rowid order) and old/new row
 * pairs (CHANGED, columns __o_x and __n_x), numbering records with LSNs.
 */
async function stage(
  context: EvaluationContext,
  table: WriteTable,
  parts: { inserts?: string; changes?: 'update' | 'delete' },
): Promise<number> {
  const conn = context.conn;
  const cols = table.columns;
  const count = async (sql: string) => Number((await conn.runAndReadAll(sql)).getRowsJS()[0]![0]);
  const inserts = parts.inserts ? await count(`SELECT count(*) FROM ${parts.inserts}`) : 0;
  const changed = parts.changes ? await count(`SELECT count(*) FROM ${CHANGED}`) : 0;
  const records = inserts + changed * (parts.changes === 'update' ? 2 : 1);
  const base = records > 0 ? context.reserveLsns(records) : 0n;
  const ts = recordTimestamp(context);
  const selects: string[] = [];
  if (inserts > 0) {
    selects.push(
      `SELECT ${columnList(cols)}, CAST(${base} + row_number() OVER (ORDER BY rowid) - 1 AS UBIGINT) AS __lsn, 'INSERT' AS __change_type, ${ts} AS __timestamp FROM ${parts.inserts}`,
    );
  }
  if (changed > 0) {
    const first = base + BigInt(inserts);
    const as = (prefix: string) => cols.map((c) => `${quoteIdent(prefix + c.name)} AS ${quoteIdent(c.name)}`).join(', ');
    if (parts.changes === 'update') {
      selects.push(
        `SELECT ${as('__o_')}, CAST(${first} + 2 * (row_number() OVER (ORDER BY rowid) - 1) AS UBIGINT), 'UPDATE_BEFORE', ${ts} FROM ${CHANGED}`,
        `SELECT ${as('__n_')}, CAST(${first} + 2 * (row_number() OVER (ORDER BY rowid) - 1) + 1 AS UBIGINT), 'UPDATE_AFTER', ${ts} FROM ${CHANGED}`,
      );
    } else {
      selects.push(`SELECT ${as('__o_')}, CAST(${first} + row_number() OVER (ORDER BY rowid) - 1 AS UBIGINT), 'DELETE', ${ts} FROM ${CHANGED}`);
    }
  }
  const empty = `SELECT ${columnList(cols)}, CAST(0 AS UBIGINT) AS __lsn, '' AS __change_type, ${ts} AS __timestamp FROM ${table.qualified} WHERE false`;
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${STAGE} AS ${[empty, ...selects].join(' UNION ALL ')}`);
  return records;
}

/** RETURNING: the client's expressions over the rows the statement produced (or removed). */
async function returning(
  context: EvaluationContext,
  statement: ParsedStatement,
  tokens: ScanToken[],
  table: WriteTable,
  alias: string | undefined,
  changeTypes: readonly string[],
): Promise<Evaluated['returning']> {
  const list = statement.ast.returningClause?.exprs as AstNode[] | undefined;
  if (!list || list.length === 0) return undefined;
  const at = topLevelKeyword(tokens, 0, ['returning']);
  const itemsText = text(statement, tokens[at + 1]!.start, statement.end);
  const types = changeTypes.map((t) => `'${t}'`).join(', ');
  const source = `(SELECT ${columnList(table.columns)} FROM ${STAGE} WHERE __change_type IN (${types}) ORDER BY __lsn) AS ${quoteIdent(alias ?? table.name)}`;
  const reader = await context.conn.runAndReadAll(duckdbSql(`SELECT ${itemsText} FROM ${source}`, context));
  return { names: reader.columnNames(), types: reader.columnTypes(), rows: reader.getRows() };
}

export async function evaluateInsert(context: EvaluationContext, statement: ParsedStatement): Promise<Evaluated> {
  const ast = statement.ast;
  const { schema, name, alias } = relationOf(ast.relation);
  const table = await context.table(schema, name);
  const conn = context.conn;
  const tokens = tokensOf(statement.source, statement.start, statement.end);

  // The rows as the client wrote them, inserted into a scratch table shaped like the target.
  const scratch = table.columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.default !== null ? ` DEFAULT ${c.default}` : ''}`);
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${NEW_ROWS} (${scratch.join(', ')})`);
  const relationToken = tokenIndexAt(tokens, ast.relation.location as number);
  let afterRelation = relationToken + 1;
  while (tokens[afterRelation]?.text === '.') afterRelation += 2;
  if (alias) afterRelation += tokens[afterRelation]?.text.toLowerCase() === 'as' ? 2 : 1;
  const tailEnd = [topLevelKeyword(tokens, afterRelation, ['on']), topLevelKeyword(tokens, afterRelation, ['returning'])]
    .filter((i) => i >= 0)
    .reduce((min, i) => Math.min(min, i), tokens.length);
  const bodyStart = tokens[afterRelation]!.start;
  const bodyEnd = tailEnd < tokens.length ? tokens[tailEnd]!.start : statement.end;
  const body = spliceText(statement, bodyStart, bodyEnd, textCastEdits(statement, tokens, table, ast));
  // PostgreSQL fills the columns a short row leaves out with their defaults; DuckDB wants them named.
  const supplied = suppliedColumnCount(ast.selectStmt?.SelectStmt);
  const targetCount = ast.cols ? (ast.cols as unknown[]).length : table.columns.length;
  if (supplied !== undefined && supplied > targetCount) throw new SqlError(SqlState.SyntaxError, 'INSERT has more expressions than target columns');
  if (supplied !== undefined && ast.cols && supplied < targetCount) throw new SqlError(SqlState.SyntaxError, 'INSERT has more target columns than expressions');
  const given = ast.cols ? undefined : supplied;
  const columns = given !== undefined && given < table.columns.length ? ` (${columnList(table.columns.slice(0, given))})` : '';
  await conn.run(duckdbSql(`INSERT INTO ${NEW_ROWS}${columns} ${body}`, context));
  await checkNotNull(conn, table, NEW_ROWS);

  let changes: 'update' | undefined;
  let updated = 0;
  if (table.kind === 'primary_key') {
    const conflict = ast.onConflictClause as AstNode | undefined;
    const keys = columnList(keyColumns(table));
    if (conflict) {
      const target = (conflict.infer?.indexElems as AstNode[] | undefined)?.map((e) => e.IndexElem.name as string);
      if (target && [...target].sort().join() !== [...table.primaryKey].sort().join()) {
        throw new SqlError(SqlState.InvalidColumnReference, 'there is no unique or exclusion constraint matching the ON CONFLICT specification');
      }
    }
    if (conflict?.action === 'ONCONFLICT_UPDATE') {
      const twice = await conn.runAndReadAll(`SELECT 1 FROM ${NEW_ROWS} GROUP BY ${keys} HAVING count(*) > 1 LIMIT 1`);
      if (twice.currentRowCount > 0) {
        throw new SqlError('21000', 'ON CONFLICT DO UPDATE command cannot affect row a second time', {
          hint: 'Ensure that no rows proposed for insertion within the same command have duplicate constrained values.',
        });
      }
      const self = alias ?? table.name;
      const assignments = new Map<string, string>();
      for (const item of conflict.targetList as AstNode[]) {
        const res = item.ResTarget;
        if (!res.name || res.indirection) throw notSupported('this form of ON CONFLICT DO UPDATE SET is not supported');
        const column = table.columns.find((c) => c.name === res.name);
        if (!column) throw new SqlError(SqlState.UndefinedColumn, `column "${res.name}" of relation "${table.name}" does not exist`);
        assignments.set(column.name, res.val.SetToDefault ? (column.default ?? 'NULL') : assignedText(statement, res.val, tokens, column));
      }
      const where = conflict.whereClause ? ` WHERE ${spanText(statement, conflict.whereClause, tokens)}` : '';
      const select = table.columns
        .map((c) => `${quoteIdent(self)}.${quoteIdent(c.name)} AS ${quoteIdent(`__o_${c.name}`)}, CAST((${assignments.get(c.name) ?? `${quoteIdent(self)}.${quoteIdent(c.name)}`}) AS ${c.type}) AS ${quoteIdent(`__n_${c.name}`)}`)
        .join(', ');
      const from = `${table.qualified} AS ${quoteIdent(self)} JOIN ${NEW_ROWS} AS excluded ON ${keyJoin(table, quoteIdent(self), 'excluded')}`;
      await intoTempTable(context, CHANGED, `SELECT ${select} FROM ${from}${where}`);
      await checkNotNull(conn, table, CHANGED, '__n_');
      await conn.run(`DELETE FROM ${NEW_ROWS} AS n USING ${table.qualified} AS t WHERE ${keyJoin(table, 't', 'n')}`);
      await checkKeyChange(conn, table);
      updated = Number((await conn.runAndReadAll(`SELECT count(*) FROM ${CHANGED}`)).getRowsJS()[0]![0]);
      changes = 'update';
    } else if (conflict?.action === 'ONCONFLICT_NOTHING') {
      await conn.run(`DELETE FROM ${NEW_ROWS} AS n USING ${table.qualified} AS t WHERE ${keyJoin(table, 't', 'n')}`);
      await conn.run(`DELETE FROM ${NEW_ROWS} WHERE rowid NOT IN (SELECT min(rowid) FROM ${NEW_ROWS} GROUP BY ${keys})`);
    } else {
      await checkNewKeys(conn, table);
    }
  } else if (ast.onConflictClause) {
    throw notSupported(`ON CONFLICT is not supported on append-only table "${table.name}"`, 'Declare a PRIMARY KEY on the table.');
  }

  const inserted = Number((await conn.runAndReadAll(`SELECT count(*) FROM ${NEW_ROWS}`)).getRowsJS()[0]![0]);
  const records = await stage(context, table, { inserts: NEW_ROWS, changes });
  const affected = inserted + updated;
  return {
    table,
    records,
    affected,
    tag: `INSERT 0 ${affected}`,
    returning: await returning(context, statement, tokens, table, alias, ['INSERT', 'UPDATE_AFTER']),
  };
}

/** How many values each row of an INSERT's source has, when the statement says (VALUES, or a SELECT without `*`). */
function suppliedColumnCount(select: AstNode | undefined): number | undefined {
  if (!select) return undefined;
  if (select.valuesLists) return Math.max(...(select.valuesLists as AstNode[]).map((row) => (row.List.items as unknown[]).length));
  const targets = select.targetList as AstNode[] | undefined;
  if (!targets || select.op !== 'SETOP_NONE') return undefined;
  const star = targets.some((t) => (t.ResTarget.val?.ColumnRef?.fields as AstNode[] | undefined)?.some((f) => f.A_Star));
  return star ? undefined : targets.length;
}

/** 23505 for the first key of `rows` that repeats there or is already in the table. */
async function checkNewKeys(conn: DuckDBConnection, table: WriteTable, rows = NEW_ROWS): Promise<void> {
  const keys = columnList(keyColumns(table));
  const duplicate = await conn.runAndReadAll(
    `SELECT ${keys} FROM ${rows} GROUP BY ${keys} HAVING count(*) > 1
     UNION ALL (SELECT ${columnList(keyColumns(table), 'n.')} FROM ${rows} AS n JOIN ${table.qualified} AS t ON ${keyJoin(table, 't', 'n')})
     LIMIT 1`,
  );
  const key = duplicate.getRowsJS()[0];
  if (key) throw uniqueViolation(table, key);
}

/** After an UPDATE's new values are in CHANGED: a changed key must stay unique. */
async function checkKeyChange(conn: DuckDBConnection, table: WriteTable): Promise<void> {
  const newKeys = keyColumns(table).map((c) => quoteIdent(`__n_${c.name}`)).join(', ');
  const clash = await conn.runAndReadAll(
    `SELECT ${newKeys} FROM ${CHANGED} GROUP BY ${newKeys} HAVING count(*) > 1
     UNION ALL (SELECT ${keyColumns(table).map((c) => `c.${quoteIdent(`__n_${c.name}`)}`).join(', ')} FROM ${CHANGED} AS c
       JOIN ${table.qualified} AS t ON ${keyJoin(table, 't', 'c', '__n_')}
       WHERE NOT EXISTS (SELECT 1 FROM ${CHANGED} AS o WHERE ${keyJoin(table, 't', 'o', '__o_')}))
     LIMIT 1`,
  );
  const key = clash.getRowsJS()[0];
  if (key) throw uniqueViolation(table, key);
}

/** UPDATE and DELETE read the rows they touch with a SELECT built from the statement's own clauses. */
async function selectTouched(
  context: EvaluationContext,
  statement: ParsedStatement,
  tokens: ScanToken[],
  table: WriteTable,
  self: string,
  newValues: string | undefined,
  joinKeyword: 'from' | 'using',
): Promise<void> {
  const ast = statement.ast;
  if (ast.whereClause?.CurrentOfExpr) throw notSupported('WHERE CURRENT OF is not supported');
  const old = table.columns.map((c) => `${quoteIdent(self)}.${quoteIdent(c.name)} AS ${quoteIdent(`__o_${c.name}`)}`).join(', ');
  const clauseStart = topLevelKeyword(tokens, tokenIndexAt(tokens, ast.relation.location as number), [joinKeyword, 'where', 'returning']);
  let tail = '';
  if (clauseStart >= 0 && tokens[clauseStart]!.text.toLowerCase() !== 'returning') {
    const returningAt = topLevelKeyword(tokens, clauseStart, ['returning']);
    tail = text(statement, tokens[clauseStart]!.start, returningAt >= 0 ? tokens[returningAt]!.start : statement.end);
    if (joinKeyword === 'using' && tokens[clauseStart]!.text.toLowerCase() === 'using') tail = `, ${tail.replace(/^using/i, '')}`;
    else if (joinKeyword === 'from' && tokens[clauseStart]!.text.toLowerCase() === 'from') tail = `, ${tail.replace(/^from/i, '')}`;
  }
  const select = `SELECT DISTINCT ON (${keyColumns(table).map((c) => `${quoteIdent(self)}.${quoteIdent(c.name)}`).join(', ')}) ${old}${newValues ? `, ${newValues}` : ''}`;
  const from = ` FROM ${table.qualified} AS ${quoteIdent(self)} ${tail}`;
  // Key order makes the records' LSN order (and RETURNING's) deterministic.
  const order = ` ORDER BY ${keyColumns(table).map((c) => `${quoteIdent(self)}.${quoteIdent(c.name)}`).join(', ')}`;
  await intoTempTable(context, CHANGED, `${select}${from}${order}`);
}

export async function evaluateUpdate(context: EvaluationContext, statement: ParsedStatement): Promise<Evaluated> {
  const ast = statement.ast;
  const { schema, name, alias } = relationOf(ast.relation);
  const table = await context.table(schema, name);
  requirePrimaryKey(table, 'UPDATE');
  const tokens = tokensOf(statement.source, statement.start, statement.end);
  const self = alias ?? table.name;
  const assignments = new Map<string, string>();
  for (const item of ast.targetList as AstNode[]) {
    const res = item.ResTarget;
    if (!res.name || res.indirection || res.val?.MultiAssignRef) throw notSupported('this form of UPDATE … SET is not supported');
    const column = table.columns.find((c) => c.name === res.name);
    if (!column) throw new SqlError(SqlState.UndefinedColumn, `column "${res.name}" of relation "${table.name}" does not exist`);
    assignments.set(column.name, res.val.SetToDefault ? (column.default ?? 'NULL') : assignedText(statement, res.val, tokens, column));
  }
  const newValues = table.columns
    .map((c) => `CAST((${assignments.get(c.name) ?? `${quoteIdent(self)}.${quoteIdent(c.name)}`}) AS ${c.type}) AS ${quoteIdent(`__n_${c.name}`)}`)
    .join(', ');
  await selectTouched(context, statement, tokens, table, self, newValues, 'from');
  await checkNotNull(context.conn, table, CHANGED, '__n_');
  if (table.primaryKey.some((key) => assignments.has(key))) await checkKeyChange(context.conn, table);
  const records = await stage(context, table, { changes: 'update' });
  const affected = records / 2;
  return {
    table,
    records,
    affected,
    tag: `UPDATE ${affected}`,
    returning: await returning(context, statement, tokens, table, alias, ['UPDATE_AFTER']),
  };
}

export async function evaluateDelete(context: EvaluationContext, statement: ParsedStatement): Promise<Evaluated> {
  const ast = statement.ast;
  const { schema, name, alias } = relationOf(ast.relation);
  const table = await context.table(schema, name);
  requirePrimaryKey(table, 'DELETE');
  const tokens = tokensOf(statement.source, statement.start, statement.end);
  await selectTouched(context, statement, tokens, table, alias ?? table.name, undefined, 'using');
  const records = await stage(context, table, { changes: 'delete' });
  return {
    table,
    records,
    affected: records,
    tag: `DELETE ${records}`,
    returning: await returning(context, statement, tokens, table, alias, ['DELETE']),
  };
}

export function evaluate(context: EvaluationContext, statement: ParsedStatement): Promise<Evaluated> {
  switch (statement.type) {
    case 'InsertStmt':
      if (statement.ast.withClause) throw notSupported('WITH … INSERT is not supported');
      return evaluateInsert(context, statement);
    case 'UpdateStmt':
      if (statement.ast.withClause) throw notSupported('WITH … UPDATE is not supported');
      return evaluateUpdate(context, statement);
    case 'DeleteStmt':
      if (statement.ast.withClause) throw notSupported('WITH … DELETE is not supported');
      return evaluateDelete(context, statement);
    default:
      throw notSupported(`${statement.type} is not supported`);
  }
}


/**
 * A query with the columns of the statement's RETURNING list (no rows), for
 * Describe before the statement runs; undefined without RETURNING.
 */
export function returningProbe(statement: ParsedStatement, rewrite: RewriteContext): string | undefined {
  const list = statement.ast.returningClause?.exprs as AstNode[] | undefined;
  if (!list || list.length === 0) return undefined;
  const tokens = tokensOf(statement.source, statement.start, statement.end);
  const at = topLevelKeyword(tokens, 0, ['returning']);
  const { schema, name, alias } = relationOf(statement.ast.relation);
  const items = text(statement, tokens[at + 1]!.start, statement.end);
  const sql = `SELECT ${items} FROM ${quoteIdent(schema)}.${quoteIdent(name)} AS ${quoteIdent(alias ?? name)} WHERE false`;
  const [probe] = parseStatements(sql);
  return rewriteForDuckDB(probe!, rewrite, () => 'NULL');
}

/** CSV staged on disk by COPY FROM STDIN, and how DuckDB must read it. */
export type CopySource = {
  path: string;
  columns: string[] | undefined;
  header: boolean;
  delimiter: string;
  quote: string;
  escape: string;
  nullString: string;
};

/** The longest line (row) COPY accepts: DuckDB's reader refuses longer ones. */
export const MAX_COPY_LINE_BYTES = 256 * 1024 * 1024;

/**
 * How read_csv reads a COPY source. 'parallel': several threads, each on a
 * buffer of its own, with lines up to DuckDB's default of 2 MB (a buffer
 * must hold the longest line, so long lines and parallel reading exclude
 * each other). 'long-lines': lines up to MAX_COPY_LINE_BYTES, one buffer
 * that large, one thread, in file order.
 */
export type CsvReading = 'parallel' | 'long-lines';

/** The read_csv call for a COPY source: every field as text, cast on insert like INSERT's values. */
export function readCsvSql(source: CopySource, columnCount: number, reading: CsvReading): string {
  const columns = Array.from({ length: columnCount }, (_, i) => `'c${i + 1}': 'VARCHAR'`).join(', ');
  const q = (value: string) => `'${value.replaceAll("'", "''")}'`;
  const buffers = reading === 'parallel' ? 'parallel = true' : `parallel = false, max_line_size = ${MAX_COPY_LINE_BYTES}, buffer_size = ${MAX_COPY_LINE_BYTES}`;
  return `read_csv(${q(source.path)}, columns = {${columns}}, header = ${source.header}, delim = ${q(source.delimiter)},
    quote = ${q(source.quote)}, escape = ${q(source.escape)}, nullstr = ${q(source.nullString)}, allow_quoted_nulls = false,
    auto_detect = false, strict_mode = true, null_padding = false, ${buffers})`;
}

/** DuckDB's refusal of a line longer than the reader's buffer allows. */
const isLongLineError = (error: unknown): boolean => error instanceof Error && /Maximum line size of \d+ bytes exceeded/.test(error.message);

/** A COPY's rows staged while they arrived (copy/streaming-stage.ts), for the table's definition then. */
export type PrestagedCopy = { rows: string; definition: string; release(): Promise<void> };

/** What a COPY's stage depends on: the columns it fills and every column's name and type. */
export function copyStageDefinition(table: WriteTable, targets: string[]): string {
  return JSON.stringify([targets, table.columns.map((c) => [c.name, c.type])]);
}

/** The staging database of the next COPY that stages apart from the writer's transaction. */
export function nextCopyStage(): string {
  return `arka_copy_${++copyStages}`;
}

/** The stage table of a COPY's rows: the table's columns, with their defaults only when `withDefaults`. */
export function copyStageTableSql(table: WriteTable, rows: string, withDefaults: boolean): string {
  const columns = table.columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.default !== null && withDefaults ? ` DEFAULT ${c.default}` : ''}`);
  return `CREATE ${withDefaults ? 'OR REPLACE TEMP ' : ''}TABLE ${rows} (${columns.join(', ')})`;
}

/** The INSERT that loads a COPY's stage from the CSV source, each field cast from text as INSERT's values are. */
export function copyLoadSql(table: WriteTable, targets: string[], source: CopySource, rows: string, reading: CsvReading): string {
  const casts = targets.map((column, i) => castFromText(`c${i + 1}`, table.columns.find((c) => c.name === column)!.type));
  return `INSERT INTO ${rows} (${targets.map(quoteIdent).join(', ')}) SELECT ${casts.join(', ')} FROM ${readCsvSql(source, targets.length, reading)}`;
}

/**
 * COPY … FROM STDIN: the staged rows are inserted as an INSERT's would be (no
 * ON CONFLICT). `prestaged` rows are used when the table is still as they
 * were staged for; otherwise they are dropped and the rows staged from the file.
 */
export async function evaluateCopy(context: EvaluationContext, relation: AstNode, source: CopySource, prestaged?: PrestagedCopy): Promise<Evaluated> {
  const { schema, name } = relationOf(relation);
  // The table may have changed (or gone) since the data arrived: `prestaged` is this function's to release, whatever happens.
  const table = await context.table(schema, name).catch(async (error: unknown) => {
    await prestaged?.release();
    throw error;
  });
  const conn = context.conn;
  const targets = source.columns ?? table.columns.map((c) => c.name);
  const missing = targets.find((column) => !table.columns.some((c) => c.name === column));
  if (missing !== undefined) {
    await prestaged?.release();
    throw new SqlError(SqlState.UndefinedColumn, `column "${missing}" of relation "${table.name}" does not exist`);
  }
  // The rows are staged in an in-memory database of the COPY's own, committed there by the scratch
  // connection: the writer's transaction has never read that database, so it sees them, and the
  // scratch connection can read them again for the WAL while the writer's inserts them. Defaults
  // of columns the COPY leaves out are evaluated in the writer's transaction (a sequence's nextval
  // belongs there), so such a COPY is staged there, in a temp table.
  const omitted = table.columns.filter((c) => !targets.includes(c.name));
  const scratch = omitted.every((c) => c.default === null) ? context.scratch : undefined;
  const staged = scratch && prestaged?.definition === copyStageDefinition(table, targets) ? prestaged : undefined;
  // Not used: its memory goes before the rows are staged again.
  if (prestaged && !staged) await prestaged.release();
  const database = scratch && !staged ? nextCopyStage() : undefined;
  const rows = staged ? staged.rows : database ? `${database}.main.copy_rows` : NEW_ROWS;
  const stager = scratch ?? conn;
  if (database) await stager.run(`ATTACH ':memory:' AS ${database}`);
  const release = async () => {
    if (staged) await staged.release();
    else if (database) await stager.run(`DETACH ${database}`);
  };
  try {
    if (!staged) {
      // On the scratch connection no column needs its default (and one naming a sequence would tie the stage to Arka's database).
      await stager.run(copyStageTableSql(table, rows, !scratch));
      const load = (reading: CsvReading) => stager.run(copyLoadSql(table, targets, source, rows, reading));
      if (scratch) {
        // The load commits on its own, so a load refused for a long line is simply read again the slow way.
        await load('parallel').catch(async (error: unknown) => {
          if (!isLongLineError(error)) throw error;
          await load('long-lines');
        });
      } else {
        // A failed statement would abort the writer's transaction: no second try there.
        await load('long-lines');
      }
    }
    await checkNotNull(conn, table, rows);
    if (table.kind === 'primary_key') await checkNewKeys(conn, table, rows);
    // No copy of the rows and no sort: they were inserted by one INSERT, so their rowids are contiguous, in file order.
    const [count, firstRow, lastRow] = (await conn.runAndReadAll(`SELECT count(*), min(rowid), max(rowid) FROM ${rows}`)).getRowsJS()[0]! as bigint[];
    const records = Number(count);
    assert(records === 0 || BigInt(lastRow!) - BigInt(firstRow!) + 1n === BigInt(records), 'COPY rows are not contiguous');
    const base = records > 0 ? context.reserveLsns(records) : 0n;
    // A subquery rather than a view: an apply after the acknowledgement (Evaluated.insertView) depends on no connection's state.
    const insertView = `(SELECT ${columnList(table.columns)}, CAST(${base} + (rowid - ${firstRow ?? 0}) AS UBIGINT) AS __lsn, 'INSERT' AS __change_type,
         ${recordTimestamp(context)} AS __timestamp FROM ${rows})`;
    const inserts = { firstLsn: base, timestampMicros: context.timestampMicros };
    const walSource =
      records > 0 && table.columns.length > 0 && scratch ? `SELECT ${table.columns.map((c) => walReadExpression(c, 's')).join(', ')} FROM ${rows} AS s` : undefined;
    return { table, records, affected: records, tag: `COPY ${records}`, insertView, inserts, walSource, release };
  } catch (error) {
    await release().catch(() => undefined);
    throw error;
  }
}

/** Names each COPY's staging database apart. */
let copyStages = 0;

/**
 * A plain `INSERT … VALUES` of constants and parameters, which the writer
 * batches with the other such inserts of a commit group. Each cell is a
 * constant or parameter, or null where the column's default applies.
 */
export type FastInsert = {
  schema: string;
  name: string;
  columns: string[] | undefined;
  rows: (FastCell | null)[][];
  /** `ON CONFLICT (keys) DO UPDATE SET c = EXCLUDED.c, …`: each SET column takes the proposed row's value. */
  upsert?: { keys: string[]; set: string[] };
  /** The session's TimeZone, in which text converts to timestamptz. */
  timeZone?: string;
};

/**
 * One value of a fast insert: as an SQL literal, and as PostgreSQL text with
 * where it came from — which decides how PostgreSQL converts it to the
 * column's type (an untyped literal goes through the type's input function, a
 * number constant through an assignment cast). `origin` is undefined when
 * only DuckDB should convert it.
 */
export type FastCell = { sql: string; text: string | null; origin: CellOrigin | undefined };
export type CellOrigin = 'unknown' | 'integer' | 'numeric' | 'boolean' | { type: string };

/** A Bind parameter as PostgreSQL text (null: NULL) and its DuckDB type when declared or inferred. */
export type ParameterInput = (n: number) => { text: string | null; type: string | undefined } | undefined;

function cellOf(
  node: AstNode,
  parameterText: ((n: number) => string | undefined) | undefined,
  parameterInput: ParameterInput | undefined,
): FastCell | undefined {
  const constant = node.A_Const ?? node.TypeCast?.arg?.A_Const;
  const cast = node.TypeCast !== undefined;
  if (constant) {
    if (constant.isnull) return { sql: 'NULL', text: null, origin: cast ? undefined : 'unknown' };
    if (constant.ival) {
      const text = String(constant.ival.ival ?? 0);
      return { sql: text, text, origin: cast ? undefined : 'integer' };
    }
    if (constant.fval) {
      const text = String(constant.fval.fval);
      return /^[-+0-9.eE]+$/.test(text) ? { sql: text, text, origin: cast ? undefined : 'numeric' } : undefined;
    }
    if (constant.sval) {
      const text = String(constant.sval.sval);
      return { sql: `'${text.replaceAll("'", "''")}'`, text, origin: cast ? undefined : 'unknown' };
    }
    if (constant.boolval) {
      const value = constant.boolval.boolval === true;
      return { sql: value ? 'TRUE' : 'FALSE', text: value ? 't' : 'f', origin: cast ? undefined : 'boolean' };
    }
    return undefined;
  }
  if (node.ParamRef && parameterText) {
    const n = node.ParamRef.number as number;
    const sql = parameterText(n);
    if (sql === undefined) return undefined;
    const input = parameterInput?.(n);
    if (!input) return { sql, text: null, origin: undefined };
    return { sql, text: input.text, origin: input.type ? { type: input.type } : 'unknown' };
  }
  return undefined;
}

/** The statement as a FastInsert (its text converted in the session's `timeZone`), or undefined when it needs the general path. */
export function fastInsert(
  statement: ParsedStatement,
  timeZone: string,
  parameterText?: (n: number) => string | undefined,
  parameterInput?: ParameterInput,
): FastInsert | undefined {
  const ast = statement.ast;
  if (statement.type !== 'InsertStmt' || ast.withClause || ast.returningClause || (ast.override && ast.override !== 'OVERRIDING_NOT_SET')) return undefined;
  const upsert = ast.onConflictClause ? excludedUpsert(ast.onConflictClause as AstNode) : undefined;
  if (ast.onConflictClause && !upsert) return undefined;
  const values = ast.selectStmt?.SelectStmt?.valuesLists as AstNode[] | undefined;
  if (!values) return undefined;
  const relation = ast.relation;
  if (relation.schemaname && relation.schemaname !== 'public') return undefined;
  const rows: (FastCell | null)[][] = [];
  for (const row of values) {
    const cells: (FastCell | null)[] = [];
    for (const item of row.List.items as AstNode[]) {
      if (item.SetToDefault) {
        cells.push(null);
        continue;
      }
      const cell = cellOf(item, parameterText, parameterInput);
      if (cell === undefined) return undefined;
      cells.push(cell);
    }
    rows.push(cells);
  }
  return { schema: 'public', name: relation.relname as string, columns: ast.cols?.map((c: AstNode) => c.ResTarget.name as string), rows, upsert, timeZone };
}

/** `ON CONFLICT (keys) DO UPDATE SET c = EXCLUDED.c, …` (no WHERE), as its keys and SET columns; else undefined. */
function excludedUpsert(conflict: AstNode): FastInsert['upsert'] {
  const infer = conflict.infer as AstNode | undefined;
  if (conflict.action !== 'ONCONFLICT_UPDATE' || conflict.whereClause || !infer?.indexElems || infer.whereClause || infer.conname) return undefined;
  const keys: string[] = [];
  for (const element of infer.indexElems as AstNode[]) {
    const name = element.IndexElem?.name as string | undefined;
    if (!name || element.IndexElem.expr || element.IndexElem.collation || element.IndexElem.opclass) return undefined;
    keys.push(name);
  }
  const set: string[] = [];
  for (const item of conflict.targetList as AstNode[]) {
    const res = item.ResTarget;
    const fields = res.val?.ColumnRef?.fields as AstNode[] | undefined;
    if (!res.name || res.indirection || fields?.length !== 2 || fields[0]!.String?.sval !== 'excluded' || fields[1]!.String?.sval !== res.name) return undefined;
    set.push(res.name as string);
  }
  return { keys, set };
}

/** Raised when a batch of fast inserts needs the general path (a bad value, a constraint): the group runs again without batching. */
export class FastPathFallback extends Error {}

/**
 * A group's fast inserts into one table as VALUES rows of the table's
 * columns (cast, defaults filled) and their order in the group (`__row`).
 * Throws FastPathFallback when the statements need the general path.
 */
function valuesRows(table: WriteTable, inserts: FastInsert[]): string[] {
  const rows: string[] = [];
  for (const insert of inserts) {
    const targets = insert.columns ?? table.columns.slice(0, Math.max(...insert.rows.map((r) => r.length))).map((c) => c.name);
    const positions = targets.map((name) => table.columns.findIndex((c) => c.name === name));
    if (positions.some((p) => p < 0) || new Set(positions).size !== positions.length) throw new FastPathFallback();
    for (const row of insert.rows) {
      if (row.length !== targets.length) throw new FastPathFallback();
      const cells = table.columns.map((column, c) => {
        const at = positions.indexOf(c);
        const cell = at >= 0 ? (row[at]?.sql ?? null) : null;
        if (cell?.startsWith("'") && needsTextCast(column.type)) return castFromText(cell, column.type);
        return `CAST(${cell ?? column.default ?? 'NULL'} AS ${column.type})`;
      });
      rows.push(`(${cells.join(', ')}, ${rows.length})`);
    }
  }
  return rows;
}

/**
 * Stages a group's fast inserts into one table as STAGE, with LSNs in job
 * order, in one statement; returns the record count. Throws
 * FastPathFallback when a row would violate NOT NULL or the primary key.
 */
export async function stageFastInserts(
  context: Pick<EvaluationContext, 'conn' | 'reserveLsns' | 'timestampMicros'>,
  table: WriteTable,
  inserts: FastInsert[],
): Promise<number> {
  if (inserts.some((insert) => insert.upsert)) throw new FastPathFallback();
  const rows = valuesRows(table, inserts);
  const base = context.reserveLsns(rows.length);
  const ts = recordTimestamp(context);
  const aliases = table.columns.map((_, c) => `c${c}`);
  const select = table.columns.map((column, c) => `c${c} AS ${quoteIdent(column.name)}`).join(', ');
  await context.conn.run(
    `CREATE OR REPLACE TEMP TABLE ${STAGE} AS SELECT ${select}, CAST(${base} + __row AS UBIGINT) AS __lsn, 'INSERT' AS __change_type, ${ts} AS __timestamp
     FROM (VALUES ${rows.join(', ')}) AS v(${aliases.join(', ')}, __row) ORDER BY __row`,
  );
  const required = table.columns.filter((c) => c.notNull).map((c) => `${quoteIdent(c.name)} IS NULL`);
  const probes = [`(SELECT count(*) FROM ${STAGE}${required.length ? ` WHERE ${required.join(' OR ')}` : ' WHERE false'})`];
  if (table.kind === 'primary_key') {
    const keys = columnList(keyColumns(table));
    probes.push(`(SELECT count(*) FROM (SELECT 1 FROM ${STAGE} GROUP BY ${keys} HAVING count(*) > 1))`);
    probes.push(`(SELECT count(*) FROM ${STAGE} AS n JOIN ${table.qualified} AS t ON ${keyJoin(table, 't', 'n')})`);
  }
  const violations = Number((await context.conn.runAndReadAll(`SELECT ${probes.join(' + ')}`)).getRowsJS()[0]![0]);
  if (violations > 0) throw new FastPathFallback();
  return rows.length;
}

/**
 * Stages a group's upserts into one primary-key table (each
 * `ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c, …`, all with the same SET
 * columns) as STAGE, evaluated in job order against the table and one
 * another: a row whose key is new is an INSERT; a row whose key is in the
 * table, or was inserted or updated by an earlier row, is an UPDATE_BEFORE
 * of the current row and an UPDATE_AFTER with the SET columns taken from the
 * proposed row. One statement, since each costs DuckDB milliseconds; it
 * reserves two LSNs per row and uses those its records need (the rest are a
 * gap, as LSNs may have). Returns the record count. Throws FastPathFallback
 * (or DuckDB an error, which the caller takes alike) for what the general
 * path must report: a NULL key or NOT NULL column, a key twice in one
 * statement, other keys or SET lists.
 */
export async function stageFastUpserts(
  context: Pick<EvaluationContext, 'conn' | 'reserveLsns' | 'timestampMicros'>,
  table: WriteTable,
  inserts: FastInsert[],
): Promise<number> {
  const first = inserts[0]!.upsert;
  const sameList = (a: string[], b: string[]) => [...a].sort().join('\0') === [...b].sort().join('\0');
  if (table.kind !== 'primary_key' || !first || !sameList(first.keys, table.primaryKey)) throw new FastPathFallback();
  if (inserts.some((insert) => !insert.upsert || !sameList(insert.upsert.keys, first.keys) || !sameList(insert.upsert.set, first.set))) throw new FastPathFallback();
  if (first.set.some((name) => table.primaryKey.includes(name) || !table.columns.some((c) => c.name === name))) throw new FastPathFallback();
  const rows = valuesRows(table, inserts);
  const statementOf = inserts.flatMap((insert, i) => insert.rows.map(() => i));
  const base = context.reserveLsns(2 * rows.length);
  const ts = recordTimestamp(context);
  const name = (c: WriteColumn, prefix = '') => quoteIdent(`${prefix}${c.name}`);
  const keyColumnsOf = keyColumns(table);
  const proposed = `SELECT ${table.columns.map((c, i) => `c${i} AS ${name(c)}`).join(', ')}, __row, CAST(${JSON.stringify(statementOf)} AS INTEGER[])[__row + 1] AS __statement
    FROM (VALUES ${rows.join(', ')}) AS v(${table.columns.map((_, i) => `c${i}`).join(', ')}, __row)`;
  const byKey = `PARTITION BY ${columnList(keyColumnsOf, 'p.')} ORDER BY p.__row`;
  const existed = `(t.${name(keyColumnsOf[0]!)} IS NOT NULL)`;
  const setColumns = new Set([...first.set, ...table.primaryKey]);
  // A column the SET leaves alone keeps the table's value, or that of the row that inserted the key.
  const after = table.columns.map((c) =>
    setColumns.has(c.name) ? `p.${name(c)} AS ${name(c, '__n_')}` : `CASE WHEN ${existed} THEN t.${name(c)} ELSE first_value(p.${name(c)}) OVER (${byKey}) END AS ${name(c, '__n_')}`,
  );
  const bad = [...keyColumnsOf, ...table.columns.filter((c) => c.notNull)].map((c) => `p.${name(c)} IS NULL`);
  const evaluated = `SELECT p.__row, ${after.join(', ')}, ${table.columns.map((c) => `t.${name(c)} AS ${name(c, '__o_')}`).join(', ')},
      CASE WHEN ${existed} OR row_number() OVER (${byKey}) > 1 THEN 2 ELSE 1 END AS __records,
      row_number() OVER (${byKey}) AS __nth,
      ${bad.join(' OR ')} OR count(*) OVER (PARTITION BY ${columnList(keyColumnsOf, 'p.')}, p.__statement) > 1 AS __bad
    FROM (${proposed}) AS p LEFT JOIN ${table.qualified} AS t ON ${keyJoin(table, 't', 'p')}`;
  const newKeys = keyColumnsOf.map((c) => name(c, '__n_')).join(', ');
  const before = table.columns.map((c) => `CASE WHEN __nth = 1 THEN ${name(c, '__o_')} ELSE lag(${name(c, '__n_')}) OVER (PARTITION BY ${newKeys} ORDER BY __row) END AS ${name(c, '__b_')}`);
  // A row the general path must report makes the statement fail (and the group run again without batching).
  const records = `SELECT *, ${before.join(', ')}, sum(__records) OVER (ORDER BY __row ROWS UNBOUNDED PRECEDING) - 1 AS __last
    FROM (${evaluated}) WHERE CASE WHEN __bad THEN error('arka: an upsert of the group needs the general path') ELSE true END`;
  const as = (prefix: string) => table.columns.map((c) => `${name(c, prefix)} AS ${name(c)}`).join(', ');
  await context.conn.run(
    `CREATE OR REPLACE TEMP TABLE ${STAGE} AS WITH r AS MATERIALIZED (${records})
     SELECT ${as('__n_')}, CAST(${base} + __last AS UBIGINT) AS __lsn, 'INSERT' AS __change_type, ${ts} AS __timestamp FROM r WHERE __records = 1
     UNION ALL SELECT ${as('__b_')}, CAST(${base} + __last - 1 AS UBIGINT), 'UPDATE_BEFORE', ${ts} FROM r WHERE __records = 2
     UNION ALL SELECT ${as('__n_')}, CAST(${base} + __last AS UBIGINT), 'UPDATE_AFTER', ${ts} FROM r WHERE __records = 2
     ORDER BY __lsn`,
  );
  return Number((await context.conn.runAndReadAll(`SELECT count(*) FROM ${STAGE}`)).getRowsJS()[0]![0]);
}

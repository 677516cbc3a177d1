import { loadModule, parseSync, scanSync, type ScanToken } from 'libpg-query';
import { SqlError, SqlState } from '../errors.js';

/** libpg-query's AST node: `{ SelectStmt: {...} }`, `{ ColumnRef: {...} }`, … */
export type AstNode = Record<string, any>;

/** One statement of a query string, with the byte range it covers. */
export type ParsedStatement = {
  /** The node's type, e.g. 'SelectStmt', 'CreateStmt'. */
  type: string;
  /** The node's body (the value under `type`). */
  ast: AstNode;
  /** The whole query string as UTF-8: AST locations are byte offsets into it. */
  source: Buffer;
  start: number;
  end: number;
};

export async function initParser(): Promise<void> {
  await loadModule();
}

/** Parse with the real PostgreSQL grammar; a syntax error becomes 42601 with its position. */
export function parseStatements(sql: string): ParsedStatement[] {
  let result;
  try {
    result = parseSync(sql);
  } catch (error) {
    throw syntaxError(error);
  }
  const source = Buffer.from(sql, 'utf8');
  const statements: ParsedStatement[] = [];
  for (const raw of result.stmts ?? []) {
    const wrapped = raw.stmt as AstNode;
    const type = Object.keys(wrapped)[0]!;
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : source.length;
    statements.push({ type, ast: wrapped[type], source, start, end });
  }
  return statements;
}

export function statementText(statement: ParsedStatement): string {
  return statement.source.toString('utf8', statement.start, statement.end).trim();
}

function syntaxError(error: unknown): SqlError {
  const details = (error as { sqlDetails?: { message: string; cursorPosition: number } }).sqlDetails;
  const message = details?.message ?? (error as Error).message;
  const extra: { position?: number } = {};
  // libpg-query reports a 0-based character offset; P is 1-based.
  if (details && details.cursorPosition >= 0) extra.position = details.cursorPosition + 1;
  return new SqlError(SqlState.SyntaxError, message, extra);
}

/** 1-based character position (what ErrorResponse's P field holds) of a byte offset. */
export function charPosition(source: Buffer, byteOffset: number): number {
  return source.toString('utf8', 0, Math.min(byteOffset, source.length)).length + 1;
}

/** Lexical tokens of a byte range of the source, with absolute byte offsets. */
export function tokensOf(source: Buffer, start: number, end: number): ScanToken[] {
  const text = source.toString('utf8', start, end);
  const tokens = scanSync(text).tokens;
  // scanSync reports byte offsets within the text it was given.
  for (const token of tokens) {
    token.start += start;
    token.end += start;
  }
  return tokens;
}

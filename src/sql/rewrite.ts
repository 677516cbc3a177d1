import type { ScanToken } from 'libpg-query';
import { quoteIdent } from '../catalog/catalog.js';
import { columnType } from '../catalog/column-types.js';
import { SqlError, SqlState } from '../errors.js';
import { castEdit, collateEdit, currentSchemas, expandArrayFieldEdit, functionEdits, relationEdit, type Edit } from '../pgcatalog/rewrite.js';
import { readSql } from '../write/hot-tier.js';
import type { HotReads, ResolveRelation } from './hot-reads.js';
import { keywordNameEdits, mayNameDuckDBKeyword } from './duckdb-keywords.js';
import { expressionSpan, names, tokenIndexAt, matchingParen, walk } from './ast.js';
import { tokensOf, type AstNode, type ParsedStatement } from './parse.js';

/** What a rewrite needs to know about the session it runs in. */
export type RewriteContext = {
  /** A session setting's current value, undefined when unknown. */
  setting(name: string): string | undefined;
  /** set_config(): changes a session setting (throws SqlError as SET would), returns the value it took. */
  setSetting?(name: string, value: string): string;
  user: string;
  database: string;
  processId: number;
  versionString: string;
  /** Resolves a query's relation names for the hot tier (absent: queries read the persistent tables only). */
  resolveRelation?: ResolveRelation;
};

/**
 * Rewrites a statement's text where DuckDB means something else than
 * PostgreSQL, by splicing the source at AST locations: everything not
 * rewritten stays byte for byte what the client wrote. References to
 * pg_catalog and information_schema go to Arka's emulation of them
 * (src/pgcatalog).
 */
export function rewriteForDuckDB(
  statement: ParsedStatement,
  context: RewriteContext,
  /** Replacement text for parameter `$n`, or undefined to keep it. */
  parameterText?: (n: number) => string | undefined,
  /** A query's tables read with their hot tier twins (hotReads). */
  hot?: HotReads,
): string {
  const { source, start, end } = statement;
  let tokens: ScanToken[] | undefined;
  const lazyTokens = (): ScanToken[] => (tokens ??= tokensOf(source, start, end));
  const edits: Edit[] = [];
  const replaceWith = (node: AstNode, text: string): void => {
    const span = expressionSpan(node, lazyTokens());
    if (span) edits.push({ start: span[0], end: span[1], build: () => text });
  };

  // The name a view is created under is not a reference to a catalog relation.
  const definedRelation = statement.type === 'ViewStmt' ? statement.ast.view : undefined;
  const span = (node: AstNode) => expressionSpan(node, lazyTokens());
  walk(statement.ast, (type, body) => {
    switch (type) {
      case 'FuncCall': {
        const replacement = functionReplacement(body, context);
        if (replacement !== undefined) replaceWith({ FuncCall: body }, replacement);
        else edits.push(...functionEdits(body, lazyTokens(), context));
        break;
      }
      case 'RangeVar': {
        if (body === definedRelation) break;
        const edit = relationEdit(body, lazyTokens(), context) ?? twinEdit(body, hot);
        if (edit) edits.push(edit);
        break;
      }
      case 'A_Indirection': {
        const edit = expandArrayFieldEdit(body, lazyTokens());
        if (edit) edits.push(edit);
        break;
      }
      case 'CollateClause': {
        const edit = collateEdit(body, lazyTokens());
        if (edit) edits.push(edit);
        break;
      }
      case 'SQLValueFunction': {
        const replacement = sqlValueFunctionReplacement(body.op as string, context);
        if (replacement !== undefined) replaceWith({ SQLValueFunction: body }, replacement);
        break;
      }
      case 'TypeCast': {
        const literal = byteaLiteral(body) ?? arrayLiteral(body);
        if (literal !== undefined) replaceWith({ TypeCast: body }, literal);
        else {
          const edit = castEdit(body, lazyTokens(), span);
          if (edit) edits.push(edit);
        }
        break;
      }
      case 'A_Expr': {
        const edit = operatorEdit(body, lazyTokens());
        if (edit) edits.push(edit);
        break;
      }
      case 'ParamRef': {
        const text = parameterText?.(body.number as number);
        if (text !== undefined) {
          const at = tokenIndexAt(lazyTokens(), body.location as number);
          const token = lazyTokens()[at];
          if (token) edits.push({ start: token.start, end: token.end, build: () => text });
        }
        break;
      }
      case 'RangeFunction': {
        const edit = scalarFunctionAliasEdit(body, lazyTokens());
        if (edit) edits.push(edit);
        else edits.push(...(scalarInFromEdits(body, lazyTokens()) ?? []));
        break;
      }
    }
  });
  const text = source.toString('utf8', start, end);
  if (mayNameDuckDBKeyword(text)) edits.push(...keywordNameEdits(lazyTokens()));
  if (edits.length === 0) return text;
  // By position; at the same position insertions first, then the widest edit (the others are nested in it).
  edits.sort((a, b) => a.start - b.start || Number(b.start === b.end) - Number(a.start === a.end) || b.end - a.end);
  const render = (from: number, to: number): string => {
    let out = '';
    let at = from;
    for (const edit of edits) {
      if (edit.start < at || edit.end > to) continue; // outside, or nested in an edit already rendered
      out += source.toString('utf8', at, edit.start) + edit.build(render);
      at = edit.end;
    }
    return out + source.toString('utf8', at, to);
  };
  return render(start, end);
}

/** A table read with its hot tier twin: the union (readSql), under the table's name unless aliased, over the source hotReads found. */
function twinEdit(range: AstNode, hot: HotReads | undefined): Edit | undefined {
  const read = hot?.twins.get(range);
  if (!read) return undefined;
  const relation = `${readSql(read.twin)}${range.alias ? '' : ` AS ${quoteIdent(range.relname as string)}`}`;
  const text = read.query ? `SELECT * FROM ${relation}` : relation;
  return { start: read.start, end: read.end, build: () => text };
}

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function functionReplacement(call: AstNode, context: RewriteContext): string | undefined {
  const qualified = names(call.funcname);
  if (qualified.length > 2 || (qualified.length === 2 && qualified[0] !== 'pg_catalog')) return undefined;
  const name = qualified[qualified.length - 1];
  const args = (call.args as AstNode[] | undefined) ?? [];
  switch (name) {
    case 'version':
      return args.length === 0 ? quoteLiteral(context.versionString) : undefined;
    case 'current_database':
      return args.length === 0 ? quoteLiteral(context.database) : undefined;
    case 'current_schema':
      return args.length === 0 ? quoteLiteral('public') : undefined;
    case 'pg_backend_pid':
      return args.length === 0 ? `CAST(${context.processId} AS INTEGER)` : undefined;
    case 'current_schemas':
      return currentSchemas(args);
    case 'set_config': {
      // set_config('name', 'value', is_local) with constants: applied as SET would, when the statement is planned.
      const settingName = args[0]?.A_Const?.sval?.sval as string | undefined;
      const value = args[1]?.A_Const?.sval?.sval as string | undefined;
      if (args.length !== 3 || settingName === undefined || value === undefined || !context.setSetting) return undefined;
      if (settingName.toLowerCase() === 'timezone') {
        throw new SqlError(SqlState.FeatureNotSupported, 'set_config() cannot change TimeZone', { hint: 'Use SET TimeZone.' });
      }
      return quoteLiteral(context.setSetting(settingName, value));
    }
    case 'current_setting': {
      const settingName = args[0]?.A_Const?.sval?.sval as string | undefined;
      if (settingName === undefined || args.length > 2) return undefined;
      const missingOk = args[1]?.A_Const?.boolval?.boolval === true;
      const value = context.setting(settingName);
      if (value === undefined) {
        if (missingOk) return 'CAST(NULL AS VARCHAR)';
        throw new SqlError(SqlState.UndefinedObject, `unrecognized configuration parameter "${settingName}"`);
      }
      return quoteLiteral(value);
    }
    default:
      return undefined;
  }
}

function sqlValueFunctionReplacement(op: string, context: RewriteContext): string | undefined {
  switch (op) {
    case 'SVFOP_CURRENT_USER':
    case 'SVFOP_CURRENT_ROLE':
    case 'SVFOP_SESSION_USER':
    case 'SVFOP_USER':
      return quoteLiteral(context.user);
    case 'SVFOP_CURRENT_CATALOG':
      return quoteLiteral(context.database);
    case 'SVFOP_CURRENT_SCHEMA':
      return quoteLiteral('public');
    default:
      return undefined;
  }
}

/**
 * Operators whose DuckDB meaning differs: `/` and `%` by zero give NULL in
 * DuckDB but error 22012 in PostgreSQL; `~` is a full match in DuckDB but a
 * search in PostgreSQL.
 */
const OPERATOR_FUNCTIONS: Record<string, (left: string, right: string) => string> = {
  '/': (l, r) => `arka_div(${l}, ${r})`,
  '%': (l, r) => `arka_mod(${l}, ${r})`,
  '~': (l, r) => `regexp_matches(${l}, ${r})`,
  '~*': (l, r) => `regexp_matches(${l}, ${r}, 'i')`,
  '!~': (l, r) => `(NOT regexp_matches(${l}, ${r}))`,
  '!~*': (l, r) => `(NOT regexp_matches(${l}, ${r}, 'i'))`,
};

function operatorEdit(expr: AstNode, tokens: ScanToken[]): Edit | undefined {
  if (expr.kind !== 'AEXPR_OP' || !expr.lexpr || !expr.rexpr) return undefined;
  const operator = names(expr.name);
  const build = OPERATOR_FUNCTIONS[operator[operator.length - 1]!];
  if (!build) return undefined;
  const left = expressionSpan(expr.lexpr, tokens);
  const right = expressionSpan(expr.rexpr, tokens);
  if (!left || !right) return undefined;
  const whole = expressionSpan({ A_Expr: expr }, tokens);
  if (!whole) return undefined;
  return {
    start: whole[0],
    end: whole[1],
    build: (render) => build(render(left[0], left[1]), render(right[0], right[1])),
  };
}

/** Set-returning functions whose single column PostgreSQL names after the table alias. */
const SCALAR_SET_FUNCTIONS = new Set(['generate_series', 'unnest', 'generate_subscripts', 'range']);

/**
 * `FROM generate_series(1, 5) g`: in PostgreSQL `g` is also the column; in
 * DuckDB it is the row (a struct). Naming the column explicitly, `g(g)`,
 * gives both engines the same meaning.
 */
function scalarFunctionAliasEdit(range: AstNode, tokens: ScanToken[]): Edit | undefined {
  const alias = range.alias as AstNode | undefined;
  if (!alias || alias.colnames || range.ordinality || range.functions?.length !== 1) return undefined;
  const call = range.functions[0].List.items[0]?.FuncCall as AstNode | undefined;
  if (!call) return undefined;
  const name = names(call.funcname).at(-1)!;
  if (!SCALAR_SET_FUNCTIONS.has(name)) return undefined;
  const open = tokenIndexAt(tokens, call.location as number) + 1 + (names(call.funcname).length - 1) * 2;
  const close = matchingParen(tokens, open);
  if (close < 0) return undefined;
  let aliasToken = close + 1;
  if (tokens[aliasToken]?.text.toLowerCase() === 'as') aliasToken++;
  const token = tokens[aliasToken];
  if (!token) return undefined;
  return { start: token.end, end: token.end, build: () => `(${token.text})` };
}

/** Functions returning one value that clients call in FROM, where DuckDB wants a table function. */
const SCALARS_IN_FROM = new Set(['string_to_array', 'current_schemas', 'regexp_split_to_array', 'array_append', 'array_cat']);

/**
 * `FROM string_to_array(x, ',') s`: in PostgreSQL a scalar function in FROM
 * is a one-row relation whose column is named after the alias.
 */
function scalarInFromEdits(range: AstNode, tokens: ScanToken[]): Edit[] | undefined {
  if (range.ordinality || range.functions?.length !== 1 || range.alias?.colnames) return undefined;
  const call = range.functions[0].List.items[0]?.FuncCall as AstNode | undefined;
  if (!call || !SCALARS_IN_FROM.has(names(call.funcname).at(-1)!)) return undefined;
  const callSpan = expressionSpan({ FuncCall: call }, tokens);
  if (!callSpan) return undefined;
  const column = (range.alias?.aliasname as string | undefined) ?? names(call.funcname).at(-1)!;
  const quoted = `"${column.replaceAll('"', '""')}"`;
  return [
    { start: callSpan[0], end: callSpan[0], build: () => '(SELECT ' },
    { start: callSpan[1], end: callSpan[1], build: () => ` AS ${quoted})${range.alias ? '' : ` AS ${quoted}`}` },
  ];
}

/**
 * `'\\x0102'::bytea` is hex in PostgreSQL; DuckDB reads the same text as
 * escapes followed by characters. The hex digits go to unhex() instead.
 */
function byteaLiteral(cast: AstNode): string | undefined {
  const type = names(cast.typeName?.names).at(-1);
  const text = cast.arg?.A_Const?.sval?.sval as string | undefined;
  if (type !== 'bytea' || text === undefined || cast.typeName.arrayBounds) return undefined;
  if (!text.startsWith('\\x')) return undefined;
  const hex = text.slice(2);
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new SqlError(SqlState.InvalidTextRepresentation, 'invalid hexadecimal data: odd number of digits');
  return `unhex(${quoteLiteral(hex)})`;
}

/** `'{a,b}'::text[]`: DuckDB cannot cast PostgreSQL's array text; arka_array_text splits it first. */
function arrayLiteral(cast: AstNode): string | undefined {
  const text = cast.arg?.A_Const?.sval?.sval as string | undefined;
  if (!cast.typeName?.arrayBounds || text === undefined || !text.trim().startsWith('{')) return undefined;
  let type: string;
  try {
    type = columnType(cast.typeName).duckdb;
  } catch {
    return undefined; // a type Arka does not store: leave the cast to DuckDB
  }
  return `CAST(arka_array_text(${quoteLiteral(text)}) AS ${type})`;
}

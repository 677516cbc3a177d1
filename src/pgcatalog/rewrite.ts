// The parse-tree rewrites that send pg_catalog and information_schema to
// Arka's emulation (see setup.ts): relations, functions, reg* casts and
// COLLATE clauses. They return splices for src/sql/rewrite.ts to apply.

import type { ScanToken } from 'libpg-query';
import { SqlError, SqlState } from '../errors.js';
import { matchingParen, names, tokenIndexAt } from '../sql/ast.js';
import type { AstNode } from '../sql/parse.js';
import { pgTypeByName } from '../types/pg-types.js';
import {
  INFORMATION_SCHEMA_RELATIONS, PG_CATALOG_FUNCTIONS, PG_CATALOG_RELATIONS, PG_CATALOG_SESSION_RELATIONS,
} from './setup.js';

/** A replacement of the source bytes [start, end); `render` gives the rewritten text of a nested range. */
export type Edit = { start: number; end: number; build(render: (start: number, end: number) => string): string };

export type CatalogContext = { user: string; database: string; processId: number };

const quote = (value: string): string => `'${value.replaceAll("'", "''")}'`;

function sessionArguments(context: CatalogContext): string {
  return `${quote(context.user)}, ${quote(context.database)}, ${context.processId}`;
}

const isIdentifier = (token: ScanToken | undefined): boolean =>
  !!token && (token.tokenName === 'IDENT' || token.keywordKind !== 0);

/** Index of the last token of a dotted name starting at token `first` (`a`, `a.b`, `"a"."b"`). */
export function qualifiedNameEnd(tokens: ScanToken[], first: number): number {
  let last = first;
  while (tokens[last + 1]?.text === '.' && isIdentifier(tokens[last + 2])) last += 2;
  return last;
}

/** Whether a relation reference names pg_catalog or information_schema (relationEdit's concern, not a user table). */
export function isCatalogRelation(range: AstNode): boolean {
  const schema = range.schemaname as string | undefined;
  const name = range.relname as string;
  if (schema === 'pg_catalog' || schema === 'information_schema') return true;
  return schema === undefined && (PG_CATALOG_RELATIONS.has(name) || PG_CATALOG_SESSION_RELATIONS.has(name));
}

/**
 * `FROM pg_catalog.pg_class c` → `FROM arka_pg.pg_class c`; relations naming
 * the session (pg_roles, pg_database, information_schema's) become table
 * macro calls keeping the name as alias: `arka_pg.pg_roles('arka', 'arka', 7) AS pg_roles`.
 */
export function relationEdit(range: AstNode, tokens: ScanToken[], context: CatalogContext): Edit | undefined {
  const schema = range.schemaname as string | undefined;
  const name = range.relname as string;
  if (range.catalogname) return undefined;
  let target: string;
  if ((schema === undefined || schema === 'pg_catalog') && PG_CATALOG_RELATIONS.has(name)) {
    target = `arka_pg.${name}`;
  } else if ((schema === undefined || schema === 'pg_catalog') && PG_CATALOG_SESSION_RELATIONS.has(name)) {
    target = `arka_pg.${name}(${sessionArguments(context)})${range.alias ? '' : ` AS ${name}`}`;
  } else if (schema === 'information_schema' && INFORMATION_SCHEMA_RELATIONS.has(name)) {
    target = `arka_is.${name}(${sessionArguments(context)})${range.alias ? '' : ` AS ${name}`}`;
  } else if (schema === 'information_schema' || (schema === 'pg_catalog' && name.startsWith('pg_'))) {
    throw new SqlError(SqlState.UndefinedTable, `relation "${schema}.${name}" does not exist`, {
      hint: 'Arka emulates the parts of pg_catalog and information_schema that clients use; this one is not among them.',
    });
  } else {
    return undefined;
  }
  const first = tokenIndexAt(tokens, range.location as number);
  if (first < 0) return undefined;
  const last = qualifiedNameEnd(tokens, first);
  return { start: tokens[first]!.start, end: tokens[last]!.end, build: () => target };
}

/**
 * Calls of pg_catalog functions: the ones Arka emulates go to arka_pg (with
 * the session's user where the answer names it), the rest lose their
 * `pg_catalog.` qualifier, which DuckDB does not know.
 */
export function functionEdits(call: AstNode, tokens: ScanToken[], context: CatalogContext): Edit[] {
  const qualified = names(call.funcname);
  const name = qualified.at(-1)!;
  const schema = qualified.length === 2 ? qualified[0] : undefined;
  if (qualified.length > 2) return [];
  const first = tokenIndexAt(tokens, call.location as number);
  if (first < 0) return [];
  const last = qualifiedNameEnd(tokens, first);
  // SQL-syntax calls (`trim(x)`, `EXTRACT(…)`, `substring(x FROM y)`) are named by the grammar
  // (pg_catalog.btrim, …), not in the source: DuckDB reads them as written.
  const written = tokens[last]!.text.startsWith('"') ? tokens[last]!.text.slice(1, -1) : tokens[last]!.text.toLowerCase();
  if (written !== name) return [];
  const nameSpan = { start: tokens[first]!.start, end: tokens[last]!.end };
  if (schema === 'information_schema' && name === '_pg_expandarray') {
    const array = expandArrayArgument(call, tokens);
    if (!array) return [];
    const close = matchingParen(tokens, last + 1);
    return [{
      start: nameSpan.start,
      end: tokens[close]!.end,
      build: (render) => {
        const a = render(array[0], array[1]);
        return `unnest(list_transform(generate_series(1, len(${a})), arka_i -> {'x': (${a})[arka_i], 'n': arka_i}))`;
      },
    }];
  }
  if (schema !== undefined && schema !== 'pg_catalog') return [];
  const renamed = RENAMED_FUNCTIONS[name];
  if (renamed) return [{ ...nameSpan, build: () => renamed }];
  const edits: Edit[] = [];
  if (PG_CATALOG_FUNCTIONS.has(name)) {
    edits.push({ ...nameSpan, build: () => `arka_pg.${name}` });
    if (name === 'pg_get_userbyid') {
      const close = matchingParen(tokens, last + 1);
      if (close < 0) return [];
      const at = tokens[close]!.start;
      edits.push({ start: at, end: at, build: () => `, ${quote(context.user)}` });
    }
  } else if (schema === 'pg_catalog') {
    edits.push({ ...nameSpan, build: () => name });
  }
  return edits;
}

function expandArrayArgument(call: AstNode, tokens: ScanToken[]): [number, number] | undefined {
  const args = (call.args as AstNode[] | undefined) ?? [];
  if (args.length !== 1) return undefined;
  const first = tokenIndexAt(tokens, call.location as number);
  const open = qualifiedNameEnd(tokens, first) + 1;
  const close = matchingParen(tokens, open);
  if (tokens[open]?.text !== '(' || close < 0) return undefined;
  return [tokens[open + 1]!.start, tokens[close - 1]!.end];
}

/**
 * `(information_schema._pg_expandarray(a)).n` (pgjdbc's primary keys and
 * indexes): the positions or the elements of `a`, one row each.
 */
export function expandArrayFieldEdit(indirection: AstNode, tokens: ScanToken[]): Edit | undefined {
  const call = indirection.arg?.FuncCall as AstNode | undefined;
  const field = indirection.indirection?.[0]?.String?.sval as string | undefined;
  if (!call || indirection.indirection.length !== 1 || (field !== 'n' && field !== 'x')) return undefined;
  const qualified = names(call.funcname);
  if (qualified.length !== 2 || qualified[0] !== 'information_schema' || qualified[1] !== '_pg_expandarray') return undefined;
  const array = expandArrayArgument(call, tokens);
  const first = tokenIndexAt(tokens, call.location as number);
  const close = matchingParen(tokens, qualifiedNameEnd(tokens, first) + 1);
  if (!array || tokens[first - 1]?.text !== '(' || tokens[close + 1]?.text !== ')' || tokens[close + 2]?.text !== '.') return undefined;
  const end = tokens[close + 3]!.end;
  return {
    start: tokens[first - 1]!.start,
    end,
    build: (render) => {
      const a = render(array[0], array[1]);
      return field === 'n' ? `unnest(generate_series(1, len(${a})))` : `unnest(${a})`;
    },
  };
}

/** PostgreSQL functions DuckDB has under another name, same arguments. */
const RENAMED_FUNCTIONS: Record<string, string> = {
  json_build_object: 'json_object',
  jsonb_build_object: 'json_object',
  json_build_array: 'json_array',
  jsonb_build_array: 'json_array',
  btrim: 'trim',
};

/** DuckDB types for the PostgreSQL catalog types it does not have. */
const CATALOG_TYPES: Record<string, string> = {
  name: 'VARCHAR',
  char: 'VARCHAR',
  regproc: 'VARCHAR',
  regprocedure: 'VARCHAR',
  regoper: 'VARCHAR',
  regoperator: 'VARCHAR',
  pg_node_tree: 'VARCHAR',
  aclitem: 'VARCHAR',
  int2vector: 'SMALLINT[]',
  oidvector: 'BIGINT[]',
  xid: 'BIGINT',
  cid: 'BIGINT',
  regrole: 'BIGINT',
};

const typeNameOf = (cast: AstNode | undefined): string | undefined =>
  cast?.typeName?.arrayBounds ? undefined : names(cast?.typeName?.names).at(-1);

const stringLiteral = (node: AstNode | undefined): string | undefined => node?.A_Const?.sval?.sval as string | undefined;

/**
 * Casts to the reg* types and other catalog types. A relation or schema name
 * cast to regclass / regnamespace is looked up (42P01 / 3F000 when missing),
 * a type name cast to regtype is resolved here; an OID cast to one of them and
 * then to text gives the name, as PostgreSQL's output function would.
 */
export function castEdit(cast: AstNode, tokens: ScanToken[], span: (node: AstNode) => [number, number] | undefined): Edit | undefined {
  const type = typeNameOf(cast);
  const inner = cast.arg as AstNode;
  const whole = span({ TypeCast: cast });
  if (!whole) return undefined;
  const argSpan = span(inner);
  const literal = stringLiteral(inner);
  const replace = (build: (render: (start: number, end: number) => string) => string): Edit => ({ start: whole[0], end: whole[1], build });
  const renderArg = (render: (start: number, end: number) => string): string => (argSpan ? render(argSpan[0], argSpan[1]) : '');

  // `x::regclass::text`: the name of the relation with OID x.
  const innerType = typeNameOf(inner?.TypeCast);
  const innerSpan = innerType ? span(inner) : undefined;
  if (type !== undefined && ['text', 'varchar', 'name'].includes(type) && innerType && innerSpan) {
    const nameOf: Record<string, string> = {
      regclass: 'arka_pg.arka_regclass_name',
      regtype: 'arka_pg.format_type',
      regnamespace: 'arka_pg.arka_regnamespace_name',
    };
    const fn = nameOf[innerType];
    if (fn) {
      const extra = innerType === 'regtype' ? ', NULL' : '';
      return replace((render) => `${fn}(${render(innerSpan[0], innerSpan[1])}${extra})`);
    }
  }
  switch (type) {
    case 'regclass':
      if (literal !== undefined) return replace(() => `arka_pg.arka_regclass(${quote(literal)})`);
      if (inner?.ParamRef) return replace((render) => `CAST(arka_pg.arka_regclass(CAST(${renderArg(render)} AS VARCHAR)) AS BIGINT)`);
      return replace((render) => `(${renderArg(render)})`);
    case 'regnamespace':
      if (literal !== undefined) return replace(() => `arka_pg.arka_regnamespace(${quote(literal)})`);
      return replace((render) => `(${renderArg(render)})`);
    case 'regtype': {
      if (inner?.ParamRef) return replace((render) => `CAST(arka_pg.arka_regtype(CAST(${renderArg(render)} AS VARCHAR)) AS BIGINT)`);
      if (literal === undefined) return replace((render) => `(${renderArg(render)})`);
      const pgType = pgTypeByName(literal);
      if (!pgType) throw new SqlError(SqlState.UndefinedObject, `type "${literal}" does not exist`);
      return replace(() => `CAST(${pgType.oid} AS BIGINT)`);
    }
    case 'regproc':
    case 'regprocedure':
      // Catalog columns of these types hold the function's name.
      if (literal !== undefined) return replace(() => quote(literal.replace(/\(.*$/, '').replace(/^pg_catalog\./, '')));
      return replace((render) => `(${renderArg(render)})`);
    default:
      return typeNameEdit(cast.typeName, tokens);
  }
}

/** `::pg_catalog.text` → `::text`, `::name` → `::VARCHAR`: type names DuckDB knows. */
function typeNameEdit(typeName: AstNode, tokens: ScanToken[]): Edit | undefined {
  const first = tokenIndexAt(tokens, typeName.location as number);
  if (first < 0) return undefined;
  const qualifiedInSource = tokens[first]!.text.toLowerCase() === 'pg_catalog' && tokens[first + 1]?.text === '.';
  const nameToken = qualifiedInSource ? tokens[first + 2] : tokens[first];
  if (!nameToken) return undefined;
  const written = nameToken.text.startsWith('"') ? nameToken.text.slice(1, -1) : nameToken.text.toLowerCase();
  const replacement = CATALOG_TYPES[written];
  if (replacement && (written !== 'char' || nameToken.text === '"char"')) {
    return { start: tokens[first]!.start, end: nameToken.end, build: () => replacement };
  }
  if (qualifiedInSource) return { start: tokens[first]!.start, end: nameToken.start, build: () => '' };
  return undefined;
}

/** `x COLLATE pg_catalog.default` → `x`: Arka has one collation. */
export function collateEdit(clause: AstNode, tokens: ScanToken[]): Edit | undefined {
  const at = tokenIndexAt(tokens, clause.location as number);
  if (at < 0 || tokens[at]!.text.toLowerCase() !== 'collate') return undefined;
  const last = qualifiedNameEnd(tokens, at + 1);
  return { start: tokens[at]!.start, end: tokens[last]!.end, build: () => '' };
}

/** current_schemas(include_implicit): Arka's search path is public, after pg_catalog. */
export function currentSchemas(args: AstNode[]): string | undefined {
  const implicit = args[0]?.A_Const?.boolval;
  if (args.length !== 1 || implicit === undefined) return undefined;
  return implicit.boolval === true ? "CAST(['pg_catalog', 'public'] AS VARCHAR[])" : "CAST(['public'] AS VARCHAR[])";
}

import type { ScanToken } from 'libpg-query';
import { isCatalogRelation, qualifiedNameEnd } from '../pgcatalog/rewrite.js';
import type { HotRelation, HotTwin } from '../write/hot-tier.js';
import { names, tokenIndexAt, walk } from './ast.js';
import { tokensOf, type AstNode, type ParsedStatement } from './parse.js';

/**
 * What a query reads of the hot tier (src/write/hot-tier.ts): the relation
 * references that read a table through its twin, and whether the query can
 * see acknowledged rows that way — every relation it names is a table, its
 * own CTE or a catalog relation. A view, a table function or a name not
 * known hides what it reads: such a query waits for the persistent apply, as
 * does one that samples a table, names a column `schema.table.column`, names
 * a table also named by one of its CTEs, or writes `t*` or `ONLY (t)` (the
 * rewrite would change what those mean, or cannot replace them).
 */
export type HotReads = {
  /** Each table reference read through its twin, with the source bytes the rewrite replaces (twinSpan). */
  twins: Map<AstNode, TwinRead>;
  visible: boolean;
  /** References to user tables (through a twin or not): a read of two or more needs one snapshot of them all. */
  tables: number;
};

/** A table reference read through its twin: the union replaces bytes `start`–`end`, as a query when `query` (`TABLE t`). */
export type TwinRead = { twin: HotTwin; start: number; end: number; query: boolean };

/** How a query's relation names resolve: `schema` undefined searches DuckDB's path. */
export type ResolveRelation = (schema: string | undefined, name: string) => HotRelation;

/** Table functions that read no table: a query calling them can still read through the twins. */
const TABLELESS_FUNCTIONS = new Set(['arka_status', 'generate_series', 'generate_subscripts', 'range', 'unnest']);

function readsNoTable(range: AstNode): boolean {
  const items = ((range.functions as AstNode[] | undefined) ?? []).flatMap((item) => (item.List?.items as (AstNode | null)[] | undefined) ?? []);
  const calls = items.filter((item): item is AstNode => Boolean(item) && !Array.isArray(item) && 'FuncCall' in item!);
  return calls.length > 0 && calls.every((call) => {
    const name = names(call.FuncCall.funcname as AstNode[]);
    return name.length === 1 && TABLELESS_FUNCTIONS.has(name[0]!);
  });
}

/** The hot reads of a query (SELECT, EXPLAIN); undefined for other statements. */
export function hotReads(statement: ParsedStatement, resolve: ResolveRelation | undefined): HotReads | undefined {
  if (!resolve || (statement.type !== 'SelectStmt' && statement.type !== 'ExplainStmt')) return undefined;
  // EXPLAIN of a write plans it against the persistent tables, which must stay its target.
  if (statement.type === 'ExplainStmt' && !statement.ast.query?.SelectStmt) return undefined;
  const ctes = new Set<string>();
  const sampled = new Set<AstNode>();
  let qualifiedColumns = false;
  walk(statement.ast, (type, body) => {
    if (type === 'CommonTableExpr') ctes.add(body.ctename as string);
    if (type === 'RangeTableSample' && body.relation?.RangeVar) sampled.add(body.relation.RangeVar as AstNode);
    // `schema.table.column` names the table, not the name the union is read under.
    if (type === 'ColumnRef' && ((body.fields as AstNode[] | undefined)?.length ?? 0) >= 3) qualifiedColumns = true;
  });
  if (qualifiedColumns) return undefined;
  const reads: HotReads = { twins: new Map(), visible: true, tables: 0 };
  let tokens: ScanToken[] | undefined;
  walk(statement.ast, (type, body) => {
    if (type === 'RangeFunction' && !readsNoTable(body)) reads.visible = false;
    if (type !== 'RangeVar' || isCatalogRelation(body)) return;
    const schema = body.schemaname as string | undefined;
    const name = body.relname as string;
    if (body.catalogname || sampled.has(body)) {
      reads.visible = false;
      return;
    }
    const relation = resolve(schema, name);
    // CTE names are not scoped here: a name that is both a CTE and a table may mean either.
    if (schema === undefined && ctes.has(name)) {
      if (relation.kind === 'twin') reads.visible = false;
      return;
    }
    if (relation.kind !== 'unknown') reads.tables++;
    if (relation.kind === 'twin') {
      const span = twinSpan(body, (tokens ??= tokensOf(statement.source, statement.start, statement.end)));
      if (span) reads.twins.set(body, { twin: relation.twin, ...span });
      else reads.visible = false;
    } else if (relation.kind === 'unknown') reads.visible = false;
  });
  return reads;
}

/**
 * The source a table read through its twin replaces: its name, with `ONLY`
 * before it, or `TABLE t` whole (`query`: the replacement is a query, not a
 * relation); undefined for a shape it cannot replace (`t*`, `ONLY (t)`).
 */
function twinSpan(range: AstNode, tokens: ScanToken[]): Omit<TwinRead, 'twin'> | undefined {
  const at = tokenIndexAt(tokens, range.location as number);
  if (at < 0) return undefined;
  const last = qualifiedNameEnd(tokens, at);
  if (tokens[last + 1]?.text === '*' || (tokens[at - 1]?.text === '(' && tokens[at - 2]?.text.toUpperCase() === 'ONLY')) return undefined;
  const before = tokens[at - 1]?.text.toUpperCase();
  const first = before === 'ONLY' || before === 'TABLE' ? at - 1 : at;
  return { start: tokens[first]!.start, end: tokens[last]!.end, query: before === 'TABLE' };
}

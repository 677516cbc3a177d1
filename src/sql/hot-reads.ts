import { isCatalogRelation } from '../pgcatalog/rewrite.js';
import type { HotRelation, HotTwin } from '../write/hot-tier.js';
import { walk } from './ast.js';
import type { AstNode, ParsedStatement } from './parse.js';

/**
 * What a query reads of the hot tier (src/write/hot-tier.ts): the relation
 * references that read a table through its twin, and whether the query can
 * see acknowledged rows that way — every relation it names is a table, its
 * own CTE or a catalog relation. A view, a table function or a name not
 * known hides what it reads: such a query waits for the persistent apply.
 */
export type HotReads = { twins: Map<AstNode, HotTwin>; visible: boolean };

/** How a query's relation names resolve: `schema` undefined searches DuckDB's path. */
export type ResolveRelation = (schema: string | undefined, name: string) => HotRelation;

/** The hot reads of a query (SELECT, EXPLAIN); undefined for other statements. */
export function hotReads(statement: ParsedStatement, resolve: ResolveRelation | undefined): HotReads | undefined {
  if (!resolve || (statement.type !== 'SelectStmt' && statement.type !== 'ExplainStmt')) return undefined;
  const ctes = new Set<string>();
  walk(statement.ast, (type, body) => {
    if (type === 'CommonTableExpr') ctes.add(body.ctename as string);
  });
  const reads: HotReads = { twins: new Map(), visible: true };
  walk(statement.ast, (type, body) => {
    if (type === 'RangeFunction') reads.visible = false;
    if (type !== 'RangeVar' || isCatalogRelation(body)) return;
    const schema = body.schemaname as string | undefined;
    const name = body.relname as string;
    if (body.catalogname) reads.visible = false;
    else if (schema === undefined && ctes.has(name)) return;
    else {
      const relation = resolve(schema, name);
      if (relation.kind === 'twin') reads.twins.set(body, relation.twin);
      else if (relation.kind === 'unknown') reads.visible = false;
    }
  });
  return reads;
}

import { DuckDBTypeId, type DuckDBConnection, type DuckDBPreparedStatement, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { SqlError, SqlState } from '../errors.js';
import { quoteLiteral, rewriteForDuckDB, type RewriteContext } from '../sql/rewrite.js';
import { duckTypeOfOid, pgOidOf } from '../types/mapping.js';
import { PgOid } from '../types/pg-types.js';
import type { Column } from './row-source.js';
import { resultColumns, type Plan } from './statements.js';

type QueryPlan = Extract<Plan, { kind: 'query' }>;

/**
 * A query prepared on DuckDB for the extended protocol. A parameter whose
 * type neither DuckDB nor the client can tell (`generate_series(1, $1)`) is
 * PostgreSQL's "unknown" literal: at Bind its text is spliced in as a literal
 * (see unknownLiteral), so DuckDB types it from the context as PostgreSQL would.
 */
export type PreparedQuery = {
  plan: QueryPlan;
  rewrite: RewriteContext;
  /** Present when every parameter has a type, so Bind can reuse it. */
  prepared: DuckDBPreparedStatement | undefined;
  paramOids: number[];
  paramTypes: (DuckDBType | undefined)[];
  /** Parameters spliced in as literals at Bind. */
  unknown: boolean[];
  columns: Column[];
};

function inferredType(prepared: DuckDBPreparedStatement, index: number): DuckDBType | undefined {
  try {
    const type = prepared.parameterType(index);
    return type.typeId === DuckDBTypeId.ANY ? undefined : type;
  } catch {
    return undefined; // DuckDB cannot tell before a value is bound
  }
}

export async function preparePlan(
  conn: DuckDBConnection,
  plan: QueryPlan,
  declaredOids: readonly number[],
  rewrite: RewriteContext,
): Promise<PreparedQuery> {
  const prepared = await conn.prepare(plan.sql);
  const count = Math.max(prepared.parameterCount, declaredOids.length);
  const paramOids: number[] = [];
  const paramTypes: (DuckDBType | undefined)[] = [];
  const unknown: boolean[] = [];
  let allInferred = true;
  for (let i = 0; i < count; i++) {
    const declared = declaredOids[i] ?? 0;
    const declaredType = declared ? duckTypeOfOid(declared) : undefined;
    if (declared && !declaredType) throw new SqlError(SqlState.UndefinedObject, `type with OID ${declared} is not supported`);
    const inferred = i < prepared.parameterCount ? inferredType(prepared, i + 1) : undefined;
    if (!inferred) allInferred = false;
    const type = inferred ?? declaredType;
    paramTypes.push(type);
    paramOids.push(declared || (inferred ? pgOidOf(inferred) : PgOid.text));
    unknown.push(!type);
  }
  let columns: Column[];
  if (allInferred) {
    columns = describe(prepared, plan);
  } else {
    // Column types are only known once parameter types are: describe with typed
    // NULLs. An untyped one is text, as PostgreSQL resolves `SELECT $1`, unless
    // the context needs another type (`generate_series(1, $1)`): then plain NULL.
    const probeWith = (untyped: string) =>
      rewriteForDuckDB(plan.statement, rewrite, (n) => {
        const type = paramTypes[n - 1];
        return type ? `CAST(NULL AS ${type.toString()})` : untyped;
      }, plan.hot);
    const probe = await conn.prepare(probeWith('CAST(NULL AS VARCHAR)')).catch(() => conn.prepare(probeWith('NULL')));
    columns = describe(probe, plan);
    probe.destroySync();
  }
  const reusable = !unknown.some(Boolean);
  if (!reusable) prepared.destroySync();
  return { plan, rewrite, prepared: reusable ? prepared : undefined, paramOids, paramTypes, unknown, columns };
}

function describe(prepared: DuckDBPreparedStatement, plan: QueryPlan): Column[] {
  const names: string[] = [];
  const types: DuckDBType[] = [];
  for (let i = 0; i < prepared.columnCount; i++) {
    names.push(prepared.columnName(i));
    types.push(prepared.columnType(i));
  }
  return resultColumns(names, types, plan.targets);
}

/** Binds one Execute's values, preparing a fresh statement when literals must be spliced in. */
export async function bindPlan(
  conn: DuckDBConnection,
  query: PreparedQuery,
  values: readonly DuckDBValue[],
  types: readonly (DuckDBType | undefined)[],
  texts: readonly (string | null)[],
): Promise<DuckDBPreparedStatement> {
  let prepared = query.prepared;
  const bound: number[] = [];
  if (!prepared) {
    const renumbered = new Map<number, number>();
    const sql = rewriteForDuckDB(query.plan.statement, query.rewrite, (n) => {
      const i = n - 1;
      if (query.unknown[i]) {
        if (values[i] === null) return 'NULL';
        const text = texts[i];
        if (text === null || text === undefined) {
          throw new SqlError(SqlState.ProtocolViolation, `parameter $${n} has no type and is not in text format`);
        }
        return unknownLiteral(text);
      }
      if (!renumbered.has(i)) renumbered.set(i, renumbered.size + 1);
      return `$${renumbered.get(i)}`;
    }, query.plan.hot);
    prepared = await conn.prepare(sql);
    for (const [i] of [...renumbered.entries()].sort((a, b) => a[1] - b[1])) bound.push(i);
  } else {
    for (let i = 0; i < prepared.parameterCount; i++) bound.push(i);
  }
  prepared.clearBindings();
  bound.forEach((i, position) => {
    const value = values[i];
    if (value === null || value === undefined) prepared.bindNull(position + 1);
    else prepared.bindValue(position + 1, value, types[i]);
  });
  return prepared;
}

/**
 * The literal an untyped text parameter stands for. DuckDB does not cast a
 * string literal to a number in function arguments, so text that is a number
 * goes in as a number literal (checked by the pattern, never raw text).
 */
export function unknownLiteral(text: string): string {
  return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text) ? text : quoteLiteral(text);
}

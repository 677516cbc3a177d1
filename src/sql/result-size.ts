import type { AstNode } from './parse.js';

/**
 * A result of at most this many rows may be computed whole rather than
 * streamed (a LIMIT up to it): fewer than one streamed chunk (2,048 rows)
 * holds, so memory is bounded as when streaming.
 */
export const FEW_ROWS = 1000;

/** Aggregates that give one value for all the rows they read. */
const AGGREGATES = new Set(['count', 'sum', 'min', 'max', 'avg', 'bool_and', 'bool_or', 'every']);

/** Functions of no rows, answered once (`SELECT version()`). */
const CONSTANT_FUNCTIONS = new Set(['version', 'now', 'current_setting', 'current_database', 'current_schema', 'pg_backend_pid']);

/**
 * Whether a query's result is certainly small: a LIMIT of at most FEW_ROWS,
 * or a single row — constants without FROM (`SELECT 1`, a pool's health
 * check), or aggregates without GROUP BY (`SELECT max(seq) FROM t`). Such a
 * result costs one DuckDB call computed whole, against two (or more) to
 * stream; any other result streams, so its size never matters.
 */
export function returnsFewRows(select: AstNode): boolean {
  if (select.limitOption === 'LIMIT_OPTION_COUNT') {
    const limit = select.limitCount?.A_Const;
    if (limit && !limit.isnull) return (limit.ival?.ival ?? 0) <= FEW_ROWS;
  }
  if (select.op !== 'SETOP_NONE' || select.valuesLists || select.groupClause || select.windowClause || select.intoClause) return false;
  const targets = ((select.targetList as AstNode[] | undefined) ?? []).map((target) => target.ResTarget?.val as AstNode | undefined);
  const fromRows = select.fromClause !== undefined;
  const shape = { fromRows, aggregates: 0 };
  if (targets.length === 0 || !targets.every((target) => oneValue(target, shape))) return false;
  // With FROM, one row only if it aggregates them (`SELECT 1 FROM t` gives a row per row).
  return !fromRows || shape.aggregates > 0;
}

/** An expression giving one value for the query's rows (aggregates are counted in `shape`). */
function oneValue(node: AstNode | undefined, shape: { fromRows: boolean; aggregates: number }): boolean {
  if (node === undefined) return true;
  const [type, body] = Object.entries(node)[0] ?? [];
  const all = (children: AstNode[] | undefined) => (children ?? []).every((child) => oneValue(child, shape));
  switch (type) {
    case 'A_Const':
    case 'ParamRef':
    case 'SQLValueFunction':
      return true;
    case 'TypeCast':
    case 'NullTest':
      return oneValue(body.arg, shape);
    case 'A_Expr':
      return all([body.lexpr, ...(Array.isArray(body.rexpr) ? body.rexpr : [body.rexpr])].filter(Boolean));
    case 'BoolExpr':
    case 'CoalesceExpr':
      return all(body.args);
    case 'FuncCall': {
      const name = (body.funcname as AstNode[]).at(-1)?.String?.sval as string | undefined;
      if (name === undefined || body.over !== undefined) return false;
      if (AGGREGATES.has(name)) {
        shape.aggregates++;
        return true; // its arguments are read per row, inside it
      }
      return !shape.fromRows && CONSTANT_FUNCTIONS.has(name) && all(body.args);
    }
    default:
      return false;
  }
}

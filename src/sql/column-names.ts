import type { AstNode } from './parse.js';

/**
 * What PostgreSQL says about one output column that DuckDB cannot: its name
 * (FigureColname in parse_target.c: DuckDB names unnamed expressions after
 * their text, `count_star()`, clients expect `count`), and the type a
 * top-level cast or NULL gives it where DuckDB has one type for several
 * (`varchar(5)`, `bpchar`, `name` and `text` are all VARCHAR in DuckDB).
 */
export type OutputTarget = { name: string; typeHint?: { name: string; typmod: number } };

/**
 * One entry per target of a SELECT; `null` marks a `*` whose expansion keeps
 * the engine's names.
 */
export function outputTargets(select: AstNode): (OutputTarget | null)[] | undefined {
  if (select.op && select.op !== 'SETOP_NONE') return outputTargets(select.larg);
  if (select.valuesLists) {
    const first = select.valuesLists[0].List.items as unknown[];
    return first.map((_, i) => ({ name: `column${i + 1}` }));
  }
  const targets = select.targetList as AstNode[] | undefined;
  if (!targets) return undefined;
  return targets.map((target) => {
    const res = target.ResTarget;
    if (isStar(res.val)) return null;
    const name = (res.name as string | undefined) ?? figureName(res.val)?.name ?? '?column?';
    const typeHint = typeHintOf(res.val);
    return typeHint ? { name, typeHint } : { name };
  });
}

function typeHintOf(node: AstNode | undefined): OutputTarget['typeHint'] {
  if (node?.A_Const?.isnull) return { name: 'text', typmod: -1 };
  const typeName = node?.TypeCast?.typeName;
  if (!typeName || typeName.arrayBounds) return undefined;
  const name = (typeName.names as AstNode[]).at(-1)!.String.sval as string;
  const length = typeName.typmods?.[0]?.A_Const?.ival?.ival as number | undefined;
  return { name, typmod: length === undefined ? -1 : length + 4 };
}

function isStar(node: AstNode | undefined): boolean {
  const fields = node?.ColumnRef?.fields as AstNode[] | undefined;
  return !!fields && 'A_Star' in fields[fields.length - 1]!;
}

type Figured = { name: string; strength: 1 | 2 };

const SQL_VALUE_FUNCTION_NAMES: Record<string, string> = {
  SVFOP_CURRENT_DATE: 'current_date',
  SVFOP_CURRENT_TIME: 'current_time',
  SVFOP_CURRENT_TIME_N: 'current_time',
  SVFOP_CURRENT_TIMESTAMP: 'current_timestamp',
  SVFOP_CURRENT_TIMESTAMP_N: 'current_timestamp',
  SVFOP_LOCALTIME: 'localtime',
  SVFOP_LOCALTIME_N: 'localtime',
  SVFOP_LOCALTIMESTAMP: 'localtimestamp',
  SVFOP_LOCALTIMESTAMP_N: 'localtimestamp',
  SVFOP_CURRENT_ROLE: 'current_role',
  SVFOP_CURRENT_USER: 'current_user',
  SVFOP_USER: 'user',
  SVFOP_SESSION_USER: 'session_user',
  SVFOP_CURRENT_CATALOG: 'current_catalog',
  SVFOP_CURRENT_SCHEMA: 'current_schema',
};

const SUBLINK_NAMES: Record<string, string> = { EXISTS_SUBLINK: 'exists', ARRAY_SUBLINK: 'array' };

/** Strength 2 is a name taken from the expression, 1 a generic one like `case`. */
function figureName(node: AstNode | undefined): Figured | undefined {
  if (!node) return undefined;
  const [type, body] = Object.entries(node)[0] as [string, AstNode];
  switch (type) {
    case 'ColumnRef': {
      const last = (body.fields as AstNode[])[body.fields.length - 1]!;
      return last.String ? { name: last.String.sval, strength: 2 } : undefined;
    }
    case 'A_Indirection': {
      const indirection = body.indirection as AstNode[];
      for (let i = indirection.length - 1; i >= 0; i--) {
        if (indirection[i]!.String) return { name: indirection[i]!.String.sval, strength: 2 };
        if (indirection[i]!.A_Star) break;
      }
      return figureName(body.arg);
    }
    case 'FuncCall': {
      const names = body.funcname as AstNode[];
      return { name: names[names.length - 1]!.String.sval, strength: 2 };
    }
    case 'A_Expr':
      return body.kind === 'AEXPR_NULLIF' ? { name: 'nullif', strength: 2 } : undefined;
    case 'TypeCast': {
      const inner = figureName(body.arg);
      if (inner && inner.strength > 1) return inner;
      const names = body.typeName.names as AstNode[];
      return { name: names[names.length - 1]!.String.sval, strength: 1 };
    }
    case 'CollateClause':
      return figureName(body.arg);
    case 'GroupingFunc':
      return { name: 'grouping', strength: 2 };
    case 'SubLink': {
      const fixed = SUBLINK_NAMES[body.subLinkType as string];
      if (fixed) return { name: fixed, strength: 2 };
      if (body.subLinkType === 'EXPR_SUBLINK' || body.subLinkType === 'MULTIEXPR_SUBLINK') {
        const first = outputTargets(body.subselect.SelectStmt)?.[0]?.name;
        if (first && first !== '?column?') return { name: first, strength: 2 };
      }
      return undefined;
    }
    case 'CaseExpr': {
      const inner = figureName(body.defresult);
      return inner && inner.strength > 1 ? inner : { name: 'case', strength: 1 };
    }
    case 'A_ArrayExpr':
      return { name: 'array', strength: 2 };
    case 'RowExpr':
      return { name: 'row', strength: 2 };
    case 'CoalesceExpr':
      return { name: 'coalesce', strength: 2 };
    case 'MinMaxExpr':
      return { name: body.op === 'IS_GREATEST' ? 'greatest' : 'least', strength: 2 };
    case 'SQLValueFunction': {
      const name = SQL_VALUE_FUNCTION_NAMES[body.op as string];
      return name ? { name, strength: 2 } : undefined;
    }
    default:
      return undefined;
  }
}

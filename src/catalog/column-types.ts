import { SqlError, SqlState, notSupported } from '../errors.js';
import { names } from '../sql/ast.js';
import type { AstNode } from '../sql/parse.js';

/** A column type as declared in PostgreSQL terms, and the DuckDB type that stores it. */
export type ColumnType = {
  /** PostgreSQL's canonical type name (pg_type.typname), e.g. 'int4', 'varchar', 'numeric'. */
  pgName: string;
  /** PostgreSQL's typmod: -1, or e.g. varchar(n) → n + 4, numeric(p, s) → ((p << 16) | s) + 4. */
  typmod: number;
  isArray: boolean;
  duckdb: string;
  /** serial types: the column takes its default from a sequence. */
  serial: boolean;
};

type Base = { pgName: string; duckdb: string; serial?: true };

const BASE_TYPES: Record<string, Base> = {
  int2: { pgName: 'int2', duckdb: 'SMALLINT' },
  smallint: { pgName: 'int2', duckdb: 'SMALLINT' },
  int4: { pgName: 'int4', duckdb: 'INTEGER' },
  int: { pgName: 'int4', duckdb: 'INTEGER' },
  integer: { pgName: 'int4', duckdb: 'INTEGER' },
  int8: { pgName: 'int8', duckdb: 'BIGINT' },
  bigint: { pgName: 'int8', duckdb: 'BIGINT' },
  smallserial: { pgName: 'int2', duckdb: 'SMALLINT', serial: true },
  serial2: { pgName: 'int2', duckdb: 'SMALLINT', serial: true },
  serial: { pgName: 'int4', duckdb: 'INTEGER', serial: true },
  serial4: { pgName: 'int4', duckdb: 'INTEGER', serial: true },
  bigserial: { pgName: 'int8', duckdb: 'BIGINT', serial: true },
  serial8: { pgName: 'int8', duckdb: 'BIGINT', serial: true },
  float4: { pgName: 'float4', duckdb: 'FLOAT' },
  real: { pgName: 'float4', duckdb: 'FLOAT' },
  float8: { pgName: 'float8', duckdb: 'DOUBLE' },
  numeric: { pgName: 'numeric', duckdb: 'DECIMAL' },
  decimal: { pgName: 'numeric', duckdb: 'DECIMAL' },
  bool: { pgName: 'bool', duckdb: 'BOOLEAN' },
  boolean: { pgName: 'bool', duckdb: 'BOOLEAN' },
  text: { pgName: 'text', duckdb: 'VARCHAR' },
  varchar: { pgName: 'varchar', duckdb: 'VARCHAR' },
  bpchar: { pgName: 'bpchar', duckdb: 'VARCHAR' },
  char: { pgName: 'bpchar', duckdb: 'VARCHAR' },
  name: { pgName: 'name', duckdb: 'VARCHAR' },
  bytea: { pgName: 'bytea', duckdb: 'BLOB' },
  date: { pgName: 'date', duckdb: 'DATE' },
  time: { pgName: 'time', duckdb: 'TIME' },
  timetz: { pgName: 'timetz', duckdb: 'TIMETZ' },
  timestamp: { pgName: 'timestamp', duckdb: 'TIMESTAMP' },
  timestamptz: { pgName: 'timestamptz', duckdb: 'TIMESTAMPTZ' },
  interval: { pgName: 'interval', duckdb: 'INTERVAL' },
  uuid: { pgName: 'uuid', duckdb: 'UUID' },
  json: { pgName: 'json', duckdb: 'JSON' },
  jsonb: { pgName: 'jsonb', duckdb: 'JSON' },
};

/**
 * A bare `numeric` has no precision in PostgreSQL; DuckDB's DECIMAL needs
 * one, and at most 38 digits. 38 digits with 10 after the point keeps money
 * and most measurements exact.
 */
const UNCONSTRAINED_NUMERIC = { precision: 38, scale: 10 };

/** Translates a column's TypeName node (as PostgreSQL parsed it) into both type systems. */
export function columnType(typeName: AstNode): ColumnType {
  const qualified = names(typeName.names);
  if (qualified.length > 2 || (qualified.length === 2 && qualified[0] !== 'pg_catalog')) {
    throw new SqlError(SqlState.UndefinedObject, `type "${qualified.join('.')}" does not exist`);
  }
  const written = qualified[qualified.length - 1]!;
  const base = BASE_TYPES[written];
  if (!base) throw new SqlError(SqlState.UndefinedObject, `type "${written}" does not exist`);
  const modifiers = ((typeName.typmods as AstNode[] | undefined) ?? []).map((node) => {
    const value = node.A_Const?.ival?.ival ?? (node.A_Const?.ival ? 0 : undefined);
    if (typeof value !== 'number') throw new SqlError(SqlState.SyntaxError, 'type modifiers must be simple constants');
    return value;
  });
  const isArray = Array.isArray(typeName.arrayBounds) && typeName.arrayBounds.length > 0;
  if (isArray && base.serial) throw notSupported('array of serial is not supported');
  let duckdb = base.duckdb;
  let typmod = -1;
  if (base.pgName === 'numeric') {
    const precision = modifiers[0] ?? UNCONSTRAINED_NUMERIC.precision;
    const scale = modifiers[1] ?? (modifiers.length === 0 ? UNCONSTRAINED_NUMERIC.scale : 0);
    if (precision < 1 || precision > 38) {
      throw notSupported(`NUMERIC precision ${precision} is not supported`, 'Arka stores numeric with at most 38 digits.');
    }
    if (scale < 0 || scale > precision) {
      throw new SqlError(SqlState.InvalidParameterValue, `NUMERIC scale ${scale} must be between 0 and precision ${precision}`);
    }
    duckdb = `DECIMAL(${precision},${scale})`;
    if (modifiers.length > 0) typmod = ((precision << 16) | scale) + 4;
  } else if (base.pgName === 'varchar' || base.pgName === 'bpchar') {
    const length = modifiers[0] ?? (base.pgName === 'bpchar' ? 1 : undefined);
    if (length !== undefined) typmod = length + 4;
  } else if (modifiers.length > 0 && !['time', 'timetz', 'timestamp', 'timestamptz', 'interval'].includes(base.pgName)) {
    throw new SqlError(SqlState.SyntaxError, `type modifier is not allowed for type "${written}"`);
  }
  return { pgName: base.pgName, typmod, isArray, duckdb: isArray ? `${duckdb}[]` : duckdb, serial: base.serial === true };
}

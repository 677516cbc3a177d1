import { SqlError, SqlState } from '../errors.js';

type Rule = { pattern: RegExp; code: string; message?: (match: RegExpExecArray) => string };

/**
 * DuckDB reports errors as text ("Catalog Error: Table with name x does not
 * exist!"). These rules give them PostgreSQL's SQLSTATE and, where clients
 * or people match on it, PostgreSQL's wording.
 */
const RULES: Rule[] = [
  { pattern: /^INTERRUPT Error/, code: SqlState.QueryCanceled, message: () => 'canceling statement due to user request' },
  // Arka's own SQL raises PostgreSQL errors as error('SQLSTATE: message').
  { pattern: /^Invalid Input Error: ([0-9A-Z]{5}): (.*)$/, code: '', message: (m) => m[2]! },
  { pattern: /^Invalid Input Error: division by zero/, code: SqlState.DivisionByZero, message: () => 'division by zero' },
  {
    pattern: /^Catalog Error: Table with name ([^ ]+) does not exist/,
    code: SqlState.UndefinedTable,
    message: (m) => `relation "${m[1]}" does not exist`,
  },
  {
    pattern: /^Catalog Error: Table with name ([^ ]+) already exists/,
    code: SqlState.DuplicateTable,
    message: (m) => `relation "${m[1]}" already exists`,
  },
  {
    pattern: /^Catalog Error: (?:Scalar|Table|Aggregate|Macro|Pragma) Function with name "?([^" ]+)"? does not exist/,
    code: SqlState.UndefinedFunction,
    message: (m) => `function ${m[1]} does not exist`,
  },
  { pattern: /^Catalog Error: Schema with name "?([^" ]+)"? does not exist/, code: SqlState.InvalidSchemaName, message: (m) => `schema "${m[1]}" does not exist` },
  { pattern: /^Catalog Error: Type with name "?([^" ]+)"? does not exist/, code: SqlState.UndefinedObject, message: (m) => `type "${m[1]}" does not exist` },
  { pattern: /^Catalog Error/, code: SqlState.UndefinedObject },
  {
    pattern: /^Binder Error: (?:Referenced column|Values list) "([^"]+)" (?:not found|does not have a column)/,
    code: SqlState.UndefinedColumn,
    message: (m) => `column "${m[1]}" does not exist`,
  },
  {
    pattern: /^Binder Error: Table "([^"]+)" does not have a column named "([^"]+)"/,
    code: SqlState.UndefinedColumn,
    message: (m) => `column ${m[1]}.${m[2]} does not exist`,
  },
  { pattern: /^Binder Error: Referenced table "([^"]+)" not found/, code: SqlState.UndefinedTable, message: (m) => `missing FROM-clause entry for table "${m[1]}"` },
  { pattern: /^Binder Error: No function matches/, code: SqlState.UndefinedFunction },
  { pattern: /^Binder Error: Ambiguous reference/, code: SqlState.AmbiguousColumn },
  { pattern: /^Binder Error: .*must appear in the GROUP BY clause/, code: SqlState.GroupingError },
  { pattern: /^Binder Error: Cannot compare values of type|^Binder Error: Cannot mix values of type/, code: SqlState.DatatypeMismatch },
  { pattern: /^Binder Error/, code: SqlState.SyntaxErrorOrAccessRuleViolation },
  {
    pattern: /^Conversion Error: Could not convert string ['"](.*)['"] to DECIMAL/,
    code: SqlState.InvalidTextRepresentation,
    message: (m) => `invalid input syntax for type numeric: "${m[1]}"`,
  },
  {
    pattern: /^Conversion Error: (?:Could not convert string ['"](.*?)['"] to DATE|invalid date field format: ['"](.*?)['"])/,
    code: SqlState.InvalidDatetimeFormat,
    message: (m) => `invalid input syntax for type date: "${m[1] ?? m[2]}"`,
  },
  {
    pattern: /^Conversion Error: (?:Could not convert string ['"](.*?)['"] to TIMESTAMP|invalid timestamp field format: ['"](.*?)['"])/,
    code: SqlState.InvalidDatetimeFormat,
    message: (m) => `invalid input syntax for type timestamp: "${m[1] ?? m[2]}"`,
  },
  // A well-formed number DuckDB could not convert does not fit the type.
  {
    pattern: /^Conversion Error: Could not convert string ['"](\s*[+-]?\d+\s*)['"] to (INT8|INT16|INT32|INT64)/,
    code: SqlState.NumericValueOutOfRange,
    message: (m) => `value "${m[1]}" is out of range for type ${m[2] === 'INT64' ? 'bigint' : m[2] === 'INT16' || m[2] === 'INT8' ? 'smallint' : 'integer'}`,
  },
  {
    pattern: /^Conversion Error: Could not convert string ['"](\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*)['"] to (DOUBLE|FLOAT)/,
    code: SqlState.NumericValueOutOfRange,
    message: (m) => `"${m[1]}" is out of range for type ${m[2] === 'FLOAT' ? 'real' : 'double precision'}`,
  },
  {
    pattern: /^Conversion Error: Could not convert string ['"](.*)['"] to (INT8|INT16|INT32|INT64|INT128)/,
    code: SqlState.InvalidTextRepresentation,
    message: (m) => `invalid input syntax for type ${m[2] === 'INT64' ? 'bigint' : m[2] === 'INT16' || m[2] === 'INT8' ? 'smallint' : 'integer'}: "${m[1]}"`,
  },
  {
    pattern: /^Conversion Error: Could not convert string ['"](.*)['"] to (DOUBLE|FLOAT)/,
    code: SqlState.InvalidTextRepresentation,
    message: (m) => `invalid input syntax for type ${m[2] === 'FLOAT' ? 'real' : 'double precision'}: "${m[1]}"`,
  },
  {
    pattern: /^Conversion Error: Could not convert string ['"](.*)['"] to BOOL/,
    code: SqlState.InvalidTextRepresentation,
    message: (m) => `invalid input syntax for type boolean: "${m[1]}"`,
  },
  { pattern: /^Conversion Error: .*out of range|^Out of Range Error/, code: SqlState.NumericValueOutOfRange },
  { pattern: /^Conversion Error: (?:invalid date|date field value out of range|Could not convert string .* to (?:DATE|TIMESTAMP|TIME))/i, code: SqlState.InvalidDatetimeFormat },
  { pattern: /^Conversion Error/, code: SqlState.InvalidTextRepresentation },
  { pattern: /^Constraint Error: Duplicate key/, code: SqlState.UniqueViolation },
  { pattern: /^Constraint Error: NOT NULL constraint failed: ([^.]+)\.(.+)/, code: SqlState.NotNullViolation, message: (m) => `null value in column "${m[2]}" of relation "${m[1]}" violates not-null constraint` },
  { pattern: /^Constraint Error: CHECK constraint failed/, code: SqlState.CheckViolation },
  { pattern: /^Constraint Error: Violates foreign key/, code: SqlState.ForeignKeyViolation },
  { pattern: /^Parser Error/, code: SqlState.SyntaxError },
  { pattern: /^Not implemented Error/, code: SqlState.FeatureNotSupported },
  { pattern: /^Out of Memory Error/, code: SqlState.OutOfMemory },
  { pattern: /^Invalid Input Error/, code: SqlState.InvalidParameterValue },
  { pattern: /^TransactionContext Error: Conflict/, code: '40001' },
  { pattern: /^TransactionContext Error/, code: SqlState.ActiveSqlTransaction },
];

/** Turns anything DuckDB throws into an SqlError with a real SQLSTATE. */
export function fromDuckDBError(error: unknown): SqlError {
  if (error instanceof SqlError) return error;
  const raw = error instanceof Error ? error.message : String(error);
  // DuckDB appends the query with a caret ("LINE 1: …") and suggestions; clients get the first line.
  const text = raw
    .replace(/^Failed to extract statements: /, '')
    .split('\n\nLINE ')[0]!
    .replace(/\n+Did you mean[\s\S]*$/, '')
    .trim();
  for (const rule of RULES) {
    const match = rule.pattern.exec(text);
    if (match) return new SqlError(rule.code || match[1]!, rule.message ? rule.message(match) : stripPrefix(text));
  }
  return new SqlError(SqlState.InternalError, stripPrefix(text));
}

function stripPrefix(text: string): string {
  return text.replace(/^[A-Za-z ]+ Error: /, '').split('\n')[0]!;
}

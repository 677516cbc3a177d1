import type { ErrorFields } from '../protocol/messages.js';

/** SQLSTATE codes Arka reports (https://www.postgresql.org/docs/15/errcodes-appendix.html). */
export const SqlState = {
  SuccessfulCompletion: '00000',
  Warning: '01000',
  ConnectionException: '08000',
  ProtocolViolation: '08P01',
  FeatureNotSupported: '0A000',
  InvalidParameterValue: '22023',
  DivisionByZero: '22012',
  InvalidTextRepresentation: '22P02',
  NumericValueOutOfRange: '22003',
  DatetimeFieldOverflow: '22008',
  InvalidDatetimeFormat: '22007',
  StringDataRightTruncation: '22001',
  DataException: '22000',
  NotNullViolation: '23502',
  ForeignKeyViolation: '23503',
  UniqueViolation: '23505',
  CheckViolation: '23514',
  ActiveSqlTransaction: '25001',
  NoActiveSqlTransaction: '25P01',
  InFailedSqlTransaction: '25P02',
  InvalidAuthorizationSpecification: '28000',
  InvalidPassword: '28P01',
  InvalidCursorName: '34000',
  InvalidSqlStatementName: '26000',
  InvalidSchemaName: '3F000',
  SyntaxError: '42601',
  SyntaxErrorOrAccessRuleViolation: '42000',
  UndefinedColumn: '42703',
  UndefinedFunction: '42883',
  UndefinedTable: '42P01',
  UndefinedObject: '42704',
  DuplicateTable: '42P07',
  DuplicateColumn: '42701',
  DuplicateObject: '42710',
  AmbiguousColumn: '42702',
  GroupingError: '42803',
  DatatypeMismatch: '42804',
  WrongObjectType: '42809',
  InvalidColumnReference: '42P10',
  InvalidTableDefinition: '42P16',
  TooManyConnections: '53300',
  OutOfMemory: '53200',
  ProgramLimitExceeded: '54000',
  QueryCanceled: '57014',
  AdminShutdown: '57P01',
  CannotConnectNow: '57P03',
  InternalError: 'XX000',
} as const;
export type SqlStateCode = (typeof SqlState)[keyof typeof SqlState];

type Extra = Omit<ErrorFields, 'severity' | 'code' | 'message'>;

/**
 * An error that reaches the client as an ErrorResponse. Everything that can go
 * wrong while serving a statement is turned into one of these at the boundary.
 */
export class SqlError extends Error {
  readonly extra: Extra;
  constructor(
    readonly code: string,
    message: string,
    extra: Extra = {},
    readonly severity: 'ERROR' | 'FATAL' = 'ERROR',
  ) {
    super(message);
    this.name = 'SqlError';
    this.extra = extra;
  }

  toFields(): ErrorFields {
    return { severity: this.severity, code: this.code, message: this.message, ...this.extra };
  }
}

export function notSupported(what: string, hint?: string): SqlError {
  return new SqlError(SqlState.FeatureNotSupported, what, hint ? { hint } : {});
}

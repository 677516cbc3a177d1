// The PostgreSQL v3 frontend messages, as values. Field names follow the
// protocol documentation (https://www.postgresql.org/docs/15/protocol-message-formats.html).

export const PROTOCOL_VERSION_3 = 196608; // 3.0
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;

/** Result/parameter format codes. */
export const enum FormatCode {
  Text = 0,
  Binary = 1,
}

export type StartupMessage = {
  kind: 'Startup';
  protocolVersion: number;
  /** user, database, application_name, options, client_encoding, … */
  parameters: Record<string, string>;
};
export type SSLRequest = { kind: 'SSLRequest' };
export type GSSENCRequest = { kind: 'GSSENCRequest' };
export type CancelRequest = { kind: 'CancelRequest'; processId: number; secretKey: number };

/**
 * 'p' is shared by PasswordMessage, SASLInitialResponse and SASLResponse; only
 * the authentication exchange in progress tells them apart, so the parser
 * returns the raw body and the session decodes it with the helpers in
 * frontend.ts (parseSASLInitialResponse, parsePasswordMessage).
 */
export type AuthenticationResponse = { kind: 'AuthenticationResponse'; body: Buffer };

export type Query = { kind: 'Query'; sql: string };
export type Parse = { kind: 'Parse'; name: string; sql: string; parameterTypes: number[] };
export type Bind = {
  kind: 'Bind';
  portal: string;
  statement: string;
  /** 0 codes: all text; 1 code: applies to all; else one per parameter. */
  parameterFormats: FormatCode[];
  /** null is SQL NULL (length -1). */
  parameters: (Buffer | null)[];
  resultFormats: FormatCode[];
};
export type Describe = { kind: 'Describe'; target: 'S' | 'P'; name: string };
export type Execute = { kind: 'Execute'; portal: string; maxRows: number };
export type Close = { kind: 'Close'; target: 'S' | 'P'; name: string };
export type Sync = { kind: 'Sync' };
export type Flush = { kind: 'Flush' };
export type CopyData = { kind: 'CopyData'; data: Buffer };
export type CopyDone = { kind: 'CopyDone' };
export type CopyFail = { kind: 'CopyFail'; message: string };
export type Terminate = { kind: 'Terminate' };
export type FunctionCall = { kind: 'FunctionCall' };

/** Messages before the session is established (no type byte). */
export type StartupPhaseMessage = StartupMessage | SSLRequest | GSSENCRequest | CancelRequest;

/** Messages after startup (a type byte, then an int32 length). */
export type FrontendMessage =
  | AuthenticationResponse
  | Query
  | Parse
  | Bind
  | Describe
  | Execute
  | Close
  | Sync
  | Flush
  | CopyData
  | CopyDone
  | CopyFail
  | Terminate
  | FunctionCall;

/** Fields of an ErrorResponse / NoticeResponse, by their one-letter codes. */
export type ErrorFields = {
  severity: string; // S and V
  code: string; // C: SQLSTATE
  message: string; // M
  detail?: string; // D
  hint?: string; // H
  position?: number; // P: 1-based character index into the query text
  internalPosition?: number; // p
  internalQuery?: string; // q
  where?: string; // W
  schema?: string; // s
  table?: string; // t
  column?: string; // c
  dataType?: string; // d
  constraint?: string; // n
  file?: string; // F
  line?: number; // L
  routine?: string; // R
};

/** One column of a RowDescription. */
export type FieldDescription = {
  name: string;
  tableOid: number;
  columnAttr: number;
  typeOid: number;
  typeSize: number;
  typeModifier: number;
  format: FormatCode;
};

/** A violation of the protocol: the connection cannot go on. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    /** SQLSTATE to report if an ErrorResponse can still be sent. */
    readonly code: string = '08P01',
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

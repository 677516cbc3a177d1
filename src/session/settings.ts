import { SqlError, SqlState } from '../errors.js';

export const ARKA_VERSION = '0.1.0';
/** What clients parse: they look for a PostgreSQL major version first. */
export const SERVER_VERSION = `15.0 (Arka ${ARKA_VERSION})`;
export const SERVER_VERSION_NUM = '150000';
export const VERSION_STRING = `PostgreSQL 15.0 (Arka ${ARKA_VERSION}) on x86_64-pc-linux-gnu, compiled by TypeScript, 64-bit`;

type SettingSpec = {
  /** How SHOW spells the name. */
  name: string;
  default: string;
  /** Sent in a ParameterStatus message at startup and whenever it changes. */
  reported?: boolean;
  readOnly?: boolean;
  /** Canonicalises a new value; throws SqlError when it is not acceptable. */
  check?: (value: string) => string;
  description: string;
};

function oneOf(name: string, allowed: readonly string[]) {
  return (value: string): string => {
    const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
    if (!match) throw new SqlError(SqlState.InvalidParameterValue, `invalid value for parameter "${name}": "${value}"`);
    return match;
  };
}

function integer(name: string, min: number, max: number) {
  return (value: string): string => {
    const n = Number(value.trim());
    if (!Number.isInteger(n)) {
      throw new SqlError(SqlState.InvalidParameterValue, `invalid value for parameter "${name}": "${value}"`);
    }
    if (n < min || n > max) {
      throw new SqlError(
        SqlState.InvalidParameterValue,
        `${n} is outside the valid range for parameter "${name}" (${min} .. ${max})`,
      );
    }
    return String(n);
  };
}

/** statement_timeout and friends: an integer in ms, or with a unit. */
function duration(name: string) {
  const units: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
  return (value: string): string => {
    const match = /^\s*(\d+)\s*(ms|s|min|h|d)?\s*$/.exec(value);
    if (!match) throw new SqlError(SqlState.InvalidParameterValue, `invalid value for parameter "${name}": "${value}"`);
    return String(Number(match[1]) * units[match[2] ?? 'ms']!);
  };
}

function boolean(name: string) {
  return (value: string): string => {
    const v = value.toLowerCase();
    if (['on', 'true', 'yes', '1', 't'].includes(v)) return 'on';
    if (['off', 'false', 'no', '0', 'f'].includes(v)) return 'off';
    throw new SqlError(SqlState.InvalidParameterValue, `parameter "${name}" requires a Boolean value`);
  };
}

function timeZone(value: string): string {
  const v = value.trim();
  if (/^(utc|gmt|z|zulu)$/i.test(v)) return 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v });
    return v;
  } catch {
    throw new SqlError(SqlState.InvalidParameterValue, `invalid value for parameter "TimeZone": "${value}"`);
  }
}

/** DateStyle: Arka writes ISO; the order part only matters for input. */
function dateStyle(value: string): string {
  const parts = value.split(',').map((part) => part.trim().toUpperCase()).filter(Boolean);
  let order = 'MDY';
  for (const part of parts) {
    if (part === 'ISO') continue;
    if (['MDY', 'DMY', 'YMD', 'US', 'NONEURO', 'NONEUROPEAN'].includes(part)) order = part === 'DMY' || part === 'YMD' ? part : 'MDY';
    else if (part === 'EURO' || part === 'EUROPEAN') order = 'DMY';
    else {
      throw new SqlError(SqlState.FeatureNotSupported, `DateStyle "${value}" is not supported`, {
        hint: 'Arka writes dates in the ISO style only.',
      });
    }
  }
  return `ISO, ${order}`;
}

const SPECS: SettingSpec[] = [
  { name: 'server_version', default: SERVER_VERSION, reported: true, readOnly: true, description: 'Shows the server version.' },
  { name: 'server_version_num', default: SERVER_VERSION_NUM, readOnly: true, description: 'Shows the server version as an integer.' },
  { name: 'server_encoding', default: 'UTF8', reported: true, readOnly: true, description: 'Shows the server (database) character set encoding.' },
  { name: 'client_encoding', default: 'UTF8', reported: true, check: oneOf('client_encoding', ['UTF8']), description: "Sets the client's character set encoding." },
  { name: 'DateStyle', default: 'ISO, MDY', reported: true, check: dateStyle, description: 'Sets the display format for date and time values.' },
  { name: 'IntervalStyle', default: 'postgres', reported: true, check: oneOf('IntervalStyle', ['postgres']), description: 'Sets the display format for interval values.' },
  { name: 'TimeZone', default: 'UTC', reported: true, check: timeZone, description: 'Sets the time zone for displaying and interpreting time stamps.' },
  { name: 'integer_datetimes', default: 'on', reported: true, readOnly: true, description: 'Shows whether datetimes are integer based.' },
  { name: 'standard_conforming_strings', default: 'on', reported: true, check: oneOf('standard_conforming_strings', ['on']), description: "Causes '...' strings to treat backslashes literally." },
  { name: 'application_name', default: '', reported: true, description: 'Sets the application name to be reported in statistics and logs.' },
  { name: 'is_superuser', default: 'on', reported: true, readOnly: true, description: 'Shows whether the current user is a superuser.' },
  { name: 'session_authorization', default: 'arka', reported: true, readOnly: true, description: 'Sets the session user name.' },
  { name: 'default_transaction_read_only', default: 'off', reported: true, check: boolean('default_transaction_read_only'), description: 'Sets the default read-only status of new transactions.' },
  { name: 'in_hot_standby', default: 'off', reported: true, readOnly: true, description: 'Shows whether hot standby is currently active.' },
  { name: 'search_path', default: '"$user", public', description: 'Sets the schema search order for names that are not schema-qualified.' },
  { name: 'extra_float_digits', default: '1', check: integer('extra_float_digits', -15, 3), description: 'Sets the number of digits displayed for floating-point values.' },
  { name: 'client_min_messages', default: 'notice', check: oneOf('client_min_messages', ['debug5', 'debug4', 'debug3', 'debug2', 'debug1', 'log', 'notice', 'warning', 'error']), description: 'Sets the message levels that are sent to the client.' },
  { name: 'statement_timeout', default: '0', check: duration('statement_timeout'), description: 'Sets the maximum allowed duration of any statement (ms).' },
  { name: 'lock_timeout', default: '0', check: duration('lock_timeout'), description: 'Sets the maximum allowed duration of any wait for a lock.' },
  { name: 'idle_in_transaction_session_timeout', default: '0', check: duration('idle_in_transaction_session_timeout'), description: 'Sets the maximum allowed idle time between queries, when in a transaction.' },
  { name: 'transaction_isolation', default: 'read committed', readOnly: true, description: "Sets the current transaction's isolation level." },
  { name: 'default_transaction_isolation', default: 'read committed', check: oneOf('default_transaction_isolation', ['read committed', 'repeatable read', 'serializable', 'read uncommitted']), description: 'Sets the transaction isolation level of each new transaction.' },
  { name: 'transaction_read_only', default: 'off', readOnly: true, description: 'Sets the current transaction\'s read-only status.' },
  { name: 'max_identifier_length', default: '63', readOnly: true, description: 'Shows the maximum identifier length.' },
  { name: 'lc_messages', default: 'C', description: 'Sets the language in which messages are displayed.' },
  { name: 'lc_monetary', default: 'C', description: 'Sets the locale for formatting monetary amounts.' },
  { name: 'lc_numeric', default: 'C', description: 'Sets the locale for formatting numbers.' },
  { name: 'lc_time', default: 'C', description: 'Sets the locale for formatting date and time values.' },
  { name: 'lc_collate', default: 'C', readOnly: true, description: 'Shows the collation order locale.' },
  { name: 'lc_ctype', default: 'C', readOnly: true, description: 'Shows the character classification and case conversion locale.' },
  { name: 'bytea_output', default: 'hex', check: oneOf('bytea_output', ['hex']), description: 'Sets the output format for bytea.' },
  { name: 'synchronous_commit', default: 'on', check: oneOf('synchronous_commit', ['on']), description: 'Sets the current transaction\'s synchronization level.' },
  { name: 'work_mem', default: '4MB', description: 'Sets the maximum memory to be used for query workspaces.' },
  { name: 'max_connections', default: '100', readOnly: true, description: 'Sets the maximum number of concurrent connections.' },
  { name: 'block_size', default: '8192', readOnly: true, description: 'Shows the size of a disk block.' },
  { name: 'jit', default: 'off', check: boolean('jit'), description: 'Allow JIT compilation.' },
  { name: 'row_security', default: 'on', check: boolean('row_security'), description: 'Enable row security.' },
  { name: 'geqo', default: 'on', check: boolean('geqo'), description: 'Enables genetic query optimization.' },
  { name: 'enable_seqscan', default: 'on', check: boolean('enable_seqscan'), description: "Enables the planner's use of sequential-scan plans." },
  { name: 'password_encryption', default: 'scram-sha-256', description: 'Chooses the algorithm for encrypting passwords.' },
  { name: 'default_text_search_config', default: 'pg_catalog.english', description: 'Sets default text search configuration.' },
];

const BY_KEY = new Map(SPECS.map((spec) => [spec.name.toLowerCase(), spec]));

/** A session's run-time parameters (GUCs): what SET, RESET, SHOW and current_setting see. */
export class SessionSettings {
  private readonly values = new Map<string, string>();
  private readonly sessionDefaults = new Map<string, string>();

  constructor(user: string) {
    for (const spec of SPECS) this.values.set(spec.name.toLowerCase(), spec.default);
    this.values.set('session_authorization', user);
    this.sessionDefaults.set('session_authorization', user);
  }

  static isReported(name: string): boolean {
    return BY_KEY.get(name.toLowerCase())?.reported === true;
  }

  static reportedNames(): string[] {
    return SPECS.filter((spec) => spec.reported).map((spec) => spec.name);
  }

  /** The value, or undefined for an unknown name (custom `a.b` names included when set). */
  get(name: string): string | undefined {
    return this.values.get(name.toLowerCase());
  }

  /** The spelling SHOW uses for a known name. */
  displayName(name: string): string {
    return BY_KEY.get(name.toLowerCase())?.name ?? name.toLowerCase();
  }

  /** SET name = value. Returns the canonical value. */
  set(name: string, value: string): string {
    const key = name.toLowerCase();
    const spec = BY_KEY.get(key);
    if (!spec) {
      // Custom placeholders (`myapp.tenant`) are allowed, as in PostgreSQL.
      if (!key.includes('.')) throw unknownSetting(name);
      this.values.set(key, value);
      return value;
    }
    if (spec.readOnly) throw new SqlError('55P02', `parameter "${spec.name}" cannot be changed`);
    const canonical = spec.check ? spec.check(value) : value;
    this.values.set(key, canonical);
    return canonical;
  }

  /** A startup-packet parameter becomes the session's default for RESET. */
  setDefault(name: string, value: string): string {
    const canonical = this.set(name, value);
    this.sessionDefaults.set(name.toLowerCase(), canonical);
    return canonical;
  }

  reset(name: string): string {
    const key = name.toLowerCase();
    const spec = BY_KEY.get(key);
    if (!spec) {
      if (key.includes('.')) {
        this.values.delete(key);
        return '';
      }
      throw unknownSetting(name);
    }
    if (spec.readOnly) throw new SqlError('55P02', `parameter "${spec.name}" cannot be changed`);
    const value = this.sessionDefaults.get(key) ?? spec.default;
    this.values.set(key, value);
    return value;
  }

  /** RESET ALL: returns the names whose value changed. */
  resetAll(): string[] {
    const changed: string[] = [];
    for (const spec of SPECS) {
      if (spec.readOnly) continue;
      const key = spec.name.toLowerCase();
      const value = this.sessionDefaults.get(key) ?? spec.default;
      if (this.values.get(key) !== value) changed.push(spec.name);
      this.values.set(key, value);
    }
    return changed;
  }

  /** Every setting for SHOW ALL: name, setting, description. */
  all(): [string, string, string][] {
    return SPECS.map((spec) => [spec.name, this.values.get(spec.name.toLowerCase()) ?? '', spec.description]);
  }
}

function unknownSetting(name: string): SqlError {
  return new SqlError(SqlState.UndefinedObject, `unrecognized configuration parameter "${name}"`);
}

import { SqlError, SqlState, notSupported } from '../errors.js';
import type { AstNode } from '../sql/parse.js';

export type CopyFormat = 'text' | 'csv' | 'binary';

/** COPY's options, with PostgreSQL's defaults per format. */
export type CopyOptions = {
  format: CopyFormat;
  header: boolean;
  delimiter: string;
  null: string;
  quote: string;
  escape: string;
};

function optionValue(element: AstNode): string | boolean | undefined {
  const arg = element.arg;
  if (!arg) return undefined;
  if (arg.String) return arg.String.sval as string;
  if (arg.Boolean) return arg.Boolean.boolval === true;
  if (arg.Integer) return String(arg.Integer.ival ?? 0);
  throw new SqlError(SqlState.SyntaxError, `invalid value for COPY option "${element.defname}"`);
}

function asBoolean(name: string, value: string | boolean | undefined): boolean {
  if (value === undefined || value === true) return true;
  if (value === false) return false;
  const v = value.toLowerCase();
  if (['true', 'on', '1', 'match'].includes(v)) return true;
  if (['false', 'off', '0'].includes(v)) return false;
  throw new SqlError(SqlState.SyntaxError, `${name} requires a Boolean value`);
}

function singleByte(name: string, value: string | boolean | undefined): string {
  if (typeof value !== 'string' || Buffer.byteLength(value) !== 1) {
    throw new SqlError(SqlState.FeatureNotSupported, `COPY ${name} must be a single one-byte character`);
  }
  return value;
}

export function copyOptions(options: AstNode[] | undefined): CopyOptions {
  const given = new Map<string, string | boolean | undefined>();
  for (const node of options ?? []) {
    const element = node.DefElem;
    const name = element.defname as string;
    if (given.has(name)) throw new SqlError(SqlState.SyntaxError, 'conflicting or redundant options');
    given.set(name, optionValue(element));
  }
  const formatValue = given.get('format') ?? 'text';
  if (typeof formatValue !== 'string' || !['text', 'csv', 'binary'].includes(formatValue.toLowerCase())) {
    throw new SqlError(SqlState.InvalidParameterValue, `COPY format "${String(formatValue)}" not recognized`);
  }
  const format = formatValue.toLowerCase() as CopyFormat;
  const result: CopyOptions = {
    format,
    header: given.has('header') ? asBoolean('header', given.get('header')) : false,
    delimiter: format === 'csv' ? ',' : '\t',
    null: format === 'csv' ? '' : '\\N',
    quote: '"',
    escape: '"',
  };
  for (const [name, value] of given) {
    switch (name) {
      case 'format':
      case 'header':
        break;
      case 'delimiter':
        result.delimiter = singleByte('delimiter', value);
        break;
      case 'null':
        if (typeof value !== 'string') throw new SqlError(SqlState.SyntaxError, 'NULL requires a string');
        result.null = value;
        break;
      case 'quote':
        if (format !== 'csv') throw notSupported('COPY quote available only in CSV mode');
        result.quote = singleByte('quote', value);
        break;
      case 'escape':
        if (format !== 'csv') throw notSupported('COPY escape available only in CSV mode');
        result.escape = singleByte('escape', value);
        break;
      case 'encoding':
        if (typeof value !== 'string' || !/^utf-?8$/i.test(value)) throw notSupported('COPY supports only UTF8 encoding');
        break;
      case 'freeze':
        break;
      default:
        throw notSupported(`COPY option "${name}" is not supported`);
    }
  }
  if (format === 'binary' && (given.has('delimiter') || given.has('null') || given.has('header'))) {
    throw new SqlError(SqlState.SyntaxError, 'cannot specify DELIMITER, NULL or HEADER in BINARY mode');
  }
  if (format === 'csv' && result.delimiter === result.quote) {
    throw new SqlError(SqlState.InvalidParameterValue, 'COPY delimiter and quote must be different');
  }
  return result;
}

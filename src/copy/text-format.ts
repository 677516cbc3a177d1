/**
 * PostgreSQL's COPY text format (tab-separated, backslash escapes, `\N` for
 * NULL) converted, as it streams in, to CSV that DuckDB's reader loads:
 * every value quoted, NULL an unquoted empty field.
 */
export class TextToCsv {
  private partial = '';
  private ended = false;
  /** Lines read, for error messages (PostgreSQL counts from 1, header included). */
  lines = 0;

  constructor(
    private readonly delimiter: string,
    private readonly nullString: string,
    private skipHeader: boolean,
  ) {}

  /** Converts the complete lines of `chunk` (the rest waits for the next chunk). */
  push(chunk: string): string {
    if (this.ended) return '';
    const text = this.partial + chunk;
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline < 0) {
      this.partial = text;
      return '';
    }
    this.partial = text.slice(lastNewline + 1);
    return this.convert(text.slice(0, lastNewline).split('\n'));
  }

  /** The last line, which may lack its newline. */
  end(): string {
    const rest = this.partial;
    this.partial = '';
    return rest === '' || this.ended ? '' : this.convert([rest]);
  }

  private convert(lines: string[]): string {
    let out = '';
    for (let line of lines) {
      if (this.ended) break;
      this.lines++;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '\\.') {
        this.ended = true;
        break;
      }
      if (this.skipHeader) {
        this.skipHeader = false;
        continue;
      }
      out += line
        .split(this.delimiter)
        .map((field) => (field === this.nullString ? '' : `"${unescape(field).replaceAll('"', '""')}"`))
        .join(',');
      out += '\n';
    }
    return out;
  }
}

const SIMPLE_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function unescape(field: string): string {
  if (!field.includes('\\')) return field;
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const c = field[i]!;
    if (c !== '\\' || i + 1 >= field.length) {
      out += c;
      continue;
    }
    const next = field[++i]!;
    if (SIMPLE_ESCAPES[next]) out += SIMPLE_ESCAPES[next];
    else if (next >= '0' && next <= '7') {
      let digits = next;
      while (digits.length < 3 && field[i + 1]! >= '0' && field[i + 1]! <= '7') digits += field[++i];
      out += String.fromCharCode(parseInt(digits, 8));
    } else if (next === 'x' && /[0-9a-fA-F]/.test(field[i + 1] ?? '')) {
      let digits = field[++i]!;
      if (/[0-9a-fA-F]/.test(field[i + 1] ?? '')) digits += field[++i];
      out += String.fromCharCode(parseInt(digits, 16));
    } else out += next;
  }
  return out;
}

/** A value in COPY text format: backslash escapes, `\N` (or the NULL string) for NULL. */
export function textField(value: string): string {
  let out = '';
  for (const c of value) {
    switch (c) {
      case '\\':
        out += '\\\\';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\b':
        out += '\\b';
        break;
      case '\f':
        out += '\\f';
        break;
      case '\v':
        out += '\\v';
        break;
      default:
        out += c;
    }
  }
  return out;
}

/** A value in CSV: quoted when it must be (or when it is empty, to tell it from NULL). */
export function csvField(value: string, delimiter: string, quote: string, escape: string, nullString: string): string {
  // An empty string is quoted only where it would read back as NULL.
  const needs = (value === '' && nullString === '') || value === nullString || value.includes(delimiter) || value.includes(quote) || /[\r\n]/.test(value) || value === '\\.';
  if (!needs) return value;
  let out = quote;
  for (const c of value) {
    if (c === quote || c === escape) out += escape;
    out += c;
  }
  return out + quote;
}

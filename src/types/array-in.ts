// PostgreSQL's array text input ('{1,2,NULL}', '{{"a b","c\"d"}}',
// '[0:1]={x,y}') split into element strings; the element type's own input
// function reads each one.

export type ArrayItems = (string | null | ArrayItems)[];

export class ArrayInputError extends Error {
  readonly code = '22P02';
  constructor(input: string) {
    super(`malformed array literal: "${input}"`);
  }
}

const SPACE = /[ \t\n\r\v\f]/;

export function parseArrayText(input: string): ArrayItems {
  // Explicit bounds ('[0:2]=') only move the subscripts, which lists do not have.
  const text = input.trim().replace(/^(\[\s*-?\d+\s*(:\s*-?\d+\s*)?\])+\s*=\s*/, '');
  let at = 0;
  const fail = (): never => {
    throw new ArrayInputError(input);
  };
  const skipSpace = () => {
    while (at < text.length && SPACE.test(text[at])) at++;
  };
  const parseLevel = (): ArrayItems => {
    if (text[at] !== '{') fail();
    at++;
    const items: ArrayItems = [];
    skipSpace();
    if (text[at] === '}') {
      at++;
      return items;
    }
    for (;;) {
      skipSpace();
      if (text[at] === '{') items.push(parseLevel());
      else items.push(parseElement());
      skipSpace();
      const c = text[at++];
      if (c === '}') return items;
      if (c !== ',') fail();
    }
  };
  const parseElement = (): string | null => {
    let value = '';
    let quoted = false;
    let sawQuotes = false;
    // Trailing unquoted whitespace is not part of the element.
    let significantEnd = 0;
    for (;;) {
      if (at >= text.length) fail();
      const c = text[at];
      if (c === '\\') {
        if (at + 1 >= text.length) fail();
        value += text[at + 1];
        at += 2;
        significantEnd = value.length;
      } else if (c === '"') {
        quoted = !quoted;
        sawQuotes = true;
        at++;
        significantEnd = value.length;
      } else if (!quoted && (c === ',' || c === '}')) {
        break;
      } else if (!quoted && (c === '{')) {
        fail();
      } else {
        value += c;
        at++;
        if (quoted || !SPACE.test(c)) significantEnd = value.length;
      }
    }
    value = value.slice(0, significantEnd);
    if (!sawQuotes && value.length === 0) fail();
    if (!sawQuotes && value.toUpperCase() === 'NULL') return null;
    return value;
  };
  skipSpace();
  const items = parseLevel();
  skipSpace();
  if (at !== text.length) fail();
  return items;
}

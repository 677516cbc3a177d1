import type { ScanToken } from 'libpg-query';
import type { AstNode } from './parse.js';

/** Calls `visit` for every wrapped node (`{ TypeName: body }`) under `root`, depth first. */
export function walk(root: unknown, visit: (type: string, body: AstNode) => void): void {
  if (Array.isArray(root)) {
    for (const item of root) walk(item, visit);
    return;
  }
  if (root === null || typeof root !== 'object') return;
  for (const [key, value] of Object.entries(root)) {
    if (value !== null && typeof value === 'object') {
      if (!Array.isArray(value) && isNodeType(key)) visit(key, value as AstNode);
      walk(value, visit);
    }
  }
}

function isNodeType(key: string): boolean {
  const first = key.charCodeAt(0);
  return first >= 65 && first <= 90; // node types are capitalised, fields are not
}

/** Name of a qualified name list (`[{String:{sval:'pg_catalog'}},{String:{sval:'now'}}]`) as plain strings. */
export function names(list: AstNode[] | undefined): string[] {
  return (list ?? []).map((item) => (item.String?.sval as string) ?? '');
}

/** The smallest and largest byte `location` in a subtree (-1 when none). */
export function locationRange(node: unknown): [number, number] {
  let lo = Infinity;
  let hi = -1;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === 'location' && typeof child === 'number' && child >= 0) {
          if (child < lo) lo = child;
          if (child > hi) hi = child;
        } else {
          visit(child);
        }
      }
    }
  };
  visit(node);
  return hi < 0 ? [-1, -1] : [lo, hi];
}

export function tokenIndexAt(tokens: ScanToken[], byteOffset: number): number {
  let lo = 0;
  let hi = tokens.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const token = tokens[mid]!;
    if (token.start === byteOffset) return mid;
    if (token.start < byteOffset) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Index of the token closing the parenthesis opened at `open`. */
export function matchingParen(tokens: ScanToken[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const text = tokens[i]!.text;
    if (text === '(' || text === '[') depth++;
    else if (text === ')' || text === ']') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/**
 * Byte range [start, end) of an expression's source text. The AST only records
 * where each node starts, so the end is found from the tokens: the last
 * located token, plus whatever completes its brackets and call parentheses.
 */
export function expressionSpan(node: unknown, tokens: ScanToken[]): [number, number] | undefined {
  const [lo, hi] = locationRange(node);
  const first = tokenIndexAt(tokens, lo);
  let last = tokenIndexAt(tokens, hi);
  if (first < 0 || last < 0) return undefined;
  // A negative constant (`-7`) is located at its sign.
  if ((tokens[last]!.text === '-' || tokens[last]!.text === '+') && last + 1 < tokens.length) last++;
  // `x COLLATE name` records only where COLLATE is.
  if (tokens[last]!.text.toLowerCase() === 'collate' && last + 1 < tokens.length) last++;
  // Qualified names (`t.col`), calls (`f(...)`) and array types (`int2[]`) record only where they start.
  for (;;) {
    const next = tokens[last + 1]?.text;
    if (next === '.' && last + 2 < tokens.length) last += 2;
    else if (next === '(' || next === '[') last = matchingParen(tokens, last + 1);
    else break;
    if (last < 0) return undefined;
  }
  return balancedRange(tokens, tokens[first]!.start, tokens[last]!.end);
}

/**
 * Widens [start, end) until its brackets balance: a range that starts inside
 * `(a + b)` and ends after it (`a + b) / c`) grows to take the opening one.
 */
export function balancedRange(tokens: ScanToken[], start: number, end: number): [number, number] | undefined {
  let first = tokens.findIndex((token) => token.start >= start);
  let last = tokens.findLastIndex((token) => token.end <= end);
  if (first < 0 || last < first) return undefined;
  let open = 0;
  for (let i = first; i <= last; i++) {
    const delta = parenDelta(tokens[i]!.text);
    if (delta < 0 && open === 0) {
      // Unmatched closer inside: take in its opener, found to the left.
      let depth = 1;
      while (depth > 0 && --first >= 0) depth -= parenDelta(tokens[first]!.text);
      if (first < 0) return undefined;
    } else {
      open += delta;
    }
  }
  while (open > 0 && ++last < tokens.length) open += parenDelta(tokens[last]!.text);
  if (last >= tokens.length) return undefined;
  return [tokens[first]!.start, tokens[last]!.end];
}

function parenDelta(text: string): number {
  if (text === '(' || text === '[') return 1;
  if (text === ')' || text === ']') return -1;
  return 0;
}

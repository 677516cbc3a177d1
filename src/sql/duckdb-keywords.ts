import type { ScanToken } from 'libpg-query';
import type { Edit } from '../pgcatalog/rewrite.js';

/**
 * Words PostgreSQL lets a query use as plain names (column, table and
 * alias names) that DuckDB's parser reserves: `SELECT at FROM events` is
 * valid PostgreSQL and a syntax error in DuckDB. Derived from
 * duckdb_keywords() (reserved and type_function) less PostgreSQL's reserved
 * and type_func_name keywords, keeping those DuckDB refuses as a column
 * name; test/duckdb-keywords.test.ts derives it again from the DuckDB
 * Arka runs on.
 */
export const DUCKDB_ONLY_KEYWORDS: ReadonlySet<string> = new Set([
  'anti',
  'asof',
  'at',
  'by',
  'describe',
  'glob',
  'lambda',
  'pivot',
  'pivot_longer',
  'pivot_wider',
  'positional',
  'qualify',
  'semi',
  'show',
  'summarize',
  'unpack',
  'unpivot',
]);

const OTHER_WORDS = [...DUCKDB_ONLY_KEYWORDS].filter((word) => word !== 'at' && word !== 'by');
/** Any of the words, but not in PostgreSQL's most common uses of `by` and `at` (KEYWORD_USE decides for sure). */
const MENTION = new RegExp(
  `\\b(?:${OTHER_WORDS.join('|')})\\b|(?<!\\b(?:group|order|partition)\\s+)\\bby\\b|\\bat\\b(?!\\s+(?:time|local)\\b)`,
  'i',
);

/** Whether a statement may use one of the words as a name (a cheap test before scanning its tokens). */
export function mayNameDuckDBKeyword(text: string): boolean {
  return MENTION.test(text);
}

/** The words PostgreSQL itself uses as keywords, and where: elsewhere they are names. */
const KEYWORD_USE: Record<string, (tokens: ScanToken[], i: number) => boolean> = {
  // ts AT TIME ZONE 'UTC', ts AT LOCAL
  at: (tokens, i) => /^(time|local)$/i.test(tokens[i + 1]?.text ?? ''),
  // GROUP BY, ORDER BY, PARTITION BY; INCREMENT BY, OWNED BY, GRANTED BY in DDL
  by: (tokens, i) => /^(group|order|partition|increment|owned|granted)$/i.test(tokens[i - 1]?.text ?? ''),
  // SHOW name, the statement
  show: (_tokens, i) => i === 0,
};

/** Double-quotes each of the words the statement uses as a name, so DuckDB reads it as one. */
export function keywordNameEdits(tokens: ScanToken[]): Edit[] {
  const edits: Edit[] = [];
  tokens.forEach((token, i) => {
    const word = token.text.toLowerCase();
    if (!DUCKDB_ONLY_KEYWORDS.has(word) || KEYWORD_USE[word]?.(tokens, i)) return;
    edits.push({ start: token.start, end: token.end, build: () => `"${word}"` });
  });
  return edits;
}

import type { ScanToken } from 'libpg-query';
import type { Edit } from '../pgcatalog/rewrite.js';

/**
 * Words PostgreSQL lets a query use as plain names (column, table and
 * alias names) that DuckDB's parser reserves: `SELECT at FROM events` is
 * valid PostgreSQL and a syntax error in DuckDB. They are the words of
 * duckdb_keywords() that PostgreSQL's grammar takes as a column name and
 * DuckDB's does not; test/duckdb-keywords.test.ts derives the list again
 * from the two parsers Arka runs on.
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
  // Comments are tokens too; a keyword's neighbours are the words around it.
  const words = tokens.filter((token) => token.tokenName !== 'C_COMMENT' && token.tokenName !== 'SQL_COMMENT');
  const edits: Edit[] = [];
  words.forEach((token, i) => {
    const word = token.text.toLowerCase();
    if (!DUCKDB_ONLY_KEYWORDS.has(word) || KEYWORD_USE[word]?.(words, i)) return;
    edits.push({ start: token.start, end: token.end, build: () => `"${word}"` });
  });
  return edits;
}

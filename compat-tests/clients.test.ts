// Node and Python clients against PostgreSQL 15 and Arka: each client program
// runs once against each server and prints what it saw (values, type OIDs,
// SQLSTATEs, reflected schemas); the two reports must be equal, except for
// the differences listed in KNOWN_GAPS, which are asserted as they are today
// so that fixing one makes its test fail until the entry is removed.

import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertSameExceptGaps, type Gap } from './support/compare.js';
import { COMPAT_DIR, ROOT, libpqEnv, runJson, startPair, type Endpoint, type Pair } from './support/pair.js';

type Client = { name: string; run(endpoint: Endpoint): Promise<any> };

const node = (file: string): Client => ({
  name: file.replace('-client', ''),
  run: (endpoint) => runJson(process.execPath, [join(ROOT, 'dist', 'compat-tests', 'node', `${file}.js`)], { env: libpqEnv(endpoint) }),
});
const python = (file: string, label: string): Client => ({
  name: label,
  run: (endpoint) =>
    runJson('/usr/bin/python3', [join(COMPAT_DIR, 'python', `${file}.py`)], { env: libpqEnv(endpoint), cwd: join(COMPAT_DIR, 'python') }),
});

const CLIENTS: Client[] = [
  node('pg-client'),
  node('postgres-client'),
  node('kysely-client'),
  node('knex-client'),
  node('drizzle-client'),
  python('psycopg2_client', 'psycopg2'),
  python('psycopg3_client', 'psycopg 3'),
];

/** Result column types: RowDescription reports DuckDB's type (text, int8) where PostgreSQL's is name, "char", oid or varchar(n). */
const ROW_TYPES = 'RowDescription types of catalog (name, "char", oid) and varchar(n) columns';
/** A view's columns carry DuckDB's types: varchar(100) through a view is text. */
const VIEW_TYPES = 'view columns of type varchar(n) appear as text';

/**
 * Where Arka still differs, by client and report path. The test asserts that
 * the difference is still there, so whoever closes a gap removes its entry.
 * See README, "Known gaps".
 */
const KNOWN_GAPS: Record<string, Gap[]> = {
  pg: [
    { path: ['tableColumns', 'fields'], why: ROW_TYPES },
    { path: ['catalog', 'fields'], why: ROW_TYPES },
    { path: ['catalog', 'rows'], why: `${VIEW_TYPES}; atttypid (int8 for Arka) is a string in node-postgres` },
    { path: ['informationSchema', 'fields'], why: ROW_TYPES },
    { path: ['tables', 'fields'], why: ROW_TYPES },
    { path: ['constraints', 'fields'], why: ROW_TYPES },
    { path: ['grafana', 'columns', 'fields'], why: ROW_TYPES },
    { path: ['grafana', 'udt', 'fields'], why: ROW_TYPES },
  ],
  postgres: [
    { path: ['tables', 'columns'], why: ROW_TYPES },
    { path: ['columns', 'columns'], why: ROW_TYPES },
    { path: ['describeTable', 'columns'], why: ROW_TYPES },
  ],
  kysely: [{ path: ['tables', 0, 'columns', 0, 'dataType'], why: VIEW_TYPES }],
  psycopg2: [
    { path: ['users description'], why: ROW_TYPES },
    { path: ['named cursor'], why: 'DECLARE / FETCH (server-side cursors) answer 0A000' },
  ],
};

describe('client libraries: Arka answers what PostgreSQL 15 answers', () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair();
  });
  after(async () => {
    await pair?.stop();
  });

  for (const client of CLIENTS) {
    test(client.name, async () => {
      const expected = await client.run(pair.postgres);
      const actual = await client.run(pair.arka);
      assertSameExceptGaps(actual, expected, KNOWN_GAPS[client.name] ?? []);
    });
  }
});

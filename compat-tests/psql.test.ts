// psql 15's meta-commands against PostgreSQL 15 and Arka with the same
// schema: the printed output must be identical, character for character.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { startPair, type Endpoint, type Pair } from './support/pair.js';

type Run = { code: number; stdout: string; stderr: string };

/** Runs a psql script (-X: no psqlrc; stop at the first error) and captures everything it prints. */
function psql(endpoint: Endpoint, script: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      'psql',
      ['-X', '-v', 'ON_ERROR_STOP=1', '-h', endpoint.host, '-p', String(endpoint.port), '-U', endpoint.user, '-d', endpoint.database, '-f', '-'],
      { env: { ...process.env, PGTZ: 'UTC', PAGER: '', PSQL_PAGER: '' }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
    child.stdin!.end(script);
  });
}

/** Each script runs in its own psql; a command that finds nothing is an error in psql, so it stops a script. */
const SCRIPTS: Record<string, string> = {
  'list databases': '\\l arka',
  'list schemas': '\\dn',
  'list schemas with descriptions': '\\dn+',
  'list tables': '\\dt',
  'list all relations': '\\d',
  'describe a primary-key table': '\\d users',
  'describe with storage, stats and descriptions': '\\d+ users',
  'describe an append-only table with every type': '\\d events\n\\d+ events',
  'describe a composite primary key': '\\d order_items',
  'describe an index': '\\d users_pkey\n\\d order_items_pkey',
  'list views': '\\dv',
  'list materialized views (none)': '\\dm',
  'list indexes': '\\di',
  'list sequences (none)': '\\ds',
  'list functions (none of the user\'s)': '\\df',
  'list roles': '\\du arka',
  'expanded output': '\\x\n\\d users\n\\dt',
  'a pattern matching nothing': '\\d no_such_table',
};

describe('psql 15 meta-commands: Arka prints what PostgreSQL 15 prints', () => {
  let pair: Pair;
  before(async () => {
    pair = await startPair();
  });
  after(async () => {
    await pair?.stop();
  });

  for (const [name, script] of Object.entries(SCRIPTS)) {
    test(`${name}: ${script.replaceAll('\n', '; ')}`, async () => {
      const expected = await psql(pair.postgres, script);
      const actual = await psql(pair.arka, script);
      assert.deepEqual(actual, expected);
    });
  }

  test('the same catalog queries psql sends, run directly, give the same rows', async () => {
    // Spot checks that do not go through psql's formatting: OIDs of types, format_type, regclass.
    const script = [
      "SELECT a.attname, a.atttypid, a.atttypmod, pg_catalog.format_type(a.atttypid, a.atttypmod), t.typname, a.attnotnull",
      "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid",
      "WHERE a.attrelid = 'public.events'::regclass AND a.attnum > 0 ORDER BY a.attnum;",
      "SELECT 'users'::regclass::text, 'int4'::regtype::oid, 'integer[]'::regtype::text, to_regclass('no_such_table') IS NULL;",
      "SELECT c.relname, c.relkind, c.relhasindex, c.relnatts FROM pg_catalog.pg_class c",
      "WHERE c.relnamespace = 'public'::regnamespace ORDER BY c.relname;",
    ].join('\n');
    const expected = await psql(pair.postgres, script);
    const actual = await psql(pair.arka, script);
    assert.deepEqual(actual, expected);
  });
});

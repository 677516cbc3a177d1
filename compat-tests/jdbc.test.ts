// pgjdbc from Debian (libpostgresql-jdbc-java) against PostgreSQL 15 and
// Arka: DatabaseMetaData, typed getters, cursor paging, Metabase's and
// DBeaver's catalog queries, with default settings and prepareThreshold=1.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { COMPAT_DIR, runJson, startPair, type Endpoint, type Pair } from './support/pair.js';

const JAR = '/usr/share/java/postgresql.jar';

function introspect(endpoint: Endpoint): Promise<Record<string, Record<string, any>>> {
  const url = `jdbc:postgresql://${endpoint.host}:${endpoint.port}/${endpoint.database}?user=${endpoint.user}`;
  return runJson('java', ['-cp', JAR, join(COMPAT_DIR, 'jdbc', 'Introspect.java'), url], { env: { TZ: 'UTC' } });
}

describe('pgjdbc: Arka answers what PostgreSQL 15 answers', () => {
  let pair: Pair;
  let expected: Record<string, Record<string, any>>;
  let actual: Record<string, Record<string, any>>;
  before(async () => {
    pair = await startPair();
    [expected, actual] = await Promise.all([introspect(pair.postgres), introspect(pair.arka)]);
  });
  after(async () => {
    await pair?.stop();
  });

  for (const mode of ['default', 'prepareThreshold=1']) {
    test(`${mode}: every metadata call, getter and catalog query`, () => {
      const theirs = expected[mode]!;
      const ours = actual[mode]!;
      assert.deepEqual(Object.keys(ours), Object.keys(theirs));
      for (const key of Object.keys(theirs)) {
        if (key === 'typeInfo') continue;
        assert.deepEqual(ours[key], theirs[key], `${mode}: ${key}`);
      }
    });

    test(`${mode}: getTypeInfo lists Arka's types as PostgreSQL does`, () => {
      // PostgreSQL has hundreds of types; Arka's are a subset, each described the same.
      // Within one DATA_TYPE the order follows pg_type's physical order, so rows are compared by name.
      const byName = (rows: Record<string, unknown>[]) => new Map(rows.map((row) => [row.TYPE_NAME as string, row]));
      const theirs = byName(expected[mode]!.typeInfo);
      const ours = byName(actual[mode]!.typeInfo);
      assert.ok(ours.size >= 60, `only ${ours.size} types`);
      for (const [name, row] of ours) assert.deepEqual(row, theirs.get(name), `type ${name}`);
    });
  }
});

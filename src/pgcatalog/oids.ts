// Object identifiers of the emulated catalog. PostgreSQL's own objects keep
// the OIDs they have in PostgreSQL 15; Arka's tables, views, indexes and
// constraints get an OID hashed from their qualified name, so it is the same
// across restarts and in every catalog view and RowDescription that shows it.

import { createHash } from 'node:crypto';

export const NamespaceOid = { pg_catalog: 11, public: 2200, information_schema: 13_000 } as const;

/** The one role (Arka's configured user), as PostgreSQL's bootstrap superuser. */
export const USER_OID = 10;
export const DATABASE_OID = 16_384;
export const TABLESPACE_OID = 1663;
export const HEAP_AM_OID = 2;
export const BTREE_AM_OID = 403;

/** OIDs PostgreSQL gives the catalog relations, for `'pg_class'::regclass` and pg_description.classoid. */
export const CATALOG_RELATION_OIDS: Readonly<Record<string, number>> = {
  pg_aggregate: 2600,
  pg_am: 2601,
  pg_attrdef: 2604,
  pg_cast: 2605,
  pg_constraint: 2606,
  pg_depend: 2608,
  pg_description: 2609,
  pg_index: 2610,
  pg_inherits: 2611,
  pg_language: 2612,
  pg_operator: 2617,
  pg_rewrite: 2618,
  pg_trigger: 2620,
  pg_type: 1247,
  pg_attribute: 1249,
  pg_proc: 1255,
  pg_class: 1259,
  pg_authid: 1260,
  pg_auth_members: 1261,
  pg_database: 1262,
  pg_tablespace: 1213,
  pg_shdescription: 2396,
  pg_namespace: 2615,
  pg_sequence: 2224,
  pg_extension: 3079,
  pg_collation: 3456,
  pg_enum: 3501,
  pg_range: 3541,
  pg_statistic_ext: 3381,
  pg_policy: 3256,
  pg_publication: 6104,
  pg_event_trigger: 3466,
};

/** Arka's objects get OIDs from here up (PostgreSQL's FirstNormalObjectId). */
const FIRST_NORMAL_OID = 16_384;
const OID_RANGE = 2_147_483_647 - FIRST_NORMAL_OID;

/** The OID of an object of Arka's: a hash of its key, the same as arka_pg.hash_oid(key) computes in SQL. */
export function hashOid(key: string): number {
  const head = createHash('md5').update(key, 'utf8').digest().readUInt32BE(0);
  return FIRST_NORMAL_OID + (head % OID_RANGE);
}

export function relationOid(schema: string, name: string): number {
  return hashOid(`${schema}.${name}`);
}

/** The SQL macro computing hashOid in DuckDB. */
export const HASH_OID_MACRO = `CREATE OR REPLACE MACRO arka_pg.hash_oid(key) AS
  CAST(${FIRST_NORMAL_OID} + CAST(('0x' || substr(md5(key), 1, 8)) AS UBIGINT) % ${OID_RANGE} AS BIGINT)`;

// The emulated pg_catalog and information_schema: DuckDB views and macros in
// the schemas arka_pg and arka_is, built from Arka's table catalog
// (arka_meta.tables / columns) and DuckDB's own metadata functions. Queries
// reach them through the rewrite in src/sql/rewrite.ts, which sends every
// pg_catalog / information_schema relation and function to them (DuckDB keeps
// the names pg_catalog and information_schema for its own, incompatible ones).

import {
  BIGINT, BLOB, BOOLEAN, DATE, DOUBLE, FLOAT, HUGEINT, INTEGER, INTERVAL, SMALLINT, TIME, TIMESTAMP, TIMESTAMPTZ,
  TIMESTAMP_MS, TIMESTAMP_NS, TIMESTAMP_S, TIMETZ, TINYINT, UBIGINT, UHUGEINT, UINTEGER, USMALLINT, UTINYINT, UUID, VARCHAR,
  type DuckDBType,
} from '@duckdb/node-api';
import { JSON_TYPE, pgOidOf } from '../types/mapping.js';
import { quoteLiteral } from '../sql/rewrite.js';
import {
  BTREE_AM_OID, CATALOG_RELATION_OIDS, DATABASE_OID, HASH_OID_MACRO, HEAP_AM_OID, NamespaceOid, TABLESPACE_OID, USER_OID,
} from './oids.js';
import { C_COLLATION_OID, DEFAULT_COLLATION_OID, pgTypeRows } from './types.js';

/** The role PostgreSQL 15 makes owner of schema public. */
const DATABASE_OWNER_ROLE_OID = 6171;

type Value = string | number | boolean | null | string[];

const sqlValue = (value: Value): string =>
  value === null
    ? 'NULL'
    : Array.isArray(value)
      ? `[${value.map(quoteLiteral).join(', ')}]`
      : typeof value === 'string'
        ? quoteLiteral(value)
        : String(value);

function valuesView(name: string, columns: [string, string][], rows: Value[][]): string {
  const select = columns.map(([column, type], i) => `CAST(col${i} AS ${type}) AS ${column}`).join(', ');
  if (rows.length === 0) return emptyView(name, columns);
  const values = rows.map((row) => `(${row.map(sqlValue).join(', ')})`).join(',\n  ');
  const aliases = columns.map((_, i) => `col${i}`).join(', ');
  return `CREATE OR REPLACE VIEW ${name} AS SELECT ${select} FROM (VALUES\n  ${values}) AS v(${aliases})`;
}

function emptyView(name: string, columns: [string, string][]): string {
  return `CREATE OR REPLACE VIEW ${name} AS SELECT ${columns.map(([column, type]) => `CAST(NULL AS ${type}) AS ${column}`).join(', ')} WHERE false`;
}

/** DuckDB type names (as duckdb_columns().data_type spells them) with the PostgreSQL type each is reported as. */
function duckTypeRows(): [string, number][] {
  const types: DuckDBType[] = [
    BOOLEAN, TINYINT, SMALLINT, INTEGER, BIGINT, UTINYINT, USMALLINT, UINTEGER, UBIGINT, HUGEINT, UHUGEINT, FLOAT, DOUBLE,
    VARCHAR, BLOB, DATE, TIME, TIMETZ, TIMESTAMP, TIMESTAMPTZ, TIMESTAMP_S, TIMESTAMP_MS, TIMESTAMP_NS, INTERVAL, UUID,
  ];
  return [...types.map((type): [string, number] => [type.toString(), pgOidOf(type)]), ['JSON', pgOidOf(JSON_TYPE)]];
}

const typeRows = pgTypeRows();

function typeNameRows(): [string, number][] {
  const rows = new Map<string, number>();
  for (const t of typeRows) {
    rows.set(t.typname, t.oid);
    const spelled = `${t.formatPrefix}${t.formatSuffix}${t.isArray ? '[]' : ''}`;
    if (!rows.has(spelled)) rows.set(spelled, t.oid);
  }
  for (const [alias, name] of Object.entries({ int: 'int4', float: 'float8', decimal: 'numeric', char: 'bpchar', timestamptz: 'timestamptz' })) {
    const oid = rows.get(name);
    if (oid !== undefined) rows.set(alias, oid);
  }
  return [...rows.entries()];
}

const TYPE_VIEWS = [
  valuesView(
    'arka_pg.pg_type',
    [
      ['oid', 'BIGINT'], ['typname', 'VARCHAR'], ['typnamespace', 'BIGINT'], ['typowner', 'BIGINT'], ['typlen', 'SMALLINT'],
      ['typbyval', 'BOOLEAN'], ['typtype', 'VARCHAR'], ['typcategory', 'VARCHAR'], ['typispreferred', 'BOOLEAN'],
      ['typisdefined', 'BOOLEAN'], ['typdelim', 'VARCHAR'], ['typrelid', 'BIGINT'], ['typsubscript', 'VARCHAR'],
      ['typelem', 'BIGINT'], ['typarray', 'BIGINT'], ['typinput', 'VARCHAR'], ['typoutput', 'VARCHAR'], ['typreceive', 'VARCHAR'],
      ['typsend', 'VARCHAR'], ['typmodin', 'VARCHAR'], ['typmodout', 'VARCHAR'], ['typanalyze', 'VARCHAR'], ['typalign', 'VARCHAR'],
      ['typstorage', 'VARCHAR'], ['typnotnull', 'BOOLEAN'], ['typbasetype', 'BIGINT'], ['typtypmod', 'INTEGER'], ['typndims', 'INTEGER'],
      ['typcollation', 'BIGINT'], ['typdefaultbin', 'VARCHAR'], ['typdefault', 'VARCHAR'], ['typacl', 'VARCHAR[]'],
    ],
    typeRows.map((t) => [
      t.oid, t.typname, NamespaceOid.pg_catalog, USER_OID, t.typlen, t.typbyval, t.typtype, t.typcategory, t.typispreferred,
      true, t.typdelim, 0, t.typsubscript, t.typelem, t.typarray, t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin,
      t.typmodout, t.isArray ? 'array_typanalyze' : '-', t.typalign, t.typstorage, false, 0, -1, 0, t.typcollation, null, null, null,
    ]),
  ),
  // How format_type() spells each type: prefix, modifier, suffix, '[]'.
  valuesView(
    'arka_pg.arka_type_format',
    [['oid', 'BIGINT'], ['prefix', 'VARCHAR'], ['suffix', 'VARCHAR'], ['modifiers', 'VARCHAR'], ['is_array', 'BOOLEAN'], ['typname', 'VARCHAR']],
    typeRows.map((t) => [t.oid, t.formatPrefix, t.formatSuffix, t.modifierStyle, t.isArray, t.typname]),
  ),
  valuesView('arka_pg.arka_duck_types', [['duck_type', 'VARCHAR'], ['oid', 'BIGINT']], duckTypeRows()),
  // Names ::regtype accepts: typnames and format_type()'s spellings, for names known only at run time.
  valuesView('arka_pg.arka_type_names', [['name', 'VARCHAR'], ['oid', 'BIGINT']], typeNameRows()),
];

/** format_type(oid, typmod) as PostgreSQL writes it. */
const FORMAT_TYPE = `CREATE OR REPLACE MACRO arka_pg.format_type(type_oid, typmod) AS CASE WHEN type_oid IS NULL THEN NULL ELSE coalesce((
  SELECT CASE
    WHEN f.typname IN ('bpchar', '_bpchar') AND (typmod IS NULL OR typmod < 0) THEN 'bpchar' || CASE WHEN f.is_array THEN '[]' ELSE '' END
    ELSE f.prefix || CASE
        WHEN typmod IS NULL OR typmod < 0 THEN ''
        WHEN f.modifiers = 'length' AND typmod >= 4 THEN '(' || (typmod - 4) || ')'
        WHEN f.modifiers = 'bits' THEN '(' || typmod || ')'
        WHEN f.modifiers = 'numeric' AND typmod >= 4 THEN '(' || ((typmod - 4) >> 16) || ',' || ((typmod - 4) & 65535) || ')'
        WHEN f.modifiers = 'precision' THEN '(' || typmod || ')'
        ELSE '' END
      || f.suffix || CASE WHEN f.is_array THEN '[]' ELSE '' END
  END
  FROM arka_pg.arka_type_format f WHERE f.oid = type_oid), '???') END`;

/**
 * Every column of Arka's tables (types from arka_meta.columns, as declared)
 * and of views (types from DuckDB through the one type mapping).
 */
const RELATION_VIEWS = [
  HASH_OID_MACRO,
  // The PostgreSQL type a DuckDB column type is reported as (views' columns).
  `CREATE OR REPLACE MACRO arka_pg.arka_pg_type_of(data_type) AS CASE
     WHEN data_type LIKE 'DECIMAL(%' THEN 1700
     WHEN data_type LIKE '%[]' THEN coalesce((SELECT t.typarray FROM arka_pg.pg_type t WHERE t.oid = coalesce(
       (SELECT d.oid FROM arka_pg.arka_duck_types d WHERE d.duck_type = left(data_type, length(data_type) - 2)),
       CASE WHEN left(data_type, length(data_type) - 2) LIKE 'DECIMAL(%' THEN 1700 END, 25)), 1009)
     ELSE coalesce((SELECT d.oid FROM arka_pg.arka_duck_types d WHERE d.duck_type = data_type), 25) END`,
  `CREATE OR REPLACE MACRO arka_pg.arka_typmod_of(data_type, numeric_precision, numeric_scale) AS
     CASE WHEN data_type LIKE 'DECIMAL(%' THEN ((numeric_precision << 16) | numeric_scale) + 4 ELSE -1 END`,
  // PostgreSQL's text of a column default, from DuckDB's.
  `CREATE OR REPLACE MACRO arka_pg.arka_default_expr(duck_default, type_oid) AS CASE
     WHEN duck_default IS NULL THEN NULL
     WHEN duck_default = 'CAST(''t'' AS BOOLEAN)' THEN 'true'
     WHEN duck_default = 'CAST(''f'' AS BOOLEAN)' THEN 'false'
     WHEN regexp_full_match(duck_default, 'nextval\\(''(public\\.)?[^'']+''\\)')
       THEN regexp_replace(duck_default, '^nextval\\(''(public\\.)?([^'']+)''\\)$', 'nextval(''\\2''::regclass)')
     WHEN regexp_full_match(duck_default, '''([^'']|'''')*''') THEN duck_default || '::' || arka_pg.format_type(type_oid, -1)
     WHEN regexp_full_match(duck_default, '-[0-9]+(\\.[0-9]+)?') THEN '''' || duck_default || '''::' || arka_pg.format_type(type_oid, -1)
     ELSE duck_default END`,
  `CREATE OR REPLACE VIEW arka_pg.arka_tables AS
   SELECT t.schema_name, t.table_name, t.kind, t.primary_key, d.comment,
          arka_pg.hash_oid(t.schema_name || '.' || t.table_name) AS oid
   FROM arka_meta.tables t
   LEFT JOIN duckdb_tables() d ON d.schema_name = t.schema_name AND d.table_name = t.table_name AND d.database_name = current_database()`,
  `CREATE OR REPLACE VIEW arka_pg.arka_views AS
   SELECT v.schema_name, v.view_name, v.comment, v.sql, arka_pg.hash_oid(v.schema_name || '.' || v.view_name) AS oid
   FROM duckdb_views() v
   WHERE v.schema_name = 'public' AND NOT v.internal AND NOT v.temporary AND v.database_name = current_database()
     AND NOT EXISTS (SELECT 1 FROM arka_meta.tables t WHERE t.schema_name = v.schema_name AND t.table_name = v.view_name)`,
  `CREATE OR REPLACE VIEW arka_pg.arka_columns AS
   SELECT t.oid AS relid, c.schema_name, c.table_name, c.column_name, c.ordinal AS attnum,
          CASE WHEN c.is_array THEN ty.typarray ELSE ty.oid END AS atttypid, c.pg_typmod AS atttypmod,
          CASE WHEN c.is_array THEN 1 ELSE 0 END AS attndims,
          coalesce(NOT d.is_nullable, false) AS attnotnull, d.column_default AS duck_default, d.comment
   FROM arka_meta.columns c
   JOIN arka_pg.arka_tables t ON t.schema_name = c.schema_name AND t.table_name = c.table_name
   JOIN arka_pg.pg_type ty ON ty.typname = c.pg_type
   LEFT JOIN duckdb_columns() d ON d.schema_name = c.schema_name AND d.table_name = c.table_name
     AND d.column_name = c.column_name AND d.database_name = current_database()
   UNION ALL
   SELECT v.oid, d.schema_name, d.table_name, d.column_name, d.column_index,
          arka_pg.arka_pg_type_of(d.data_type), arka_pg.arka_typmod_of(d.data_type, d.numeric_precision, d.numeric_scale),
          CASE WHEN d.data_type LIKE '%[]' THEN 1 ELSE 0 END, false, NULL, d.comment
   FROM arka_pg.arka_views v
   JOIN duckdb_columns() d ON d.schema_name = v.schema_name AND d.table_name = v.view_name AND d.database_name = current_database()`,
  // Indexes: a table's primary key (<table>_pkey) and its UNIQUE constraints (<table>_<columns>_key), as PostgreSQL names them.
  `CREATE OR REPLACE VIEW arka_pg.arka_indexes AS
   SELECT t.schema_name, t.table_name, t.oid AS table_oid, t.table_name || '_pkey' AS index_name, true AS is_primary, t.primary_key AS columns
   FROM arka_pg.arka_tables t WHERE len(t.primary_key) > 0
   UNION ALL
   SELECT t.schema_name, t.table_name, t.oid, t.table_name || '_' || array_to_string(c.constraint_column_names, '_') || '_key', false,
          c.constraint_column_names
   FROM duckdb_constraints() c
   JOIN arka_pg.arka_tables t ON t.schema_name = c.schema_name AND t.table_name = c.table_name
   WHERE c.constraint_type = 'UNIQUE' AND c.database_name = current_database()`,
  `CREATE OR REPLACE VIEW arka_pg.arka_index_columns AS
   SELECT i.*, arka_pg.hash_oid(i.schema_name || '.' || i.index_name) AS index_oid, k.position, k.column_name, c.attnum, c.atttypid, c.atttypmod
   FROM arka_pg.arka_indexes i,
        (SELECT unnest(i2.columns) AS column_name, generate_subscripts(i2.columns, 1) AS position, i2.index_name AS name, i2.schema_name AS schema
         FROM arka_pg.arka_indexes i2) k,
        arka_pg.arka_columns c
   WHERE k.name = i.index_name AND k.schema = i.schema_name
     AND c.schema_name = i.schema_name AND c.table_name = i.table_name AND c.column_name = k.column_name`,
  `CREATE OR REPLACE VIEW arka_pg.arka_index_defs AS
   SELECT i.index_oid AS oid, i.table_oid, i.schema_name, i.table_name, i.index_name, i.is_primary,
          list(i.attnum ORDER BY i.position) AS attnums, list(i.column_name ORDER BY i.position) AS column_names,
          list(i.atttypid ORDER BY i.position) AS typids
   FROM arka_pg.arka_index_columns i
   GROUP BY ALL`,
  `CREATE OR REPLACE VIEW arka_pg.arka_sequences AS
   SELECT s.schema_name, s.sequence_name, arka_pg.hash_oid(s.schema_name || '.' || s.sequence_name) AS oid,
          s.start_value, s.min_value, s.max_value, s.increment_by, s.cycle, s.last_value
   FROM duckdb_sequences() s WHERE s.schema_name = 'public' AND NOT s.temporary AND s.database_name = current_database()`,
  // Every relation: tables, views, indexes, sequences.
  `CREATE OR REPLACE VIEW arka_pg.arka_relations AS
   SELECT t.oid, t.table_name AS relname, t.schema_name, CASE t.kind WHEN 'materialized_view' THEN 'm' ELSE 'r' END AS relkind,
          (SELECT count(*) FROM arka_pg.arka_columns c WHERE c.relid = t.oid) AS relnatts,
          EXISTS (SELECT 1 FROM arka_pg.arka_indexes i WHERE i.table_oid = t.oid) AS relhasindex,
          (SELECT count(*) FROM duckdb_constraints() k WHERE k.schema_name = t.schema_name AND k.table_name = t.table_name
             AND k.constraint_type = 'CHECK' AND k.database_name = current_database()) AS relchecks,
          t.comment
   FROM arka_pg.arka_tables t
   UNION ALL
   SELECT v.oid, v.view_name, v.schema_name, 'v', (SELECT count(*) FROM arka_pg.arka_columns c WHERE c.relid = v.oid), false, 0, v.comment
   FROM arka_pg.arka_views v
   UNION ALL
   SELECT i.oid, i.index_name, i.schema_name, 'i', len(i.attnums), false, 0, NULL FROM arka_pg.arka_index_defs i
   UNION ALL
   SELECT s.oid, s.sequence_name, s.schema_name, 'S', 3, false, 0, NULL FROM arka_pg.arka_sequences s`,
];

const CATALOG_VIEWS = [
  valuesView(
    'arka_pg.pg_namespace',
    [['oid', 'BIGINT'], ['nspname', 'VARCHAR'], ['nspowner', 'BIGINT'], ['nspacl', 'VARCHAR[]']],
    [
      [NamespaceOid.pg_catalog, 'pg_catalog', USER_OID, null],
      [NamespaceOid.public, 'public', DATABASE_OWNER_ROLE_OID, ['pg_database_owner=UC/pg_database_owner', '=U/pg_database_owner']],
      [NamespaceOid.information_schema, 'information_schema', USER_OID, null],
    ],
  ),
  `CREATE OR REPLACE VIEW arka_pg.pg_class AS
   SELECT r.oid, r.relname, CAST(${NamespaceOid.public} AS BIGINT) AS relnamespace, CAST(0 AS BIGINT) AS reltype,
     CAST(0 AS BIGINT) AS reloftype, CAST(${USER_OID} AS BIGINT) AS relowner,
     CAST(CASE r.relkind WHEN 'r' THEN ${HEAP_AM_OID} WHEN 'm' THEN ${HEAP_AM_OID} WHEN 'i' THEN ${BTREE_AM_OID} ELSE 0 END AS BIGINT) AS relam,
     r.oid AS relfilenode, CAST(0 AS BIGINT) AS reltablespace, CAST(0 AS INTEGER) AS relpages, CAST(-1 AS FLOAT) AS reltuples,
     CAST(0 AS INTEGER) AS relallvisible, CAST(0 AS BIGINT) AS reltoastrelid, r.relhasindex, false AS relisshared,
     'p' AS relpersistence, r.relkind, CAST(r.relnatts AS SMALLINT) AS relnatts, CAST(r.relchecks AS SMALLINT) AS relchecks,
     r.relkind = 'v' AS relhasrules, false AS relhastriggers, false AS relhassubclass, false AS relrowsecurity,
     false AS relforcerowsecurity, true AS relispopulated, CASE WHEN r.relkind IN ('r', 'm') THEN 'd' ELSE 'n' END AS relreplident,
     false AS relispartition, CAST(0 AS BIGINT) AS relrewrite, CAST(0 AS BIGINT) AS relfrozenxid, CAST(0 AS BIGINT) AS relminmxid,
     CAST(NULL AS VARCHAR[]) AS relacl, CAST(NULL AS VARCHAR[]) AS reloptions, CAST(NULL AS VARCHAR) AS relpartbound
   FROM arka_pg.arka_relations r`,
  `CREATE OR REPLACE VIEW arka_pg.pg_attribute AS
   SELECT c.relid AS attrelid, c.column_name AS attname, c.atttypid, CAST(-1 AS INTEGER) AS attstattarget, t.typlen AS attlen,
     CAST(c.attnum AS SMALLINT) AS attnum, CAST(c.attndims AS INTEGER) AS attndims, CAST(-1 AS INTEGER) AS attcacheoff,
     CAST(c.atttypmod AS INTEGER) AS atttypmod, t.typbyval AS attbyval, t.typalign AS attalign, t.typstorage AS attstorage,
     '' AS attcompression, c.attnotnull, c.duck_default IS NOT NULL AS atthasdef, false AS atthasmissing, '' AS attidentity,
     '' AS attgenerated, false AS attisdropped, true AS attislocal, CAST(0 AS INTEGER) AS attinhcount, t.typcollation AS attcollation,
     CAST(NULL AS VARCHAR[]) AS attacl, CAST(NULL AS VARCHAR[]) AS attoptions, CAST(NULL AS VARCHAR[]) AS attfdwoptions,
     CAST(NULL AS VARCHAR) AS attmissingval
   FROM arka_pg.arka_columns c JOIN arka_pg.pg_type t ON t.oid = c.atttypid
   UNION ALL
   SELECT i.index_oid, i.column_name, i.atttypid, -1, t.typlen, CAST(i.position AS SMALLINT), 0, -1, CAST(i.atttypmod AS INTEGER),
     t.typbyval, t.typalign, t.typstorage, '', false, false, false, '', '', false, true, 0, t.typcollation, NULL, NULL, NULL, NULL
   FROM arka_pg.arka_index_columns i JOIN arka_pg.pg_type t ON t.oid = i.atttypid`,
  `CREATE OR REPLACE VIEW arka_pg.pg_attrdef AS
   SELECT arka_pg.hash_oid('default:' || c.schema_name || '.' || c.table_name || '.' || c.column_name) AS oid, c.relid AS adrelid,
     CAST(c.attnum AS SMALLINT) AS adnum, arka_pg.arka_default_expr(c.duck_default, c.atttypid) AS adbin
   FROM arka_pg.arka_columns c WHERE c.duck_default IS NOT NULL`,
  `CREATE OR REPLACE VIEW arka_pg.pg_index AS
   SELECT i.oid AS indexrelid, i.table_oid AS indrelid, CAST(len(i.attnums) AS SMALLINT) AS indnatts,
     CAST(len(i.attnums) AS SMALLINT) AS indnkeyatts, true AS indisunique, false AS indnullsnotdistinct, i.is_primary AS indisprimary,
     false AS indisexclusion, true AS indimmediate, false AS indisclustered, true AS indisvalid, false AS indcheckxmin,
     true AS indisready, true AS indislive, false AS indisreplident, CAST(i.attnums AS SMALLINT[]) AS indkey,
     CAST(list_transform(i.attnums, x -> 0) AS BIGINT[]) AS indcollation, CAST(list_transform(i.attnums, x -> 0) AS BIGINT[]) AS indclass,
     CAST(list_transform(i.attnums, x -> 0) AS SMALLINT[]) AS indoption, CAST(NULL AS VARCHAR) AS indexprs, CAST(NULL AS VARCHAR) AS indpred
   FROM arka_pg.arka_index_defs i`,
  `CREATE OR REPLACE VIEW arka_pg.arka_constraints AS
   SELECT arka_pg.hash_oid('constraint:' || i.schema_name || '.' || i.index_name) AS oid, i.index_name AS conname,
     CASE WHEN i.is_primary THEN 'p' ELSE 'u' END AS contype, i.table_oid AS conrelid, i.oid AS conindid, i.attnums AS conkey,
     CASE WHEN i.is_primary THEN 'PRIMARY KEY' ELSE 'UNIQUE' END || ' (' || array_to_string(i.column_names, ', ') || ')' AS definition,
     CAST(NULL AS VARCHAR) AS conbin
   FROM arka_pg.arka_index_defs i
   UNION ALL
   SELECT arka_pg.hash_oid('constraint:' || t.schema_name || '.' || t.table_name || '_check' || k.constraint_index), 
     t.table_name || '_' || coalesce(k.constraint_column_names[1], '') || '_check', 'c', t.oid, CAST(0 AS BIGINT),
     (SELECT list(c.attnum ORDER BY c.attnum) FROM arka_pg.arka_columns c WHERE c.relid = t.oid AND list_contains(k.constraint_column_names, c.column_name)),
     regexp_replace(k.constraint_text, '^CHECK\\((.*)\\)$', 'CHECK ((\\1))'), regexp_replace(k.constraint_text, '^CHECK\\((.*)\\)$', '(\\1)')
   FROM duckdb_constraints() k JOIN arka_pg.arka_tables t ON t.schema_name = k.schema_name AND t.table_name = k.table_name
   WHERE k.constraint_type = 'CHECK' AND k.database_name = current_database()`,
  `CREATE OR REPLACE VIEW arka_pg.pg_constraint AS
   SELECT c.oid, c.conname, CAST(${NamespaceOid.public} AS BIGINT) AS connamespace, c.contype, false AS condeferrable,
     false AS condeferred, true AS convalidated, c.conrelid, CAST(0 AS BIGINT) AS contypid, c.conindid, CAST(0 AS BIGINT) AS conparentid,
     CAST(0 AS BIGINT) AS confrelid, ' ' AS confupdtype, ' ' AS confdeltype, ' ' AS confmatchtype, true AS conislocal,
     CAST(0 AS INTEGER) AS coninhcount, c.contype = 'c' AS connoinherit, CAST(c.conkey AS SMALLINT[]) AS conkey,
     CAST(NULL AS SMALLINT[]) AS confkey, CAST(NULL AS BIGINT[]) AS conpfeqop, CAST(NULL AS BIGINT[]) AS conppeqop,
     CAST(NULL AS BIGINT[]) AS conffeqop, CAST(NULL AS SMALLINT[]) AS confdelsetcols, CAST(NULL AS BIGINT[]) AS conexclop, c.conbin
   FROM arka_pg.arka_constraints c`,
  `CREATE OR REPLACE VIEW arka_pg.pg_description AS
   SELECT r.oid AS objoid, CAST(${CATALOG_RELATION_OIDS.pg_class} AS BIGINT) AS classoid, CAST(0 AS INTEGER) AS objsubid, r.comment AS description
   FROM arka_pg.arka_relations r WHERE r.comment IS NOT NULL AND r.comment <> ''
   UNION ALL
   SELECT c.relid, ${CATALOG_RELATION_OIDS.pg_class}, c.attnum, c.comment FROM arka_pg.arka_columns c WHERE c.comment IS NOT NULL AND c.comment <> ''
   UNION ALL
   SELECT ${NamespaceOid.public}, ${CATALOG_RELATION_OIDS.pg_namespace}, 0, 'standard public schema'`,
  valuesView(
    'arka_pg.pg_am',
    [['oid', 'BIGINT'], ['amname', 'VARCHAR'], ['amhandler', 'VARCHAR'], ['amtype', 'VARCHAR']],
    [[HEAP_AM_OID, 'heap', 'heap_tableam_handler', 't'], [BTREE_AM_OID, 'btree', 'bthandler', 'i']],
  ),
  valuesView(
    'arka_pg.pg_collation',
    [
      ['oid', 'BIGINT'], ['collname', 'VARCHAR'], ['collnamespace', 'BIGINT'], ['collowner', 'BIGINT'], ['collprovider', 'VARCHAR'],
      ['collisdeterministic', 'BOOLEAN'], ['collencoding', 'INTEGER'], ['collcollate', 'VARCHAR'], ['collctype', 'VARCHAR'],
      ['colliculocale', 'VARCHAR'], ['collversion', 'VARCHAR'],
    ],
    [
      [DEFAULT_COLLATION_OID, 'default', NamespaceOid.pg_catalog, USER_OID, 'd', true, -1, null, null, null, null],
      [C_COLLATION_OID, 'C', NamespaceOid.pg_catalog, USER_OID, 'c', true, -1, 'C', 'C', null, null],
      [951, 'POSIX', NamespaceOid.pg_catalog, USER_OID, 'c', true, -1, 'POSIX', 'POSIX', null, null],
    ],
  ),
  valuesView(
    'arka_pg.pg_tablespace',
    [['oid', 'BIGINT'], ['spcname', 'VARCHAR'], ['spcowner', 'BIGINT'], ['spcacl', 'VARCHAR[]'], ['spcoptions', 'VARCHAR[]']],
    [[TABLESPACE_OID, 'pg_default', USER_OID, null, null], [1664, 'pg_global', USER_OID, null, null]],
  ),
  valuesView(
    'arka_pg.pg_language',
    [
      ['oid', 'BIGINT'], ['lanname', 'VARCHAR'], ['lanowner', 'BIGINT'], ['lanispl', 'BOOLEAN'], ['lanpltrusted', 'BOOLEAN'],
      ['lanplcallfoid', 'BIGINT'], ['laninline', 'BIGINT'], ['lanvalidator', 'BIGINT'], ['lanacl', 'VARCHAR[]'],
    ],
    [
      [12, 'internal', USER_OID, false, false, 0, 0, 2246, null],
      [13, 'c', USER_OID, false, false, 0, 0, 2247, null],
      [14, 'sql', USER_OID, false, true, 0, 0, 2248, null],
    ],
  ),
  `CREATE OR REPLACE VIEW arka_pg.pg_sequence AS
   SELECT s.oid AS seqrelid, CAST(20 AS BIGINT) AS seqtypid, s.start_value AS seqstart, s.increment_by AS seqincrement,
     s.max_value AS seqmax, s.min_value AS seqmin, CAST(1 AS BIGINT) AS seqcache, s.cycle AS seqcycle
   FROM arka_pg.arka_sequences s`,
  emptyView('arka_pg.pg_proc', [
    ['oid', 'BIGINT'], ['proname', 'VARCHAR'], ['pronamespace', 'BIGINT'], ['proowner', 'BIGINT'], ['prolang', 'BIGINT'],
    ['procost', 'FLOAT'], ['prorows', 'FLOAT'], ['provariadic', 'BIGINT'], ['prosupport', 'VARCHAR'], ['prokind', 'VARCHAR'],
    ['prosecdef', 'BOOLEAN'], ['proleakproof', 'BOOLEAN'], ['proisstrict', 'BOOLEAN'], ['proretset', 'BOOLEAN'],
    ['provolatile', 'VARCHAR'], ['proparallel', 'VARCHAR'], ['pronargs', 'SMALLINT'], ['pronargdefaults', 'SMALLINT'],
    ['prorettype', 'BIGINT'], ['proargtypes', 'BIGINT[]'], ['proallargtypes', 'BIGINT[]'], ['proargmodes', 'VARCHAR[]'],
    ['proargnames', 'VARCHAR[]'], ['proargdefaults', 'VARCHAR'], ['protrftypes', 'BIGINT[]'], ['prosrc', 'VARCHAR'],
    ['probin', 'VARCHAR'], ['prosqlbody', 'VARCHAR'], ['proconfig', 'VARCHAR[]'], ['proacl', 'VARCHAR[]'],
  ]),
  emptyView('arka_pg.pg_inherits', [['inhrelid', 'BIGINT'], ['inhparent', 'BIGINT'], ['inhseqno', 'INTEGER'], ['inhdetachpending', 'BOOLEAN']]),
  emptyView('arka_pg.pg_policy', [
    ['oid', 'BIGINT'], ['polname', 'VARCHAR'], ['polrelid', 'BIGINT'], ['polcmd', 'VARCHAR'], ['polpermissive', 'BOOLEAN'],
    ['polroles', 'BIGINT[]'], ['polqual', 'VARCHAR'], ['polwithcheck', 'VARCHAR'],
  ]),
  emptyView('arka_pg.pg_statistic_ext', [
    ['oid', 'BIGINT'], ['stxrelid', 'BIGINT'], ['stxname', 'VARCHAR'], ['stxnamespace', 'BIGINT'], ['stxowner', 'BIGINT'],
    ['stxstattarget', 'INTEGER'], ['stxkeys', 'SMALLINT[]'], ['stxkind', 'VARCHAR[]'], ['stxexprs', 'VARCHAR'],
  ]),
  emptyView('arka_pg.pg_publication', [
    ['oid', 'BIGINT'], ['pubname', 'VARCHAR'], ['pubowner', 'BIGINT'], ['puballtables', 'BOOLEAN'], ['pubinsert', 'BOOLEAN'],
    ['pubupdate', 'BOOLEAN'], ['pubdelete', 'BOOLEAN'], ['pubtruncate', 'BOOLEAN'], ['pubviaroot', 'BOOLEAN'],
  ]),
  emptyView('arka_pg.pg_publication_namespace', [['oid', 'BIGINT'], ['pnpubid', 'BIGINT'], ['pnnspid', 'BIGINT']]),
  emptyView('arka_pg.pg_publication_rel', [['oid', 'BIGINT'], ['prpubid', 'BIGINT'], ['prrelid', 'BIGINT'], ['prqual', 'VARCHAR'], ['prattrs', 'SMALLINT[]']]),
  emptyView('arka_pg.pg_trigger', [
    ['oid', 'BIGINT'], ['tgrelid', 'BIGINT'], ['tgparentid', 'BIGINT'], ['tgname', 'VARCHAR'], ['tgfoid', 'BIGINT'], ['tgtype', 'SMALLINT'],
    ['tgenabled', 'VARCHAR'], ['tgisinternal', 'BOOLEAN'], ['tgconstrrelid', 'BIGINT'], ['tgconstrindid', 'BIGINT'], ['tgconstraint', 'BIGINT'],
    ['tgdeferrable', 'BOOLEAN'], ['tginitdeferred', 'BOOLEAN'], ['tgnargs', 'SMALLINT'], ['tgattr', 'SMALLINT[]'], ['tgargs', 'BLOB'],
    ['tgqual', 'VARCHAR'], ['tgoldtable', 'VARCHAR'], ['tgnewtable', 'VARCHAR'],
  ]),
  emptyView('arka_pg.pg_rewrite', [
    ['oid', 'BIGINT'], ['rulename', 'VARCHAR'], ['ev_class', 'BIGINT'], ['ev_type', 'VARCHAR'], ['ev_enabled', 'VARCHAR'],
    ['is_instead', 'BOOLEAN'], ['ev_qual', 'VARCHAR'], ['ev_action', 'VARCHAR'],
  ]),
  emptyView('arka_pg.pg_depend', [
    ['classid', 'BIGINT'], ['objid', 'BIGINT'], ['objsubid', 'INTEGER'], ['refclassid', 'BIGINT'], ['refobjid', 'BIGINT'],
    ['refobjsubid', 'INTEGER'], ['deptype', 'VARCHAR'],
  ]),
  emptyView('arka_pg.pg_enum', [['oid', 'BIGINT'], ['enumtypid', 'BIGINT'], ['enumsortorder', 'FLOAT'], ['enumlabel', 'VARCHAR']]),
  emptyView('arka_pg.pg_range', [
    ['rngtypid', 'BIGINT'], ['rngsubtype', 'BIGINT'], ['rngmultitypid', 'BIGINT'], ['rngcollation', 'BIGINT'], ['rngsubopc', 'BIGINT'],
    ['rngcanonical', 'VARCHAR'], ['rngsubdiff', 'VARCHAR'],
  ]),
  emptyView('arka_pg.pg_extension', [
    ['oid', 'BIGINT'], ['extname', 'VARCHAR'], ['extowner', 'BIGINT'], ['extnamespace', 'BIGINT'], ['extrelocatable', 'BOOLEAN'],
    ['extversion', 'VARCHAR'], ['extconfig', 'BIGINT[]'], ['extcondition', 'VARCHAR[]'],
  ]),
  emptyView('arka_pg.pg_auth_members', [['roleid', 'BIGINT'], ['member', 'BIGINT'], ['grantor', 'BIGINT'], ['admin_option', 'BOOLEAN']]),
  emptyView('arka_pg.pg_operator', [
    ['oid', 'BIGINT'], ['oprname', 'VARCHAR'], ['oprnamespace', 'BIGINT'], ['oprowner', 'BIGINT'], ['oprkind', 'VARCHAR'],
    ['oprcanmerge', 'BOOLEAN'], ['oprcanhash', 'BOOLEAN'], ['oprleft', 'BIGINT'], ['oprright', 'BIGINT'], ['oprresult', 'BIGINT'],
    ['oprcom', 'BIGINT'], ['oprnegate', 'BIGINT'], ['oprcode', 'VARCHAR'], ['oprrest', 'VARCHAR'], ['oprjoin', 'VARCHAR'],
  ]),
  emptyView('arka_pg.pg_cast', [
    ['oid', 'BIGINT'], ['castsource', 'BIGINT'], ['casttarget', 'BIGINT'], ['castfunc', 'BIGINT'], ['castcontext', 'VARCHAR'], ['castmethod', 'VARCHAR'],
  ]),
  emptyView('arka_pg.pg_opclass', [
    ['oid', 'BIGINT'], ['opcmethod', 'BIGINT'], ['opcname', 'VARCHAR'], ['opcnamespace', 'BIGINT'], ['opcowner', 'BIGINT'],
    ['opcfamily', 'BIGINT'], ['opcintype', 'BIGINT'], ['opcdefault', 'BOOLEAN'], ['opckeytype', 'BIGINT'],
  ]),
  emptyView('arka_pg.pg_event_trigger', [
    ['oid', 'BIGINT'], ['evtname', 'VARCHAR'], ['evtevent', 'VARCHAR'], ['evtowner', 'BIGINT'], ['evtfoid', 'BIGINT'],
    ['evtenabled', 'VARCHAR'], ['evttags', 'VARCHAR[]'],
  ]),
  emptyView('arka_pg.pg_foreign_table', [['ftrelid', 'BIGINT'], ['ftserver', 'BIGINT'], ['ftoptions', 'VARCHAR[]']]),
  emptyView('arka_pg.pg_foreign_server', [
    ['oid', 'BIGINT'], ['srvname', 'VARCHAR'], ['srvowner', 'BIGINT'], ['srvfdw', 'BIGINT'], ['srvtype', 'VARCHAR'],
    ['srvversion', 'VARCHAR'], ['srvacl', 'VARCHAR[]'], ['srvoptions', 'VARCHAR[]'],
  ]),
  emptyView('arka_pg.pg_foreign_data_wrapper', [
    ['oid', 'BIGINT'], ['fdwname', 'VARCHAR'], ['fdwowner', 'BIGINT'], ['fdwhandler', 'BIGINT'], ['fdwvalidator', 'BIGINT'],
    ['fdwacl', 'VARCHAR[]'], ['fdwoptions', 'VARCHAR[]'],
  ]),
  emptyView('arka_pg.pg_partitioned_table', [
    ['partrelid', 'BIGINT'], ['partstrat', 'VARCHAR'], ['partnatts', 'SMALLINT'], ['partdefid', 'BIGINT'], ['partattrs', 'SMALLINT[]'],
    ['partclass', 'BIGINT[]'], ['partcollation', 'BIGINT[]'], ['partexprs', 'VARCHAR'],
  ]),
  emptyView('arka_pg.pg_shdescription', [['objoid', 'BIGINT'], ['classoid', 'BIGINT'], ['description', 'VARCHAR']]),
  emptyView('arka_pg.pg_locks', [
    ['locktype', 'VARCHAR'], ['database', 'BIGINT'], ['relation', 'BIGINT'], ['pid', 'INTEGER'], ['mode', 'VARCHAR'], ['granted', 'BOOLEAN'],
  ]),
  `CREATE OR REPLACE VIEW arka_pg.pg_stat_user_tables AS
   SELECT t.oid AS relid, t.schema_name AS schemaname, t.table_name AS relname, CAST(0 AS BIGINT) AS seq_scan,
     CAST(0 AS BIGINT) AS seq_tup_read, CAST(0 AS BIGINT) AS idx_scan, CAST(0 AS BIGINT) AS idx_tup_fetch,
     CAST(0 AS BIGINT) AS n_tup_ins, CAST(0 AS BIGINT) AS n_tup_upd, CAST(0 AS BIGINT) AS n_tup_del, CAST(0 AS BIGINT) AS n_tup_hot_upd,
     CAST(coalesce(d.estimated_size, 0) AS BIGINT) AS n_live_tup, CAST(0 AS BIGINT) AS n_dead_tup, CAST(0 AS BIGINT) AS n_mod_since_analyze,
     CAST(0 AS BIGINT) AS n_ins_since_vacuum, CAST(NULL AS TIMESTAMPTZ) AS last_vacuum, CAST(NULL AS TIMESTAMPTZ) AS last_autovacuum,
     CAST(NULL AS TIMESTAMPTZ) AS last_analyze, CAST(NULL AS TIMESTAMPTZ) AS last_autoanalyze, CAST(0 AS BIGINT) AS vacuum_count,
     CAST(0 AS BIGINT) AS autovacuum_count, CAST(0 AS BIGINT) AS analyze_count, CAST(0 AS BIGINT) AS autoanalyze_count
   FROM arka_pg.arka_tables t
   LEFT JOIN duckdb_tables() d ON d.schema_name = t.schema_name AND d.table_name = t.table_name AND d.database_name = current_database()`,
  'CREATE OR REPLACE VIEW arka_pg.pg_stat_all_tables AS SELECT * FROM arka_pg.pg_stat_user_tables',
  `CREATE OR REPLACE VIEW arka_pg.pg_statio_user_tables AS
   SELECT relid, schemaname, relname, CAST(0 AS BIGINT) AS heap_blks_read, CAST(0 AS BIGINT) AS heap_blks_hit,
     CAST(0 AS BIGINT) AS idx_blks_read, CAST(0 AS BIGINT) AS idx_blks_hit, CAST(0 AS BIGINT) AS toast_blks_read,
     CAST(0 AS BIGINT) AS toast_blks_hit, CAST(0 AS BIGINT) AS tidx_blks_read, CAST(0 AS BIGINT) AS tidx_blks_hit
   FROM arka_pg.pg_stat_user_tables`,
  `CREATE OR REPLACE VIEW arka_pg.pg_stat_user_indexes AS
   SELECT i.table_oid AS relid, i.oid AS indexrelid, i.schema_name AS schemaname, i.table_name AS relname, i.index_name AS indexrelname,
     CAST(0 AS BIGINT) AS idx_scan, CAST(0 AS BIGINT) AS idx_tup_read, CAST(0 AS BIGINT) AS idx_tup_fetch
   FROM arka_pg.arka_index_defs i`,
  'CREATE OR REPLACE VIEW arka_pg.pg_stat_all_indexes AS SELECT * FROM arka_pg.pg_stat_user_indexes',
];

/**
 * Relations whose rows name the session's user or database: table macros the
 * rewrite calls with them, `arka_pg.pg_roles('arka', 'arka', 42) AS pg_roles`.
 */
const SESSION_MACROS: Record<string, string> = {
  pg_roles: `SELECT u AS rolname, true AS rolsuper, true AS rolinherit, true AS rolcreaterole, true AS rolcreatedb, true AS rolcanlogin,
      true AS rolreplication, CAST(-1 AS INTEGER) AS rolconnlimit, '********' AS rolpassword, CAST(NULL AS TIMESTAMPTZ) AS rolvaliduntil,
      true AS rolbypassrls, CAST(NULL AS VARCHAR[]) AS rolconfig, CAST(${USER_OID} AS BIGINT) AS oid
    UNION ALL
    SELECT 'pg_database_owner', false, true, false, false, false, false, -1, '********', NULL, false, NULL, ${DATABASE_OWNER_ROLE_OID}`,
  pg_authid: `SELECT oid, rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
      rolconnlimit, CAST(NULL AS VARCHAR) AS rolpassword, rolvaliduntil FROM arka_pg.pg_roles(u, d, pid)`,
  pg_user: `SELECT u AS usename, CAST(${USER_OID} AS BIGINT) AS usesysid, true AS usecreatedb, true AS usesuper, true AS userepl,
      true AS usebypassrls, '********' AS passwd, CAST(NULL AS TIMESTAMPTZ) AS valuntil, CAST(NULL AS VARCHAR[]) AS useconfig`,
  pg_database: `SELECT CAST(${DATABASE_OID} AS BIGINT) AS oid, d AS datname, CAST(${USER_OID} AS BIGINT) AS datdba, CAST(6 AS INTEGER) AS encoding,
      'c' AS datlocprovider, false AS datistemplate, true AS datallowconn, CAST(-1 AS INTEGER) AS datconnlimit,
      CAST(0 AS BIGINT) AS datfrozenxid, CAST(1 AS BIGINT) AS datminmxid, CAST(${TABLESPACE_OID} AS BIGINT) AS dattablespace,
      'C' AS datcollate, 'C' AS datctype, CAST(NULL AS VARCHAR) AS daticulocale, CAST(NULL AS VARCHAR) AS datcollversion,
      CAST(NULL AS VARCHAR[]) AS datacl`,
  pg_tables: `SELECT t.schema_name AS schemaname, t.table_name AS tablename, u AS tableowner, CAST(NULL AS VARCHAR) AS tablespace,
      EXISTS (SELECT 1 FROM arka_pg.arka_indexes i WHERE i.table_oid = t.oid) AS hasindexes, false AS hasrules, false AS hastriggers,
      false AS rowsecurity
    FROM arka_pg.arka_tables t WHERE t.kind <> 'materialized_view'`,
  pg_views: `SELECT v.schema_name AS schemaname, v.view_name AS viewname, u AS viewowner, arka_pg.arka_view_body(v.sql) AS definition
    FROM arka_pg.arka_views v`,
  pg_matviews: `SELECT t.schema_name AS schemaname, t.table_name AS matviewname, u AS matviewowner, CAST(NULL AS VARCHAR) AS tablespace,
      EXISTS (SELECT 1 FROM arka_pg.arka_indexes i WHERE i.table_oid = t.oid) AS hasindexes, true AS ispopulated,
      CAST(NULL AS VARCHAR) AS definition
    FROM arka_pg.arka_tables t WHERE t.kind = 'materialized_view'`,
  pg_indexes: `SELECT i.schema_name AS schemaname, i.table_name AS tablename, i.index_name AS indexname, CAST(NULL AS VARCHAR) AS tablespace,
      arka_pg.pg_get_indexdef(i.oid) AS indexdef
    FROM arka_pg.arka_index_defs i`,
  pg_sequences: `SELECT s.schema_name AS schemaname, s.sequence_name AS sequencename, u AS sequenceowner, 'bigint' AS data_type,
      s.start_value, s.min_value, s.max_value, s.increment_by, s.cycle, CAST(1 AS BIGINT) AS cache_size, s.last_value
    FROM arka_pg.arka_sequences s`,
  pg_stat_activity: `SELECT CAST(${DATABASE_OID} AS BIGINT) AS datid, d AS datname, CAST(pid AS INTEGER) AS pid, CAST(NULL AS INTEGER) AS leader_pid,
      CAST(${USER_OID} AS BIGINT) AS usesysid, u AS usename, '' AS application_name, CAST(NULL AS VARCHAR) AS client_addr,
      CAST(NULL AS VARCHAR) AS client_hostname, CAST(NULL AS INTEGER) AS client_port, CAST(NULL AS TIMESTAMPTZ) AS backend_start,
      CAST(NULL AS TIMESTAMPTZ) AS xact_start, CAST(NULL AS TIMESTAMPTZ) AS query_start, CAST(NULL AS TIMESTAMPTZ) AS state_change,
      CAST(NULL AS VARCHAR) AS wait_event_type, CAST(NULL AS VARCHAR) AS wait_event, 'active' AS state,
      CAST(NULL AS BIGINT) AS backend_xid, CAST(NULL AS BIGINT) AS backend_xmin, CAST(NULL AS BIGINT) AS query_id, '' AS query,
      'client backend' AS backend_type`,
  pg_stat_database: `SELECT CAST(${DATABASE_OID} AS BIGINT) AS datid, d AS datname, CAST(1 AS INTEGER) AS numbackends,
      CAST(0 AS BIGINT) AS xact_commit, CAST(0 AS BIGINT) AS xact_rollback, CAST(0 AS BIGINT) AS blks_read, CAST(0 AS BIGINT) AS blks_hit,
      CAST(0 AS BIGINT) AS tup_returned, CAST(0 AS BIGINT) AS tup_fetched, CAST(0 AS BIGINT) AS tup_inserted,
      CAST(0 AS BIGINT) AS tup_updated, CAST(0 AS BIGINT) AS tup_deleted, CAST(0 AS BIGINT) AS conflicts,
      CAST(0 AS BIGINT) AS temp_files, CAST(0 AS BIGINT) AS temp_bytes, CAST(0 AS BIGINT) AS deadlocks,
      CAST(NULL AS TIMESTAMPTZ) AS stats_reset`,
};

/** information_schema's views (SQL standard names and spellings, as PostgreSQL 15 fills them), as table macros like SESSION_MACROS. */
const INFORMATION_SCHEMA_MACROS: Record<string, string> = {
  schemata: `SELECT d AS catalog_name, n.nspname AS schema_name,
      CASE WHEN n.nspowner = ${USER_OID} THEN u ELSE 'pg_database_owner' END AS schema_owner,
      CAST(NULL AS VARCHAR) AS default_character_set_catalog, CAST(NULL AS VARCHAR) AS default_character_set_schema,
      CAST(NULL AS VARCHAR) AS default_character_set_name, CAST(NULL AS VARCHAR) AS sql_path
    FROM arka_pg.pg_namespace n`,
  tables: `SELECT d AS table_catalog, r.schema_name AS table_schema, r.relname AS table_name,
      CASE r.relkind WHEN 'v' THEN 'VIEW' ELSE 'BASE TABLE' END AS table_type,
      CAST(NULL AS VARCHAR) AS self_referencing_column_name, CAST(NULL AS VARCHAR) AS reference_generation,
      CAST(NULL AS VARCHAR) AS user_defined_type_catalog, CAST(NULL AS VARCHAR) AS user_defined_type_schema,
      CAST(NULL AS VARCHAR) AS user_defined_type_name, CASE r.relkind WHEN 'r' THEN 'YES' ELSE 'NO' END AS is_insertable_into,
      'NO' AS is_typed, CAST(NULL AS VARCHAR) AS commit_action
    FROM arka_pg.arka_relations r WHERE r.relkind IN ('r', 'v')`,
  views: `SELECT d AS table_catalog, v.schema_name AS table_schema, v.view_name AS table_name, arka_pg.arka_view_body(v.sql) AS view_definition,
      'NONE' AS check_option, 'NO' AS is_updatable, 'NO' AS is_insertable_into, 'NO' AS is_trigger_updatable,
      'NO' AS is_trigger_deletable, 'NO' AS is_trigger_insertable_into
    FROM arka_pg.arka_views v`,
  columns: `SELECT d AS table_catalog, c.schema_name AS table_schema, c.table_name, c.column_name,
      CAST(c.attnum AS INTEGER) AS ordinal_position, arka_pg.arka_default_expr(c.duck_default, c.atttypid) AS column_default,
      CASE WHEN c.attnotnull THEN 'NO' ELSE 'YES' END AS is_nullable,
      CASE WHEN t.typcategory = 'A' THEN 'ARRAY' WHEN t.typname IN ('bpchar') THEN 'character'
        ELSE arka_pg.format_type(c.atttypid, -1) END AS data_type,
      CAST(CASE WHEN t.typname IN ('varchar', 'bpchar') AND c.atttypmod >= 4 THEN c.atttypmod - 4 END AS INTEGER) AS character_maximum_length,
      CAST(CASE WHEN t.typname IN ('varchar', 'bpchar') AND c.atttypmod >= 4 THEN (c.atttypmod - 4) * 4
        WHEN t.typname IN ('varchar', 'bpchar', 'text') THEN 1073741824 END AS INTEGER) AS character_octet_length,
      CAST(CASE t.typname WHEN 'int2' THEN 16 WHEN 'int4' THEN 32 WHEN 'int8' THEN 64 WHEN 'float4' THEN 24 WHEN 'float8' THEN 53
        WHEN 'numeric' THEN CASE WHEN c.atttypmod >= 4 THEN (c.atttypmod - 4) >> 16 END END AS INTEGER) AS numeric_precision,
      CAST(CASE WHEN t.typname IN ('int2', 'int4', 'int8', 'float4', 'float8') THEN 2 WHEN t.typname = 'numeric' THEN 10 END AS INTEGER)
        AS numeric_precision_radix,
      CAST(CASE WHEN t.typname IN ('int2', 'int4', 'int8') THEN 0
        WHEN t.typname = 'numeric' THEN CASE WHEN c.atttypmod >= 4 THEN (c.atttypmod - 4) & 65535 END END AS INTEGER) AS numeric_scale,
      CAST(CASE WHEN t.typname = 'date' THEN 0
        WHEN t.typname IN ('time', 'timetz', 'timestamp', 'timestamptz', 'interval') THEN CASE WHEN c.atttypmod >= 0 THEN c.atttypmod ELSE 6 END
        END AS INTEGER) AS datetime_precision,
      CAST(NULL AS VARCHAR) AS interval_type, CAST(NULL AS INTEGER) AS interval_precision,
      CAST(NULL AS VARCHAR) AS character_set_catalog, CAST(NULL AS VARCHAR) AS character_set_schema, CAST(NULL AS VARCHAR) AS character_set_name,
      CAST(NULL AS VARCHAR) AS collation_catalog, CAST(NULL AS VARCHAR) AS collation_schema, CAST(NULL AS VARCHAR) AS collation_name,
      CAST(NULL AS VARCHAR) AS domain_catalog, CAST(NULL AS VARCHAR) AS domain_schema, CAST(NULL AS VARCHAR) AS domain_name,
      d AS udt_catalog, 'pg_catalog' AS udt_schema, t.typname AS udt_name,
      CAST(NULL AS VARCHAR) AS scope_catalog, CAST(NULL AS VARCHAR) AS scope_schema, CAST(NULL AS VARCHAR) AS scope_name,
      CAST(NULL AS INTEGER) AS maximum_cardinality, CAST(c.attnum AS VARCHAR) AS dtd_identifier, 'NO' AS is_self_referencing,
      'NO' AS is_identity, CAST(NULL AS VARCHAR) AS identity_generation, CAST(NULL AS VARCHAR) AS identity_start,
      CAST(NULL AS VARCHAR) AS identity_increment, CAST(NULL AS VARCHAR) AS identity_maximum, CAST(NULL AS VARCHAR) AS identity_minimum,
      CAST(NULL AS VARCHAR) AS identity_cycle, 'NEVER' AS is_generated, CAST(NULL AS VARCHAR) AS generation_expression,
      CASE WHEN r.relkind = 'r' THEN 'YES' ELSE 'NO' END AS is_updatable
    FROM arka_pg.arka_columns c JOIN arka_pg.pg_type t ON t.oid = c.atttypid JOIN arka_pg.arka_relations r ON r.oid = c.relid`,
  table_constraints: `SELECT d AS constraint_catalog, 'public' AS constraint_schema, c.conname AS constraint_name, d AS table_catalog,
      r.schema_name AS table_schema, r.relname AS table_name,
      CASE c.contype WHEN 'p' THEN 'PRIMARY KEY' WHEN 'u' THEN 'UNIQUE' WHEN 'c' THEN 'CHECK' WHEN 'f' THEN 'FOREIGN KEY' END AS constraint_type,
      'NO' AS is_deferrable, 'NO' AS initially_deferred, 'YES' AS enforced, CASE WHEN c.contype = 'u' THEN 'YES' END AS nulls_distinct
    FROM arka_pg.arka_constraints c JOIN arka_pg.arka_relations r ON r.oid = c.conrelid`,
  key_column_usage: `SELECT d AS constraint_catalog, 'public' AS constraint_schema, c.conname AS constraint_name, d AS table_catalog,
      i.schema_name AS table_schema, i.table_name, i.column_name, CAST(i.position AS INTEGER) AS ordinal_position,
      CAST(NULL AS INTEGER) AS position_in_unique_constraint
    FROM arka_pg.arka_constraints c JOIN arka_pg.arka_index_columns i ON i.index_oid = c.conindid`,
  constraint_column_usage: `SELECT d AS table_catalog, i.schema_name AS table_schema, i.table_name, i.column_name,
      d AS constraint_catalog, 'public' AS constraint_schema, c.conname AS constraint_name
    FROM arka_pg.arka_constraints c JOIN arka_pg.arka_index_columns i ON i.index_oid = c.conindid`,
  referential_constraints: `SELECT CAST(NULL AS VARCHAR) AS constraint_catalog, CAST(NULL AS VARCHAR) AS constraint_schema,
      CAST(NULL AS VARCHAR) AS constraint_name, CAST(NULL AS VARCHAR) AS unique_constraint_catalog,
      CAST(NULL AS VARCHAR) AS unique_constraint_schema, CAST(NULL AS VARCHAR) AS unique_constraint_name,
      CAST(NULL AS VARCHAR) AS match_option, CAST(NULL AS VARCHAR) AS update_rule, CAST(NULL AS VARCHAR) AS delete_rule WHERE false`,
  check_constraints: `SELECT d AS constraint_catalog, 'public' AS constraint_schema, c.conname AS constraint_name, c.conbin AS check_clause
    FROM arka_pg.arka_constraints c WHERE c.contype = 'c'`,
  sequences: `SELECT d AS sequence_catalog, s.schema_name AS sequence_schema, s.sequence_name, 'bigint' AS data_type,
      CAST(64 AS INTEGER) AS numeric_precision, CAST(2 AS INTEGER) AS numeric_precision_radix, CAST(0 AS INTEGER) AS numeric_scale,
      CAST(s.start_value AS VARCHAR) AS start_value, CAST(s.min_value AS VARCHAR) AS minimum_value,
      CAST(s.max_value AS VARCHAR) AS maximum_value, CAST(s.increment_by AS VARCHAR) AS increment,
      CASE WHEN s.cycle THEN 'YES' ELSE 'NO' END AS cycle_option
    FROM arka_pg.arka_sequences s`,
  routines: `SELECT CAST(NULL AS VARCHAR) AS specific_catalog, CAST(NULL AS VARCHAR) AS specific_schema, CAST(NULL AS VARCHAR) AS specific_name,
      CAST(NULL AS VARCHAR) AS routine_catalog, CAST(NULL AS VARCHAR) AS routine_schema, CAST(NULL AS VARCHAR) AS routine_name,
      CAST(NULL AS VARCHAR) AS routine_type, CAST(NULL AS VARCHAR) AS data_type, CAST(NULL AS VARCHAR) AS routine_definition,
      CAST(NULL AS VARCHAR) AS external_language WHERE false`,
  parameters: `SELECT CAST(NULL AS VARCHAR) AS specific_catalog, CAST(NULL AS VARCHAR) AS specific_schema, CAST(NULL AS VARCHAR) AS specific_name,
      CAST(NULL AS INTEGER) AS ordinal_position, CAST(NULL AS VARCHAR) AS parameter_mode, CAST(NULL AS VARCHAR) AS parameter_name,
      CAST(NULL AS VARCHAR) AS data_type WHERE false`,
  triggers: `SELECT CAST(NULL AS VARCHAR) AS trigger_catalog, CAST(NULL AS VARCHAR) AS trigger_schema, CAST(NULL AS VARCHAR) AS trigger_name,
      CAST(NULL AS VARCHAR) AS event_manipulation, CAST(NULL AS VARCHAR) AS event_object_catalog,
      CAST(NULL AS VARCHAR) AS event_object_schema, CAST(NULL AS VARCHAR) AS event_object_table,
      CAST(NULL AS VARCHAR) AS action_statement, CAST(NULL AS VARCHAR) AS action_timing WHERE false`,
};

/** has_*_privilege() and pg_has_role(), by the argument counts PostgreSQL accepts. */
const PRIVILEGE_FUNCTIONS: Record<string, number[]> = {
  has_table_privilege: [2, 3],
  has_column_privilege: [3, 4],
  has_any_column_privilege: [2, 3],
  has_schema_privilege: [2, 3],
  has_database_privilege: [2, 3],
  has_sequence_privilege: [2, 3],
  has_function_privilege: [2, 3],
  has_type_privilege: [2, 3],
  has_tablespace_privilege: [2, 3],
  pg_has_role: [2, 3],
};

/** Scalar functions of pg_catalog that DuckDB lacks or spells differently. */
const FUNCTION_MACROS = [
  FORMAT_TYPE,
  `CREATE OR REPLACE MACRO arka_pg.arka_view_body(sql) AS
     regexp_replace(regexp_replace(sql, '^CREATE (OR REPLACE )?VIEW [^ ]+ AS ', ''), ';\\s*$', '')`,
  `CREATE OR REPLACE MACRO arka_pg.pg_get_userbyid(role_oid, u) AS CASE
     WHEN role_oid = ${USER_OID} THEN u WHEN role_oid = ${DATABASE_OWNER_ROLE_OID} THEN 'pg_database_owner'
     ELSE 'unknown (OID=' || role_oid || ')' END`,
  `CREATE OR REPLACE MACRO arka_pg.pg_encoding_to_char(encoding) AS CASE encoding WHEN 6 THEN 'UTF8' WHEN 0 THEN 'SQL_ASCII' ELSE '' END`,
  `CREATE OR REPLACE MACRO arka_pg.pg_char_to_encoding(encoding_name) AS CASE upper(encoding_name) WHEN 'UTF8' THEN 6 WHEN 'SQL_ASCII' THEN 0 ELSE -1 END`,
  // Catalog columns that hold expressions (adbin, conbin) hold their text already.
  `CREATE OR REPLACE MACRO arka_pg.pg_get_expr(expr, relid) AS expr, (expr, relid, pretty) AS expr`,
  `CREATE OR REPLACE MACRO arka_pg.pg_table_is_visible(rel_oid) AS true`,
  `CREATE OR REPLACE MACRO arka_pg.pg_type_is_visible(type_oid) AS true`,
  `CREATE OR REPLACE MACRO arka_pg.pg_function_is_visible(fn_oid) AS true`,
  `CREATE OR REPLACE MACRO arka_pg.obj_description(obj_oid) AS
       (SELECT max(description) FROM arka_pg.pg_description WHERE objoid = obj_oid AND objsubid = 0),
     (obj_oid, catalog_name) AS (SELECT max(description) FROM arka_pg.pg_description
       WHERE objoid = obj_oid AND objsubid = 0 AND classoid = arka_pg.arka_catalog_oid(catalog_name))`,
  `CREATE OR REPLACE MACRO arka_pg.col_description(rel_oid, column_number) AS
     (SELECT max(description) FROM arka_pg.pg_description WHERE objoid = rel_oid AND objsubid = column_number AND classoid = ${CATALOG_RELATION_OIDS.pg_class})`,
  `CREATE OR REPLACE MACRO arka_pg.shobj_description(obj_oid, catalog_name) AS CAST(NULL AS VARCHAR)`,
  `CREATE OR REPLACE MACRO arka_pg.arka_indexdef(index_oid, column_number) AS (
     SELECT CASE WHEN column_number = 0
       THEN 'CREATE UNIQUE INDEX ' || i.index_name || ' ON ' || i.schema_name || '.' || i.table_name || ' USING btree ('
         || array_to_string(i.column_names, ', ') || ')'
       ELSE i.column_names[column_number] END
     FROM arka_pg.arka_index_defs i WHERE i.oid = index_oid)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_get_indexdef(index_oid) AS arka_pg.arka_indexdef(index_oid, 0),
     (index_oid, column_number, pretty) AS arka_pg.arka_indexdef(index_oid, column_number)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_get_constraintdef(constraint_oid) AS
       (SELECT c.definition FROM arka_pg.arka_constraints c WHERE c.oid = constraint_oid),
     (constraint_oid, pretty) AS (SELECT c.definition FROM arka_pg.arka_constraints c WHERE c.oid = constraint_oid)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_get_viewdef(view_oid) AS
       (SELECT arka_pg.arka_view_body(v.sql) FROM arka_pg.arka_views v WHERE v.oid = view_oid),
     (view_oid, pretty) AS (SELECT arka_pg.arka_view_body(v.sql) FROM arka_pg.arka_views v WHERE v.oid = view_oid)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_get_function_result(fn_oid) AS CAST(NULL AS VARCHAR)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_get_function_arguments(fn_oid) AS CAST(NULL AS VARCHAR)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_get_function_identity_arguments(fn_oid) AS CAST(NULL AS VARCHAR)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_get_triggerdef(trigger_oid) AS CAST(NULL AS VARCHAR), (trigger_oid, pretty) AS CAST(NULL AS VARCHAR)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_get_ruledef(rule_oid) AS CAST(NULL AS VARCHAR), (rule_oid, pretty) AS CAST(NULL AS VARCHAR)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_get_partkeydef(rel_oid) AS CAST(NULL AS VARCHAR)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_get_statisticsobjdef_columns(stat_oid) AS CAST(NULL AS VARCHAR)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_relation_is_publishable(rel) AS false`,
  `CREATE OR REPLACE MACRO arka_pg.pg_get_serial_sequence(p_table, p_column) AS (
     SELECT 'public.' || s.sequence_name FROM arka_pg.arka_sequences s
     WHERE s.sequence_name = regexp_replace(p_table, '^(public\\.)?"?([^"]*)"?$', '\\2') || '_' || p_column || '_seq')`,
  `CREATE OR REPLACE MACRO arka_pg.pg_relation_size(rel) AS CAST(0 AS BIGINT), (rel, fork) AS CAST(0 AS BIGINT)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_table_size(rel) AS CAST(0 AS BIGINT)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_total_relation_size(rel) AS CAST(0 AS BIGINT)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_indexes_size(rel) AS CAST(0 AS BIGINT)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_database_size(db) AS CAST(0 AS BIGINT)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_size_pretty(size) AS CASE
     WHEN abs(size) < 10240 THEN size || ' bytes'
     WHEN abs(size) < 10485760 THEN round(size / 1024) || ' kB'
     WHEN abs(size) < 10737418240 THEN round(size / 1048576) || ' MB'
     WHEN abs(size) < 10995116277760 THEN round(size / 1073741824) || ' GB'
     ELSE round(size / 1099511627776) || ' TB' END`,
  `CREATE OR REPLACE MACRO arka_pg.pg_tablespace_location(spc) AS ''`,
  `CREATE OR REPLACE MACRO arka_pg.pg_is_in_recovery() AS false`,
  `CREATE OR REPLACE MACRO arka_pg.pg_my_temp_schema() AS CAST(0 AS BIGINT)`,
  `CREATE OR REPLACE MACRO arka_pg.pg_is_other_temp_schema(nsp) AS false`,
  `CREATE OR REPLACE MACRO arka_pg.array_upper(arr, dim) AS CASE WHEN dim = 1 AND len(arr) > 0 THEN len(arr) END`,
  `CREATE OR REPLACE MACRO arka_pg.array_lower(arr, dim) AS CASE WHEN dim = 1 AND len(arr) > 0 THEN 1 END`,
  `CREATE OR REPLACE MACRO arka_pg.quote_ident(ident) AS CASE
     WHEN regexp_full_match(ident, '[a-z_][a-z0-9_$]*') AND NOT EXISTS (
       SELECT 1 FROM arka_pg.arka_keywords k WHERE k.word = ident AND k.catcode <> 'U') THEN ident
     ELSE '"' || replace(ident, '"', '""') || '"' END`,
  // Arka's one user may do everything.
  ...Object.entries(PRIVILEGE_FUNCTIONS).map(
    ([name, arities]) =>
      `CREATE OR REPLACE MACRO arka_pg.${name}${arities.map((n) => `(${Array.from({ length: n }, (_, i) => `a${i}`).join(', ')}) AS true`).join(', ')}`,
  ),
  // regclass: a relation's OID from its (possibly qualified, possibly quoted) name; 42P01 when there is none.
  `CREATE OR REPLACE MACRO arka_pg.arka_unquote(name) AS CASE
     WHEN name LIKE '"%"' THEN replace(name[2:-2], '""', '"') ELSE lower(name) END`,
  `CREATE OR REPLACE MACRO arka_pg.to_regclass(rel_name) AS (
     SELECT coalesce(
       (SELECT r.oid FROM arka_pg.arka_relations r
        WHERE r.relname = arka_pg.arka_unquote(regexp_extract(rel_name, '^(?:(?:"(?:[^"]|"")*"|[^".]+)\\.)?("(?:[^"]|"")*"|[^".]+)$', 1))
          AND coalesce(arka_pg.arka_unquote(nullif(regexp_extract(rel_name, '^("(?:[^"]|"")*"|[^".]+)\\.', 1), '')), 'public') = r.schema_name),
       arka_pg.arka_catalog_oid(regexp_replace(rel_name, '^pg_catalog\\.', ''))))`,
  `CREATE OR REPLACE MACRO arka_pg.arka_regclass(rel_name) AS
     coalesce(arka_pg.to_regclass(rel_name), error('42P01: relation "' || rel_name || '" does not exist'))`,
  `CREATE OR REPLACE MACRO arka_pg.arka_regclass_name(rel_oid) AS coalesce(
     (SELECT r.relname FROM arka_pg.arka_relations r WHERE r.oid = rel_oid),
     (SELECT c.name FROM arka_pg.arka_catalog_relations c WHERE c.oid = rel_oid),
     CAST(rel_oid AS VARCHAR))`,
  `CREATE OR REPLACE MACRO arka_pg.arka_regtype(type_name) AS coalesce(
     (SELECT n.oid FROM arka_pg.arka_type_names n
      WHERE n.name = regexp_replace(lower(trim(regexp_replace(CAST(type_name AS VARCHAR), '^pg_catalog\\.', ''))), '\\s+', ' ', 'g')),
     error('42704: type "' || type_name || '" does not exist'))`,
  `CREATE OR REPLACE MACRO arka_pg.arka_regnamespace(nsp_name) AS
     coalesce((SELECT n.oid FROM arka_pg.pg_namespace n WHERE n.nspname = arka_pg.arka_unquote(nsp_name)),
       error('3F000: schema "' || nsp_name || '" does not exist'))`,
  `CREATE OR REPLACE MACRO arka_pg.arka_regnamespace_name(nsp_oid) AS coalesce(
     (SELECT n.nspname FROM arka_pg.pg_namespace n WHERE n.oid = nsp_oid), CAST(nsp_oid AS VARCHAR))`,
];

function tableMacro(schema: string, name: string, body: string): string {
  return `CREATE OR REPLACE MACRO ${schema}.${name}(u, d, pid) AS TABLE ${body}`;
}

/** Statements that (re)create the emulated catalog; run at every open, after Arka's own catalog exists. */
export const PG_CATALOG_SETUP: readonly string[] = [
  'DROP SCHEMA IF EXISTS arka_is CASCADE',
  'DROP SCHEMA IF EXISTS arka_pg CASCADE',
  'CREATE SCHEMA arka_pg',
  'CREATE SCHEMA arka_is',
  valuesView('arka_pg.arka_catalog_relations', [['oid', 'BIGINT'], ['name', 'VARCHAR']], Object.entries(CATALOG_RELATION_OIDS).map(([name, oid]) => [oid, name])),
  // DuckDB's grammar is PostgreSQL's, and so are its keyword categories.
  `CREATE OR REPLACE VIEW arka_pg.arka_keywords AS
   SELECT keyword_name AS word,
     CASE keyword_category WHEN 'unreserved' THEN 'U' WHEN 'column_name' THEN 'C' WHEN 'type_function' THEN 'T' ELSE 'R' END AS catcode,
     keyword_category <> 'reserved' AS barelabel
   FROM duckdb_keywords()`,
  `CREATE OR REPLACE MACRO arka_pg.arka_catalog_oid(catalog_name) AS (SELECT c.oid FROM arka_pg.arka_catalog_relations c WHERE c.name = catalog_name)`,
  ...TYPE_VIEWS,
  // DuckDB binds a view or a macro's subqueries when it is created: what they use comes first.
  ...FUNCTION_MACROS.slice(0, 1),
  ...RELATION_VIEWS,
  ...CATALOG_VIEWS,
  ...FUNCTION_MACROS.slice(1),
  ...Object.entries(SESSION_MACROS).map(([name, body]) => tableMacro('arka_pg', name, body)),
  ...Object.entries(INFORMATION_SCHEMA_MACROS).map(([name, body]) => tableMacro('arka_is', name, body)),
  `CREATE OR REPLACE MACRO arka_pg.pg_get_keywords() AS TABLE
     SELECT word, catcode, barelabel,
       CASE catcode WHEN 'U' THEN 'unreserved' WHEN 'C' THEN 'unreserved (cannot be function or type name)'
         WHEN 'T' THEN 'reserved (can be function or type name)' ELSE 'reserved' END AS catdesc,
       CASE WHEN barelabel THEN 'can be bare label' ELSE 'requires AS' END AS baredesc
     FROM arka_pg.arka_keywords ORDER BY word`,
];

/** Relations of pg_catalog the rewrite sends to arka_pg, and those that take the session's (user, database, pid). */
export const PG_CATALOG_RELATIONS: ReadonlySet<string> = new Set(
  PG_CATALOG_SETUP.flatMap((sql) => /^CREATE OR REPLACE VIEW arka_pg\.(pg_\w+)/.exec(sql)?.[1] ?? []),
);
export const PG_CATALOG_SESSION_RELATIONS: ReadonlySet<string> = new Set(Object.keys(SESSION_MACROS));
export const INFORMATION_SCHEMA_RELATIONS: ReadonlySet<string> = new Set(Object.keys(INFORMATION_SCHEMA_MACROS));

/** Functions of pg_catalog the rewrite sends to arka_pg; pg_get_userbyid also gets the session's user. */
export const PG_CATALOG_FUNCTIONS: ReadonlySet<string> = new Set(
  PG_CATALOG_SETUP.flatMap((sql) => /^CREATE OR REPLACE MACRO arka_pg\.((?!arka_)\w+)\(/.exec(sql)?.[1] ?? []).concat('pg_get_keywords'),
);

// node-postgres: queries an application sends, with the type OIDs pg sees.
import pg from 'pg';
import { attempt, connection, report } from './env.js';

const client = new pg.Client(connection);
await client.connect();
const query = async (text: string, values?: unknown[]) => {
  const result = await client.query({ text, values, rowMode: 'array' });
  return { fields: result.fields.map((f) => [f.name, f.dataTypeID, f.dataTypeModifier]), rows: result.rows, command: result.command };
};
report({
  tableColumns: await query('SELECT * FROM users WHERE user_id = $1', [1]),
  catalog: await query(
    `SELECT c.relname, c.relkind, a.attname, a.attnum, a.atttypid, format_type(a.atttypid, a.atttypmod) AS type
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'v') AND a.attnum > 0 ORDER BY c.relname, a.attnum`,
    ['public'],
  ),
  informationSchema: await query(
    `SELECT table_name, column_name, ordinal_position, data_type, udt_name, is_nullable, column_default,
       character_maximum_length, numeric_precision, numeric_scale
     FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'active_users' ORDER BY table_name, ordinal_position`,
  ),
  tables: await query(
    `SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
  ),
  constraints: await query(
    `SELECT tc.table_name, tc.constraint_name, tc.constraint_type, kcu.column_name, kcu.ordinal_position
     FROM information_schema.table_constraints tc
     JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_name = tc.table_name
     WHERE tc.table_schema = 'public' ORDER BY tc.table_name, kcu.ordinal_position`,
  ),
  regclass: await query(`SELECT 'users'::regclass = c.oid AS same FROM pg_class c WHERE c.relname = 'users'`),
  missingRelation: await attempt(() => query(`SELECT 'no_such_table'::regclass`)),
  missingType: await attempt(() => query(`SELECT 'no_such_type'::regtype`)),
  // Grafana's PostgreSQL data source.
  grafana: {
    version: await query(`SELECT current_setting('server_version_num')::int / 100 AS version`),
    searchPath: await query(
      `SELECT quote_ident(table_name) AS table_name FROM information_schema.tables
       WHERE quote_ident(table_schema) NOT IN ('information_schema', 'pg_catalog', '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_internal', '_timescaledb_config', 'timescaledb_information', 'timescaledb_experimental')
         AND table_type = 'BASE TABLE'
         AND quote_ident(table_schema) IN (SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
           FROM generate_series(array_lower(string_to_array(current_setting('search_path'), ','), 1),
                                array_upper(string_to_array(current_setting('search_path'), ','), 1)) AS i,
                string_to_array(current_setting('search_path'), ',') s)
       ORDER BY table_name`,
    ),
    columns: await query(
      `SELECT quote_ident(column_name) AS column_name, data_type AS data_type FROM information_schema.columns
       WHERE quote_ident(table_name) = 'events' ORDER BY ordinal_position`,
    ),
    udt: await query(`SELECT column_name, udt_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position`),
  },
});
await client.end();

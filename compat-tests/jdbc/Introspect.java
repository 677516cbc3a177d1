// pgjdbc (Debian's libpostgresql-jdbc-java): DatabaseMetaData, typed getters,
// ResultSetMetaData, cursor paging with setFetchSize, and the catalog queries
// Metabase and DBeaver send. Prints one JSON document for the suite to compare.
//
//   java -cp /usr/share/java/postgresql.jar Introspect.java <jdbc-url>

import java.sql.*;
import java.util.*;

public class Introspect {
  static StringBuilder out = new StringBuilder();

  static String json(Object value) {
    if (value == null) return "null";
    if (value instanceof Boolean || value instanceof Integer || value instanceof Long || value instanceof Short) return value.toString();
    if (value instanceof Map<?, ?> map) {
      StringJoiner j = new StringJoiner(", ", "{", "}");
      for (Map.Entry<?, ?> e : map.entrySet()) j.add(json(e.getKey().toString()) + ": " + json(e.getValue()));
      return j.toString();
    }
    if (value instanceof List<?> list) {
      StringJoiner j = new StringJoiner(", ", "[", "]");
      for (Object o : list) j.add(json(o));
      return j.toString();
    }
    String s = value.toString();
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  /** Every row of a result set as a map of the named columns (all of them when none are named). */
  static List<Map<String, Object>> rows(ResultSet rs, String... only) throws SQLException {
    ResultSetMetaData md = rs.getMetaData();
    List<Map<String, Object>> rows = new ArrayList<>();
    while (rs.next()) {
      Map<String, Object> row = new LinkedHashMap<>();
      for (int i = 1; i <= md.getColumnCount(); i++) {
        String label = md.getColumnLabel(i);
        if (only.length > 0 && !Arrays.asList(only).contains(label.toUpperCase()) && !Arrays.asList(only).contains(label)) continue;
        Object v = rs.getObject(i);
        row.put(label, v == null ? null : v instanceof Number || v instanceof Boolean ? v : v.toString());
      }
      rows.add(row);
    }
    rs.close();
    return rows;
  }

  static Map<String, Object> meta(ResultSetMetaData md) throws SQLException {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 1; i <= md.getColumnCount(); i++) {
      m.put(md.getColumnLabel(i), List.of(md.getColumnTypeName(i), md.getColumnType(i), md.getPrecision(i), md.getScale(i),
          md.isNullable(i), md.getColumnClassName(i)));
    }
    return m;
  }

  static Object attempt(Connection c, String sql) {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      return rows(rs);
    } catch (SQLException e) {
      return Map.of("sqlstate", e.getSQLState());
    }
  }

  public static void main(String[] args) throws Exception {
    Map<String, Object> result = new LinkedHashMap<>();
    for (String suffix : new String[] {"", "&prepareThreshold=1"}) {
      Map<String, Object> r = new LinkedHashMap<>();
      try (Connection c = DriverManager.getConnection(args[0] + suffix)) {
        DatabaseMetaData md = c.getMetaData();
        r.put("product", List.of(md.getDatabaseProductName(), md.getDatabaseMajorVersion(), md.getIdentifierQuoteString()));
        r.put("schemas", rows(md.getSchemas(), "TABLE_SCHEM"));
        r.put("tables", rows(md.getTables(null, "public", "%", new String[] {"TABLE", "VIEW"}), "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE", "REMARKS"));
        r.put("tableTypes", rows(md.getTableTypes()));
        for (String table : new String[] {"users", "events", "order_items"}) {
          r.put("columns " + table, rows(md.getColumns(null, "public", table, "%"), "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME", "COLUMN_SIZE",
              "DECIMAL_DIGITS", "NULLABLE", "COLUMN_DEF", "ORDINAL_POSITION", "IS_NULLABLE", "IS_AUTOINCREMENT", "REMARKS"));
          r.put("primaryKeys " + table, rows(md.getPrimaryKeys(null, "public", table)));
          r.put("indexInfo " + table, rows(md.getIndexInfo(null, "public", table, false, false), "NON_UNIQUE", "INDEX_NAME", "TYPE",
              "ORDINAL_POSITION", "COLUMN_NAME", "ASC_OR_DESC"));
        }
        List<Map<String, Object>> types = rows(md.getTypeInfo(), "TYPE_NAME", "DATA_TYPE", "PRECISION", "NULLABLE", "CASE_SENSITIVE", "SEARCHABLE");
        r.put("typeInfo", types);
        // Typed getters and ResultSetMetaData for every type Arka stores.
        try (PreparedStatement p = c.prepareStatement(
            "SELECT ?::int4 AS i4, 2::int2 AS i2, 3000000000::int8 AS i8, 1.5::float4 AS f4, 2.25::float8 AS f8, 12.34::numeric(10,2) AS n,"
                + " true AS b, 'txt'::text AS t, 'vc'::varchar(10) AS vc, '2024-02-29'::date AS d, '13:14:15'::time AS tm,"
                + " '2024-01-02 03:04:05.5'::timestamp AS ts, '2024-01-02 03:04:05+00'::timestamptz AS tstz, '\\x0102'::bytea AS by,"
                + " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, '{\"k\": 1}'::json AS j, ARRAY[1, 2]::int4[] AS arr,"
                + " '1 day 02:00:00'::interval AS iv")) {
          for (int round = 0; round < 3; round++) {
            p.setInt(1, 41 + round);
            try (ResultSet rs = p.executeQuery()) {
              rs.next();
              Map<String, Object> g = new LinkedHashMap<>();
              g.put("i4", rs.getInt("i4"));
              g.put("i2", (int) rs.getShort("i2"));
              g.put("i8", rs.getLong("i8"));
              g.put("f4", Float.toString(rs.getFloat("f4")));
              g.put("f8", Double.toString(rs.getDouble("f8")));
              g.put("n", rs.getBigDecimal("n").toPlainString());
              g.put("b", rs.getBoolean("b"));
              g.put("t", rs.getString("t"));
              g.put("vc", rs.getString("vc"));
              g.put("d", rs.getDate("d").toString());
              g.put("tm", rs.getTime("tm").toString());
              g.put("ts", rs.getTimestamp("ts").toString());
              g.put("tstz", rs.getObject("tstz", java.time.OffsetDateTime.class).toString());
              g.put("by", Arrays.toString(rs.getBytes("by")));
              g.put("u", rs.getObject("u").toString());
              g.put("j", rs.getString("j"));
              g.put("arr", Arrays.toString((Object[]) rs.getArray("arr").getArray()));
              g.put("iv", rs.getString("iv"));
              r.put("getters " + round, g);
              r.put("resultSetMetaData", meta(rs.getMetaData()));
            }
          }
        }
        // Cursor paging: autocommit off + fetch size = portal suspended every 3 rows.
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
          s.setFetchSize(3);
          try (ResultSet rs = s.executeQuery("SELECT g::int4 AS n FROM generate_series(1, 10) g ORDER BY 1")) {
            List<Integer> seen = new ArrayList<>();
            while (rs.next()) seen.add(rs.getInt(1));
            r.put("fetchSize", seen);
          }
        }
        c.commit();
        c.setAutoCommit(true);
        // Metabase's sync.
        r.put("metabase tables", attempt(c,
            "SELECT n.nspname AS schema, c.relname AS name, CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE'"
                + " WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS type,"
                + " d.description AS description, stat.n_live_tup AS estimated_row_count"
                + " FROM pg_catalog.pg_class AS c INNER JOIN pg_catalog.pg_namespace AS n ON c.relnamespace = n.oid"
                + " LEFT JOIN pg_catalog.pg_description AS d ON (c.oid = d.objoid AND d.objsubid = 0 AND d.classoid = 'pg_class'::regclass)"
                + " LEFT JOIN pg_stat_user_tables AS stat ON (n.nspname = stat.schemaname AND c.relname = stat.relname)"
                + " WHERE c.relnamespace = n.oid AND n.nspname !~ '^information_schema|catalog_history|pg_'"
                + " AND c.relkind IN ('r', 'p', 'v', 'f', 'm') AND n.nspname IN ('public') ORDER BY type, schema, name"));
        r.put("metabase privileges", attempt(c,
            "WITH table_privileges AS (SELECT NULL AS role, t.schemaname AS schema, t.objectname AS table,"
                + " pg_catalog.has_any_column_privilege(current_user, '\"' || replace(t.schemaname, '\"', '\"\"') || '\".' || '\"' || replace(t.objectname, '\"', '\"\"') || '\"', 'update') AS update,"
                + " pg_catalog.has_table_privilege(current_user, '\"' || replace(t.schemaname, '\"', '\"\"') || '\".' || '\"' || replace(t.objectname, '\"', '\"\"') || '\"', 'select') AS select"
                + " FROM (SELECT schemaname, tablename AS objectname FROM pg_catalog.pg_tables UNION SELECT schemaname, viewname AS objectname FROM pg_catalog.pg_views"
                + " UNION SELECT schemaname, matviewname AS objectname FROM pg_catalog.pg_matviews) t"
                + " WHERE t.schemaname !~ '^pg_' AND t.schemaname <> 'information_schema' AND pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage'))"
                + " SELECT t.* FROM table_privileges t ORDER BY t.schema, t.table"));
        r.put("metabase probe", attempt(c, "SELECT true AS \"_\" FROM \"public\".\"users\" WHERE 1 <> 1 LIMIT 0"));
        // DBeaver's introspection.
        r.put("dbeaver regclass", attempt(c, "SELECT 'pg_namespace'::regclass::oid AS ns, 'pg_class'::regclass::oid AS cls"));
        r.put("dbeaver keywords", attempt(c, "SELECT count(*) > 300 AS many, bool_or(word = 'select') AS has_select FROM pg_catalog.pg_get_keywords()"));
        r.put("dbeaver database", attempt(c,
            "SELECT db.oid IS NOT NULL AS has_oid, db.datname, db.datistemplate, db.datallowconn, pg_catalog.pg_encoding_to_char(db.encoding) AS enc,"
                + " db.datcollate, db.datctype FROM pg_catalog.pg_database db WHERE datname = current_database()"));
        r.put("dbeaver set_config", attempt(c, "SELECT set_config('application_name', 'DBeaver', false) AS v, current_setting('application_name') AS now"));
      }
      result.put(suffix.isEmpty() ? "default" : "prepareThreshold=1", r);
    }
    System.out.println(json(result));
  }
}

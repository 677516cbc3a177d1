// pgjdbc (Debian's libpostgresql-jdbc-java) writing: PreparedStatement
// addBatch/executeBatch, getGeneratedKeys on a bigserial id, autocommit off
// with commit and rollback, an error inside a transaction, CopyManager
// copyIn/copyOut. Runs once with default settings and once with
// reWriteBatchedInserts=true&prepareThreshold=1, each on its own table, and
// prints one JSON document for the suite to compare.
//
//   java -cp /usr/share/java/postgresql.jar Writes.java <jdbc-url>

import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.sql.*;
import java.util.*;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

public class Writes {
  static String json(Object value) {
    if (value == null) return "null";
    if (value instanceof Boolean || value instanceof Integer || value instanceof Long) return value.toString();
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
    if (value instanceof int[] ints) {
      List<Object> list = new ArrayList<>();
      for (int i : ints) list.add(i);
      return json(list);
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

  /** Every row, each column as its Java class name and value, so a type difference shows. */
  static List<Object> rows(ResultSet rs) throws SQLException {
    ResultSetMetaData md = rs.getMetaData();
    List<Object> rows = new ArrayList<>();
    while (rs.next()) {
      List<Object> row = new ArrayList<>();
      for (int i = 1; i <= md.getColumnCount(); i++) {
        Object v = rs.getObject(i);
        row.add(v == null ? null : v.getClass().getSimpleName() + ":" + v);
      }
      rows.add(row);
    }
    rs.close();
    return rows;
  }

  static List<Object> query(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      return rows(s.executeQuery(sql));
    }
  }

  static Map<String, Object> error(SQLException e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("sqlstate", e.getSQLState());
    m.put("message", e.getMessage());
    return m;
  }

  static Map<String, Object> run(Connection c, String table) throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    try (Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table);
      s.execute("CREATE TABLE " + table + " (id bigserial PRIMARY KEY, name text NOT NULL, qty integer,"
          + " price numeric(10,2), added date, seen_at timestamptz, ok boolean)");
    }

    // addBatch/executeBatch: eight rows, past pgjdbc's default prepareThreshold of 5.
    try (PreparedStatement p = c.prepareStatement(
        "INSERT INTO " + table + " (id, name, qty, price, added, seen_at, ok) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
      for (int i = 1; i <= 8; i++) {
        p.setLong(1, 100 + i);
        p.setString(2, "item " + i + (i == 3 ? " it's \"quoted\"" : ""));
        if (i % 3 == 0) p.setNull(3, Types.INTEGER);
        else p.setInt(3, i * 10);
        p.setBigDecimal(4, new BigDecimal(i + ".25").negate());
        p.setDate(5, java.sql.Date.valueOf("2024-02-" + (20 + i)));
        p.setObject(6, java.time.OffsetDateTime.parse("2024-01-02T03:04:0" + i + ".5Z"));
        if (i == 8) p.setNull(7, Types.BOOLEAN);
        else p.setBoolean(7, i % 2 == 0);
        p.addBatch();
      }
      r.put("executeBatch", p.executeBatch());
    }
    r.put("after batch", query(c, "SELECT * FROM " + table + " ORDER BY id"));

    // getGeneratedKeys: the bigserial id comes from its sequence.
    try (PreparedStatement p = c.prepareStatement("INSERT INTO " + table + " (name, qty) VALUES (?, ?)", Statement.RETURN_GENERATED_KEYS)) {
      List<Object> keys = new ArrayList<>();
      for (String name : new String[] {"generated one", "generated two"}) {
        p.setString(1, name);
        p.setInt(2, 1);
        keys.add(p.executeUpdate());
        keys.add(rows(p.getGeneratedKeys()));
      }
      r.put("generated keys", keys);
    }
    try (PreparedStatement p = c.prepareStatement("INSERT INTO " + table + " (name) VALUES (?)", new String[] {"id"})) {
      for (String name : new String[] {"batch key a", "batch key b", "batch key c"}) {
        p.setString(1, name);
        p.addBatch();
      }
      r.put("batch with generated keys", List.of(p.executeBatch(), rows(p.getGeneratedKeys())));
    }
    try (Statement s = c.createStatement()) {
      s.executeUpdate("INSERT INTO " + table + " (name) VALUES ('statement key')", Statement.RETURN_GENERATED_KEYS);
      r.put("statement generated keys", rows(s.getGeneratedKeys()));
    }

    // Autocommit off: commit keeps, rollback discards, an error aborts until rollback.
    c.setAutoCommit(false);
    try (PreparedStatement p = c.prepareStatement("UPDATE " + table + " SET qty = coalesce(qty, 0) + ? WHERE id = ?")) {
      p.setInt(1, 5);
      p.setLong(2, 101);
      r.put("update count", p.executeUpdate());
    }
    c.commit();
    try (Statement s = c.createStatement()) {
      r.put("delete count", s.executeUpdate("DELETE FROM " + table + " WHERE id IN (102, 103)"));
      r.put("inside transaction", query(c, "SELECT count(*) FROM " + table));
    }
    c.rollback();
    try (Statement s = c.createStatement()) {
      s.executeUpdate("INSERT INTO " + table + " (id, name) VALUES (200, 'lost')");
      try {
        s.executeUpdate("INSERT INTO " + table + " (id, name) VALUES (101, 'duplicate')");
        r.put("duplicate", "no error");
      } catch (SQLException e) {
        r.put("duplicate", error(e));
      }
      try {
        s.executeQuery("SELECT 1").close();
        r.put("in failed transaction", "no error");
      } catch (SQLException e) {
        r.put("in failed transaction", e.getSQLState());
      }
    }
    c.rollback();
    try (PreparedStatement p = c.prepareStatement("UPDATE " + table + " SET name = upper(name) WHERE id = ? RETURNING id, name, qty")) {
      p.setLong(1, 104);
      r.put("update returning", rows(p.executeQuery()));
    }
    c.commit();
    c.setAutoCommit(true);
    r.put("after transactions", query(c, "SELECT id, name, qty FROM " + table + " ORDER BY id"));

    // CopyManager: copyIn text and CSV, copyOut text and CSV.
    CopyManager copy = ((PGConnection) c).getCopyAPI();
    r.put("copyIn text", copy.copyIn("COPY " + table + " (id, name, qty, ok) FROM STDIN",
        new StringReader("300\ttab\\there\t1\tt\n301\tback\\\\slash\t\\N\tf\n")));
    r.put("copyIn csv", copy.copyIn("COPY " + table + " (id, name, price) FROM STDIN WITH (FORMAT csv, HEADER true)",
        new StringReader("id,name,price\n302,\"comma, \"\"quoted\"\"\",9.99\n303,\"multi\nline\",\n")));
    StringWriter text = new StringWriter();
    long textRows = copy.copyOut("COPY (SELECT id, name, qty, price, ok FROM " + table + " WHERE id >= 300 ORDER BY id) TO STDOUT", text);
    StringWriter csv = new StringWriter();
    long csvRows = copy.copyOut("COPY (SELECT * FROM " + table + " ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER true)", csv);
    r.put("copyOut", List.of(textRows, text.toString(), csvRows, csv.toString()));
    try {
      copy.copyIn("COPY " + table + " (id, name) FROM STDIN", new StringReader("400\tok\nnot a number\tbad\n"));
      r.put("copyIn bad row", "no error");
    } catch (SQLException e) {
      r.put("copyIn bad row", e.getSQLState());
    }
    r.put("final", query(c, "SELECT count(*), sum(id), max(name) FROM " + table));
    return r;
  }

  public static void main(String[] args) throws Exception {
    Map<String, Object> result = new LinkedHashMap<>();
    String[][] modes = {{"default", "", "jdbc_items"}, {"rewrite+prepareThreshold=1", "&reWriteBatchedInserts=true&prepareThreshold=1", "jdbc_items_rw"}};
    for (String[] mode : modes) {
      try (Connection c = DriverManager.getConnection(args[0] + mode[1])) {
        result.put(mode[0], run(c, mode[2]));
      }
    }
    System.out.println(json(result));
  }
}

"""psycopg2: types, introspection queries, executemany-free reads, named (server-side) cursors, rollback after an error."""
import psycopg2
import psycopg2.extras
from common import DSN, report

conn = psycopg2.connect(DSN)
out = {}
cur = conn.cursor()
cur.execute("SELECT %s::int4 + 1 AS n, %s::text AS t, %s::numeric(10,2) AS d, %s::date AS day, %s::bool AS b",
            (41, "x", "12.5", "2024-02-29", True))
out["params"] = {"row": cur.fetchone(), "description": [(d.name, d.type_code) for d in cur.description]}
cur.execute("SELECT * FROM users")
out["users description"] = [(d.name, d.type_code, d.internal_size, d.precision, d.scale) for d in cur.description]
cur.execute("""SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
               WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND c.relkind = 'r'
               ORDER BY c.relname, a.attnum""")
out["attributes"] = cur.fetchall()
# An error aborts the transaction; rollback makes the connection usable again.
try:
    cur.execute("SELECT * FROM no_such_table")
except psycopg2.Error as e:
    out["error"] = e.pgcode
try:
    cur.execute("SELECT 1")
except psycopg2.Error as e:
    out["in failed transaction"] = e.pgcode
conn.rollback()
cur.execute("SELECT 2")
out["after rollback"] = cur.fetchone()
# A named cursor is a server-side cursor: DECLARE … FETCH, itersize rows at a time.
named = conn.cursor(name="paged")
named.itersize = 4
try:
    named.execute("SELECT g FROM generate_series(1, 10) g ORDER BY g")
    out["named cursor"] = [row[0] for row in named]
    named.close()
except psycopg2.Error as e:
    out["named cursor"] = {"error": e.pgcode}
    conn.rollback()
conn.rollback()
dict_cur = conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
dict_cur.execute("SELECT 'a'::text AS letter, ARRAY[1, 2]::int4[] AS ints, '{\"k\": 1}'::json AS doc")
out["dict cursor"] = dict_cur.fetchall()
conn.close()
report(out)

"""psycopg2 writes: executemany, copy_expert in and out, rollback after an error, UPDATE … RETURNING, DELETE."""
import datetime
import decimal
import io

import psycopg2
from common import DSN, report

out = {}
conn = psycopg2.connect(DSN)
cur = conn.cursor()


def step(name, sql, params=None):
    """Runs one statement and records what psycopg2 reports about it."""
    cur.execute(sql, params)
    seen = {"status": cur.statusmessage, "rowcount": cur.rowcount}
    if cur.description is not None:
        seen["description"] = [(d.name, d.type_code) for d in cur.description]
        seen["rows"] = cur.fetchall()
    out[name] = seen


def table(name):
    cur.execute("SELECT * FROM p2_items ORDER BY id")
    out[name] = cur.fetchall()


cur.execute("DROP TABLE IF EXISTS p2_items")
cur.execute("""CREATE TABLE p2_items (
                 id integer PRIMARY KEY, name text NOT NULL, qty integer DEFAULT 0,
                 price numeric(10,2), added date, seen_at timestamptz, ok boolean, body bytea)""")
conn.commit()

# executemany: one INSERT per parameter set, in the connection's transaction.
cur.executemany(
    "INSERT INTO p2_items (id, name, qty, price, added, seen_at, ok, body) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
    [
        (1, "apple", 3, decimal.Decimal("1.25"), datetime.date(2024, 2, 29),
         datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc), True, b"\x00\xff\x10"),
        (2, "pear's", None, decimal.Decimal("-0.50"), None, None, False, b""),
        (3, "fig\ttab", 7, None, datetime.date(1999, 12, 31), None, None, None),
    ],
)
out["executemany"] = {"status": cur.statusmessage, "rowcount": cur.rowcount, "transaction": conn.get_transaction_status()}
conn.commit()
table("after executemany")

# copy_expert FROM STDIN, CSV with a header, then text format with NULLs and escapes.
cur.copy_expert(
    "COPY p2_items (id, name, qty, price, added) FROM STDIN WITH (FORMAT csv, HEADER true)",
    io.StringIO('id,name,qty,price,added\n4,"kiwi, gold",10,2.00,2024-03-01\n5,"say ""hi""",,0.99,\n'),
)
out["copy in csv"] = {"status": cur.statusmessage, "rowcount": cur.rowcount}
cur.copy_expert("COPY p2_items (id, name, qty, ok) FROM STDIN", io.StringIO("6\tback\\\\slash\t\\N\tt\n7\tnew\\nline\t1\tf\n"))
out["copy in text"] = {"status": cur.statusmessage, "rowcount": cur.rowcount}
conn.commit()
table("after copy in")

# copy_expert TO STDOUT: a table, and a query, in text and CSV.
for name, sql in [
    ("copy out table text", "COPY p2_items TO STDOUT"),
    ("copy out table csv", "COPY p2_items TO STDOUT WITH (FORMAT csv, HEADER true)"),
    ("copy out query csv", "COPY (SELECT id, name, price FROM p2_items WHERE id > 2 ORDER BY id DESC) TO STDOUT WITH (FORMAT csv, HEADER true)"),
]:
    buf = io.StringIO()
    cur.copy_expert(sql, buf)
    out[name] = {"data": buf.getvalue(), "status": cur.statusmessage, "rowcount": cur.rowcount}
conn.commit()

# An error inside a transaction: the transaction is aborted (25P02) until rollback,
# which discards the insert made before the error; the connection then goes on.
cur.execute("INSERT INTO p2_items (id, name) VALUES (%s, %s)", (8, "lost"))
try:
    cur.execute("INSERT INTO p2_items (id, name) VALUES (%s, %s)", (1, "duplicate"))
    out["duplicate"] = "no error"
except psycopg2.Error as e:
    out["duplicate"] = {"sqlstate": e.pgcode, "message": e.pgerror, "detail": e.diag.message_detail,
                        "constraint": e.diag.constraint_name, "table": e.diag.table_name}
try:
    cur.execute("SELECT count(*) FROM p2_items")
    out["in failed transaction"] = "no error"
except psycopg2.Error as e:
    out["in failed transaction"] = e.pgcode
out["status before rollback"] = conn.get_transaction_status()
conn.rollback()
out["status after rollback"] = conn.get_transaction_status()
step("insert after rollback", "INSERT INTO p2_items (id, name, qty) VALUES (%s, %s, %s)", (9, "kept", 1))
try:
    cur.execute("INSERT INTO p2_items (id, name) VALUES (%s, %s)", (10, None))
    out["not null"] = "no error"
except psycopg2.Error as e:
    out["not null"] = {"sqlstate": e.pgcode, "message": e.pgerror}
conn.rollback()
step("insert again", "INSERT INTO p2_items (id, name, qty) VALUES (%s, %s, %s)", (9, "kept", 1))
conn.commit()
table("after rollback and continue")

# UPDATE … RETURNING (one row, then several: PostgreSQL does not promise their order, so they are sorted).
step("update returning one", "UPDATE p2_items SET qty = qty + %s, name = upper(name) WHERE id = %s RETURNING id, name, qty", (5, 1))
cur.execute("UPDATE p2_items SET price = coalesce(price, 0) * 2 WHERE id IN %s RETURNING id, price", ((2, 3, 4),))
out["update returning many"] = {"status": cur.statusmessage, "rowcount": cur.rowcount, "rows": sorted(cur.fetchall())}
step("update none", "UPDATE p2_items SET qty = 0 WHERE id = %s RETURNING *", (999,))
step("delete returning", "DELETE FROM p2_items WHERE id = %s RETURNING id, name", (6,))
step("upsert", "INSERT INTO p2_items (id, name, qty) VALUES (%s, %s, %s) ON CONFLICT (id) DO UPDATE SET qty = p2_items.qty + EXCLUDED.qty RETURNING id, qty", (7, "ignored", 100))
conn.commit()
table("final")
conn.close()
report(out)

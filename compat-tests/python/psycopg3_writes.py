"""psycopg 3 writes: executemany (pipelined, with RETURNING), cursor.copy() in and out (text and binary),
a transaction with an insert and a failing statement rolled back, conn.transaction() blocks."""
import datetime
import decimal

import psycopg
from common import DSN, report

out = {}


def rows(conn, sql="SELECT * FROM p3_items ORDER BY id"):
    return conn.execute(sql).fetchall()


def failure(e):
    return {"sqlstate": e.sqlstate, "message": e.diag.message_primary, "detail": e.diag.message_detail}


with psycopg.connect(DSN) as conn:
    conn.execute("DROP TABLE IF EXISTS p3_items")
    conn.execute("""CREATE TABLE p3_items (
                      id bigint PRIMARY KEY, name text NOT NULL, qty integer,
                      price numeric(10,2), added date, ok boolean, tags text[])""")
    conn.commit()

    # executemany with server-side parameters (psycopg 3 sends them bound, not inlined).
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO p3_items (id, name, qty, price, added, ok) VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (1, "apple", 3, decimal.Decimal("1.25"), datetime.date(2024, 2, 29), True),
                (2, "pear", None, decimal.Decimal("-0.50"), None, False),
                (3, "fig", 7, None, datetime.date(1999, 12, 31), None),
            ],
        )
        out["executemany"] = {"rowcount": cur.rowcount, "status": conn.info.transaction_status.name}
        # returning=True: every statement's RETURNING rows, one result set each.
        cur.executemany(
            "INSERT INTO p3_items (id, name, qty) VALUES (%s, %s, %s) RETURNING id, name, qty",
            [(4, "kiwi", 1), (5, "lime", 2)],
            returning=True,
        )
        returned = []
        while True:
            returned.append(cur.fetchall())
            if not cur.nextset():
                break
        out["executemany returning"] = returned
    conn.commit()
    out["after executemany"] = rows(conn)

    # cursor.copy(): write rows (psycopg formats them), then raw text, then binary.
    with conn.cursor() as cur:
        with cur.copy("COPY p3_items (id, name, qty, price, ok) FROM STDIN") as copy:
            copy.write_row((6, "tab\there", 10, decimal.Decimal("2.00"), True))
            copy.write_row((7, "back\\slash", None, None, False))
        out["copy in rows"] = {"rowcount": cur.rowcount, "status": cur.statusmessage}
        with cur.copy("COPY p3_items (id, name, qty) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write('8,"comma, quoted",1\n9,"new\nline",\n')
        out["copy in csv"] = {"rowcount": cur.rowcount, "status": cur.statusmessage}
        with cur.copy("COPY p3_items (id, name, qty, added) FROM STDIN WITH (FORMAT binary)") as copy:
            copy.set_types(["int8", "text", "int4", "date"])
            copy.write_row((10, "binary", 42, datetime.date(2000, 1, 1)))
            copy.write_row((11, "binary null", None, None))
        out["copy in binary"] = {"rowcount": cur.rowcount, "status": cur.statusmessage}
    with conn.cursor() as cur:
        with cur.copy("COPY p3_items (id, name, added) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
            out["copy out table csv"] = b"".join(bytes(block) for block in copy).decode()
    conn.commit()

    # Array values written as SQL: array parameters and COPY FROM of arrays are known gaps (writes.test.ts).
    conn.execute("UPDATE p3_items SET tags = ARRAY['a', 'b c', NULL, 'd\"e'] WHERE id = 6")
    conn.execute("UPDATE p3_items SET tags = ARRAY[]::text[] WHERE id = 7")
    conn.commit()
    out["after copy in"] = rows(conn)

    with conn.cursor() as cur:
        with cur.copy("COPY (SELECT id, name, qty, price, ok, tags FROM p3_items ORDER BY id) TO STDOUT") as copy:
            copy.set_types(["int8", "text", "int4", "numeric", "bool", "text[]"])
            out["copy out rows"] = list(copy.rows())
        with cur.copy("COPY (SELECT id, name, qty, price, added FROM p3_items WHERE id < 4 ORDER BY id) TO STDOUT WITH (FORMAT binary)") as copy:
            out["copy out binary bytes"] = b"".join(bytes(block) for block in copy)
        out["copy out status"] = cur.statusmessage
    conn.commit()

    # A transaction with an insert and a failing statement: everything after the
    # error fails with 25P02, rollback discards the insert.
    conn.execute("INSERT INTO p3_items (id, name) VALUES (%s, %s)", (12, "lost"))
    try:
        conn.execute("INSERT INTO p3_items (id, name) VALUES (%s, %s)", (1, "duplicate"))
        out["duplicate"] = "no error"
    except psycopg.Error as e:
        out["duplicate"] = failure(e)
    out["status after error"] = conn.info.transaction_status.name
    try:
        conn.execute("SELECT 1")
        out["in failed transaction"] = "no error"
    except psycopg.Error as e:
        out["in failed transaction"] = e.sqlstate
    conn.rollback()
    out["status after rollback"] = conn.info.transaction_status.name
    out["lost row"] = rows(conn, "SELECT count(*) FROM p3_items WHERE id = 12")
    conn.commit()

    # conn.transaction(): commits on success, rolls back when the block raises.
    with conn.transaction():
        conn.execute("UPDATE p3_items SET qty = qty * 10 WHERE id = %s", (1,))
        conn.execute("DELETE FROM p3_items WHERE id = %s", (2,))
    try:
        with conn.transaction():
            conn.execute("UPDATE p3_items SET name = %s WHERE id = %s", ("never", 3))
            conn.execute("INSERT INTO p3_items (id, name) VALUES (%s, %s)", (13, None))
    except psycopg.Error as e:
        out["failed transaction block"] = failure(e)
    conn.commit()

    # UPDATE … RETURNING with bound parameters; ON CONFLICT DO NOTHING.
    cur = conn.execute("UPDATE p3_items SET qty = coalesce(qty, 0) + %s WHERE id = %s RETURNING id, qty, name", (5, 4))
    out["update returning"] = {"rows": cur.fetchall(), "rowcount": cur.rowcount, "status": cur.statusmessage,
                               "description": [(d.name, d.type_code) for d in cur.description]}
    cur = conn.execute("INSERT INTO p3_items (id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING", (5, "dup"))
    out["on conflict do nothing"] = {"rowcount": cur.rowcount, "status": cur.statusmessage}
    conn.commit()
    out["final"] = rows(conn)
    conn.commit()

    # autocommit: each statement commits on its own.
    conn.autocommit = True
    cur = conn.execute("DELETE FROM p3_items WHERE id > %s RETURNING id", (9,))
    out["autocommit delete"] = {"rows": sorted(cur.fetchall()), "status": cur.statusmessage,
                                "transaction": conn.info.transaction_status.name}

# COPY FROM of array columns, written by psycopg from Python lists.
with psycopg.connect(DSN, autocommit=True) as conn:
    conn.execute("DROP TABLE IF EXISTS p3_arrays")
    conn.execute("CREATE TABLE p3_arrays (id integer PRIMARY KEY, tags text[], counts integer[])")
    try:
        with conn.cursor().copy("COPY p3_arrays FROM STDIN") as copy:
            copy.write_row((1, ["a", "b c", None], [1, 2]))
            copy.write_row((2, [], None))
        out["copy in arrays"] = conn.execute("SELECT * FROM p3_arrays ORDER BY id").fetchall()
    except psycopg.Error as e:
        out["copy in arrays"] = {"sqlstate": e.sqlstate}

# Binary COPY TO read row by row: psycopg parses each CopyData message as one row.
with psycopg.connect(DSN, autocommit=True) as conn:
    try:
        with conn.cursor().copy("COPY (SELECT id, name, qty FROM p3_items WHERE id < 4 ORDER BY id) TO STDOUT WITH (FORMAT binary)") as copy:
            copy.set_types(["int8", "text", "int4"])
            out["copy out binary rows"] = list(copy.rows())
    except Exception as e:
        out["copy out binary rows"] = {"error": "{}.{}".format(type(e).__module__, type(e).__name__)}
report(out)

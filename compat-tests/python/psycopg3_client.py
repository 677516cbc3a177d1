"""psycopg 3: non-autocommit flow, prepared statements, pipeline mode with a failing statement, binary cursors, TypeInfo.fetch, cancel."""
import threading
import time

import psycopg
from psycopg.types import TypeInfo
from common import DSN, report

out = {}
with psycopg.connect(DSN) as conn:
    out["status after connect"] = conn.info.transaction_status.name
    cur = conn.execute("SELECT %s::int4 + 1 AS n, %s::text AS t", (41, "x"))
    out["params"] = {"row": cur.fetchone(), "description": [(d.name, d.type_code) for d in cur.description]}
    out["status in transaction"] = conn.info.transaction_status.name
    conn.commit()
    # prepare=True: a named prepared statement, reused.
    out["prepared"] = [conn.execute("SELECT %s::int4 * 2", (i,), prepare=True).fetchone()[0] for i in range(3)]
    with conn.cursor(binary=True) as bcur:
        bcur.execute("SELECT 1::int4 AS i, 2.5::float8 AS f, 'txt'::text AS t, true AS b, '2024-02-29'::date AS d,"
                     " 12.34::numeric(10,2) AS n, ARRAY[1, 2]::int4[] AS a, '\\x0102'::bytea AS by")
        out["binary"] = {"row": bcur.fetchone(), "formats": [d.type_code for d in bcur.description]}
    conn.commit()
    for name in ["int4", "text", "numeric", "varchar", "timestamptz", "uuid", "bool"]:
        info = TypeInfo.fetch(conn, name)
        out["typeinfo " + name] = [info.name, info.oid, info.array_oid, info.delimiter] if info else None
    conn.commit()
    # Pipeline mode: the failing statement's error comes back, the rest of the batch is skipped.
    results = []
    try:
        with conn.pipeline():
            c1 = conn.execute("SELECT 1")
            c2 = conn.execute("SELECT * FROM no_such_table")
            c3 = conn.execute("SELECT 3")
    except psycopg.Error as e:
        results.append(e.sqlstate)
    out["pipeline"] = results
    conn.rollback()
    out["after pipeline"] = conn.execute("SELECT 4").fetchone()
    conn.rollback()
    # conn.cancel() from another thread interrupts a long statement with 57014.
    timer = threading.Timer(0.5, conn.cancel)
    timer.start()
    try:
        conn.execute("SELECT count(*) FROM generate_series(1, 3000000000) a")
        out["cancel"] = "not canceled"
    except psycopg.Error as e:
        out["cancel"] = e.sqlstate
    timer.join()
    conn.rollback()
    out["after cancel"] = conn.execute("SELECT 5").fetchone()
report(out)

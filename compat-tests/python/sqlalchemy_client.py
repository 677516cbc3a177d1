"""SQLAlchemy 1.4 with psycopg2: create_engine, inspect() reflection of tables, columns, keys and indexes, Core queries."""
import sqlalchemy as sa
from common import URL_TAIL, report

engine = sa.create_engine("postgresql+psycopg2://" + URL_TAIL)
inspector = sa.inspect(engine)
out = {
    "schemas": [s for s in inspector.get_schema_names() if s == "public"],
    "tables": sorted(inspector.get_table_names()),
    "views": sorted(inspector.get_view_names()),
    "default schema": inspector.default_schema_name,
}
for table in ["users", "events", "order_items"]:
    out["columns " + table] = [
        {"name": c["name"], "type": str(c["type"]), "nullable": c["nullable"], "default": c["default"], "autoincrement": c.get("autoincrement")}
        for c in inspector.get_columns(table)
    ]
    out["pk " + table] = inspector.get_pk_constraint(table)
    out["indexes " + table] = inspector.get_indexes(table)
    out["unique " + table] = inspector.get_unique_constraints(table)
    out["fks " + table] = inspector.get_foreign_keys(table)
    out["has table " + table] = inspector.has_table(table)
out["has table missing"] = inspector.has_table("no_such_table")
metadata = sa.MetaData()
users = sa.Table("users", metadata, autoload_with=engine)
with engine.connect() as conn:
    out["reflected select"] = [list(r) for r in conn.execute(sa.select(users.c.user_id, users.c.name).where(users.c.active).order_by(users.c.name))]
    out["text"] = [list(r) for r in conn.execute(sa.text("SELECT CAST(:n AS int4) + 1 AS n"), {"n": 41})]
report(out)

"""SQLAlchemy 1.4 ORM over psycopg2: a declarative model with an integer (serial) primary key,
session.add_all / commit / query / update / delete, and the rows seen after each step."""
import datetime
import decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, declarative_base
from common import URL_TAIL, report

Base = declarative_base()


class Item(Base):
    __tablename__ = "orm_items"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(50), nullable=False)
    qty = sa.Column(sa.Integer, default=0)
    price = sa.Column(sa.Numeric(10, 2))
    added = sa.Column(sa.Date)
    active = sa.Column(sa.Boolean, default=True)


class Tag(Base):
    """Explicit primary keys: add_all inserts them with one executemany."""
    __tablename__ = "orm_tags"
    code = sa.Column(sa.String(10), primary_key=True)
    label = sa.Column(sa.Text)


engine = sa.create_engine("postgresql+psycopg2://" + URL_TAIL)
out = {}


def items(session):
    return [[i.id, i.name, i.qty, i.price, i.added, i.active]
            for i in session.query(Item).order_by(Item.id)]


def tags(session):
    return [[t.code, t.label] for t in session.query(Tag).order_by(Tag.code)]


Base.metadata.drop_all(engine)
Base.metadata.create_all(engine)
out["has tables"] = [sa.inspect(engine).has_table(name) for name in ["orm_items", "orm_tags"]]

with Session(engine) as session:
    apple = Item(name="apple", qty=3, price=decimal.Decimal("1.25"), added=datetime.date(2024, 2, 29))
    pear = Item(name="pear", price=decimal.Decimal("0.50"))
    fig = Item(name="fig", qty=7, active=False)
    session.add_all([apple, pear, fig])
    session.add_all([Tag(code="a", label="first"), Tag(code="b", label=None), Tag(code="c", label="third")])
    session.commit()
    out["ids after commit"] = [apple.id, pear.id, fig.id]
    out["after add_all"] = {"items": items(session), "tags": tags(session)}

    # Query back through the ORM: filters, get(), aggregates.
    out["query"] = {
        "get": [session.get(Item, pear.id).name, session.get(Item, 999)],
        "filter": [i.name for i in session.query(Item).filter(Item.active, Item.qty > 0).order_by(Item.name)],
        "count": session.query(Item).count(),
        "sum": session.query(sa.func.sum(Item.qty)).scalar(),
    }

    # Update attributes (dirty objects flushed as UPDATE … WHERE id = …), commit.
    apple.qty += 10
    pear.name = "pear (ripe)"
    pear.added = datetime.date(2024, 3, 1)
    session.query(Tag).filter(Tag.code == "b").update({Tag.label: "second"}, synchronize_session="fetch")
    session.commit()
    out["after update"] = {"items": items(session), "tags": tags(session)}

    # Delete one object and a bulk delete, commit.
    session.delete(fig)
    session.query(Tag).filter(Tag.code.in_(["a", "c"])).delete(synchronize_session=False)
    session.commit()
    out["after delete"] = {"items": items(session), "tags": tags(session)}

    # A failed flush (duplicate primary key) rolls the session back; it goes on afterwards.
    session.add(Tag(code="b", label="duplicate"))
    try:
        session.commit()
        out["duplicate"] = "no error"
    except sa.exc.IntegrityError as e:
        out["duplicate"] = {"sqlstate": e.orig.pgcode, "constraint": e.orig.diag.constraint_name}
        session.rollback()
    session.add(Item(name="after rollback", qty=1))
    session.commit()
    out["final"] = {"items": items(session), "tags": tags(session)}

Base.metadata.drop_all(engine)
out["dropped"] = [sa.inspect(engine).has_table(name) for name in ["orm_items", "orm_tags"]]
report(out)

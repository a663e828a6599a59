"""readside.keyset: the "after this row" condition in each direction (NULLs last), and the
values a cursor carries, read back strictly."""
from datetime import date, datetime

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, Table, create_engine, insert, select

from readside import keyset
from readside.keyset import SortKey

TABLE = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("n", Integer),
              Column("d", Date, nullable=True))
ROWS = [(1, 5, date(2030, 1, 2)), (2, 5, None), (3, 7, date(2030, 1, 1)), (4, 5, date(2030, 1, 2)),
        (5, 7, None), (6, 1, date(2029, 12, 31)), (7, 7, date(2030, 1, 1))]


@pytest.fixture(scope="module")
def conn():
    engine = create_engine("sqlite://")
    TABLE.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(insert(TABLE), [dict(zip(("id", "n", "d"), r, strict=True)) for r in ROWS])
        yield c


SORTS = {
    "n desc, id desc": (SortKey(TABLE.c.n, True), SortKey(TABLE.c.id, True)),
    "d asc nulls last, id": (SortKey(TABLE.c.d, False, "date", nullable=True),
                             SortKey(TABLE.c.id)),
    "n asc, d asc nulls last, id desc": (SortKey(TABLE.c.n),
                                         SortKey(TABLE.c.d, False, "date", nullable=True),
                                         SortKey(TABLE.c.id, True)),
}


@pytest.mark.parametrize("name", SORTS)
def test_walking_after_each_row_gives_the_rest_in_order(conn, name):
    keys = SORTS[name]
    query = select(TABLE.c.id, *keyset.key_columns(keys)).order_by(*keyset.order_by(keys))
    full = conn.execute(query).all()
    for i, row in enumerate(full):
        cursor = keyset.load(keys, keyset.dump(keys, row[1:]))  # through a cursor and back
        rest = conn.execute(query.where(keyset.after(keys, cursor))).all()
        assert [r[0] for r in rest] == [r[0] for r in full[i + 1:]], (name, row)


def test_values_round_trip_and_bad_ones_are_refused():
    keys = (SortKey(None, kind="bool"), SortKey(None, kind="datetime"),
            SortKey(None, kind="date", nullable=True), SortKey(None))
    values = (True, datetime(2026, 1, 2, 3, 4, 5), None, 42)
    assert keyset.load(keys, keyset.dump(keys, values)) == values
    for raw in ([1, "2026-01-02T03:04:05", None, 42],  # 1 is not a boolean
                [True, "yesterday", None, 42], [True, "2026-01-02", None, True],
                [True, "2026-01-02", None, 2**64], [True, "2026-01-02", None],
                [True, None, None, 1], "[]", None, [True, "x" * 41, None, 1]):
        with pytest.raises(ValueError):
            keyset.load(keys, raw)

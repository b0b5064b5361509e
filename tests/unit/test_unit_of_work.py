"""A batch folded per row in the unit of work leaves the tables as applying each change on its own would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    event,
    select,
    update,
)

from projections.sql import UtcDateTime
from projections.unit_of_work import DuplicateRowError, TableStatements, UnitOfWork

metadata = MetaData()
items = Table(
    "items", metadata,
    Column("shelf", String(5), primary_key=True),
    Column("slot", Integer, primary_key=True),
    Column("colour", String(10), index=True),
    Column("count", Integer, nullable=False),
    Column("at", UtcDateTime),
    Column("tags", JSON, nullable=False),
)
STATEMENTS = {items: TableStatements(items)}
START = datetime(2026, 1, 1, tzinfo=UTC)

keys = st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 2))
colours = st.sampled_from(["red", "green", None])
values = st.fixed_dictionaries({"colour": colours, "count": st.integers(0, 9),
                                "at": st.none() | st.integers(0, 5).map(lambda m: START + timedelta(minutes=m)),
                                "tags": st.lists(st.sampled_from(["x", "y"]), max_size=2)})
changes = st.fixed_dictionaries({}, optional={"colour": colours, "count": st.integers(0, 9)})
operations = st.one_of(
    st.tuples(st.just("insert"), keys, values),
    st.tuples(st.just("upsert"), keys, values),
    st.tuples(st.just("replace"), keys, values),
    st.tuples(st.just("update"), keys, changes),
    st.tuples(st.just("delete"), keys, st.just({})),
    st.tuples(st.just("get"), keys, st.just({})),
    # reads by colour twice as often: a row changing colour between two of them is what they are for
    *[st.tuples(st.just("where"), st.just(("", 0)),
                st.fixed_dictionaries({"colour": st.sampled_from(["red", "green"])}))] * 2,
    st.tuples(st.just("flush"), st.just(("", 0)), st.just({})),
)


def key_values(key: tuple[str, int]) -> dict[str, Any]:
    return {"shelf": key[0], "slot": key[1]}


def by_key(key: tuple[str, int]) -> Any:
    return (items.c.shelf == key[0]) & (items.c.slot == key[1])


def table_rows(connection: Connection) -> list[tuple[Any, ...]]:
    """As stored, not as read back: SQL compares the stored text of a timestamp, not its parsed value."""
    return [tuple(r) for r in connection.exec_driver_sql("SELECT * FROM items ORDER BY shelf, slot")]


def found(connection: Connection, key: tuple[str, int]) -> dict[str, Any] | None:
    row = connection.execute(select(items).where(by_key(key))).mappings().first()
    return dict(row) if row else None


def one_by_one(connection: Connection, operation: str, key: tuple[str, int], data: dict[str, Any]) -> Any:
    """The reference: each change as its own SQL statement, each read from the table."""
    existing = found(connection, key) if key[0] else None
    if operation == "insert" and existing is None:
        connection.execute(items.insert().values(**key_values(key), **data))
    elif operation in ("upsert", "replace"):
        if existing is None:
            connection.execute(items.insert().values(**key_values(key), **data))
        else:
            connection.execute(update(items).where(by_key(key)).values(**data))
    elif operation == "update" and data:
        connection.execute(update(items).where(by_key(key)).values(**data))
    elif operation == "delete":
        connection.execute(delete(items).where(by_key(key)))
    elif operation == "get":
        return existing
    elif operation == "where":
        return sorted((dict(r) for r in connection.execute(select(items).where(items.c.colour == data["colour"]))
                       .mappings()),
                      key=lambda r: (r["shelf"], r["slot"]))
    return None


def folded(batch: UnitOfWork, operation: str, key: tuple[str, int], data: dict[str, Any]) -> Any:
    if operation == "insert" and batch.get(items, key) is None:
        batch.insert(items, **key_values(key), **data)
    elif operation == "upsert":
        batch.upsert(items, **key_values(key), **data)
    elif operation == "replace":
        batch.replace(items, **key_values(key), **data)
    elif operation == "update" and data:
        batch.update(items, key, **data)
    elif operation == "delete":
        batch.delete(items, key)
    elif operation == "get":
        row = batch.get(items, key)
        return dict(row) if row else None
    elif operation == "where":
        return sorted((dict(r) for r in batch.where(items, "colour", data["colour"])),
                      key=lambda r: (r["shelf"], r["slot"]))
    elif operation == "flush":
        batch.flush()
    return None


@settings(max_examples=300, deadline=None)
@given(before=st.dictionaries(keys, values, max_size=5), batch=st.lists(operations, max_size=25))
def test_a_batch_folded_per_row_equals_its_changes_applied_one_by_one(
        before: dict[tuple[str, int], dict[str, Any]], batch: list[tuple[str, tuple[str, int], dict[str, Any]]],
) -> None:
    engines = [create_engine("sqlite://") for _ in range(2)]
    for engine in engines:
        metadata.create_all(engine)
        with engine.begin() as connection:
            for key, data in before.items():
                connection.execute(items.insert().values(**key_values(key), **data))
    reference, under_test = engines

    with reference.begin() as connection:
        expected_reads = [one_by_one(connection, *operation) for operation in batch]
        expected = table_rows(connection)
    with under_test.begin() as connection:
        work = UnitOfWork(connection, STATEMENTS)
        reads = [folded(work, *operation) for operation in batch]
        work.flush()
        result = table_rows(connection)

    assert result == expected
    assert reads == expected_reads


def test_a_row_inserted_twice_in_a_batch_is_refused() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        batch = UnitOfWork(connection, STATEMENTS)
        batch.insert(items, shelf="a", slot=1, colour="red", count=1, tags=[])

        with pytest.raises(DuplicateRowError):
            batch.insert(items, shelf="a", slot=1, colour="red", count=2, tags=[])


def test_a_batch_writes_each_changed_row_once_and_never_reads_back_what_it_wrote() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    statements: list[str] = []
    with engine.begin() as connection:
        connection.execute(items.insert().values(shelf="a", slot=0, colour="red", count=0, tags=[]))
    with engine.begin() as connection:
        event.listen(connection, "before_cursor_execute",
                     lambda *args: statements.append(args[2].split()[0]))
        batch = UnitOfWork(connection, STATEMENTS)
        for slot in range(1, 50):
            batch.insert(items, shelf="b", slot=slot, colour="green", count=0, tags=[])
            for _ in range(3):
                row = batch.get(items, ("b", slot))
                assert row is not None
                batch.update(items, ("b", slot), count=row["count"] + 1)
        row = batch.get(items, ("a", 0))
        assert row is not None
        batch.update(items, ("a", 0), count=row["count"] + 1)
        batch.flush()

        assert statements == ["SELECT", "INSERT", "INSERT"]
        assert set(connection.execute(select(items.c.count)).scalars()) == {1, 3}

"""Rebuild read tables from the event log, and check the live ones against the rebuild (R14)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, insert, select

from application.store import EventStore
from projections.base import Projector
from projections.positions import advance_position, projector_positions, read_position
from projections.positions import metadata as positions_metadata
from projections.runner import ProjectionRunner

REBUILD_SUFFIX = "__rebuild"


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple[Any, ...]
    live: dict[str, Any] | None
    rebuilt: dict[str, Any] | None


def rebuild(store: EventStore, engine: Engine, make_projector: Callable[[str], Projector], *,
            replace_live: bool) -> list[Difference]:
    """Project the log into fresh tables up to the live position; compare; optionally swap in."""
    live, fresh = make_projector(""), make_projector(REBUILD_SUFFIX)
    fresh.metadata.drop_all(engine)
    _forget_position(engine, fresh)  # an interrupted rebuild may have left its position behind
    runner = ProjectionRunner(store, engine, [fresh], batch_size=2000)
    runner.create_tables()
    with engine.connect() as connection:
        live_position = read_position(connection, live.position_key)
    runner.catch_up(stop=live_position)
    with engine.begin() as connection:
        if read_position(connection, live.position_key) != live_position:
            raise RuntimeError(f"{live.name} moved during the rebuild; stop its projector and retry")
        differences = [d for live_table, fresh_table in zip(live.tables, fresh.tables, strict=True)
                       for d in _compare(connection, live_table, fresh_table)]
        if replace_live and differences:
            _copy_over(connection, live, fresh, live_position)
    fresh.metadata.drop_all(engine)
    _forget_position(engine, fresh)
    return differences


def _forget_position(engine: Engine, projector: Projector) -> None:
    positions_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(delete(projector_positions).where(projector_positions.c.name == projector.position_key))


def _compare(connection: Connection, live: Table, fresh: Table) -> list[Difference]:
    live_rows, fresh_rows = _rows_by_key(connection, live), _rows_by_key(connection, fresh)
    return [Difference(live.name, key, live_rows.get(key), fresh_rows.get(key))
            for key in sorted(live_rows.keys() | fresh_rows.keys(), key=repr)
            if live_rows.get(key) != fresh_rows.get(key)]


def _rows_by_key(connection: Connection, table: Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    key_columns: Sequence[str] = [c.name for c in table.primary_key.columns]
    return {tuple(row[c] for c in key_columns): dict(row)
            for row in connection.execute(select(table)).mappings()}


def _copy_over(connection: Connection, live: Projector, fresh: Projector, position: int) -> None:
    for live_table, fresh_table in zip(live.tables, fresh.tables, strict=True):
        connection.execute(delete(live_table))
        rows = [dict(r) for r in connection.execute(select(fresh_table)).mappings()]
        if rows:
            connection.execute(insert(live_table), rows)
    advance_position(connection, live.position_key, position, position, None)


"""Each projector's position in the event log, written in the same transaction as its rows."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, MetaData, String, Table, insert, select, update

from projections.sql import UtcDateTime

metadata = MetaData()

projector_positions = Table(
    "projector_positions",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime),
)


class PositionMovedError(Exception):
    """Another runner advanced the same projector first; this batch was rolled back."""


def read_position(connection: Connection, name: str) -> int:
    row = connection.execute(select(projector_positions.c.position).where(projector_positions.c.name == name)).first()
    return int(row[0]) if row else 0


def ensure_position_row(connection: Connection, name: str, start: int = 0) -> None:
    exists = connection.execute(select(projector_positions.c.name).where(projector_positions.c.name == name)).first()
    if exists is None:
        connection.execute(insert(projector_positions).values(name=name, position=start))


def advance_position(connection: Connection, name: str, expected: int, new: int, at: object) -> None:
    """Move from `expected` to `new`, or fail if someone else moved it (exactly-once)."""
    result = connection.execute(
        update(projector_positions)
        .where(projector_positions.c.name == name, projector_positions.c.position == expected)
        .values(position=new, updated_at=at)
    )
    if result.rowcount != 1:
        raise PositionMovedError(f"projector {name} is not at position {expected} any more")


def reset_position(connection: Connection, name: str, to: int = 0) -> None:
    """Back to the start of the log (or to `to`): the projector's tables were recreated empty."""
    connection.execute(update(projector_positions).where(projector_positions.c.name == name)
                       .values(position=to, updated_at=None))

"""How a database URL becomes the `eventsourcing` library's environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier


class DatabaseUrlError(ValueError):
    pass


@dataclass(frozen=True)
class PoolSize:
    """Connections one PostgreSQL pool of one process holds: `size` kept open, `max_overflow` more under load."""

    size: int = 2
    max_overflow: int = 4


def eventsourcing_env(database_url: str, pool: PoolSize = PoolSize()) -> dict[str, str]:
    """`sqlite:///path` or `postgresql://user:pass@host:port/db` → library settings."""
    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+")[0]
    if scheme == "sqlite":
        # SQLAlchemy's convention: sqlite:///relative/path, sqlite:////absolute/path
        dbname = unquote(parts.path[1:]) or ":memory:"
        if dbname != ":memory:":
            Path(dbname).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": dbname,
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    if scheme in ("postgresql", "postgres"):
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.removeprefix("/") or "postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": str(pool.size),
            "POSTGRES_MAX_OVERFLOW": str(pool.max_overflow),
            "POSTGRES_LOCK_TIMEOUT": "5",
            "POSTGRES_CONNECT_TIMEOUT": "10",
            # A 100,000-row portfolio import is one save of ~10 MB of JSON; compressed it is a fraction of
            # that, which keeps psycopg's pipelined insert clear of a client/server write deadlock.
            "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
        }
    raise DatabaseUrlError(f"unsupported database URL scheme: {parts.scheme!r}")


def sqlalchemy_url(database_url: str) -> str:
    """The same database for SQLAlchemy, through psycopg 3 on PostgreSQL."""
    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+")[0]
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg" + database_url[len(parts.scheme):]
    return database_url


def stored_events_of(recorder: Any, originator_ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]] | None:
    """Every stored event of these aggregates in one query, oldest first per aggregate; None where the
    recorder is neither of the two this project runs on (the caller then reads them one by one).

    The library reads one aggregate per query; a sweep over a thousand chats would wait on a thousand
    round trips. Snapshots are not consulted: the events are all kept, and replaying them gives the same state.
    """
    if isinstance(recorder, PostgresAggregateRecorder):
        statement = SQL("SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
                        "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version").format(
            schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(statement, [list(originator_ids)])
            rows = [(r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]))
                    for r in cursor.fetchall()]
    elif isinstance(recorder, SQLiteAggregateRecorder):
        marks = ",".join("?" * len(originator_ids))
        # The table name is the recorder's own setting and the ids are bound: nothing user-given is spliced in.
        query = (f"SELECT originator_id, originator_version, topic, state FROM {recorder.events_table_name} "  # noqa: S608
                 f"WHERE originator_id IN ({marks}) ORDER BY originator_id, originator_version")
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(query, [i.hex for i in originator_ids])
            rows = [(recorder.convert_originator_id(r["originator_id"]), r["originator_version"], r["topic"],
                     r["state"]) for r in cursor.fetchall()]
    else:
        return None
    found: dict[UUID, list[StoredEvent]] = {}
    for originator_id, version, topic, state in rows:
        key = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        found.setdefault(key, []).append(StoredEvent(originator_id=key, originator_version=version, topic=topic,
                                                     state=state))
    return found

"""SQLAlchemy engine for the read tables (the same database as the events by default)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

from adapters.event_store import PoolSize, sqlalchemy_url


def make_read_engine(database_url: str, pool: PoolSize = PoolSize()) -> Engine:
    url = sqlalchemy_url(database_url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No server-side prepared statements: a generic plan made while a table was small (a seq scan)
    # would stick after five executions, and projecting a large import into it becomes quadratic.
    return create_engine(url, pool_size=pool.size, max_overflow=pool.max_overflow, pool_pre_ping=True,
                         connect_args={"prepare_threshold": None})


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()

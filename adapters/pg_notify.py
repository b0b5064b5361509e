"""Wake a projector as soon as PostgreSQL commits new events (LISTEN/NOTIFY).

The `eventsourcing` PostgreSQL recorder sends NOTIFY on its events-table channel with every
insert; listening to it is all a projector needs to react within milliseconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)


def start_listener(conninfo: str, channel: str, wake: Callable[[], object], stop: threading.Event) -> threading.Thread:
    def listen() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    while not stop.is_set():
                        for _ in connection.notifies(timeout=1.0, stop_after=1):
                            wake()
            except psycopg.Error:
                log.warning("LISTEN connection lost; polling until it is back")
                stop.wait(2.0)

    thread = threading.Thread(target=listen, name="pg-listen", daemon=True)
    thread.start()
    return thread

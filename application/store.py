"""The one event-sourced application holding every aggregate: one log, one order of events."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from domain.agents import Agent
from domain.chats import Chat


class ConcurrentChangeError(Exception):
    """Another process changed the same aggregate first; the command may be retried."""


class EventStore(Application[UUID]):
    name = "despacho"
    snapshotting_intervals: ClassVar = {Chat: 100, Agent: 100}

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Snapshots hold aggregate state, which keeps sets (an agent's campaigns and open chats)."""
        super().register_transcodings(transcoder)
        transcoder.register(SetAsList())

    def on_new_events(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every save in this process (wakes embedded projectors)."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def notify(self, new_events: list[DomainEventProtocol[UUID]]) -> None:
        for listener in list(self._listeners):
            listener()


class SetAsList(Transcoding):
    type = set
    name = "set"

    def encode(self, obj: set[Any]) -> list[Any]:
        return sorted(obj, key=repr)

    def decode(self, data: list[Any]) -> set[Any]:
        return set(data)


def retry_on_conflict(command: Callable[[], Any], attempts: int = 5) -> Any:
    """Run a load-decide-save command again when a concurrent save won the race."""
    for attempt in range(attempts):
        try:
            return command()
        except IntegrityError as exc:
            if attempt == attempts - 1:
                raise ConcurrentChangeError("too many concurrent changes, try again") from exc
    return None

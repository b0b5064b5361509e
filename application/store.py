"""The one event-sourced application holding every aggregate: one log, one order of events."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, project_aggregate
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, JSONTranscoder, StoredEvent, Transcoding

from domain.agents import Agent
from domain.chats import Chat

# Reads every stored event of several aggregates at once from the store's recorder; None when it cannot.
EventsOf = Callable[[Any, Sequence[UUID]], "dict[UUID, list[StoredEvent]] | None"]


class ConcurrentChangeError(Exception):
    """Another process changed the same aggregate first; the command may be retried."""


class EventStore(Application[UUID]):
    name = "despacho"
    snapshotting_intervals: ClassVar = {Chat: 100, Agent: 100}

    def __init__(self, env: Mapping[str, str] | None = None, *, events_of: EventsOf | None = None) -> None:
        super().__init__(env)
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()
        self._events_of = events_of

    def get_many(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, Any]:
        """Several aggregates in one read of the log where the recorder allows (else one by one); ids the store
        does not hold are left out. For sweeps: a command on one aggregate goes through `repository.get`."""
        stored = self._events_of(self.recorder, aggregate_ids) if self._events_of and aggregate_ids else None
        if stored is None:
            return {i: a for i in aggregate_ids if (a := self._get_if_any(i)) is not None}
        found = {i: project_aggregate(None, (self.mapper.to_domain_event(e) for e in events))
                 for i, events in stored.items()}
        return {i: a for i, a in found.items() if a is not None}

    def _get_if_any(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

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

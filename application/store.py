"""The one event-sourced application holding every aggregate: one log, one order of events."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Recording,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import IntegrityError, JSONTranscoder, StoredEvent, Transcoding

from domain.agents import Agent
from domain.chats import Chat

# Reads every stored event of several aggregates at once from the store's recorder; None when it cannot.
EventsOf = Callable[[Any, Sequence[UUID]], "dict[UUID, list[StoredEvent]] | None"]


class ConcurrentChangeError(Exception):
    """Another process changed the same aggregate first; the command may be retried."""


AUTHORITATIVE_CACHE = "AGGREGATE_CACHE_AUTHORITATIVE"


class EventStore(Application[UUID]):
    """With `AGGREGATE_CACHE_AUTHORITATIVE=y` (one process writes the store: the embedded server) an aggregate
    this process saved is read back from its cache without asking the store for newer events; a save that
    loses a race all the same (another process wrote) forgets its aggregates, so the retry reads the store."""

    name = "despacho"
    snapshotting_intervals: ClassVar = {Chat: 100, Agent: 100}

    def construct_repository(self) -> Repository[UUID]:
        cache_maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        if self.env.get(AUTHORITATIVE_CACHE, "n") != "y" or not cache_maxsize:
            return super().construct_repository()
        # Without fast-forwarding, the library caches each aggregate as it saves it.
        return CacheFirstRepository(event_store=self.events, snapshot_store=self.snapshots,
                                    cache_maxsize=int(cache_maxsize), fastforward=False)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's save, collecting aggregates without its runtime Protocol checks (most of the
        collection's cost); anything but an aggregate takes the library's path."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, Aggregate):
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            elif obj is not None:
                processing_event.collect_events(obj)
        processing_event.saved_kwargs.update(kwargs)
        try:
            recordings = self._record(processing_event)
        except IntegrityError:
            self._forget(processing_event.aggregates)
            raise
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)
        return recordings

    def _forget(self, aggregates: Mapping[UUID, Any]) -> None:
        for aggregate_id in aggregates:
            _evict(self.repository, aggregate_id)

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


class CacheFirstRepository(Repository[UUID]):
    """A repository whose cache is the truth for what this process saved: no fast-forward query. An aggregate
    changed but not saved (a command that failed half-way mutated the cached copy) is read again."""

    def get(self, aggregate_id: UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        if version is None and self.cache is not None:
            try:
                cached = self.cache.get(aggregate_id)
            except KeyError:
                pass
            else:
                if getattr(cached, "_pending_events", None):
                    _evict(self, aggregate_id)
        return super().get(aggregate_id, version=version, **kwargs)


def _evict(repository: Repository[UUID], aggregate_id: UUID) -> None:
    if repository.cache is not None:
        with contextlib.suppress(KeyError):
            repository.cache.get(aggregate_id, evict=True)


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


A = TypeVar("A")


def aggregate_or(store: EventStore, aggregate_id: str, kind: type[A], error: Exception) -> A:
    """The aggregate of that id if it is a `kind`; else `error`: an unknown id, a malformed one, or another
    kind's (an id typed into a URL may name anything)."""
    try:
        found: object = store.repository.get(UUID(aggregate_id))
    except (AggregateNotFoundError, ValueError) as exc:
        raise error from exc
    if not isinstance(found, kind):
        raise error
    return found

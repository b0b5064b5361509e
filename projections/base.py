"""What a projector is: tables it owns, handlers per event class, topics it touches.

A projector's tables are defined for a name suffix so `projections rebuild --verify` can build
fresh copies beside the live ones and compare them. A `BatchProjector` (every read model) applies
a batch to a unit of work (`projections/unit_of_work.py`) written once at the end of the batch; a
plain `Projector`'s handlers write through the connection, event by event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from eventsourcing.utils import get_topic
from sqlalchemy import Connection, MetaData, Table

from projections.unit_of_work import TableStatements, UnitOfWork

Handler = Callable[[Any, Any, Any], None]
# One event of a batch: its position in the log, its topic and the domain event.
Positioned = tuple[int, str, Any]


def handles(*event_classes: type) -> Callable[[Handler], Handler]:
    """Mark a projector method as the handler of these event classes."""

    def mark(method: Handler) -> Handler:
        method.__dict__.setdefault("_handles", []).extend(event_classes)
        return method

    return mark


class Projector:
    name: ClassVar[str]
    # A follower whose rows are its own record of work handed out (not derived data) starts at the log's
    # head when its tables are created, and is never rebuilt: replaying would hand the history out again.
    replays_history: ClassVar[bool] = True
    # A follower that hands work out to the workers; a one-off command catching up the read tables skips it,
    # so the work goes to the processes that run workers rather than to a broker that exits with the command.
    hands_out_work: ClassVar[bool] = False
    # A follower whose reactions people wait for (follow-ups, routing) runs in a lane of its own, never behind
    # the read models' batches.
    follows_closely: ClassVar[bool] = False

    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix
        self.metadata = MetaData()
        self.define_tables(self.metadata, suffix)
        self._handlers: dict[str, str] = {}
        for klass in reversed(type(self).__mro__):
            for attribute_name, attribute in vars(klass).items():
                for event_class in getattr(attribute, "_handles", ()):
                    self._handlers[get_topic(event_class)] = attribute_name
        self._touched: set[str] = set()
        self.log_position = 0

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        raise TypeError(f"{type(self).__name__} must define its tables")

    def handle(self, event_class: type, method_name: str) -> None:
        """Register a handler at run time, for projectors whose event classes come from a policy."""
        self._handlers[get_topic(event_class)] = method_name

    def before_commit(self, connection: Connection) -> None:
        """Called once per batch, after its last event and before its transaction commits."""

    def discard_batch(self) -> None:
        """The batch's transaction was rolled back: forget anything gathered for `before_commit`."""

    def after_commit(self, caught_up: bool) -> None:
        """Called after a batch committed; `caught_up` when it reached the end of the log."""

    def when_idle(self) -> None:
        """Called by a runner that found nothing new to apply (time-driven work of a follower)."""

    @property
    def position_key(self) -> str:
        return self.name + self.suffix

    @property
    def tables(self) -> list[Table]:
        """In the order `define_tables` defined them, whatever the suffix: a rebuild pairs live and fresh
        tables by position (sorting by name would pair `x_heads` with `x` under some suffixes)."""
        return list(self.metadata.tables.values())

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def project(self, connection: Connection, events: Sequence[Positioned]) -> None:
        """Apply a batch of events (those of this projector's topics) in the batch's transaction."""
        for position, topic, domain_event in events:
            self.log_position = position
            getattr(self, self._handlers[topic])(connection, domain_event)

    def apply(self, connection: Connection, domain_event: Any, position: int = 0) -> None:
        """Apply one event; `position` (its place in the log) is there for handlers that order rows by it."""
        topic = get_topic(type(domain_event))
        if topic in self._handlers:
            self.project(connection, [(position, topic, domain_event)])

    def touch(self, *topics: str) -> None:
        """Tell live pages that what they show under these topics changed."""
        self._touched.update(t for t in topics if t)

    def take_touched(self) -> set[str]:
        touched, self._touched = self._touched, set()
        return touched


class BatchProjector(Projector):
    """A projector whose handlers take the batch's unit of work: `batch.insert/update/delete/get/where`.

    `prefetch` may read, in a few statements, the rows the batch's handlers will need (by key or by a
    column's value); whatever it does not read is read on first use, once per batch."""

    def __init__(self, suffix: str = "") -> None:
        super().__init__(suffix)
        self._tables = self.tables
        self._statements = {table: TableStatements(table) for table in self._tables}

    def project(self, connection: Connection, events: Sequence[Positioned]) -> None:
        batch = UnitOfWork(connection, self._statements)
        self.prefetch(batch, [event for _, _, event in events])
        handlers = self._handlers
        for position, topic, domain_event in events:
            self.log_position = position
            getattr(self, handlers[topic])(batch, domain_event)
        batch.flush(self._tables)

    def prefetch(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        """Read ahead the rows this batch's handlers will look at (optional: they are read on demand)."""

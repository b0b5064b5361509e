"""Runs projectors: pull notifications after each one's position, apply a batch, commit.

The same code runs on SQLite and PostgreSQL. Rows and the new position are written in one
transaction and the position only moves from the value the batch started at, so a crash or a
second runner never applies an event twice nor skips one. On PostgreSQL a LISTEN wakes the
loop as soon as events are committed; on SQLite the embedded store wakes it in-process, and
both fall back to polling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, inspect

from application.store import EventStore
from projections.base import Projector
from projections.positions import (
    PositionMovedError,
    advance_position,
    ensure_position_row,
    read_position,
    reset_position,
)
from projections.positions import metadata as positions_metadata

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectorStatus:
    name: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


class ProjectionRunner:
    def __init__(self, store: EventStore, engine: Engine, projectors: Sequence[Projector], *,
                 batch_size: int = 500, publish: Callable[[Iterable[str]], None] | None = None) -> None:
        self.store = store
        self.engine = engine
        self.projectors = list(projectors)
        self.batch_size = batch_size
        self.publish = publish or (lambda topics: None)
        self.wake = Wake()
        self._turns = Turns()

    def create_tables(self) -> None:
        """Create missing tables. A projector whose live tables no longer match its definition (an upgrade
        added or removed a column, or changed a primary key) gets them recreated empty and projects the
        log again from the start: read tables are derived data, so rebuilding is the migration."""
        positions_metadata.create_all(self.engine)
        for projector in self.projectors:
            if _schema_changed(self.engine, projector):
                log.warning("read tables of %s changed shape; rebuilding them from the event log", projector.name)
                with self.engine.begin() as connection:
                    projector.metadata.drop_all(connection)
                    reset_position(connection, projector.position_key, 0 if projector.replays_history else self.head())
            projector.metadata.create_all(self.engine)
            _create_missing_indexes(self.engine, projector)
        with self.engine.begin() as connection:
            for projector in self.projectors:
                start = 0 if projector.replays_history else self.head()
                ensure_position_row(connection, projector.position_key, start)

    def in_a_turn(self) -> bool:
        """Whether a lane is applying a batch or reacting to one (a follower's dispatch) right now."""
        return self._turns.running > 0

    def head(self) -> int:
        return int(self.store.recorder.max_notification_id() or 0)

    def status(self) -> list[ProjectorStatus]:
        head = self.head()
        with self.engine.connect() as connection:
            return [ProjectorStatus(p.position_key, read_position(connection, p.position_key), head)
                    for p in self.projectors]

    def run_batch(self, projector: Projector, stop: int | None = None) -> int:
        """Apply the next batch to one projector; returns how many notifications it consumed."""
        with self.engine.connect() as connection:
            start = read_position(connection, projector.position_key)
        if stop is not None and start >= stop:
            return 0
        notifications = self.store.recorder.select_notifications(
            start=start, limit=self.batch_size, stop=stop, inclusive_of_start=False)
        if not notifications:
            return 0
        wanted = projector.topics
        try:
            with self.engine.begin() as connection:
                # Claim the batch first: a second runner waits on the position row, then finds it moved,
                # instead of applying the batch next to ours and failing on duplicate rows.
                advance_position(connection, projector.position_key, start, notifications[-1].id, datetime.now(UTC))
                to_domain_event = self.store.mapper.to_domain_event
                projector.project(connection, [(n.id, n.topic, to_domain_event(n))
                                               for n in notifications if n.topic in wanted])
                projector.before_commit(connection)
        except PositionMovedError:
            projector.take_touched()
            projector.discard_batch()
            log.info("projector %s moved by another runner; batch discarded", projector.name)
            return 0
        except BaseException:
            projector.take_touched()
            projector.discard_batch()
            raise
        self.publish(projector.take_touched())
        projector.after_commit(caught_up=len(notifications) < self.batch_size)
        return len(notifications)

    def catch_up(self, stop: int | None = None, *, hand_out_work: bool = True) -> dict[str, int]:
        """Apply everything up to now (or `stop`) to every projector (but the followers that hand work out to
        workers, when `hand_out_work` is false: one-off commands). Rounds repeat while one applied anything: a
        follower late in the order (the risk judge) may record events the projectors before it have not seen."""
        applied: dict[str, int] = {}
        while True:
            round_applied = 0
            for projector in self.projectors:
                if projector.hands_out_work and not hand_out_work:
                    continue
                total = 0
                while (count := self.run_batch(projector, stop)) > 0:
                    total += count
                applied[projector.position_key] = applied.get(projector.position_key, 0) + total
                round_applied += total
            if not round_applied or stop is not None:
                return applied

    def run_forever(self, stop_event: threading.Event, poll_seconds: float = 1.0) -> None:
        """Run every lane until `stop_event`: the followers' lane in a thread of its own, so a follow-up or an
        assignment never waits behind the read tables' batches; the read models' lane here."""
        follow, read = self._lanes()
        thread = threading.Thread(target=self._run_lane, args=(follow, stop_event, poll_seconds),
                                  name="followers", daemon=True)
        thread.start()
        self._run_lane(read, stop_event, poll_seconds)
        thread.join(timeout=poll_seconds * 5)

    def start_thread(self, stop_event: threading.Event, poll_seconds: float = 1.0) -> threading.Thread:
        self.store.on_new_events(self.wake.set)
        thread = threading.Thread(target=self.run_forever, args=(stop_event, poll_seconds),
                                  name="projector", daemon=True)
        thread.start()
        return thread

    def _lanes(self) -> tuple[list[Projector], list[Projector]]:
        follow = [p for p in self.projectors if p.follows_closely]
        return follow, [p for p in self.projectors if not p.follows_closely]

    def _run_lane(self, projectors: Sequence[Projector], stop_event: threading.Event, poll_seconds: float) -> None:
        woken = self.wake.lane()
        while not stop_event.is_set():
            try:
                with self._turns:
                    # Every projector gets its batch each turn: one with constant work must not starve the rest.
                    worked = sum(self.run_batch(p) for p in projectors) > 0
            except Exception:
                log.exception("projection batch failed; retrying")
                worked = False
                stop_event.wait(poll_seconds)
            if not worked:
                _when_idle(projectors)
                woken.wait(poll_seconds)
                woken.clear()


class Turns:
    """Counts the lanes in the middle of a turn, so waiting for the read side can wait for their reactions."""

    def __init__(self) -> None:
        self.running = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.running += 1

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self.running -= 1


class Wake:
    """Wakes every lane of the runner at once (new events were committed)."""

    def __init__(self) -> None:
        self._lanes: list[threading.Event] = []
        self._lock = threading.Lock()

    def lane(self) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._lanes.append(event)
        return event

    def set(self) -> None:
        with self._lock:
            lanes = list(self._lanes)
        for event in lanes:
            event.set()


def _when_idle(projectors: Sequence[Projector]) -> None:
    for projector in projectors:
        try:
            projector.when_idle()
        except Exception:
            log.exception("idle work of %s failed", projector.name)


def _create_missing_indexes(engine: Engine, projector: Projector) -> None:
    """An upgrade that only adds an index keeps the rows: the index is built beside them."""
    for table in projector.tables:
        for index in table.indexes:
            index.create(engine, checkfirst=True)


def _schema_changed(engine: Engine, projector: Projector) -> bool:
    """A table whose columns or primary key differ from its definition (a key change alone counts:
    rows keyed the old way may collide or duplicate under the new one)."""
    inspector = inspect(engine)
    return any(inspector.has_table(table.name) and (
        {c["name"] for c in inspector.get_columns(table.name)} != set(table.columns.keys())
        or set(inspector.get_pk_constraint(table.name)["constrained_columns"]) != set(table.primary_key.columns.keys())
    ) for table in projector.tables)


def wait_until_projected(runner: ProjectionRunner, timeout: float = 10.0) -> None:
    """Block until every projector has reached the log's head (tests and CLI use it)."""
    deadline = threading.Event()
    timer = threading.Timer(timeout, deadline.set)
    timer.start()
    try:
        while not deadline.is_set():
            head = runner.head()
            if not runner.in_a_turn() and all(s.position >= head for s in runner.status()) \
                    and runner.head() == head:
                return
            deadline.wait(0.02)
        raise TimeoutError("projections did not catch up in time")
    finally:
        timer.cancel()



def wait_for_position(runner: ProjectionRunner, position: int, names: Sequence[str], timeout: float = 5.0) -> bool:
    """Wait until the named projectors have applied the log up to `position` (read your own writes)."""
    deadline = time.monotonic() + timeout
    while True:
        positions = {s.name: s.position for s in runner.status()}
        if all(positions.get(name, 0) >= position for name in names):
            return True
        if time.monotonic() >= deadline:
            return False
        runner.wake.set()
        time.sleep(0.02)

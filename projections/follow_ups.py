"""The follower of the event log that records and hands out follow-up work (see application/follow_ups.py).

It runs on the projection runner like any projector: a batch's follow-ups are written to the
`follow_ups` ledger in the same transaction as the follower's position, and handed to the broker
just before that transaction commits. So a crash before the commit replays the batch (the ids
are deterministic, the actors idempotent) and a crash after it finds the ledger row: nothing is
lost and nothing is done twice. A worker deletes the row when its job succeeds; rows still
pending after a while (a broker that lost its queue) are handed out again by `redeliver`.

The ledger is the follower's own state, not a read model: it is never rebuilt from the log,
which would hand out the whole history again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)

from application.follow_ups import FollowUpPolicy
from projections.base import BatchProjector
from projections.sql import UtcDateTime
from projections.unit_of_work import UnitOfWork

PENDING, FAILED = "pending", "failed"


@dataclass(frozen=True)
class Handout:
    """A follow-up as the broker receives it: its id (the message id) and what to run."""

    follow_up_id: str
    job: str
    args: tuple[str, ...]
    delay_seconds: float = 0


Deliver = Callable[[Sequence[Handout]], None]


class FollowUpsFollower(BatchProjector):
    name = "follow_ups"
    replays_history = False  # started on a log with history, it begins at the head
    hands_out_work = True
    follows_closely = True

    def __init__(self, suffix: str = "", *, policy: FollowUpPolicy | None = None,
                 deliver: Deliver | None = None) -> None:
        self.policy = policy or FollowUpPolicy()
        self.deliver = deliver or (lambda handouts: None)
        self._batch: list[Handout] = []
        super().__init__(suffix)
        for event_type in self.policy.event_types:
            self.handle(event_type, "follow")

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.ledger = Table(
            f"follow_ups{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("job", String(40), nullable=False),
            Column("args", Text, nullable=False),
            Column("cause_position", BigInteger, nullable=False),
            Column("state", String(10), nullable=False),
            Column("deliveries", Integer, nullable=False),
            Column("created_at", UtcDateTime, nullable=False),
            Column("delivered_at", UtcDateTime, nullable=False),
            Column("error", Text, nullable=False),
            Index(f"ix_follow_ups_state_delivered{suffix}", "state", "delivered_at"),
        )

    def follow(self, batch: UnitOfWork, event: Any) -> None:
        follow_ups = self.policy.after(event)
        if not follow_ups:
            return
        handouts = [Handout(f.id_for(event), f.job, f.args, f.delay_seconds) for f in follow_ups]
        for h in handouts:
            batch.replace(self.ledger, id=h.follow_up_id, job=h.job, args=json.dumps(h.args),
                          cause_position=self.log_position, state=PENDING, deliveries=1, created_at=event.at,
                          delivered_at=event.at, error="")
        self._batch.extend(handouts)

    def before_commit(self, connection: Connection) -> None:
        batch, self._batch = self._batch, []
        if batch:
            self.deliver(batch)

    def discard_batch(self) -> None:
        self._batch = []


class FollowUpLedger:
    """What workers and operators do with the ledger: finish, fail, find what to hand out again."""

    def __init__(self, engine: Engine, follower: FollowUpsFollower) -> None:
        self.engine = engine
        self.table = follower.ledger

    def done(self, follow_up_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(self.table).where(self.table.c.id == follow_up_id))

    def failed(self, follow_up_id: str, error: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(self.table).where(self.table.c.id == follow_up_id)
                               .values(state=FAILED, error=error[:2000]))

    def due_again(self, delivered_before: datetime, *, max_deliveries: int, limit: int) -> list[Handout]:
        """Pending follow-ups handed out before `delivered_before`, oldest first, that may be handed out again."""
        table = self.table
        query = (select(table.c.id, table.c.job, table.c.args)
                 .where(table.c.state == PENDING, table.c.delivered_at < delivered_before,
                        table.c.deliveries < max_deliveries)
                 .order_by(table.c.delivered_at, table.c.id).limit(limit))
        with self.engine.connect() as connection:
            return [Handout(row.id, row.job, tuple(json.loads(row.args))) for row in connection.execute(query)]

    def handed_out_again(self, handouts: Sequence[Handout], at: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(self.table).where(self.table.c.id.in_([h.follow_up_id for h in handouts]))
                               .values(deliveries=self.table.c.deliveries + 1, delivered_at=at))

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            found: dict[str, int] = dict(connection.execute(select(self.table.c.state, func.count())
                                            .group_by(self.table.c.state)).all())
        return {state: int(found.get(state, 0)) for state in (PENDING, FAILED)}

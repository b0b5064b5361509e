"""The inbound follower: every message the webhook recorded is put on its chat, in the order Twilio gave them.

The webhook saves only the `InboundMessage`. This follower keeps, in a table written in the same
transaction as its position, the messages recorded but not yet attached, each with its place in
the log; after every batch (and when idle, so a crash between recording and attaching is finished
on restart) it attaches them one by one in log order. Attaching is idempotent (the message's
`Attached` is saved with the chat's events or not at all), so a second runner or a replay adds
nothing; and a customer's second message is never attached before their first: when one fails,
the rest of that customer's messages wait for the next turn.

Like the follow-ups ledger, the table is the follower's own record of work, not a read model: it
starts at the log's head and is never rebuilt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Engine, Index, MetaData, String, Table, delete, select

from domain.messages import InboundMessage
from domain.threads import CustomerThread
from projections.base import Projector, handles
from projections.sql import uid, upsert

log = logging.getLogger(__name__)
Attach = Callable[[str], object]


class InboundFollower(Projector):
    name = "inbound_attachments"
    replays_history = False
    hands_out_work = True  # attaching belongs to the long-running processes, not to a one-off command
    follows_closely = True

    def __init__(self, suffix: str = "", *, engine: Engine | None = None, attach: Attach | None = None) -> None:
        super().__init__(suffix)
        self.engine = engine
        self.attach: Attach = attach or (lambda inbound_id: None)
        self.recorded = False

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.pending = Table(
            f"inbound_pending{suffix}", metadata,
            Column("inbound_id", String(36), primary_key=True),
            Column("thread_id", String(36), nullable=False),
            Column("position", BigInteger, nullable=False),
            Index(f"ix_inbound_pending_position{suffix}", "position"),
        )

    @handles(InboundMessage.Received)
    def received(self, connection: Connection, event: Any) -> None:
        if event.chat_id:  # recorded before attaching was a step of its own: it came with its chat
            return
        thread_id = CustomerThread.create_id(event.params.get("From", ""), event.params.get("To", ""))
        upsert(connection, self.pending, [{"inbound_id": uid(event.originator_id), "thread_id": uid(thread_id),
                                           "position": self.log_position}], ["inbound_id"])
        self.recorded = True

    @handles(InboundMessage.Attached)
    def attached(self, connection: Connection, event: Any) -> None:
        connection.execute(delete(self.pending).where(self.pending.c.inbound_id == uid(event.originator_id)))

    def after_commit(self, caught_up: bool) -> None:
        if self.recorded:
            self.recorded = False
            self.attach_pending()

    def discard_batch(self) -> None:
        self.recorded = False

    def when_idle(self) -> None:
        self.attach_pending()

    def attach_pending(self) -> int:
        """Attach every pending message in log order; returns how many were tried."""
        if self.engine is None:
            return 0
        with self.engine.connect() as connection:
            rows = connection.execute(select(self.pending.c.inbound_id, self.pending.c.thread_id)
                                      .order_by(self.pending.c.position)).all()
        failed_threads: set[str] = set()
        for inbound_id, thread_id in rows:
            if thread_id in failed_threads:
                continue  # a later message of a customer whose earlier one failed waits behind it
            try:
                self.attach(inbound_id)
            except Exception:
                log.exception("inbound message not attached; retried on the next turn",
                              extra={"inbound_id": inbound_id})
                failed_threads.add(thread_id)
        return len(rows)

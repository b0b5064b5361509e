"""Read model of proactive sends: each broadcast with its state and counts, each of its messages with its fate
(sent, delivered, failed with its code, whether the customer replied), and what a preview and the throttle need:
the customers who opted out per sender and the senders whose proactive sends are held by critical risk.

A broadcast message's row is keyed by the message's id, which the broadcast derives from itself and the customer,
so the wave that requested it names it before the message's own `Requested` is read. A reply is the customer
writing in a chat opened, on the broadcast's sender, after the broadcast messaged them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table, Text

from domain.broadcasts import Broadcast, message_id_for
from domain.chats import Chat
from domain.consent import Consent
from domain.messages import STATUS_RANK, OutboundMessage
from domain.risk import SenderRisk
from projections.base import BatchProjector, handles
from projections.sql import UtcDateTime, uid
from projections.unit_of_work import UnitOfWork

STATE_CHANGES = {
    Broadcast.Paused: "paused", Broadcast.Resumed: "running", Broadcast.Cancelled: "cancelled",
    Broadcast.Completed: "completed", Broadcast.HeldByRisk: "held_by_risk", Broadcast.ContinuedAfterRisk: "running",
}


class BroadcastsProjector(BatchProjector):
    name = "broadcasts"

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.broadcasts = Table(
            f"broadcasts{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("campaign_id", String(36), nullable=False, index=True),
            Column("name", String(120), nullable=False),
            Column("sender", String(80), nullable=False),
            Column("channel", String(10), nullable=False),
            Column("content_sid", String(64), nullable=False),
            Column("template_name", String(200), nullable=False),
            Column("variables", JSON, nullable=False),
            Column("segment", JSON, nullable=False),
            Column("start_at", UtcDateTime, nullable=False),
            Column("state", String(20), nullable=False),
            Column("selected", Integer, nullable=False),
            Column("excluded", JSON, nullable=False),
            Column("messaged", Integer, nullable=False),
            Column("skipped", Integer, nullable=False),
            Column("scheduled_by", String(80), nullable=False),
            Column("scheduled_at", UtcDateTime, nullable=False),
            Column("changed_by", String(80), nullable=False),
            Column("changed_at", UtcDateTime, nullable=False),
        )
        self.messages = Table(
            f"broadcast_messages{suffix}", metadata,
            Column("message_id", String(36), primary_key=True),
            Column("broadcast_id", String(36), nullable=False),
            Column("customer", String(40), nullable=False),
            Column("to_address", String(64), nullable=False),
            Column("status", String(20), nullable=False),
            Column("error_code", String(20), nullable=False),
            Column("replied", Boolean, nullable=False),
            Index(f"ix_broadcast_messages_broadcast{suffix}", "broadcast_id", "status"),
        )
        self.contacts = Table(  # the latest broadcast message to a customer from a sender: where a reply counts
            f"broadcast_contacts{suffix}", metadata,
            Column("sender", String(80), primary_key=True),
            Column("customer_address", String(64), primary_key=True),
            Column("message_id", String(36), nullable=False),
        )
        self.chats = Table(
            f"broadcast_chats{suffix}", metadata,
            Column("chat_id", String(36), primary_key=True),
            Column("message_id", String(36), nullable=False),
        )
        self.consents = Table(
            f"broadcast_consents{suffix}", metadata,
            Column("consent_id", String(36), primary_key=True),
            Column("sender", String(80), nullable=False),
            Column("customer_address", String(64), nullable=False),
            Column("opted_out", Boolean, nullable=False),
            Index(f"ix_broadcast_consents_sender{suffix}", "sender", "opted_out"),
        )
        self.holds = Table(
            f"broadcast_sender_holds{suffix}", metadata,
            Column("sender", String(80), primary_key=True),
            Column("level", String(20), nullable=False),
            Column("held", Boolean, nullable=False),
            Column("held_at", UtcDateTime),
            Column("resumed_by", String(80), nullable=False),
            Column("resume_reason", Text, nullable=False),
            Column("resumed_at", UtcDateTime),
        )

    def prefetch(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        batch.load(self.broadcasts, [uid(e.originator_id) for e in events if isinstance(e, Broadcast.Event)])
        batch.load(self.messages, [uid(e.originator_id) for e in events if isinstance(e, OutboundMessage.Event)])
        batch.load(self.chats, [uid(e.originator_id) for e in events if isinstance(e, Chat.CustomerWrote)])
        batch.load(self.consents, [uid(e.originator_id) for e in events if isinstance(e, Consent.Event)])
        batch.load(self.contacts, [(e.sender_address, e.customer_address) for e in events
                                   if isinstance(e, Chat.Opened)])

    # ---- broadcasts ----
    @handles(Broadcast.Scheduled)
    def scheduled(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.broadcasts, id=uid(event.originator_id), campaign_id=event.campaign_id, name=event.name,
                     sender=event.sender, channel=event.channel, content_sid=event.content_sid,
                     template_name=event.template_name, variables=event.variables, segment=event.segment,
                     start_at=event.start_at, state="scheduled", selected=0, excluded={}, messaged=0, skipped=0,
                     scheduled_by=event.actor, scheduled_at=event.at, changed_by=event.actor, changed_at=event.at)

    @handles(Broadcast.Started)
    def started(self, batch: UnitOfWork, event: Any) -> None:
        self._change(batch, event, state="running", selected=len(event.recipients), excluded=event.excluded)

    @handles(Broadcast.WaveSent)
    def wave_sent(self, batch: UnitOfWork, event: Any) -> None:
        row = batch.get(self.broadcasts, uid(event.originator_id))
        if row is None:
            return
        for customer in event.messaged:
            batch.insert(self.messages, message_id=uid(message_id_for(event.originator_id, customer)),
                         broadcast_id=uid(event.originator_id), customer=customer, to_address="",
                         status="requested", error_code="", replied=False)
        batch.update(self.broadcasts, row["id"], messaged=row["messaged"] + len(event.messaged),
                     skipped=row["skipped"] + len(event.skipped))

    @handles(*STATE_CHANGES)
    def state_changed(self, batch: UnitOfWork, event: Any) -> None:
        self._change(batch, event, state=STATE_CHANGES[type(event)])

    def _change(self, batch: UnitOfWork, event: Any, **values: Any) -> None:
        batch.update(self.broadcasts, uid(event.originator_id), changed_by=event.actor, changed_at=event.at, **values)

    # ---- their messages ----
    @handles(OutboundMessage.Requested)
    def message_requested(self, batch: UnitOfWork, event: Any) -> None:
        if event.kind != "broadcast" or batch.get(self.messages, uid(event.originator_id)) is None:
            return
        batch.update(self.messages, uid(event.originator_id), to_address=event.to)
        batch.upsert(self.contacts, sender=event.sender, customer_address=event.to,
                     message_id=uid(event.originator_id))

    @handles(OutboundMessage.Submitted, OutboundMessage.StatusReported, OutboundMessage.Failed)
    def message_status(self, batch: UnitOfWork, event: Any) -> None:
        row = batch.get(self.messages, uid(event.originator_id))
        if row is None:
            return
        status = "failed" if isinstance(event, OutboundMessage.Failed) else event.status
        if _rank(status) <= _rank(row["status"]):
            return
        batch.update(self.messages, row["message_id"], status=status,
                     error_code=getattr(event, "error_code", "") or row["error_code"])

    # ---- replies ----
    @handles(Chat.Opened)
    def chat_opened(self, batch: UnitOfWork, event: Any) -> None:
        contact = batch.get(self.contacts, (event.sender_address, event.customer_address))
        if contact is not None:
            batch.insert(self.chats, chat_id=uid(event.originator_id), message_id=contact["message_id"])

    @handles(Chat.CustomerWrote)
    def customer_wrote(self, batch: UnitOfWork, event: Any) -> None:
        chat = batch.get(self.chats, uid(event.originator_id))
        if chat is None:
            return
        message = batch.get(self.messages, chat["message_id"])
        if message is not None and not message["replied"]:
            batch.update(self.messages, chat["message_id"], replied=True)

    # ---- who may not receive one ----
    @handles(Consent.Recorded)
    def consent_recorded(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.consents, consent_id=uid(event.originator_id), sender=event.sender_address,
                     customer_address=event.customer_address, opted_out=False)

    @handles(Consent.OptedOut, Consent.OptedIn)
    def consent_changed(self, batch: UnitOfWork, event: Any) -> None:
        batch.update(self.consents, uid(event.originator_id), opted_out=isinstance(event, Consent.OptedOut))

    @handles(SenderRisk.LevelChanged)
    def level_changed(self, batch: UnitOfWork, event: Any) -> None:
        known = batch.get(self.holds, event.sender)
        if event.level == "critical":
            batch.upsert(self.holds, sender=event.sender, level=event.level, held=True, held_at=event.at,
                         resumed_by=known["resumed_by"] if known else "",
                         resume_reason=known["resume_reason"] if known else "",
                         resumed_at=known["resumed_at"] if known else None)
        elif known is not None:
            batch.update(self.holds, event.sender, level=event.level)

    @handles(SenderRisk.ProactiveSendsResumed)
    def proactive_sends_resumed(self, batch: UnitOfWork, event: Any) -> None:
        batch.update(self.holds, event.sender, held=False, resumed_by=event.actor, resume_reason=event.reason,
                     resumed_at=event.at)


def _rank(status: str) -> int:
    return STATUS_RANK.get(status, -1)

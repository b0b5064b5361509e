"""Read model of outbound delivery: every message with its status history, unmatched callbacks, alerts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text

from domain.delivery_alerts import DeliveryAlert, MessageRetry
from domain.messages import FINAL_STATUSES, STATUS_RANK, OutboundMessage, UnmatchedStatus
from projections.base import BatchProjector, handles
from projections.sql import UtcDateTime, event_key, uid
from projections.unit_of_work import Row, UnitOfWork


def customer_phone(address: str) -> str:
    """`whatsapp:+57300…` and `+57300…` are the same phone for searching."""
    return address.split(":", 1)[-1]


class MessagesProjector(BatchProjector):
    name = "messages"

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.messages = Table(
            f"outbound_messages{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("chat_id", String(36), index=True),
            Column("campaign_id", String(36)),
            Column("agent_id", String(36)),
            Column("kind", String(20), nullable=False),
            Column("channel", String(10), nullable=False),
            Column("to_address", String(64), nullable=False),
            Column("customer_phone", String(32), nullable=False, index=True),
            Column("sender_address", String(80), nullable=False),
            Column("content_sid", String(64), nullable=False),
            Column("sid", String(64), index=True),
            Column("status", String(20), nullable=False),
            Column("error_code", String(20), index=True),
            Column("error_message", String(500)),
            Column("attempts", Integer, nullable=False),
            Column("retry_of", String(36)),
            Column("retried_by", String(36)),
            Column("actor", String(80), nullable=False),
            Column("requested_at", UtcDateTime, nullable=False, index=True),
            Column("submitted_at", UtcDateTime),
            Column("final_at", UtcDateTime),
            Column("updated_at", UtcDateTime, nullable=False),
            Index(f"ix_outbound_messages_campaign_requested{suffix}", "campaign_id", "requested_at"),
            Index(f"ix_outbound_messages_status_requested{suffix}", "status", "requested_at"),
            Index(f"ix_outbound_messages_sender_requested{suffix}", "sender_address", "requested_at"),
        )
        self.history = Table(
            f"outbound_message_events{suffix}", metadata,
            Column("event_id", String(36), primary_key=True),
            Column("message_id", String(36), nullable=False),
            Column("version", Integer, nullable=False),
            Column("event", String(20), nullable=False),
            Column("status", String(20)),
            Column("error_code", String(20)),
            Column("detail", String(500)),
            Column("sid", String(64)),
            Column("attempt", Integer),
            Column("actor", String(80), nullable=False),
            Column("at", UtcDateTime, nullable=False),
            Index(f"ix_outbound_message_events_message{suffix}", "message_id", "version"),
        )
        self.unmatched = Table(
            f"unmatched_status_callbacks{suffix}", metadata,
            Column("event_id", String(36), primary_key=True),
            Column("sid", String(64), nullable=False, index=True),
            Column("status", String(20), nullable=False),
            Column("error_code", String(20), nullable=False),
            Column("params", JSON, nullable=False),
            Column("received_at", UtcDateTime, nullable=False, index=True),
        )
        self.alerts = Table(
            f"delivery_alerts{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("kind", String(20), nullable=False),
            Column("campaign_id", String(36)),
            Column("message_id", String(36), index=True),
            Column("chat_id", String(36)),
            Column("sender_address", String(80), nullable=False),
            Column("error_code", String(20), nullable=False),
            Column("detail", Text, nullable=False),
            Column("figures", JSON, nullable=False),
            Column("raised_at", UtcDateTime, nullable=False),
            Column("state", String(20), nullable=False),
            Column("acknowledged_by", String(80)),
            Column("acknowledged_at", UtcDateTime),
            Index(f"ix_delivery_alerts_state{suffix}", "state", "campaign_id", "raised_at"),
        )

    def prefetch(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        ids = [uid(e.originator_id) for e in events if isinstance(e, OutboundMessage.Event)]
        ids += [key for e in events if isinstance(e, MessageRetry.Requested)
                for key in (e.original_message_id, e.retry_message_id)]
        batch.load(self.messages, ids)

    def _history(self, batch: UnitOfWork, event: Any, name: str, **values: Any) -> None:
        batch.insert(self.history, event_id=event_key(event), message_id=uid(event.originator_id),
                     version=event.originator_version, event=name, actor=event.actor, at=event.at, **values)

    def _current(self, batch: UnitOfWork, event: Any) -> Row:
        row = batch.get(self.messages, uid(event.originator_id))
        if row is None:
            raise LookupError(f"no message {event.originator_id} in {self.messages.name}")
        return row

    def _update(self, batch: UnitOfWork, event: Any, **values: Any) -> None:
        batch.update(self.messages, uid(event.originator_id), updated_at=event.at, **values)

    def _moved_to(self, batch: UnitOfWork, event: Any, status: str) -> dict[str, Any]:
        """Values for a status change, never backwards (as the aggregate), stamping the first final one."""
        current = self._current(batch, event)
        self.touch(f"chat:{current['chat_id']}" if current["chat_id"] else "", "audit")
        if STATUS_RANK.get(status, -1) <= STATUS_RANK.get(current["status"], -1):
            return {}
        values: dict[str, Any] = {"status": status}
        if status in FINAL_STATUSES and current["final_at"] is None:
            values["final_at"] = event.at
        return values

    @handles(OutboundMessage.Requested)
    def requested(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.messages, id=uid(event.originator_id), chat_id=event.chat_id or None,
                     campaign_id=event.campaign_id or None, agent_id=event.agent_id or None, kind=event.kind,
                     channel=event.channel, to_address=event.to, customer_phone=customer_phone(event.to),
                     sender_address=event.sender, content_sid=event.content_sid, status="requested", attempts=0,
                     actor=event.actor, requested_at=event.at, updated_at=event.at)
        self._history(batch, event, "requested", status="requested")
        self.touch("audit")

    @handles(OutboundMessage.AttemptStarted)
    def attempt_started(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, attempts=event.attempt)
        self._history(batch, event, "attempt_started", attempt=event.attempt)

    @handles(OutboundMessage.Submitted)
    def submitted(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, sid=event.sid, submitted_at=event.at,
                     **self._moved_to(batch, event, event.status))
        self._history(batch, event, "submitted", status=event.status, sid=event.sid)

    @handles(OutboundMessage.StatusReported)
    def status_reported(self, batch: UnitOfWork, event: Any) -> None:
        errors = {"error_code": event.error_code, "error_message": event.error_message[:500] or None} \
            if event.error_code else {}
        self._update(batch, event, **self._moved_to(batch, event, event.status), **errors)
        self._history(batch, event, "status_reported", status=event.status,
                      error_code=event.error_code or None, detail=event.error_message[:500] or None)

    @handles(OutboundMessage.Failed)
    def failed(self, batch: UnitOfWork, event: Any) -> None:
        current = self._current(batch, event)
        self._update(batch, event, status="failed", error_code=event.error_code,
                     error_message=event.reason[:500], final_at=current["final_at"] or event.at)
        self._history(batch, event, "failed", status="failed", error_code=event.error_code,
                      detail=event.reason[:500])
        self.touch(f"chat:{current['chat_id']}" if current["chat_id"] else "", "audit")

    @handles(OutboundMessage.AnsweredByTwilio)
    def answered_by_twilio(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, **self._moved_to(batch, event, "answered_by_twilio"))
        self._history(batch, event, "answered_by_twilio", status="answered_by_twilio", detail=event.reason[:500])

    @handles(MessageRetry.Requested)
    def retried(self, batch: UnitOfWork, event: Any) -> None:
        original = batch.update(self.messages, event.original_message_id, retried_by=event.retry_message_id)
        batch.update(self.messages, event.retry_message_id, retry_of=event.original_message_id)
        chat_id = original["chat_id"] if original is not None else None
        self.touch(f"chat:{chat_id}" if chat_id else "", "audit")

    @handles(UnmatchedStatus.Reported)
    def unmatched_reported(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.unmatched, event_id=event_key(event), sid=event.params.get("MessageSid", ""),
                     status=event.status, error_code=event.error_code, params=event.params, received_at=event.at)

    @handles(DeliveryAlert.Raised)
    def alert_raised(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.alerts, id=uid(event.originator_id), kind=event.kind, campaign_id=event.campaign_id or None,
                     message_id=event.message_id or None, chat_id=event.chat_id or None, sender_address=event.sender,
                     error_code=event.error_code, detail=event.detail, figures=event.figures, raised_at=event.at,
                     state="open")
        self.touch("alerts")

    @handles(DeliveryAlert.Acknowledged)
    def alert_acknowledged(self, batch: UnitOfWork, event: Any) -> None:
        batch.update(self.alerts, uid(event.originator_id), state="acknowledged", acknowledged_by=event.actor,
                     acknowledged_at=event.at)
        self.touch("alerts")

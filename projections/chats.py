"""Read model of chats: their state and timers, the conversation timeline, and assignments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from domain.chats import AGENT_OFFLINE, CONFIRMATION_FAILED, NO_AGENT, Chat
from domain.messages import FAILED_STATUSES, OutboundMessage, accepted_by_twilio
from projections.base import Projector, handles
from projections.sql import UtcDateTime, event_key, uid


class ChatsProjector(Projector):
    name = "chats"

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.chats = Table(
            f"chats{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("campaign_id", String(36), index=True),
            Column("status", String(20), nullable=False),
            Column("channel", String(10), nullable=False),
            Column("customer_address", String(64), nullable=False, index=True),
            Column("sender_address", String(64), nullable=False),
            Column("profile_name", String(120), nullable=False),
            Column("customer_name", String(200), nullable=False),
            Column("document_type", String(5)),
            Column("document_number", String(20)),
            Column("agent_id", String(36), index=True),
            Column("opened_at", UtcDateTime, nullable=False),
            Column("queued_at", UtcDateTime),
            Column("assigned_at", UtcDateTime),
            Column("first_agent_reply_at", UtcDateTime),
            Column("last_customer_message_at", UtcDateTime),
            Column("last_agent_message_at", UtcDateTime),
            Column("unanswered_since", UtcDateTime),
            Column("outside_hours", Boolean, nullable=False),
            Column("bot_pending", Integer, nullable=False),
            Column("alerted_streak_at", UtcDateTime),
            Column("bot_inactive_since", UtcDateTime),
            Column("queue_alerted", Boolean, nullable=False),
            Column("closed_at", UtcDateTime),
            Column("close_reason", String(20)),
            Column("closed_by", String(80)),
            Column("disposition", String(60)),
            Column("close_note", Text),
            Column("unattended", Boolean),
            Column("confirmation_message_id", String(36), index=True),
            Column("confirmation_status", String(12)),
            Column("confirmation_failure_recorded", Boolean, nullable=False),
            Column("confirmation_alert_open", Boolean, nullable=False),
            Column("transcript_location", String(400)),
            Column("transcript_sha256", String(64)),
            Index(f"ix_chats_status_queued{suffix}", "status", "campaign_id", "queued_at"),
            # The sweeps take the oldest first: chats waiting for the bot or idle in it, closes left unfinished.
            Index(f"ix_chats_status_last_customer{suffix}", "status", "last_customer_message_at"),
            Index(f"ix_chats_status_closed{suffix}", "status", "closed_at"),
            Index(f"ix_chats_confirmation{suffix}", "confirmation_status", "confirmation_failure_recorded"),
            Index(f"ix_chats_confirmation_alert{suffix}", "confirmation_alert_open"),
        )
        self.timeline = Table(
            f"chat_messages{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("chat_id", String(36), nullable=False),
            Column("at", UtcDateTime, nullable=False),
            Column("author_kind", String(10), nullable=False),
            Column("author_id", String(80), nullable=False),
            Column("body", Text, nullable=False),
            Column("media", JSON, nullable=False),
            Column("message_sid", String(64)),
            Column("log_position", BigInteger),
            Index(f"ix_chat_messages_chat{suffix}", "chat_id", "at"),
        )
        self.alerts = Table(
            f"chat_alerts{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("chat_id", String(36), nullable=False, index=True),
            Column("campaign_id", String(36)),
            Column("agent_id", String(36)),
            Column("kind", String(20), nullable=False),
            Column("streak_started_at", UtcDateTime, nullable=False),
            Column("raised_at", UtcDateTime, nullable=False),
            Column("state", String(20), nullable=False),
            Column("acknowledged_by", String(80)),
            Column("acknowledged_at", UtcDateTime),
            Column("resolved_at", UtcDateTime),
            Column("error_code", String(20)),
            Column("resolved_by", String(80)),
            Column("resolution_note", Text),
            Index(f"ix_chat_alerts_state{suffix}", "state", "campaign_id"),
        )
        self.assignments = Table(
            f"chat_assignments{suffix}", metadata,
            Column("event_id", String(36), primary_key=True),
            Column("chat_id", String(36), nullable=False, index=True),
            Column("campaign_id", String(36), nullable=False),
            Column("agent_id", String(36), nullable=False, index=True),
            Column("previous_agent_id", String(36)),
            Column("kind", String(12), nullable=False),
            Column("exceptional", Boolean, nullable=False),
            Column("reason", Text, nullable=False),
            Column("decision", JSON, nullable=False),
            Column("actor", String(80), nullable=False),
            Column("at", UtcDateTime, nullable=False),
        )

    def _update(self, connection: Connection, event: Any, **values: Any) -> dict[str, Any]:
        chat_id = uid(event.originator_id)
        if values:
            connection.execute(update(self.chats).where(self.chats.c.id == chat_id).values(**values))
        row = connection.execute(select(self.chats.c.campaign_id, self.chats.c.agent_id)
                                 .where(self.chats.c.id == chat_id)).one()
        self.touch(f"chat:{chat_id}", f"queue:{row.campaign_id}" if row.campaign_id else "queue:",
                   f"desk:{row.agent_id}" if row.agent_id else "")
        return dict(row._mapping)

    @handles(Chat.Opened)
    def opened(self, connection: Connection, event: Any) -> None:
        connection.execute(insert(self.chats).values(
            id=uid(event.originator_id), status="bot", channel=event.channel,
            customer_address=event.customer_address, sender_address=event.sender_address,
            profile_name=event.profile_name, customer_name="", opened_at=event.at, outside_hours=False, bot_pending=0,
            queue_alerted=False, confirmation_failure_recorded=False, confirmation_alert_open=False))

    @handles(Chat.CustomerWrote)
    def customer_wrote(self, connection: Connection, event: Any) -> None:
        self._timeline(connection, event, "customer", "customer", event.body, event.media, event.message_sid)
        chat = connection.execute(select(self.chats.c.status, self.chats.c.unanswered_since, self.chats.c.bot_pending)
                                  .where(self.chats.c.id == uid(event.originator_id))).one()
        in_bot = chat.status == "bot"
        self._update(connection, event, last_customer_message_at=event.at,
                     bot_pending=chat.bot_pending + 1 if in_bot else 0,
                     unanswered_since=chat.unanswered_since if in_bot else chat.unanswered_since or event.at)

    @handles(Chat.BotAdvanced, Chat.BotReplyWithheld)
    def bot_advanced(self, connection: Connection, event: Any) -> None:
        pending = connection.execute(select(self.chats.c.bot_pending)
                                     .where(self.chats.c.id == uid(event.originator_id))).scalar_one()
        self._update(connection, event, bot_pending=max(pending - 1, 0))

    @handles(Chat.BotInactivityRecorded)
    def bot_inactive(self, connection: Connection, event: Any) -> None:
        self._update(connection, event, bot_inactive_since=event.since)

    @handles(Chat.CustomerIdentified)
    def identified(self, connection: Connection, event: Any) -> None:
        self._update(connection, event, campaign_id=event.campaign_id, document_type=event.document_type,
                     document_number=event.document_number, customer_name=event.customer_name)

    @handles(Chat.Queued)
    def queued(self, connection: Connection, event: Any) -> None:
        self._update(connection, event, campaign_id=event.campaign_id, status="waiting_queue",
                     bot_pending=0, queued_at=event.at, outside_hours=event.outside_hours, unanswered_since=event.at)

    @handles(Chat.AgentAssigned)
    def assigned(self, connection: Connection, event: Any) -> None:
        row = self._update(connection, event, status="assigned", agent_id=event.agent_id, assigned_at=event.at)
        self._resolve_alerts(connection, event, "queue_wait", NO_AGENT)
        self._assignment(connection, event, row["campaign_id"], event.agent_id, None,
                         "exceptional" if event.exceptional else "automatic", event.decision)
        self.touch(f"desk:{event.agent_id}")

    @handles(Chat.Reassigned)
    def reassigned(self, connection: Connection, event: Any) -> None:
        row = self._update(connection, event, agent_id=event.to_agent_id)
        self._resolve_alerts(connection, event, AGENT_OFFLINE)
        self._assignment(connection, event, row["campaign_id"], event.to_agent_id, event.from_agent_id,
                         "reassigned", {}, exceptional=event.to_unavailable)
        self.touch(f"desk:{event.from_agent_id}", f"desk:{event.to_agent_id}")

    @handles(Chat.Requeued)
    def requeued(self, connection: Connection, event: Any) -> None:
        """Back in the queue because its agent went offline: on the chat's assignment history, with why."""
        self._update(connection, event, status="waiting_queue", agent_id=None, queued_at=event.at, queue_alerted=False)
        self._resolve_alerts(connection, event, AGENT_OFFLINE)
        self._assignment(connection, event, event.campaign_id, event.from_agent_id, event.from_agent_id, "requeued", {})
        self.touch(f"desk:{event.from_agent_id}")

    @handles(Chat.AgentReplied)
    def agent_replied(self, connection: Connection, event: Any) -> None:
        first = connection.execute(select(self.chats.c.first_agent_reply_at)
                                   .where(self.chats.c.id == uid(event.originator_id))).scalar()
        self._update(connection, event, last_agent_message_at=event.at, unanswered_since=None,
                     first_agent_reply_at=first or event.at)
        self._resolve_alerts(connection, event, "unanswered")

    @handles(Chat.AlertRaised)
    def alert_raised(self, connection: Connection, event: Any) -> None:
        markers = {"queue_wait": {"queue_alerted": True}, NO_AGENT: {}, AGENT_OFFLINE: {}}
        row = self._update(connection, event, **markers.get(event.kind, {"alerted_streak_at": event.streak_started_at}))
        connection.execute(insert(self.alerts).values(
            id=event_key(event), chat_id=uid(event.originator_id), campaign_id=row["campaign_id"],
            agent_id=row["agent_id"] if event.kind == "unanswered" else None, kind=event.kind,
            streak_started_at=event.streak_started_at, raised_at=event.at, state="open"))
        self.touch("alerts")

    @handles(Chat.AlertAcknowledged)
    def alert_acknowledged(self, connection: Connection, event: Any) -> None:
        alerts = self.alerts.c
        connection.execute(update(self.alerts).where(
            alerts.chat_id == uid(event.originator_id), alerts.kind == event.kind,
            alerts.streak_started_at == event.streak_started_at, alerts.state == "open",
        ).values(state="acknowledged", acknowledged_by=event.actor, acknowledged_at=event.at))
        self.touch("alerts", f"chat:{uid(event.originator_id)}")

    def _resolve_alerts(self, connection: Connection, event: Any, *kinds: str, **how: Any) -> None:
        alerts = self.alerts.c
        connection.execute(update(self.alerts).where(
            alerts.chat_id == uid(event.originator_id), alerts.kind.in_(kinds), alerts.state != "resolved",
        ).values(state="resolved", resolved_at=event.at, **how))
        self.touch("alerts")

    @handles(Chat.Closed)
    def closed(self, connection: Connection, event: Any) -> None:
        self._resolve_alerts(connection, event, "unanswered", "queue_wait", NO_AGENT, AGENT_OFFLINE)
        self._update(connection, event, status="closed", closed_at=event.at, close_reason=event.reason,
                     closed_by=event.actor, disposition=event.disposition or None,
                     close_note=event.note or None, unattended=event.unattended)

    @handles(Chat.ClosingConfirmationRequested)
    def confirmation_requested(self, connection: Connection, event: Any) -> None:
        self._update(connection, event, confirmation_message_id=event.message_id, confirmation_status="requested")

    @handles(Chat.ConfirmationResent)
    def confirmation_resent(self, connection: Connection, event: Any) -> None:
        self._update(connection, event, confirmation_message_id=event.message_id, confirmation_status="requested",
                     confirmation_failure_recorded=False)

    @handles(Chat.ConfirmationFailed)
    def confirmation_failed(self, connection: Connection, event: Any) -> None:
        """One open alert per chat however many confirmations fail; it shows the latest reason."""
        row = self._update(connection, event, confirmation_failure_recorded=True, confirmation_alert_open=True)
        alerts = self.alerts.c
        still_open = update(self.alerts).where(alerts.chat_id == uid(event.originator_id),
                                               alerts.kind == CONFIRMATION_FAILED, alerts.state != "resolved")
        if connection.execute(still_open.values(error_code=event.error_code[:20])).rowcount == 0:
            closed_at = connection.execute(select(self.chats.c.closed_at)
                                           .where(self.chats.c.id == uid(event.originator_id))).scalar_one()
            connection.execute(insert(self.alerts).values(
                id=event_key(event), chat_id=uid(event.originator_id), campaign_id=row["campaign_id"], agent_id=None,
                kind=CONFIRMATION_FAILED, streak_started_at=closed_at or event.at, raised_at=event.at, state="open",
                error_code=event.error_code[:20]))
        self.touch("alerts")

    @handles(Chat.ConfirmationAccepted)
    def confirmation_accepted(self, connection: Connection, event: Any) -> None:
        self._update(connection, event, confirmation_alert_open=False)
        self._resolve_alerts(connection, event, CONFIRMATION_FAILED, resolved_by=event.actor)

    @handles(Chat.ConfirmationAlertResolved)
    def confirmation_alert_resolved(self, connection: Connection, event: Any) -> None:
        self._update(connection, event, confirmation_alert_open=False)
        self._resolve_alerts(connection, event, CONFIRMATION_FAILED, resolved_by=event.actor,
                             resolution_note=event.note)

    @handles(OutboundMessage.Submitted)
    def message_submitted(self, connection: Connection, event: Any) -> None:
        self._confirmation_fate(connection, event, "accepted" if accepted_by_twilio(event.sid, event.status)
                                else "failed")

    @handles(OutboundMessage.StatusReported)
    def message_status_reported(self, connection: Connection, event: Any) -> None:
        if event.status in FAILED_STATUSES:
            self._confirmation_fate(connection, event, "failed")

    @handles(OutboundMessage.Failed)
    def message_failed(self, connection: Connection, event: Any) -> None:
        self._confirmation_fate(connection, event, "failed")

    def _confirmation_fate(self, connection: Connection, event: Any, status: str) -> None:
        """Whether Twilio took a chat's closing confirmation (R8), for the close audit and the confirmation sweep."""
        chats = self.chats.c
        connection.execute(update(self.chats).where(
            chats.confirmation_message_id == uid(event.originator_id), chats.confirmation_status != "failed",
        ).values(confirmation_status=status))

    @handles(Chat.TranscriptStored)
    def transcript_stored(self, connection: Connection, event: Any) -> None:
        self._update(connection, event, transcript_location=event.location, transcript_sha256=event.sha256)
        self._resolve_alerts(connection, event, "close_incomplete")

    @handles(OutboundMessage.Requested)
    def outbound_requested(self, connection: Connection, event: Any) -> None:
        if event.chat_id:
            author = event.agent_id or event.kind
            self._timeline(connection, event, "agent" if event.agent_id else "bot", author,
                           event.body or f"[plantilla {event.content_sid}]", [], None,
                           row_id=uid(event.originator_id), chat_id=event.chat_id)
            self.touch(f"chat:{event.chat_id}")

    def _timeline(self, connection: Connection, event: Any, author_kind: str, author_id: str, body: str,
                  media: list[dict[str, str]], message_sid: str | None, *, row_id: str | None = None,
                  chat_id: str | None = None) -> None:
        connection.execute(insert(self.timeline).values(
            id=row_id or event_key(event), chat_id=chat_id or uid(event.originator_id), at=event.at,
            author_kind=author_kind, author_id=author_id, body=body, media=media, message_sid=message_sid,
            log_position=self.log_position))

    def _assignment(self, connection: Connection, event: Any, campaign_id: str, agent_id: str,
                    previous: str | None, kind: str, decision: dict[str, Any], *, exceptional: bool = False) -> None:
        connection.execute(insert(self.assignments).values(
            event_id=event_key(event), chat_id=uid(event.originator_id), campaign_id=campaign_id,
            agent_id=agent_id, previous_agent_id=previous, kind=kind, exceptional=exceptional or kind == "exceptional",
            reason=getattr(event, "reason", ""), decision=decision, actor=event.actor, at=event.at))

"""Read model of chats: their state and timers, the conversation timeline, and assignments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text

from domain.chats import AGENT_OFFLINE, CONFIRMATION_FAILED, NO_AGENT, Chat
from domain.messages import FAILED_STATUSES, OutboundMessage, accepted_by_twilio
from projections.base import BatchProjector, handles
from projections.sql import UtcDateTime, event_key, uid
from projections.unit_of_work import Row, UnitOfWork

LAST_MESSAGE_LENGTH = 160


def _last_message(author_kind: str, body: str) -> dict[str, str]:
    """The conversation's latest message as the desk's chat list shows it: one line, trimmed."""
    line = " ".join(body.split())
    trimmed = line if len(line) <= LAST_MESSAGE_LENGTH else line[:LAST_MESSAGE_LENGTH - 1] + "…"
    return {"last_message_body": trimmed, "last_message_author": author_kind}


class ChatsProjector(BatchProjector):
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
            Column("agent_id", String(36)),
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
            Column("survey_status", String(20)),
            Column("survey_score", Integer),
            Column("survey_answered_at", UtcDateTime),
            Column("customer_messages", Integer, nullable=False),
            Column("last_message_body", String(LAST_MESSAGE_LENGTH)),
            Column("last_message_author", String(10)),
            Index(f"ix_chats_status_queued{suffix}", "status", "campaign_id", "queued_at"),
            # The sweeps take the oldest first: chats waiting for the bot or idle in it, closes left unfinished.
            Index(f"ix_chats_status_last_customer{suffix}", "status", "last_customer_message_at"),
            Index(f"ix_chats_status_closed{suffix}", "status", "closed_at"),
            # The dashboards count the chats opened today (and by hour) among every chat ever opened.
            Index(f"ix_chats_campaign_opened{suffix}", "campaign_id", "opened_at"),
            # The timer sweep reads only what is due, per campaign: silent for 24 hours, unanswered too long.
            Index(f"ix_chats_status_campaign_last_customer{suffix}", "status", "campaign_id",
                  "last_customer_message_at"),
            Index(f"ix_chats_status_campaign_unanswered{suffix}", "status", "campaign_id", "unanswered_since"),
            # An agent's open chats among every chat they ever had.
            Index(f"ix_chats_agent_status{suffix}", "agent_id", "status", "assigned_at"),
            Index(f"ix_chats_confirmation{suffix}", "confirmation_status", "confirmation_failure_recorded"),
            Index(f"ix_chats_confirmation_alert{suffix}", "confirmation_alert_open"),
            # The search and the chat page's history: a customer's chats by document or phone, an agent's, a
            # disposition's, each within the viewer's campaigns (the campaign in the key, so a supervisor's search
            # is not read through every chat of their campaigns); every campaign's or status's by date.
            Index(f"ix_chats_document_campaign{suffix}", "document_number", "campaign_id", "opened_at"),
            Index(f"ix_chats_campaign_address{suffix}", "campaign_id", "customer_address", "opened_at"),
            Index(f"ix_chats_agent_campaign{suffix}", "agent_id", "campaign_id", "opened_at"),
            Index(f"ix_chats_disposition_campaign{suffix}", "disposition", "campaign_id", "opened_at"),
            Index(f"ix_chats_status_opened{suffix}", "status", "opened_at"),
            Index(f"ix_chats_opened{suffix}", "opened_at"),
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
        self.reads = Table(  # the read marker behind the desk's unread counts
            f"chat_reads{suffix}", metadata,
            Column("chat_id", String(36), primary_key=True),
            Column("agent_id", String(36), primary_key=True),
            Column("customer_messages", Integer, nullable=False),
            Column("at", UtcDateTime, nullable=False),
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

    def prefetch(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        """The chats of the batch with their alerts, and the chats whose closing confirmation a message is."""
        chat_ids = [uid(e.originator_id) for e in events if isinstance(e, Chat.Event)]
        chat_ids += [e.chat_id for e in events if isinstance(e, OutboundMessage.Requested) and e.chat_id]
        batch.load(self.chats, chat_ids)
        batch.load_groups(self.alerts, "chat_id", chat_ids)
        batch.load_groups(self.chats, "confirmation_message_id",
                          [uid(e.originator_id) for e in events if isinstance(e, OutboundMessage.Event)
                           and not isinstance(e, OutboundMessage.Requested)])

    def _update(self, batch: UnitOfWork, event: Any, **values: Any) -> Row:
        chat_id = uid(event.originator_id)
        row = batch.update(self.chats, chat_id, **values)
        if row is None:
            raise LookupError(f"no chat {chat_id} in {self.chats.name}")
        self.touch(f"chat:{chat_id}", f"queue:{row['campaign_id']}" if row["campaign_id"] else "queue:",
                   f"desk:{row['agent_id']}" if row["agent_id"] else "")
        return row

    def _chat(self, batch: UnitOfWork, event: Any) -> Row:
        row = batch.get(self.chats, uid(event.originator_id))
        if row is None:
            raise LookupError(f"no chat {event.originator_id} in {self.chats.name}")
        return row

    @handles(Chat.Opened)
    def opened(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.chats, id=uid(event.originator_id), status="bot", campaign_id=event.campaign_id or None,
                     channel=event.channel,
                     customer_address=event.customer_address, sender_address=event.sender_address,
                     profile_name=event.profile_name, customer_name="", opened_at=event.at, outside_hours=False,
                     bot_pending=0, queue_alerted=False, confirmation_failure_recorded=False,
                     confirmation_alert_open=False, customer_messages=0)

    @handles(Chat.CustomerWrote)
    def customer_wrote(self, batch: UnitOfWork, event: Any) -> None:
        self._timeline(batch, event, "customer", "customer", event.body, event.media, event.message_sid)
        chat = self._chat(batch, event)
        in_bot = chat["status"] == "bot"
        self._update(batch, event, last_customer_message_at=event.at,
                     customer_messages=chat["customer_messages"] + 1, **_last_message("customer", event.body),
                     bot_pending=chat["bot_pending"] + 1 if in_bot else 0,
                     unanswered_since=chat["unanswered_since"] if in_bot else chat["unanswered_since"] or event.at)

    @handles(Chat.Seen)
    def seen(self, batch: UnitOfWork, event: Any) -> None:
        """How many of the customer's messages the agent has seen; the desk counts the rest as unread."""
        batch.replace(self.reads, chat_id=uid(event.originator_id), agent_id=event.agent_id,
                      customer_messages=event.customer_messages, at=event.at)
        self.touch(f"desk:{event.agent_id}")

    @handles(Chat.BotAdvanced, Chat.BotReplyWithheld)
    def bot_advanced(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, bot_pending=max(self._chat(batch, event)["bot_pending"] - 1, 0))

    @handles(Chat.BotInactivityRecorded)
    def bot_inactive(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, bot_inactive_since=event.since)

    @handles(Chat.CustomerIdentified)
    def identified(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, campaign_id=event.campaign_id, document_type=event.document_type,
                     document_number=event.document_number, customer_name=event.customer_name)

    @handles(Chat.Queued)
    def queued(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, campaign_id=event.campaign_id, status="waiting_queue",
                     bot_pending=0, queued_at=event.at, outside_hours=event.outside_hours, unanswered_since=event.at)

    @handles(Chat.AgentAssigned)
    def assigned(self, batch: UnitOfWork, event: Any) -> None:
        row = self._update(batch, event, status="assigned", agent_id=event.agent_id, assigned_at=event.at)
        self._resolve_alerts(batch, event, "queue_wait", NO_AGENT)
        self._assignment(batch, event, row["campaign_id"], event.agent_id, None,
                         "exceptional" if event.exceptional else "automatic", event.decision)
        self.touch(f"desk:{event.agent_id}")

    @handles(Chat.Reassigned)
    def reassigned(self, batch: UnitOfWork, event: Any) -> None:
        row = self._update(batch, event, agent_id=event.to_agent_id)
        self._resolve_alerts(batch, event, AGENT_OFFLINE)
        self._assignment(batch, event, row["campaign_id"], event.to_agent_id, event.from_agent_id,
                         "reassigned", {}, exceptional=event.to_unavailable)
        self.touch(f"desk:{event.from_agent_id}", f"desk:{event.to_agent_id}")

    @handles(Chat.Requeued)
    def requeued(self, batch: UnitOfWork, event: Any) -> None:
        """Back in the queue because its agent went offline: on the chat's assignment history, with why."""
        self._update(batch, event, status="waiting_queue", agent_id=None, queued_at=event.at, queue_alerted=False)
        self._resolve_alerts(batch, event, AGENT_OFFLINE)
        self._assignment(batch, event, event.campaign_id, event.from_agent_id, event.from_agent_id, "requeued", {})
        self.touch(f"desk:{event.from_agent_id}")

    @handles(Chat.TransferredToCampaign)
    def transferred(self, batch: UnitOfWork, event: Any) -> None:
        """Waiting in another campaign's queue, without an agent: on the assignment history with who, why and where
        from (R5); the old campaign's queue and the old agent's desk see it go."""
        self._update(batch, event, campaign_id=event.campaign_id, status="waiting_queue", agent_id=None,
                     queued_at=event.at, queue_alerted=False)
        self._resolve_alerts(batch, event, "queue_wait", NO_AGENT, AGENT_OFFLINE)
        self._assignment(batch, event, event.campaign_id, event.from_agent_id, event.from_agent_id or None,
                         "transferred", {"from_campaign_id": event.from_campaign_id,
                                         "to_campaign_id": event.campaign_id})
        self.touch(f"queue:{event.from_campaign_id}", f"desk:{event.from_agent_id}" if event.from_agent_id else "")

    @handles(Chat.AgentReplied)
    def agent_replied(self, batch: UnitOfWork, event: Any) -> None:
        first = self._chat(batch, event)["first_agent_reply_at"]
        self._update(batch, event, last_agent_message_at=event.at, unanswered_since=None,
                     first_agent_reply_at=first or event.at)
        self._resolve_alerts(batch, event, "unanswered")

    @handles(Chat.NoteAdded)
    def note_added(self, batch: UnitOfWork, event: Any) -> None:
        """On the timeline as a note, for staff; the chat's reply times and timers do not move."""
        self._timeline(batch, event, "note", event.author_id, event.text, [], None, row_id=event.note_id)
        self.touch(f"chat:{uid(event.originator_id)}")

    @handles(Chat.AlertRaised)
    def alert_raised(self, batch: UnitOfWork, event: Any) -> None:
        markers = {"queue_wait": {"queue_alerted": True}, NO_AGENT: {}, AGENT_OFFLINE: {}}
        row = self._update(batch, event, **markers.get(event.kind, {"alerted_streak_at": event.streak_started_at}))
        batch.insert(self.alerts, id=event_key(event), chat_id=uid(event.originator_id),
                     campaign_id=row["campaign_id"], agent_id=row["agent_id"] if event.kind == "unanswered" else None,
                     kind=event.kind, streak_started_at=event.streak_started_at, raised_at=event.at, state="open")
        self.touch("alerts")

    @handles(Chat.AlertAcknowledged)
    def alert_acknowledged(self, batch: UnitOfWork, event: Any) -> None:
        for alert in self._alerts(batch, event):
            if alert["kind"] == event.kind and alert["streak_started_at"] == event.streak_started_at \
                    and alert["state"] == "open":
                batch.update(self.alerts, alert["id"], state="acknowledged", acknowledged_by=event.actor,
                             acknowledged_at=event.at)
        self.touch("alerts", f"chat:{uid(event.originator_id)}")

    def _alerts(self, batch: UnitOfWork, event: Any) -> list[Row]:
        return batch.where(self.alerts, "chat_id", uid(event.originator_id))

    def _resolve_alerts(self, batch: UnitOfWork, event: Any, *kinds: str, **how: Any) -> None:
        for alert in self._alerts(batch, event):
            if alert["kind"] in kinds and alert["state"] != "resolved":
                batch.update(self.alerts, alert["id"], state="resolved", resolved_at=event.at, **how)
        self.touch("alerts")

    @handles(Chat.Closed)
    def closed(self, batch: UnitOfWork, event: Any) -> None:
        self._resolve_alerts(batch, event, "unanswered", "queue_wait", NO_AGENT, AGENT_OFFLINE)
        self._update(batch, event, status="closed", closed_at=event.at, close_reason=event.reason,
                     closed_by=event.actor, disposition=event.disposition or None,
                     close_note=event.note or None, unattended=event.unattended)

    @handles(Chat.ClosingConfirmationRequested)
    def confirmation_requested(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, confirmation_message_id=event.message_id, confirmation_status="requested")

    @handles(Chat.ConfirmationResent)
    def confirmation_resent(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, confirmation_message_id=event.message_id, confirmation_status="requested",
                     confirmation_failure_recorded=False)

    @handles(Chat.ConfirmationFailed)
    def confirmation_failed(self, batch: UnitOfWork, event: Any) -> None:
        """One open alert per chat however many confirmations fail; it shows the latest reason."""
        row = self._update(batch, event, confirmation_failure_recorded=True, confirmation_alert_open=True)
        still_open = [alert for alert in self._alerts(batch, event)
                      if alert["kind"] == CONFIRMATION_FAILED and alert["state"] != "resolved"]
        for alert in still_open:
            batch.update(self.alerts, alert["id"], error_code=event.error_code[:20])
        if not still_open:
            batch.insert(self.alerts, id=event_key(event), chat_id=uid(event.originator_id),
                         campaign_id=row["campaign_id"], agent_id=None, kind=CONFIRMATION_FAILED,
                         streak_started_at=row["closed_at"] or event.at, raised_at=event.at, state="open",
                         error_code=event.error_code[:20])
        self.touch("alerts")

    @handles(Chat.ConfirmationAccepted)
    def confirmation_accepted(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, confirmation_alert_open=False)
        self._resolve_alerts(batch, event, CONFIRMATION_FAILED, resolved_by=event.actor)

    @handles(Chat.ConfirmationAlertResolved)
    def confirmation_alert_resolved(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, confirmation_alert_open=False)
        self._resolve_alerts(batch, event, CONFIRMATION_FAILED, resolved_by=event.actor,
                             resolution_note=event.note)

    @handles(OutboundMessage.Submitted)
    def message_submitted(self, batch: UnitOfWork, event: Any) -> None:
        self._confirmation_fate(batch, event, "accepted" if accepted_by_twilio(event.sid, event.status)
                                else "failed")

    @handles(OutboundMessage.StatusReported)
    def message_status_reported(self, batch: UnitOfWork, event: Any) -> None:
        if event.status in FAILED_STATUSES:
            self._confirmation_fate(batch, event, "failed")

    @handles(OutboundMessage.Failed)
    def message_failed(self, batch: UnitOfWork, event: Any) -> None:
        self._confirmation_fate(batch, event, "failed")

    def _confirmation_fate(self, batch: UnitOfWork, event: Any, status: str) -> None:
        """Whether Twilio took a chat's closing confirmation (R8), for the close audit and the confirmation sweep."""
        for chat in batch.where(self.chats, "confirmation_message_id", uid(event.originator_id)):
            # As SQL's `confirmation_status != 'failed'`, which a NULL status does not satisfy.
            if chat["confirmation_status"] is not None and chat["confirmation_status"] != "failed":
                batch.update(self.chats, chat["id"], confirmation_status=status)

    @handles(Chat.SurveyRequested)
    def survey_requested(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, survey_status="requested")

    @handles(Chat.SurveyWithheld)
    def survey_withheld(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, survey_status=event.reason)

    @handles(Chat.SurveyAnswered)
    def survey_answered(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, survey_status="answered", survey_score=event.score, survey_answered_at=event.at)

    @handles(Chat.TranscriptStored)
    def transcript_stored(self, batch: UnitOfWork, event: Any) -> None:
        self._update(batch, event, transcript_location=event.location, transcript_sha256=event.sha256)
        self._resolve_alerts(batch, event, "close_incomplete")

    @handles(OutboundMessage.Requested)
    def outbound_requested(self, batch: UnitOfWork, event: Any) -> None:
        if event.chat_id:
            author_kind = "agent" if event.agent_id else "bot"
            body = event.body or (f"[plantilla {event.content_sid}]" if event.content_sid else "")
            self._timeline(batch, event, author_kind, event.agent_id or event.kind, body, [], None,
                           row_id=uid(event.originator_id), chat_id=event.chat_id)
            row = batch.update(self.chats, event.chat_id, **_last_message(author_kind, body))
            self.touch(f"chat:{event.chat_id}", f"desk:{row['agent_id']}" if row and row["agent_id"] else "")

    @handles(OutboundMessage.FileAttached)
    def outbound_file_attached(self, batch: UnitOfWork, event: Any) -> None:
        """The image or PDF an agent sent, shown with its message (`location` stays on the server)."""
        row = batch.update(self.timeline, uid(event.originator_id), media=[
            {"content_type": event.content_type, "file_name": event.file_name, "location": event.location,
             "sent": True}])
        if row is None:
            return
        if not row["body"]:  # a file without a caption: the chat list says what was sent
            batch.update(self.chats, row["chat_id"], **_last_message("agent", f"[{event.file_name}]"))
        self.touch(f"chat:{row['chat_id']}")

    def _timeline(self, batch: UnitOfWork, event: Any, author_kind: str, author_id: str, body: str,
                  media: list[dict[str, str]], message_sid: str | None, *, row_id: str | None = None,
                  chat_id: str | None = None) -> None:
        batch.insert(self.timeline, id=row_id or event_key(event), chat_id=chat_id or uid(event.originator_id),
                     at=event.at, author_kind=author_kind, author_id=author_id, body=body, media=media,
                     message_sid=message_sid, log_position=self.log_position)

    def _assignment(self, batch: UnitOfWork, event: Any, campaign_id: str, agent_id: str,
                    previous: str | None, kind: str, decision: dict[str, Any], *, exceptional: bool = False) -> None:
        batch.insert(self.assignments, event_id=event_key(event), chat_id=uid(event.originator_id),
                     campaign_id=campaign_id, agent_id=agent_id, previous_agent_id=previous, kind=kind,
                     exceptional=exceptional or kind == "exceptional", reason=getattr(event, "reason", ""),
                     decision=decision, actor=event.actor, at=event.at)

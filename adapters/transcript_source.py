"""A closed chat's transcript, assembled from the event log (the record of truth) and stored as a PDF.

Everything printed comes from events: the chat's own history, the outbound messages it refers
to (with their final delivery status), the campaign and the agents' names. Rendering the same
closed chat twice gives the same bytes, so a retried close stores nothing new.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from adapters.file_storage import FileStorage
from adapters.transcripts import (
    AgentStint,
    AlertEntry,
    Attachment,
    AuthorKind,
    BotStepEntry,
    TranscriptData,
    TranscriptEntry,
    TranscriptRenderer,
    publish_transcript,
)
from application.closing import StoredTranscript
from application.store import EventStore
from domain.campaigns import Campaign
from domain.chats import Chat
from domain.dispositions import disposition_label
from domain.labels import actor_name, bot_step_action
from domain.messages import OutboundMessage


class TranscriptMaker:
    def __init__(self, store: EventStore, storage: FileStorage, renderer: TranscriptRenderer | None = None) -> None:
        self.store = store
        self.storage = storage
        self._renderer = renderer

    @property
    def renderer(self) -> TranscriptRenderer:
        if self._renderer is None:
            self._renderer = TranscriptRenderer()
        return self._renderer

    def __call__(self, chat_id: str) -> StoredTranscript:
        stored = publish_transcript(self.data(chat_id), self.renderer, self.storage)
        return StoredTranscript(stored.location, stored.sha256)

    def data(self, chat_id: str) -> TranscriptData:
        events = list(self.store.events.get(UUID(chat_id)))
        chat: Chat = self.store.repository.get(UUID(chat_id))
        campaign = self._get(chat.campaign_id)
        closed = next(e for e in reversed(events) if isinstance(e, Chat.Closed))
        return TranscriptData(
            chat_id=chat_id,
            campaign_name=campaign.name if campaign else "Sin campaña",
            campaign_display_name=campaign.display_name if campaign else "",
            time_zone=campaign.settings.time_zone if campaign else "America/Bogota",
            channel=chat.channel, customer_name=chat.customer_name or chat.profile_name or chat.customer_address,
            customer_profile_name=chat.profile_name,
            customer_document_type=chat.document_type, customer_document_number=chat.document_number,
            customer_address=chat.customer_address, opened_at=events[0].at, closed_at=closed.at,
            closed_by=self._who(closed.actor), close_reason=closed.reason,
            disposition=self._disposition(closed.disposition, campaign), note=closed.note,
            agents=self._stints(events), entries=self._entries(events), bot_steps=self._bot_steps(events),
            alerts=[AlertEntry(e.at, e.kind, "registrada") for e in events if isinstance(e, Chat.AlertRaised)],
        )

    def _entries(self, events: list[Any]) -> list[TranscriptEntry]:
        entries = []
        for event in events:
            if isinstance(event, Chat.CustomerWrote):
                entries.append(TranscriptEntry(event.at, "customer", "", event.body, [
                    Attachment(m.get("content_type", "")) for m in event.media]))
            elif isinstance(event, (Chat.BotReplied, Chat.AgentReplied, Chat.ClosingConfirmationRequested,
                                    Chat.SurveyRequested)):
                entries.append(self._outbound_entry(event))
            elif isinstance(event, Chat.NoteAdded):
                entries.append(TranscriptEntry(event.at, "note", self._name(event.author_id), event.text))
        return entries

    def _outbound_entry(self, event: Any) -> TranscriptEntry:
        message: OutboundMessage = self.store.repository.get(UUID(event.message_id))
        kind: AuthorKind
        if isinstance(event, Chat.AgentReplied):
            kind, name = "agent", self._name(event.agent_id)
        elif isinstance(event, Chat.BotReplied):
            kind, name = "bot", ""
        elif isinstance(event, Chat.SurveyRequested):  # its answer comes after the PDF was stored, so it is not here
            kind, name = "system", "Encuesta de satisfacción"
        else:
            kind, name = "system", "Confirmación de cierre"
        text = message.body or (f"[Plantilla {message.content_sid}]" if message.content_sid else "")
        if message.file:
            text = f"{text} [Archivo enviado: {message.file['file_name']}]".strip()
        return TranscriptEntry(event.at, kind, name, text, delivery_status=message.status,
                               error_code=message.error_code or "")

    def _stints(self, events: list[Any]) -> list[AgentStint]:
        stints: list[AgentStint] = []
        for event in events:
            target = getattr(event, "agent_id", None) if isinstance(event, Chat.AgentAssigned) else (
                event.to_agent_id if isinstance(event, Chat.Reassigned) else None)
            if target is None and not isinstance(event, Chat.Closed | Chat.TransferredToCampaign):
                continue
            if stints and stints[-1].released_at is None:
                last = stints[-1]
                stints[-1] = AgentStint(last.name, last.assigned_at, event.at)
            if target:
                stints.append(AgentStint(self._name(target), event.at))
        return stints

    @staticmethod
    def _bot_steps(events: list[Any]) -> list[BotStepEntry]:
        return [BotStepEntry(e.at, str(step.get("state", "")),
                             bot_step_action(str(step.get("kind", "")), str(step.get("detail", ""))))
                for e in events if isinstance(e, Chat.BotAdvanced) for step in e.steps]

    @staticmethod
    def _disposition(code: str, campaign: Campaign | None) -> str:
        return disposition_label(code, campaign.settings.dispositions if campaign else ()) if code else ""

    def _who(self, actor: str) -> str:
        user_id = actor.removeprefix("user:") if actor.startswith("user:") else ""
        return actor_name(actor, {user_id: self._name(user_id)} if user_id else {})

    def _name(self, agent_id: str) -> str:
        agent = self._get(agent_id)
        return str(getattr(agent, "name", agent_id))

    def _get(self, aggregate_id: str | None) -> Any:
        if not aggregate_id:
            return None
        try:
            return self.store.repository.get(UUID(aggregate_id))
        except (AggregateNotFoundError, ValueError):  # print what we know rather than fail the close
            return None

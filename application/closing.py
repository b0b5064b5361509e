"""Closing a chat, whatever the cause, and driving the close to completion (R8).

`close` is the one command: agent (with a disposition), supervisor (with a reason), the 24-hour
rule, the customer's opt-out, or the bot. It releases the agent's capacity and frees the
customer's thread in the same save. `finish` then makes sure the closed chat has exactly one
closing confirmation and one stored PDF transcript; it is idempotent, so workers retry it until
both exist, and a crash in the middle resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.outbound import OutboundService, WindowClosedError
from application.ports import Clock
from application.staff import SessionClosedError, StaffService
from application.store import EventStore, retry_on_conflict
from domain.agents import Agent
from domain.campaigns import Campaign
from domain.chats import USER_CLOSE_REASONS, Chat, ChatError
from domain.common import DomainError, NotFoundError
from domain.consent import OptedOutError
from domain.messages import OutboundMessage
from domain.messaging_rules import whatsapp_window_open
from domain.sessions import AgentSession
from domain.threads import CustomerThread

CLOSER = "system:closing"
DEFAULT_CLOSING_TEXT = "Gracias por comunicarte con nosotros. Tu conversación ha finalizado."


@dataclass(frozen=True)
class StoredTranscript:
    location: str
    sha256: str


class ClosingService:
    def __init__(self, store: EventStore, clock: Clock, outbound: OutboundService, staff: StaffService,
                 make_transcript: Callable[[str], StoredTranscript] | None = None,
                 undetermined_campaign: Callable[[], str | None] = lambda: None) -> None:
        """`undetermined_campaign`: whose closing message and template a chat with no campaign yet gets (one
        that never left the bot of a number several campaigns share): the unidentified queue's."""
        self.undetermined_campaign = undetermined_campaign
        self.store = store
        self.clock = clock
        self.outbound = outbound
        self.staff = staff
        self.make_transcript = make_transcript

    def close(self, chat_id: str, reason: str, *, disposition: str = "", note: str = "", actor: str,
              at: datetime | None = None, session_id: str = "") -> None:
        """`at` is for the timer rules applied at a given instant; everyone else closes now. An agent closes
        through an open session (R13), and the close is credited to that session."""
        def command() -> None:
            chat = self._get(Chat, UUID(chat_id))
            now = at or self.clock.now()
            session = self._acting_session(reason, session_id, now)
            if reason in USER_CLOSE_REASONS and chat.campaign_id:
                self._get(Campaign, UUID(chat.campaign_id)).check_dispositions(disposition)
            changed = self.close_in(chat, reason, disposition=disposition, note=note, actor=actor, at=now,
                                    session_id=session_id if session is not None else "")
            self.store.save(chat, *changed, *([session] if session is not None else []))
        retry_on_conflict(command)

    def _acting_session(self, reason: str, session_id: str, now: datetime) -> AgentSession | None:
        """The session a user's close came through; an agent's close needs one."""
        if not session_id:
            if reason == "agent":
                raise SessionClosedError("La sesión ya está cerrada")
            return None
        agent = self.staff.find(self._session_owner(session_id))
        if agent is None:
            raise SessionClosedError("La sesión ya está cerrada")
        return self.staff.acting_session(session_id, agent, now)

    def _session_owner(self, session_id: str) -> str:
        try:
            session = self._get(AgentSession, UUID(session_id))
        except (ValueError, DomainError):
            return ""
        return str(session.agent_id)

    def close_in(self, chat: Chat, reason: str, *, disposition: str = "", note: str = "", actor: str,
                 at: datetime, thread: CustomerThread | None = None, session_id: str = "") -> list[object]:
        """Close `chat` and release what it held: the agent's capacity (at once, before any confirmation or
        PDF) and the customer's thread (pass it when the caller already holds it). Returns the other
        aggregates the caller saves with the chat, so a use case can close as part of its own save (the
        bot ending a conversation, an opt-out)."""
        changed: list[object] = []
        if chat.agent_id:
            agent = self._get(Agent, UUID(chat.agent_id))
            agent.release_chat(str(chat.id), reason="closed", actor=actor, at=at)
            changed.append(agent)
        chat.close(reason, disposition=disposition, note=note, actor=actor, at=at, session_id=session_id)
        if thread is None:
            try:
                thread = self._get(CustomerThread, CustomerThread.create_id(chat.customer_address,
                                                                            chat.sender_address))
            except DomainError:
                return changed  # a chat opened outside the inbound path (imports, tests) has no thread to free
            changed.append(thread)
        thread.detach_chat(str(chat.id), actor=actor, at=at)
        return changed

    def finish(self, chat_id: str) -> list[str]:
        """Request the confirmation and store the PDF if still missing; returns message ids to send."""
        to_send: list[str] = retry_on_conflict(lambda: self._request_confirmation(chat_id))
        if self.make_transcript is not None:
            chat = self._get(Chat, UUID(chat_id))
            if not chat.transcript_location:
                stored = self.make_transcript(chat_id)
                retry_on_conflict(lambda: self._record_transcript(chat_id, stored))
        return to_send

    def alert_incomplete(self, chat_id: str) -> None:
        def command() -> None:
            chat = self._get(Chat, UUID(chat_id))
            chat.raise_close_incomplete_alert(actor=CLOSER, at=self.clock.now())
            self.store.save(chat)
        retry_on_conflict(command)

    def follow_confirmation(self, chat_id: str) -> None:
        """Put the confirmation's fate on the chat's record: a lost one opens an alert (R8), a confirmation
        sent again and accepted by Twilio resolves it. Safe to repeat."""
        def command() -> None:
            chat = self._get(Chat, UUID(chat_id))
            if not chat.confirmation_message_id:
                return
            message = self._get(OutboundMessage, UUID(chat.confirmation_message_id))
            if message.lost:
                chat.record_confirmation_failed(str(message.id), message.error_code, actor=CLOSER, at=self.clock.now())
            elif message.accepted_by_twilio:
                chat.record_confirmation_accepted(str(message.id), actor=CLOSER, at=self.clock.now())
            self.store.save(chat)
        retry_on_conflict(command)

    def resend_confirmation(self, chat_id: str, *, actor: str) -> str:
        """Send a lost confirmation again (e.g. once the campaign has its closing template); returns the
        message id to send. Refused, with the reason, while the rules still forbid sending it."""
        def command() -> str:
            chat = self._get(Chat, UUID(chat_id))
            chat.check_may_resend_confirmation()
            message = self._compose_confirmation(chat)
            chat.resend_confirmation(str(message.id), actor=actor, at=self.clock.now())
            self.store.save(chat, message)
            return str(message.id)
        message_id: str = retry_on_conflict(command)
        return message_id

    def resolve_confirmation_alert(self, chat_id: str, note: str, *, actor: str) -> None:
        def command() -> None:
            chat = self._get(Chat, UUID(chat_id))
            chat.resolve_confirmation_alert(note, actor=actor, at=self.clock.now())
            self.store.save(chat)
        retry_on_conflict(command)

    def _request_confirmation(self, chat_id: str) -> list[str]:
        chat = self._get(Chat, UUID(chat_id))
        if not chat.is_closed:
            raise ChatError("Solo se confirma el cierre de un chat cerrado")
        if chat.confirmation_message_id:
            return []
        message = self._confirmation(chat)
        now = self.clock.now()
        chat.request_confirmation(str(message.id), actor=CLOSER, at=now)
        if message.lost:
            chat.record_confirmation_failed(str(message.id), message.error_code, actor=CLOSER, at=now)
        survey = self._survey(chat, now)
        self.store.save(chat, message, *([survey] if survey is not None else []))
        return ([] if message.lost else [str(message.id)]) + ([str(survey.id)] if survey is not None else [])

    def _survey(self, chat: Chat, now: datetime) -> OutboundMessage | None:
        """The satisfaction question, requested after the confirmation in the same save, so a close gets it once;
        withheld on record when the rules forbid it (outside the WhatsApp window: it is free text; an opt-out)."""
        campaign = self._get(Campaign, UUID(chat.campaign_id)) if chat.campaign_id else None
        if campaign is None or not campaign.settings.survey_enabled or not chat.takes_survey \
                or chat.closed_at is None:
            return None
        try:
            survey = self.outbound.compose(chat, "survey", body=campaign.settings.survey_question, actor=CLOSER)
        except (WindowClosedError, OptedOutError) as refusal:
            reason = "outside_window" if isinstance(refusal, WindowClosedError) else "opted_out"
            chat.withhold_survey(reason, actor=CLOSER, at=now)
            return None
        answer_until = chat.closed_at + timedelta(hours=campaign.settings.survey_answer_hours)
        chat.request_survey(str(survey.id), answer_until=answer_until, actor=CLOSER, at=now)
        return survey

    def _confirmation(self, chat: Chat) -> OutboundMessage:
        """The confirmation, or when the rules forbid sending it (no approved template outside the window,
        the customer opted out) the same message on record as failed, with why."""
        try:
            return self._compose_confirmation(chat)
        except (WindowClosedError, OptedOutError) as refusal:
            campaign = self._closing_campaign(chat)
            text = campaign.settings.closing_message if campaign else DEFAULT_CLOSING_TEXT
            return self.outbound.compose_refused(chat, self._kind(chat), refusal, body=text, actor=CLOSER)

    def _compose_confirmation(self, chat: Chat) -> OutboundMessage:
        """Free text inside the WhatsApp window or on SMS; the campaign's template outside it."""
        campaign = self._closing_campaign(chat)
        text = campaign.settings.closing_message if campaign else DEFAULT_CLOSING_TEXT
        template = campaign.settings.closing_template_sid if campaign else ""
        if self._kind(chat) == "opt_out_ack" and (answered := self.outbound.answered_by_twilio(chat, actor=CLOSER)):
            return answered
        inside_window = whatsapp_window_open(chat.last_customer_message_at, self.clock.now())
        if chat.channel == "whatsapp" and not inside_window and template:
            return self.outbound.compose(chat, self._kind(chat), content_sid=template,
                                         content_variables={"1": campaign.display_name if campaign else ""},
                                         actor=CLOSER)
        return self.outbound.compose(chat, self._kind(chat), body=text, actor=CLOSER)

    @staticmethod
    def _kind(chat: Chat) -> str:
        return "opt_out_ack" if chat.close_reason == "opt_out" else "closing"

    def _closing_campaign(self, chat: Chat) -> Campaign | None:
        campaign_id = chat.campaign_id or self.undetermined_campaign()
        if not campaign_id:
            return None
        campaign: Campaign = self._get(Campaign, UUID(campaign_id))
        return campaign

    def _record_transcript(self, chat_id: str, stored: StoredTranscript) -> None:
        chat = self._get(Chat, UUID(chat_id))
        chat.store_transcript(stored.location, stored.sha256, actor=CLOSER, at=self.clock.now())
        self.store.save(chat)

    def _get(self, kind: type, aggregate_id: UUID):  # type: ignore[no-untyped-def]
        try:
            aggregate: object = self.store.repository.get(aggregate_id)
        except AggregateNotFoundError as exc:
            raise NotFoundError("No existe el registro %(id)s", id=aggregate_id) from exc
        if not isinstance(aggregate, kind):
            raise NotFoundError("No existe el registro %(id)s", id=aggregate_id)
        return aggregate

"""The agent's desk: replying to an assigned chat (free text or an approved template)."""

from __future__ import annotations

from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from application.outbound import OutboundService
from application.ports import Clock
from application.staff import StaffService
from application.store import EventStore, retry_on_conflict
from domain.campaigns import Campaign
from domain.canned_replies import check_no_variables_left
from domain.chats import Chat, ChatError
from domain.common import actor_for_user

MAX_REPLY_LENGTH = 1600


class DeskService:
    def __init__(self, store: EventStore, clock: Clock, outbound: OutboundService, staff: StaffService) -> None:
        self.store = store
        self.clock = clock
        self.outbound = outbound
        self.staff = staff

    def reply(self, chat_id: str, agent_id: str, *, body: str = "", content_sid: str = "",
              content_variables: dict[str, str] | None = None, session_id: str) -> str:
        """Record the agent's reply and its outbound message together, through the agent's open session (R13);
        returns the message id to send."""
        text = body.strip()
        if not text and not content_sid:
            raise ChatError("Escribe un mensaje o elige una plantilla")
        if len(text) > MAX_REPLY_LENGTH:
            raise ChatError("El mensaje supera %(most)s caracteres", most=MAX_REPLY_LENGTH)
        check_no_variables_left(text)

        def command() -> str:
            chat = self._chat(chat_id)
            actor = actor_for_user(agent_id)
            if chat.agent_id != agent_id:
                raise ChatError("Solo el asesor asignado puede responder este chat")
            now = self.clock.now()
            session = self.staff.acting_session(session_id, self.staff.get(UUID(agent_id)), now)
            if content_sid:
                self._campaign(chat).check_template_approved(content_sid)
            message = self.outbound.compose(chat, "template" if content_sid else "agent",
                                            body="" if content_sid else text,
                                            content_sid=content_sid, content_variables=content_variables,
                                            agent_id=agent_id, session_id=session_id, actor=actor)
            chat.record_agent_reply(str(message.id), agent_id, session_id, actor=actor, at=now)
            self.store.save(chat, message, session)
            return str(message.id)

        message_id: str = retry_on_conflict(command)
        return message_id

    def add_note(self, chat_id: str, author_id: str, text: str) -> str:
        """An internal note by a member of the chat's campaign (its agents and supervisors); returns the note's id.
        It is never sent to the customer."""
        note_id = str(uuid4())

        def command() -> None:
            chat = self._chat(chat_id)
            if not chat.campaign_id or chat.campaign_id not in self.staff.get(UUID(author_id)).campaigns:
                raise ChatError("Solo los asesores y supervisores de la campaña del chat escriben notas internas")
            chat.add_note(note_id, text, author_id=author_id, actor=actor_for_user(author_id), at=self.clock.now())
            self.store.save(chat)

        retry_on_conflict(command)
        return note_id

    def _campaign(self, chat: Chat) -> Campaign:
        try:
            campaign: Campaign = self.store.repository.get(UUID(chat.campaign_id))
        except (AggregateNotFoundError, ValueError) as exc:
            raise ChatError("El chat no tiene campaña: no hay plantillas aprobadas") from exc
        return campaign

    def _chat(self, chat_id: str) -> Chat:
        try:
            chat: Chat = self.store.repository.get(UUID(chat_id))
        except (AggregateNotFoundError, ValueError) as exc:
            raise ChatError("Chat desconocido") from exc
        return chat

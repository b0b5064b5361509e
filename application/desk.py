"""The agent's desk: replying to an assigned chat (free text or an approved template), and what the agent has seen."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.outbound import OutboundService
from application.ports import Clock
from application.staff import StaffService
from application.store import EventStore, retry_on_conflict
from domain.campaigns import Campaign
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

    def mark_seen(self, chat_id: str, agent_id: str, customer_messages: int) -> bool:
        """The assigned agent's desk showed the chat's first `customer_messages` customer messages; returns
        whether that moved their read marker."""
        def command() -> bool:
            chat = self._chat(chat_id)
            moved = chat.mark_seen(agent_id, customer_messages, actor=actor_for_user(agent_id), at=self.clock.now())
            if moved:
                self.store.save(chat)
            return moved

        moved: bool = retry_on_conflict(command)
        return moved

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

"""The agent's desk: replying to an assigned chat (free text, an approved template, or an image or PDF), and
what the agent has seen."""

from __future__ import annotations

import re
from collections.abc import Callable
from uuid import UUID, uuid4

from application.media import MediaStore
from application.outbound import OutboundService
from application.ports import Clock
from application.staff import StaffService
from application.store import EventStore, aggregate_or, retry_on_conflict
from domain.campaigns import Campaign
from domain.canned_replies import check_no_variables_left
from domain.chats import Chat, ChatError
from domain.common import actor_for_user
from domain.messages import OutboundMessage

MAX_REPLY_LENGTH = 1600
# What an agent may send, recognised by the file's first bytes (never by the name or the browser's word), with
# WhatsApp's limit for each: images 5 MB; Twilio takes at most 16 MB of media per message.
SENDABLE_FILES = {"image/jpeg": (b"\xff\xd8\xff", 5), "image/png": (b"\x89PNG\r\n\x1a\n", 5),
                  "application/pdf": (b"%PDF-", 16)}


class DeskService:
    def __init__(self, store: EventStore, clock: Clock, outbound: OutboundService, staff: StaffService,
                 files: MediaStore | None = None) -> None:
        self.store = store
        self.clock = clock
        self.outbound = outbound
        self.staff = staff
        self.files = files

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

        def message_for(chat: Chat, actor: str) -> OutboundMessage:
            if content_sid:
                self._campaign(chat).check_template_approved(content_sid)
            return self.outbound.compose(chat, "template" if content_sid else "agent",
                                         body="" if content_sid else text, content_sid=content_sid,
                                         content_variables=content_variables, agent_id=agent_id,
                                         session_id=session_id, actor=actor)

        return self._record_reply(chat_id, agent_id, session_id, message_for)

    def send_file(self, chat_id: str, agent_id: str, *, content: bytes, file_name: str, caption: str = "",
                  session_id: str) -> str:
        """An image or PDF for the customer, with an optional caption; the file is kept with the message and
        Twilio fetches it from a signed address. Returns the message id to send."""
        content_type = _sendable_type(content)
        text = caption.strip()
        if len(text) > MAX_REPLY_LENGTH:
            raise ChatError("El mensaje supera %(most)s caracteres", most=MAX_REPLY_LENGTH)
        if self.files is None:
            raise ChatError("No hay dónde guardar archivos")
        files = self.files

        def message_for(chat: Chat, actor: str) -> OutboundMessage:
            message = self.outbound.compose(chat, "agent", body=text, agent_id=agent_id, session_id=session_id,
                                            with_file=True, actor=actor)
            name = _safe_file_name(file_name, content_type)
            stored = files.put(f"media/outbound/{message.id}/{name}", content, content_type)
            message.attach_file(stored.location, content_type, name, actor=actor, at=self.clock.now())
            return message

        return self._record_reply(chat_id, agent_id, session_id, message_for)

    def _record_reply(self, chat_id: str, agent_id: str, session_id: str,
                      message_for: Callable[[Chat, str], OutboundMessage]) -> str:
        """The reply and its outbound message saved together, by the assigned agent through their open session
        (R13)."""
        def command() -> str:
            chat = self._chat(chat_id)
            actor = actor_for_user(agent_id)
            if chat.agent_id != agent_id:
                raise ChatError("Solo el asesor asignado puede responder este chat")
            now = self.clock.now()
            session = self.staff.acting_session(session_id, self.staff.get(UUID(agent_id)), now)
            message = message_for(chat, actor)
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
        return aggregate_or(self.store, chat.campaign_id, Campaign,
                            ChatError("El chat no tiene campaña: no hay plantillas aprobadas"))

    def _chat(self, chat_id: str) -> Chat:
        return aggregate_or(self.store, chat_id, Chat, ChatError("Chat desconocido"))


def _sendable_type(content: bytes) -> str:
    for content_type, (magic, most_megabytes) in SENDABLE_FILES.items():
        if content.startswith(magic):
            if len(content) > most_megabytes * 1024 * 1024:
                raise ChatError("El archivo pesa más de %(most)s MB", most=most_megabytes)
            return content_type
    raise ChatError("Solo se pueden enviar imágenes JPG o PNG y documentos PDF")


def _safe_file_name(file_name: str, content_type: str) -> str:
    """A name the customer sees and storage accepts: letters, digits, dots, dashes; the extension its type's."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", file_name.rsplit(".", 1)[0]).strip("-")[:60] or "archivo"
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}[content_type]
    return f"{stem}.{extension}"

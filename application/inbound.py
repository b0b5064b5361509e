"""Twilio's inbound webhook as a use case: record each message once (R10), on the right chat.

This is all the webhook does synchronously, so it answers Twilio in milliseconds; the bot, the
routing and anything slow happen afterwards in a worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.ports import Clock
from application.store import EventStore, retry_on_conflict
from domain.chats import Chat
from domain.common import actor_for_customer
from domain.consent import KEYWORD, TWILIO_KEYWORD, Consent
from domain.messages import InboundMessage
from domain.messaging_rules import OPT_IN_WORDS, OPT_OUT_WORDS, consent_keyword, twilio_keyword
from domain.threads import CustomerThread

DEFAULT_FLOW = "default"
OPT_OUT_CLOSER = "system:opt_out"


@dataclass(frozen=True)
class InboundText:
    message_sid: str
    customer_address: str
    sender_address: str
    body: str
    profile_name: str = ""
    media: list[dict[str, str]] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)

    @property
    def channel(self) -> str:
        return "whatsapp" if self.customer_address.startswith("whatsapp:") else "sms"


@dataclass(frozen=True)
class Received:
    chat_id: str
    duplicate: bool
    new_chat: bool
    consent: str | None = None


class FlowForSender(Protocol):
    def __call__(self, sender_address: str) -> str | None: ...


class ChatCloser(Protocol):
    def close_in(self, chat: Chat, reason: str, *, actor: str, at: datetime,
                 thread: CustomerThread | None = None) -> list[object]: ...


class InboundService:
    def __init__(self, store: EventStore, clock: Clock, flow_for_sender: FlowForSender, closer: ChatCloser, *,
                 opt_out_words: Sequence[str] = OPT_OUT_WORDS, opt_in_words: Sequence[str] = OPT_IN_WORDS) -> None:
        self.closer = closer
        self.opt_out_words = tuple(opt_out_words)
        self.opt_in_words = tuple(opt_in_words)
        self.store = store
        self.clock = clock
        self.flow_for_sender = flow_for_sender

    def receive(self, message: InboundText) -> Received:
        """Optimistic: a retried MessageSid makes the save fail on the message's natural id, and the
        next attempt then finds it and reports the duplicate — no lookup on the common path."""
        attempts = iter(range(100))
        result: Received = retry_on_conflict(lambda: self._receive_once(message, check_duplicate=next(attempts) > 0))
        return result

    def _receive_once(self, message: InboundText, *, check_duplicate: bool) -> Received:
        existing = self._get(InboundMessage.create_id(message.message_sid)) if check_duplicate else None
        if isinstance(existing, InboundMessage):
            return Received(existing.chat_id, duplicate=True, new_chat=False)
        now, actor = self.clock.now(), actor_for_customer(message.customer_address)
        thread = self._get(CustomerThread.create_id(message.customer_address, message.sender_address))
        if not isinstance(thread, CustomerThread):
            thread = CustomerThread.start(message.customer_address, message.sender_address, actor=actor, at=now)
        chat = self._get(thread.open_chat_id) if thread.open_chat_id else None
        new_chat = not isinstance(chat, Chat)
        if not isinstance(chat, Chat):
            chat = Chat.open(message.channel, message.customer_address, message.sender_address,
                             profile_name=message.profile_name,
                             flow_name=self.flow_for_sender(message.sender_address) or DEFAULT_FLOW,
                             actor=actor, at=now)
            thread.attach_chat(str(chat.id), actor=actor, at=now)
        chat.receive_customer_message(message.message_sid, message.body, message.media, actor=actor, at=now)
        inbound = InboundMessage.receive(message.message_sid, str(chat.id), message.params, actor=actor, at=now)
        answered = twilio_keyword(message.body, message.channel, message.sender_address,
                                  message.params.get("OptOutType", ""))
        keyword = answered or consent_keyword(message.body, self.opt_out_words, self.opt_in_words)
        consent = self._consent_change(message, keyword, actor, by_twilio=answered is not None) if keyword else None
        # An opt-out closes its chat in the same save (R11); the close's follow-up sends the acknowledgement.
        released = self.closer.close_in(chat, "opt_out", actor=OPT_OUT_CLOSER, at=now, thread=thread) \
            if keyword == "opt_out" else []
        self.store.save(inbound, thread, chat, *([consent] if consent else []), *released)  # type: ignore[arg-type]
        return Received(str(chat.id), duplicate=False, new_chat=new_chat, consent=keyword)

    def _consent_change(self, message: InboundText, keyword: str, actor: str, *, by_twilio: bool) -> Consent:
        """STOP/BAJA opts the customer out of this sender (R11); START/ALTA opts them back in. Twilio's own
        keywords count on the channels where Twilio applies them, whatever Despacho's word lists say."""
        now = self.clock.now()
        consent = self._get(Consent.create_id(message.customer_address, message.sender_address))
        if not isinstance(consent, Consent):
            consent = Consent.for_pair(message.customer_address, message.sender_address, actor=actor, at=now)
        source = (TWILIO_KEYWORD if by_twilio else KEYWORD) + message.body.strip()[:40]
        if keyword == "opt_out":
            consent.opt_out(source, actor=actor, at=now)
        else:
            consent.opt_in(source, actor=actor, at=now)
        return consent

    def _get(self, aggregate_id: UUID | str) -> object | None:
        try:
            return self.store.repository.get(UUID(str(aggregate_id)))
        except AggregateNotFoundError:
            return None

"""Twilio's inbound webhook as two use cases: record each message once (R10), then put it on its chat.

The webhook only records the `InboundMessage`, keyed by Twilio's MessageSid, so it answers in one
save of one aggregate. Putting the message on its thread and chat (and applying STOP/START) is
`attach`, a reaction of the inbound follower (`projections/inbound_attachments.py`) to the
recorded message, in log order; the bot, the routing and anything slow come after that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.ports import Clock
from application.store import EventStore, retry_on_conflict
from domain.chats import Chat
from domain.common import actor_for_customer
from domain.consent import KEYWORD, TWILIO_KEYWORD, Consent
from domain.messages import InboundMessage, InboundMessageError, media_in
from domain.messaging_rules import OPT_IN_WORDS, OPT_OUT_WORDS, consent_keyword, twilio_keyword
from domain.surveys import score_of
from domain.threads import CustomerThread

DEFAULT_FLOW = "default"
MAX_BODY = 4096
OPT_OUT_CLOSER = "system:opt_out"
TWILIO = "twilio"


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

    def as_params(self) -> dict[str, str]:
        """What is recorded: Twilio's parameters as received, the message's own fields where they are missing
        (a message built in code), so `from_params` gives the same message back."""
        fields = {"MessageSid": self.message_sid, "From": self.customer_address, "To": self.sender_address,
                  "Body": self.body, "ProfileName": self.profile_name, "NumMedia": str(len(self.media))}
        for i, item in enumerate(self.media):
            fields |= {f"MediaUrl{i}": item["url"], f"MediaContentType{i}": item.get("content_type", "")}
        return fields | self.params

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> InboundText | None:
        """Twilio's form parameters as a message; None when the SID, sender or recipient is missing."""
        sid = params.get("MessageSid") or params.get("SmsMessageSid") or ""
        customer, sender = params.get("From", ""), params.get("To", "")
        if not sid or not customer or not sender:
            return None
        return cls(message_sid=sid, customer_address=customer, sender_address=sender,
                   body=params.get("Body", "")[:MAX_BODY], profile_name=params.get("ProfileName", ""),
                   media=media_in(dict(params)), params=dict(params))


@dataclass(frozen=True)
class Recorded:
    inbound_id: str
    duplicate: bool


@dataclass(frozen=True)
class Received:
    chat_id: str
    new_chat: bool
    consent: str | None = None


class FlowForSender(Protocol):
    def __call__(self, sender_address: str) -> str | None: ...


class CampaignForSender(Protocol):
    def __call__(self, sender_address: str) -> str | None:
        """The one active campaign owning the number; None when several share it, or none does."""


class ChatCloser(Protocol):
    def close_in(self, chat: Chat, reason: str, *, actor: str, at: datetime,
                 thread: CustomerThread | None = None) -> list[object]: ...


class InboundService:
    def __init__(self, store: EventStore, clock: Clock, flow_for_sender: FlowForSender, closer: ChatCloser, *,
                 campaign_for_sender: CampaignForSender, opt_out_words: Sequence[str] = OPT_OUT_WORDS,
                 opt_in_words: Sequence[str] = OPT_IN_WORDS) -> None:
        self.campaign_for_sender = campaign_for_sender
        self.closer = closer
        self.opt_out_words = tuple(opt_out_words)
        self.opt_in_words = tuple(opt_in_words)
        self.store = store
        self.clock = clock
        self.flow_for_sender = flow_for_sender

    def receive(self, message: InboundText) -> Recorded:
        """Record the message alone. Optimistic: a MessageSid Twilio retries fails on the message's natural
        id, which is all a duplicate is, so the common path reads nothing."""
        inbound_id = InboundMessage.create_id(message.message_sid)
        inbound = InboundMessage.receive(message.message_sid, message.as_params(), actor=TWILIO, at=self.clock.now())
        try:
            self.store.save(inbound)
        except IntegrityError:
            return Recorded(str(inbound_id), duplicate=True)
        return Recorded(str(inbound_id), duplicate=False)

    def attach(self, inbound_id: str) -> Received | None:
        """Put a recorded message on its customer's open chat, opening one if needed; None if it already is.
        Safe to repeat: the message's `Attached` is saved with the chat's events, or nothing is."""
        result: Received | None = retry_on_conflict(lambda: self._attach_once(UUID(inbound_id)))
        return result

    def _attach_once(self, inbound_id: UUID) -> Received | None:
        inbound = self._get(inbound_id)
        if not isinstance(inbound, InboundMessage) or inbound.attached:
            return None
        message = InboundText.from_params(inbound.params)
        if message is None:  # the webhook records only complete messages
            raise InboundMessageError("Falta MessageSid")
        # The customer wrote when Twilio called, not when the follower got to it: the timers count from then.
        now, actor = inbound.received_at, actor_for_customer(message.customer_address)
        thread = self._get(CustomerThread.create_id(message.customer_address, message.sender_address))
        if not isinstance(thread, CustomerThread):
            thread = CustomerThread.start(message.customer_address, message.sender_address, actor=actor, at=now)
        if not thread.open_chat_id and (to_survey := self._survey_answer(inbound, thread, message, actor, now)):
            return to_survey
        chat = self._get(thread.open_chat_id) if thread.open_chat_id else None
        new_chat = not isinstance(chat, Chat)
        if not isinstance(chat, Chat):
            chat = Chat.open(message.channel, message.customer_address, message.sender_address,
                             profile_name=message.profile_name,
                             flow_name=self.flow_for_sender(message.sender_address) or DEFAULT_FLOW,
                             campaign_id=self.campaign_for_sender(message.sender_address) or "", actor=actor, at=now)
            thread.attach_chat(str(chat.id), actor=actor, at=now)
        chat.receive_customer_message(message.message_sid, message.body, message.media, actor=actor, at=now)
        inbound.attach(str(chat.id), actor=actor, at=now)
        answered = twilio_keyword(message.body, message.channel, message.sender_address,
                                  message.params.get("OptOutType", ""))
        keyword = answered or consent_keyword(message.body, self.opt_out_words, self.opt_in_words)
        consent = self._consent_change(message, keyword, actor, now, by_twilio=answered is not None) \
            if keyword else None
        # An opt-out closes its chat in the same save (R11); the close's follow-up sends the acknowledgement.
        released = self.closer.close_in(chat, "opt_out", actor=OPT_OUT_CLOSER, at=now, thread=thread) \
            if keyword == "opt_out" else []
        self.store.save(inbound, thread, chat, *([consent] if consent else []), *released)
        return Received(str(chat.id), new_chat=new_chat, consent=keyword)

    def _survey_answer(self, inbound: InboundMessage, thread: CustomerThread, message: InboundText, actor: str,
                       now: datetime) -> Received | None:
        """A score for the survey of the chat closed last, within its answer window, is put on that closed chat
        instead of opening a new one; anything else (or later) returns None and opens a chat as usual."""
        score = score_of(message.body) if thread.last_chat_id and not message.media else None
        chat = self._get(thread.last_chat_id) if score is not None else None
        if score is None or not isinstance(chat, Chat) or not chat.accepts_survey_answer(now):
            return None
        chat.answer_survey(score, message.message_sid, actor=actor, at=now)
        inbound.attach(str(chat.id), actor=actor, at=now)
        self.store.save(inbound, chat)
        return Received(str(chat.id), new_chat=False)

    def _consent_change(self, message: InboundText, keyword: str, actor: str, now: datetime, *,
                        by_twilio: bool) -> Consent:
        """STOP/BAJA opts the customer out of this sender (R11); START/ALTA opts them back in. Twilio's own
        keywords count on the channels where Twilio applies them, whatever Despacho's word lists say."""
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

"""What happens after a customer message is recorded: the bot's turn, identification and hand-off.

Runs in a worker, as the follow-up of a customer message. It consumes the chat's unread customer
messages in order, one save per message (the chat's bot step, identification, queueing or the
close, and the bot's replies together), so a second worker on the same chat conflicts and finds
nothing left to do. What comes next (sending the replies, routing, the close's confirmation and
PDF) follows from the saved events, never from here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.outbound import OutboundService
from application.ports import Clock
from application.store import EventStore, retry_on_conflict
from domain.chats import Chat
from domain.consent import OptedOutError
from domain.flows.interpreter import is_inactive, reply, start
from domain.flows.model import Flow
from domain.flows.runtime import BotState, ClosedByBot, HandedOff, TurnResult
from domain.flows.world import BotWorld
from domain.messages import OutboundMessage

BOT = "system:bot"
DEFAULT_FLOW = "default"


class FlowCatalog(Protocol):
    def latest(self, name: str) -> Flow: ...

    def get(self, name: str, version: int) -> Flow: ...


class ChatCloser(Protocol):
    def close_in(self, chat: Chat, reason: str, *, actor: str, at: datetime) -> list[object]: ...


class ConversationService:
    def __init__(self, store: EventStore, clock: Clock, flows: FlowCatalog, world_for: Callable[[Chat], BotWorld],
                 outbound: OutboundService, closer: ChatCloser, unidentified_campaign: Callable[[], str],
                 customer_name: Callable[[str, str, str], str] = lambda campaign_id, kind, number: "") -> None:
        """`customer_name(campaign_id, document_type, document_number)` is the portfolio's name for an
        identified customer."""
        self.closer = closer
        self.store = store
        self.customer_name = customer_name
        self.clock = clock
        self.flows = flows
        self.world_for = world_for
        self.outbound = outbound
        self.unidentified_campaign = unidentified_campaign

    def process(self, chat_id: str) -> None:
        """The bot's turn for every unread customer message of the chat."""
        while retry_on_conflict(lambda: self._next_message(chat_id)):
            pass

    def record_inactivity(self, chat_id: str, now: datetime) -> bool:
        """Record that the customer left the bot waiting longer than its flow allows; True if newly recorded."""
        def command() -> bool:
            chat = self._chat(chat_id)
            if chat.status != "bot" or not chat.bot_state or chat.last_customer_message_at is None:
                return False
            state = BotState.from_dict(chat.bot_state)
            flow = self._flow_of(state)
            since = chat.last_customer_message_at
            if chat.bot_inactive_since == since or not is_inactive(state, since, now, flow):
                return False
            chat.record_bot_inactivity(since, inactivity_limit=flow.inactivity_limit, actor=BOT, at=now)
            self.store.save(chat)
            return True
        recorded: bool = retry_on_conflict(command)
        return recorded

    def _next_message(self, chat_id: str) -> bool:
        """Answer the oldest unread message; True while the chat stays in the bot with more to read."""
        chat = self._chat(chat_id)
        if chat.status != "bot" or not chat.pending_bot_input:
            return False
        if self.outbound.is_opted_out(chat.customer_address, chat.sender_address):
            return self._withhold(chat)
        try:
            return self._take_turn(chat)
        except OptedOutError:  # opted out since the check (e.g. Twilio refused a reply with 21610)
            return self._withhold(self._chat(chat_id))

    def _withhold(self, chat: Chat) -> bool:
        """An opted-out customer's message is handled once, on record, with no reply (R11): never a job that
        fails and is retried, or swept again every minute."""
        chat.withhold_bot_reply(chat.pending_bot_input[0]["message_sid"], actor=BOT, at=self.clock.now())
        self.store.save(chat)
        return True

    def _take_turn(self, chat: Chat) -> bool:
        pending, now = chat.pending_bot_input[0], self.clock.now()
        turn = self._turn(chat, pending["body"])
        chat.advance_bot(pending["message_sid"], turn.state.to_dict(), [s.to_dict() for s in turn.steps],
                         actor=BOT, at=now)
        if turn.identification is not None:
            found = turn.identification
            chat.identify(found.campaign_id, found.document_type, found.document_number, actor=BOT, at=now,
                          customer_name=self.customer_name(found.campaign_id, found.document_type,
                                                           found.document_number))
        outcome, released = turn.outcome, []
        if isinstance(outcome, HandedOff):
            chat.enqueue(outcome.campaign_id or self.unidentified_campaign(), outside_hours=outcome.outside_hours,
                         actor=BOT, at=now)
        replies = self._replies(chat, turn)  # after queueing: the hand-off reply belongs to the campaign queued in
        if isinstance(outcome, ClosedByBot):  # the flow ended the conversation: one close like any other (R8)
            released = self.closer.close_in(chat, "bot", actor=BOT, at=now)
        self.store.save(chat, *replies, *released)
        return not isinstance(outcome, (HandedOff, ClosedByBot))

    def _turn(self, chat: Chat, text: str) -> TurnResult:
        """A chat keeps the flow version it started with, so editing a flow never breaks a conversation."""
        world = self.world_for(chat)
        if not chat.bot_state:
            return start(self._latest(chat.flow_name), world, self.clock.now())
        state = BotState.from_dict(chat.bot_state)
        return reply(self._flow_of(state), state, text, world, self.clock.now())

    def _flow_of(self, state: BotState) -> Flow:
        try:
            return self.flows.get(state.flow_name, state.flow_version)
        except LookupError:
            return self._latest(state.flow_name)

    def _latest(self, name: str) -> Flow:
        try:
            return self.flows.latest(name)
        except LookupError:
            return self.flows.latest(DEFAULT_FLOW)

    def _replies(self, chat: Chat, turn: TurnResult) -> list[OutboundMessage]:
        messages = []
        for text in turn.replies:
            message = self.outbound.compose(chat, "bot", body=text, actor=BOT)
            chat.record_bot_reply(str(message.id), actor=BOT, at=self.clock.now())
            messages.append(message)
        return messages

    def _chat(self, chat_id: str) -> Chat:
        try:
            chat: Chat = self.store.repository.get(UUID(chat_id))
        except AggregateNotFoundError as exc:
            raise LookupError(f"unknown chat {chat_id}") from exc
        return chat

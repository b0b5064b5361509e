"""Properties of the aggregates under any sequence of commands (hypothesis).

R1 and R2 for an agent taking chats, the chat lifecycle order, and R10's "a message status never
moves backwards". Each aggregate is also saved to an in-memory store after every step and must
reload from its events into the very same state.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from application.store import EventStore
from domain.agents import STATUSES, Agent
from domain.chats import CLOSE_REASONS, Chat
from domain.common import DomainError
from domain.messages import STATUS_RANK, OutboundMessage

START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
CAMPAIGNS = ("campaign-a", "campaign-b", "campaign-c")
LIFECYCLE = ("bot", "waiting_queue", "assigned", "closed")


def in_memory_store() -> EventStore:
    return EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    return {key: value for key, value in vars(aggregate).items() if key != "_pending_events"}


def assert_reloads_the_same(store: EventStore, aggregate: Aggregate) -> None:
    store.save(aggregate)
    assert state_of(store.repository.get(aggregate.id)) == state_of(aggregate)


class AgentTakingChats(RuleBasedStateMachine):
    """An agent joins and leaves campaigns, signs in and out, changes status and capacity, takes and releases
    chats."""

    def __init__(self) -> None:
        super().__init__()
        self.store = in_memory_store()
        self.now = START
        self.agent = Agent.register("ana", "Ana Asesora", "agent", 2, actor="user:admin", at=self.now)
        self.chats_taken = 0
        self.sessions_opened = 0

    def tick(self) -> datetime:
        self.now += timedelta(seconds=7)
        return self.now

    @rule(campaign=st.sampled_from(CAMPAIGNS))
    def join(self, campaign: str) -> None:
        self.agent.join_campaign(campaign, actor="user:admin", at=self.tick())

    @rule(campaign=st.sampled_from(CAMPAIGNS))
    def leave(self, campaign: str) -> None:
        self.agent.leave_campaign(campaign, actor="user:admin", at=self.tick())

    @rule(parallel=st.booleans())
    def sign_in(self, parallel: bool) -> None:
        self.sessions_opened += 1
        try:
            self.agent.sign_in(f"session-{self.sessions_opened}", allow_parallel=parallel, actor="user:ana",
                               at=self.tick())
        except DomainError:
            assert not self.agent.active

    @precondition(lambda self: bool(self.agent.sessions))
    @rule(data=st.data())
    def sign_out(self, data: st.DataObject) -> None:
        session_id = data.draw(st.sampled_from(self.agent.sessions))
        self.agent.sign_out(session_id, reason="logout", actor="user:ana", at=self.tick())
        assert session_id not in self.agent.sessions

    @rule(status=st.sampled_from(STATUSES), reason=st.sampled_from(("", "almuerzo")))
    def change_status(self, status: str, reason: str) -> None:
        try:
            self.agent.change_status(status, reason=reason, actor="user:ana", at=self.tick())
        except DomainError:
            refused_presence = status != "offline" and (not self.agent.active or not self.agent.sessions)
            assert refused_presence or (status == "break" and not reason)

    @rule(capacity=st.integers(min_value=1, max_value=4))
    def change_capacity(self, capacity: int) -> None:
        self.agent.edit_profile(name=self.agent.name, role=self.agent.role, capacity=capacity, actor="user:admin",
                                at=self.tick())

    @rule(active=st.booleans())
    def set_active(self, active: bool) -> None:
        if active:
            self.agent.reactivate(actor="user:admin", at=self.tick())
        else:
            self.agent.deactivate(actor="user:admin", at=self.tick())

    @rule(campaign=st.sampled_from(CAMPAIGNS), exceptional=st.booleans())
    def take_chat(self, campaign: str, exceptional: bool) -> None:
        self.chats_taken += 1
        chat_id = f"chat-{self.chats_taken}"
        open_before, capacity = len(self.agent.open_chats), self.agent.capacity
        member = campaign in self.agent.campaigns
        try:
            self.agent.take_chat(chat_id, campaign, exceptional=exceptional, actor="system", at=self.tick())
        except DomainError:
            assert chat_id not in self.agent.open_chats
            return
        assert member, "R1: took a chat of a campaign the agent is not a member of"
        assert open_before < capacity, "R2: took a chat beyond capacity"
        assert exceptional or self.agent.status == "available"
        assert self.agent.active
        event("took a chat")

    @precondition(lambda self: bool(self.agent.open_chats))
    @rule(data=st.data())
    def release_chat(self, data: st.DataObject) -> None:
        chat_id = data.draw(st.sampled_from(sorted(self.agent.open_chats)))
        self.agent.release_chat(chat_id, reason="closed", actor="system", at=self.tick())
        assert chat_id not in self.agent.open_chats

    @rule()
    def release_unknown_chat(self) -> None:
        before = set(self.agent.open_chats)
        self.agent.release_chat("never-taken", reason="closed", actor="system", at=self.tick())
        assert self.agent.open_chats == before

    @invariant()
    def never_present_without_a_session(self) -> None:
        assert self.agent.status == "offline" or self.agent.sessions

    @invariant()
    def reloads_from_its_events_into_the_same_state(self) -> None:
        assert_reloads_the_same(self.store, self.agent)


AgentTakingChats.TestCase.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)
TestAgentTakingChats = AgentTakingChats.TestCase


def chat_commands() -> st.SearchStrategy[list[tuple[str, Any]]]:
    command = st.one_of(
        st.tuples(st.just("customer_writes"), st.text(max_size=5)),
        st.tuples(st.just("bot_answers"), st.none()),
        st.tuples(st.just("identify"), st.sampled_from(CAMPAIGNS)),
        st.tuples(st.just("enqueue"), st.sampled_from(("", *CAMPAIGNS))),
        st.tuples(st.just("assign"), st.tuples(st.sampled_from(("ana", "bruno")), st.booleans(),
                                               st.sampled_from(("", "urgente")))),
        st.tuples(st.just("reassign"), st.tuples(st.sampled_from(("ana", "bruno")), st.sampled_from(("", "turno"))),),
        st.tuples(st.just("agent_replies"), st.sampled_from(("ana", "bruno"))),
        st.tuples(st.just("bot_replies"), st.none()),
        st.tuples(st.just("alert"), st.none()),
        st.tuples(st.just("close"), st.tuples(st.sampled_from((*CLOSE_REASONS, "unknown")),
                                              st.sampled_from(("", "acuerdo_de_pago")))),
        st.tuples(st.just("confirm"), st.integers(min_value=1, max_value=3)),
        st.tuples(st.just("store_transcript"), st.integers(min_value=1, max_value=3)),
    )
    return st.lists(command, max_size=30)


def run_chat_command(chat: Chat, name: str, argument: Any, at: datetime, step: int) -> None:
    if name == "customer_writes":
        chat.receive_customer_message(f"SM{step}", argument, [], actor="customer:+57300", at=at)
    elif name == "bot_answers":
        pending = chat.pending_bot_input[0]["message_sid"] if chat.pending_bot_input else "SM-none"
        chat.advance_bot(pending, {"step": step}, [{"say": "Hola"}], actor="system", at=at)
    elif name == "identify":
        chat.identify(argument, "CC", "1020", actor="system", at=at)
    elif name == "enqueue":
        chat.enqueue(argument, outside_hours=False, actor="system", at=at)
    elif name == "assign":
        agent, exceptional, reason = argument
        chat.assign(agent, {"policy": "least_load"}, exceptional=exceptional, reason=reason, actor="system", at=at)
    elif name == "reassign":
        chat.reassign(argument[0], reason=argument[1], to_unavailable=False, actor="user:supervisora", at=at)
    elif name == "agent_replies":
        chat.record_agent_reply(f"message-{step}", argument, "session-1", actor=f"user:{argument}", at=at)
    elif name == "bot_replies":
        chat.record_bot_reply(f"message-{step}", actor="system", at=at)
    elif name == "alert":
        chat.raise_queue_alert(actor="system", at=at)
        if chat.unanswered_since is not None:
            chat.raise_unanswered_alert(chat.unanswered_since, actor="system", at=at)
    elif name == "close":
        chat.close(argument[0], disposition=argument[1], note="", actor="user:ana", at=at)
    elif name == "confirm":
        chat.request_confirmation(f"confirmation-{argument}", actor="system", at=at)
    elif name == "store_transcript":
        chat.store_transcript(f"transcripts/{argument}.pdf", "0" * 64, actor="system", at=at)


@settings(max_examples=100, deadline=None)
@given(commands=chat_commands())
def test_a_chat_only_moves_forward_through_its_lifecycle(commands: list[tuple[str, Any]]) -> None:
    store = in_memory_store()
    at = START
    chat = Chat.open("whatsapp", "whatsapp:+57300", "whatsapp:+57160", profile_name="Luz", flow_name="default",
                     actor="customer:+57300", at=at)
    statuses = [chat.status]
    for step, (name, argument) in enumerate(commands):
        at += timedelta(minutes=11)
        with contextlib.suppress(DomainError):
            run_chat_command(chat, name, argument, at, step)
        statuses.append(chat.status)
    assert_reloads_the_same(store, chat)
    event(f"ended {chat.status}")

    positions = [LIFECYCLE.index(status) for status in statuses]
    assert positions == sorted(positions), f"the lifecycle went backwards: {statuses}"
    history = [type(event).__name__ for event in store.events.get(chat.id)]
    assert history.count("Closed") <= 1
    assert history.count("ClosingConfirmationRequested") <= 1
    assert history.count("TranscriptStored") <= 1
    for after_close in ("ClosingConfirmationRequested", "TranscriptStored"):
        if after_close in history:
            assert history.index("Closed") < history.index(after_close)


def test_a_closed_chat_keeps_its_first_confirmation_and_transcript() -> None:
    chat = Chat.open("sms", "+57300", "+57160", profile_name="", flow_name="default", actor="customer:+57300",
                     at=START)
    chat.close("bot_inactivity", disposition="", note="", actor="system", at=START)

    for attempt in (1, 2, 3):
        chat.request_confirmation(f"confirmation-{attempt}", actor="system", at=START)
        chat.store_transcript(f"transcripts/{attempt}.pdf", "0" * 64, actor="system", at=START)

    assert (chat.confirmation_message_id, chat.transcript_location) == ("confirmation-1", "transcripts/1.pdf")


TWILIO_STATUSES = ("accepted", "scheduled", "queued", "sending", "sent", "failed", "delivered", "undelivered",
                   "read", "canceled", "receiving", "partially_delivered")


@settings(max_examples=150, deadline=None)
@given(reports=st.lists(st.sampled_from((*TWILIO_STATUSES, "fail")), max_size=20), submitted=st.booleans())
def test_a_message_status_never_moves_backwards(reports: list[str], submitted: bool) -> None:
    store = in_memory_store()
    at = START
    message = OutboundMessage.request(chat_id="chat-1", campaign_id="campaign-a", kind="agent", channel="whatsapp",
                                      to="whatsapp:+57300", sender="whatsapp:+57160", body="Hola", actor="user:ana",
                                      at=at)
    if submitted:
        message.record_submission("SM1", "queued", actor="system", at=at)
    ranks = [STATUS_RANK[message.status]]
    for report in reports:
        at += timedelta(seconds=3)
        if report == "fail":
            message.fail("30003", "Unreachable destination handset", actor="system", at=at)
        else:
            message.record_status(report, "", "", actor="twilio", at=at)
        ranks.append(STATUS_RANK[message.status])

    assert ranks == sorted(ranks), f"status went backwards after {reports}"
    assert_reloads_the_same(store, message)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), reports=st.lists(st.sampled_from(TWILIO_STATUSES), min_size=1, max_size=12))
def test_status_reports_in_any_order_or_repeated_end_at_the_most_advanced(data: st.DataObject,
                                                                           reports: list[str]) -> None:
    shuffled = data.draw(st.permutations(reports))
    message = OutboundMessage.request(chat_id="chat-1", campaign_id="campaign-a", kind="bot", channel="sms",
                                      to="+57300", sender="+57160", body="Hola", actor="system", at=START)

    changes = [message.record_status(report, "", "", actor="twilio", at=START) for report in shuffled + shuffled]

    most_advanced = max(STATUS_RANK.get(report, -1) for report in reports)
    assert STATUS_RANK[message.status] == max(most_advanced, STATUS_RANK["requested"])
    assert not any(changes[len(shuffled):]), "a repeated status callback changed the message"

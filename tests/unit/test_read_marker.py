"""The read marker behind the desk's unread counts (`Chat.Seen`): whatever the customer writes and whatever the
agent's screens report, in any order, the marker only grows, never passes what the customer wrote, moves only
for the assigned agent, and a chat reloads from its events with the same marker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.chats import Chat, ChatError
from tests.unit.test_aggregate_properties import assert_reloads_the_same, in_memory_store

START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
AGENT = "agent-ana"


def assigned_chat() -> Chat:
    chat = Chat.open("whatsapp", "whatsapp:+573001112233", "whatsapp:+5716000001", profile_name="María",
                     flow_name="default", actor="system:test", at=START)
    chat.enqueue("campaign-a", outside_hours=False, actor="system:test", at=START)
    chat.assign(AGENT, {}, exceptional=False, reason="", actor="system:test", at=START)
    return chat


def seen(chat: Chat) -> int:
    return dict(chat.seen_marks).get(AGENT, 0)


@given(st.lists(st.one_of(st.just("customer writes"), st.integers(min_value=-3, max_value=40)), max_size=30))
def test_the_marker_only_grows_up_to_what_the_customer_wrote(steps: list[str | int]) -> None:
    chat, store = assigned_chat(), in_memory_store()
    written, at = 0, START
    for step in steps:
        at += timedelta(seconds=5)
        before = seen(chat)
        if step == "customer writes":
            chat.receive_customer_message(f"SM{written}", "¿Hola?", [], actor="customer", at=at)
            written += 1
        else:
            moved = chat.mark_seen(AGENT, int(step), actor=f"user:{AGENT}", at=at)
            assert moved == (min(int(step), written) > before)
        assert before <= seen(chat) <= written == chat.customer_messages
    assert_reloads_the_same(store, chat)


def test_only_the_assigned_agent_moves_it() -> None:
    chat = assigned_chat()
    chat.receive_customer_message("SM1", "Hola", [], actor="customer", at=START)

    with pytest.raises(ChatError):
        chat.mark_seen("agent-carla", 1, actor="user:agent-carla", at=START)

    assert chat.seen_marks == ()

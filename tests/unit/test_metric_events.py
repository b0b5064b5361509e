"""What the metrics read from a chat's log: the campaign from the start, abandoning the queue as an event of its
own, and the instant a customer dropped out of the bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.chats import CLOSE_REASONS, USER_CLOSE_REASONS, Chat, ChatError

OPENED_AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
CUSTOMER = "whatsapp:+573001112233"
NUMBER = "whatsapp:+5716000001"


def a_chat(campaign_id: str = "") -> Chat:
    chat = Chat.open("whatsapp", CUSTOMER, NUMBER, profile_name="Cliente", flow_name="default",
                     actor=f"customer:{CUSTOMER}", at=OPENED_AT, campaign_id=campaign_id)
    chat.receive_customer_message("SM1", "hola", [], actor=f"customer:{CUSTOMER}", at=OPENED_AT)
    return chat


def queued(chat: Chat, minutes: int = 1) -> Chat:
    chat.enqueue("campaign-a", outside_hours=False, actor="system:bot", at=OPENED_AT + timedelta(minutes=minutes))
    return chat


def close_kwargs(reason: str) -> dict[str, str]:
    return {"disposition": "no_interesado" if reason in USER_CLOSE_REASONS else "", "note": "duplicado"}


def names(chat: Chat) -> list[str]:
    return [type(e).__name__ for e in chat.collect_events()]


def test_a_chat_opened_on_a_campaigns_own_number_carries_the_campaign_from_the_start() -> None:
    chat = a_chat("campaign-a")

    opened = chat.collect_events()[0]

    assert isinstance(opened, Chat.Opened) and opened.campaign_id == "campaign-a"
    assert (chat.campaign_id, chat.status) == ("campaign-a", "bot")


def test_a_chat_on_a_shared_number_stays_undetermined_until_the_bot_decides() -> None:
    chat = a_chat()
    assert chat.campaign_id == ""

    chat.identify("campaign-b", "CC", "1020304050", actor="system:bot", at=OPENED_AT)

    assert chat.campaign_id == "campaign-b"


def test_identification_overrides_the_campaign_of_the_number() -> None:
    chat = a_chat("campaign-a")

    chat.identify("campaign-b", "CC", "1020304050", actor="system:bot", at=OPENED_AT)
    chat.enqueue("campaign-b", outside_hours=False, actor="system:bot", at=OPENED_AT)

    assert chat.campaign_id == "campaign-b"


@given(reason=st.sampled_from(CLOSE_REASONS), waited=st.integers(min_value=0, max_value=3000))
def test_closing_a_chat_waiting_in_the_queue_records_its_abandonment_just_before_the_close(
        reason: str, waited: int) -> None:
    chat = queued(a_chat())
    chat.collect_events()
    closed_at = OPENED_AT + timedelta(minutes=1, seconds=waited)

    chat.close(reason, **close_kwargs(reason), actor="user:sup", at=closed_at)
    abandoned, closed = chat.collect_events()

    assert isinstance(abandoned, Chat.QueueAbandoned) and isinstance(closed, Chat.Closed)
    assert (abandoned.campaign_id, abandoned.reason, abandoned.actor) == ("campaign-a", reason, "user:sup")
    assert (abandoned.queued_at, abandoned.last_customer_message_at) == (OPENED_AT + timedelta(minutes=1), OPENED_AT)
    assert abandoned.at == closed.at == closed_at


def test_a_chat_requeued_after_its_agent_left_abandons_from_when_it_was_queued_again() -> None:
    chat = queued(a_chat())
    chat.assign("agent-ana", {}, exceptional=False, reason="", actor="system:router", at=OPENED_AT)
    requeued_at = OPENED_AT + timedelta(minutes=20)
    chat.requeue("agent_offline", offline_since=OPENED_AT + timedelta(minutes=10), actor="system:timers",
                 at=requeued_at)
    chat.collect_events()

    chat.close("auto_24h", disposition="", note="", actor="system:timers", at=requeued_at + timedelta(hours=24))
    abandoned, _ = chat.collect_events()

    assert isinstance(abandoned, Chat.QueueAbandoned) and abandoned.queued_at == requeued_at


@pytest.mark.parametrize("reason", ["supervisor", "auto_24h", "opt_out"])
def test_an_assigned_chat_closes_without_abandoning_any_queue(reason: str) -> None:
    chat = queued(a_chat())
    chat.assign("agent-ana", {}, exceptional=False, reason="", actor="system:router", at=OPENED_AT)
    chat.collect_events()

    chat.close(reason, **close_kwargs(reason), actor="user:sup", at=OPENED_AT + timedelta(hours=1))

    assert names(chat) == ["Closed"]


@pytest.mark.parametrize("reason", ["bot", "bot_inactivity", "auto_24h", "opt_out"])
def test_a_chat_closed_from_the_bot_records_no_abandonment(reason: str) -> None:
    chat = a_chat("campaign-a")
    chat.collect_events()

    chat.close(reason, **close_kwargs(reason), actor="system:bot", at=OPENED_AT + timedelta(hours=1))

    assert names(chat) == ["Closed"]


def test_a_drop_out_of_the_bot_is_dated_when_the_customer_counts_as_gone_not_when_noticed() -> None:
    chat = a_chat()
    chat.collect_events()
    noticed_at = OPENED_AT + timedelta(minutes=47)

    chat.record_bot_inactivity(OPENED_AT, inactivity_limit=timedelta(minutes=30), actor="system:bot", at=noticed_at)
    [recorded] = chat.collect_events()

    assert isinstance(recorded, Chat.BotInactivityRecorded)
    assert (recorded.since, recorded.dropped_at, recorded.at) == (OPENED_AT, OPENED_AT + timedelta(minutes=30),
                                                                  noticed_at)


def test_a_silence_is_recorded_once_and_a_negative_limit_is_refused() -> None:
    chat = a_chat()
    chat.record_bot_inactivity(OPENED_AT, inactivity_limit=timedelta(minutes=30), actor="system:bot",
                               at=OPENED_AT + timedelta(hours=1))
    chat.collect_events()

    chat.record_bot_inactivity(OPENED_AT, inactivity_limit=timedelta(minutes=30), actor="system:bot",
                               at=OPENED_AT + timedelta(hours=2))

    assert chat.collect_events() == []
    with pytest.raises(ChatError, match="no puede ser negativo"):
        chat.record_bot_inactivity(OPENED_AT + timedelta(minutes=5), inactivity_limit=timedelta(minutes=-1),
                                   actor="system:bot", at=OPENED_AT + timedelta(hours=2))

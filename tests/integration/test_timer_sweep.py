"""The timer sweep in batches: every due chat decided on its aggregate, one save per batch, and a read
row without an aggregate (or a chat changed meanwhile) never stops the sweep."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import insert

from adapters.clock import FixedClock
from application.timers import TimerService
from despacho.bootstrap import Despacho
from domain.chats import Chat
from projections.queries import CHATS
from projections.timer_directory import SqlTimerDirectory

SENDER = "whatsapp:+5716000001"


def queued_chats(despacho: Despacho, campaign_id: str, count: int) -> list[str]:
    now = despacho.clock.now()
    chats = []
    for n in range(count):
        chat = Chat.open("whatsapp", f"whatsapp:+57300{n:07d}", SENDER, profile_name="", flow_name="default",
                         actor="t", at=now)
        chat.receive_customer_message(f"SM{n:032x}", "hola", [], actor="t", at=now)
        chat.enqueue(campaign_id, outside_hours=False, actor="t", at=now)
        chats.append(chat)
    despacho.store.save(*chats)
    despacho.runner.catch_up()
    return [str(c.id) for c in chats]


def queue_alerted(despacho: Despacho, chat_ids: list[str]) -> list[bool]:
    return [despacho.store.repository.get(UUID(c)).queue_alerted for c in chat_ids]


def a_row_without_aggregate(despacho: Despacho, campaign_id: str) -> str:
    """A read row left behind (a store restored from an older backup, a hand-edited table)."""
    now = despacho.clock.now()
    ghost = str(uuid.uuid4())
    with despacho.read_engine.begin() as connection:
        connection.execute(insert(CHATS.chats).values(
            id=ghost, campaign_id=campaign_id, status="waiting_queue", channel="whatsapp",
            customer_address="whatsapp:+573009999999", sender_address=SENDER, profile_name="", customer_name="",
            opened_at=now, queued_at=now, last_customer_message_at=now, outside_hours=False, bot_pending=0,
            queue_alerted=False, confirmation_failure_recorded=False, confirmation_alert_open=False,
            customer_messages=0))
    return ghost


def sweep(despacho: Despacho, clock: FixedClock, batch_size: int, store: Any = None) -> TimerService:
    return TimerService(store or despacho.store, SqlTimerDirectory(despacho.read_engine), despacho.closing,
                        batch_size=batch_size)


def test_every_due_chat_of_several_batches_raises_its_alert_once(despacho: Despacho, clock: FixedClock) -> None:
    campaign_id = str(despacho.campaigns.register("banco_a", "Banco", "Banco", {}, actor="t"))
    chat_ids = queued_chats(despacho, campaign_id, 7)
    clock.advance(timedelta(hours=1))
    timers = sweep(despacho, clock, batch_size=3)
    first = timers.run(clock.now())
    despacho.runner.catch_up()
    second = timers.run(clock.now())
    assert (first.alerts, first.examined, second.alerts) == (7, 7, 0)
    assert queue_alerted(despacho, chat_ids) == [True] * 7


def test_a_read_row_whose_aggregate_is_missing_is_logged_and_skipped(
        despacho: Despacho, clock: FixedClock, caplog: pytest.LogCaptureFixture) -> None:
    campaign_id = str(despacho.campaigns.register("banco_a", "Banco", "Banco", {}, actor="t"))
    chat_ids = queued_chats(despacho, campaign_id, 4)
    ghost = a_row_without_aggregate(despacho, campaign_id)
    clock.advance(timedelta(hours=1))
    with caplog.at_level(logging.WARNING, logger="application.timers"):
        run = sweep(despacho, clock, batch_size=2).run(clock.now())
    assert (run.alerts, run.skipped) == (4, [ghost])
    assert queue_alerted(despacho, chat_ids) == [True] * 4
    assert ghost in caplog.text


class RacingStore:
    """The real store, where another worker changes one chat between the sweep's read and its save."""

    def __init__(self, despacho: Despacho, racing_chat_id: str) -> None:
        self.store, self.racing, self.raced = despacho.store, UUID(racing_chat_id), False
        self.repository = self

    def get(self, aggregate_id: UUID) -> Any:
        aggregate = self.store.repository.get(aggregate_id)
        if aggregate_id == self.racing and not self.raced:
            self.raced = True
            other: Chat = self.store.repository.get(aggregate_id)
            other.receive_customer_message("SM" + "f" * 32, "¿hay alguien?", [], actor="t", at=other.opened_at)
            self.store.save(other)
        return aggregate

    def get_many(self, aggregate_ids: list[UUID]) -> dict[UUID, Any]:
        found = self.store.get_many(aggregate_ids)
        if self.racing in aggregate_ids:
            self.get(self.racing)
        return found

    def save(self, *aggregates: Any) -> Any:
        return self.store.save(*aggregates)


def test_a_chat_changed_during_the_sweep_is_decided_again_and_its_batch_still_alerts(
        despacho: Despacho, clock: FixedClock) -> None:
    campaign_id = str(despacho.campaigns.register("banco_a", "Banco", "Banco", {}, actor="t"))
    chat_ids = queued_chats(despacho, campaign_id, 5)
    clock.advance(timedelta(hours=1))
    run = sweep(despacho, clock, batch_size=5, store=RacingStore(despacho, chat_ids[2])).run(clock.now())
    assert run.alerts == 5
    assert queue_alerted(despacho, chat_ids) == [True] * 5

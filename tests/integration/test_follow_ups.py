"""The follow-up follower: every event's follow-ups handed out at least once, recorded exactly once.

Runs on SQLite and PostgreSQL with the real runner and event store; the broker is a list.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.event_store import eventsourcing_env
from adapters.read_store import make_read_engine
from application.follow_ups import FINISH_CLOSE, PROCESS_CHAT, SEND_MESSAGE, FollowUpPolicy
from application.store import EventStore
from domain.chats import Chat
from domain.messages import OutboundMessage
from projections.follow_ups import FollowUpLedger, FollowUpsFollower, Handout
from projections.runner import ProjectionRunner

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
CUSTOMER, SENDER = "whatsapp:+573001112233", "whatsapp:+5716000001"


class Broker:
    def __init__(self) -> None:
        self.received: list[Handout] = []
        self.fail_next = False

    def deliver(self, handouts: Sequence[Handout]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("broker unreachable")
        self.received.extend(handouts)


@pytest.fixture
def store(database_url: str) -> Iterator[EventStore]:
    store = EventStore(env=eventsourcing_env(database_url))
    yield store
    store.close()


@pytest.fixture
def engine(database_url: str) -> Iterator[Any]:
    engine = make_read_engine(database_url)
    yield engine
    engine.dispose()


def follower_runner(store: EventStore, engine: Any, broker: Broker) -> tuple[ProjectionRunner, FollowUpsFollower]:
    follower = FollowUpsFollower(policy=FollowUpPolicy(), deliver=broker.deliver)
    runner = ProjectionRunner(store, engine, [follower])
    runner.create_tables()
    return runner, follower


def a_chat_the_customer_wrote_to(store: EventStore) -> Chat:
    chat = Chat.open("whatsapp", CUSTOMER, SENDER, profile_name="María", flow_name="default", actor="t", at=NOW)
    chat.receive_customer_message("SM1", "Hola", [], actor="t", at=NOW)
    store.save(chat)
    return chat


def test_each_customer_message_hands_out_the_bots_turn_once(store: EventStore, engine: Any) -> None:
    broker = Broker()
    runner, _ = follower_runner(store, engine, broker)
    chat = a_chat_the_customer_wrote_to(store)

    runner.catch_up()
    runner.catch_up()

    assert [(h.job, h.args) for h in broker.received] == [(PROCESS_CHAT, (str(chat.id),))]


def test_a_broker_failure_before_the_commit_hands_the_same_follow_ups_out_again(store: EventStore,
                                                                                 engine: Any) -> None:
    broker = Broker()
    runner, follower = follower_runner(store, engine, broker)
    chat = a_chat_the_customer_wrote_to(store)
    broker.fail_next = True

    with pytest.raises(ConnectionError):
        runner.run_batch(follower)
    assert broker.received == []
    runner.catch_up()

    assert [h.args for h in broker.received] == [(str(chat.id),)]
    ledger = FollowUpLedger(engine, follower)
    assert ledger.counts() == {"pending": 1, "failed": 0}


def test_a_done_follow_up_leaves_the_ledger_and_a_lost_one_is_handed_out_again(store: EventStore,
                                                                               engine: Any) -> None:
    broker = Broker()
    runner, follower = follower_runner(store, engine, broker)
    chat = a_chat_the_customer_wrote_to(store)
    message = OutboundMessage.request(chat_id=str(chat.id), campaign_id="", kind="bot", channel="whatsapp",
                                      to=CUSTOMER, sender=SENDER, body="Hola", actor="t", at=NOW)
    chat.close("bot", disposition="", note="", actor="t", at=NOW)
    store.save(chat, message)
    runner.catch_up()
    jobs = {h.job: h for h in broker.received}
    assert set(jobs) == {PROCESS_CHAT, SEND_MESSAGE, FINISH_CLOSE}

    ledger = FollowUpLedger(engine, follower)
    ledger.done(jobs[PROCESS_CHAT].follow_up_id)
    ledger.failed(jobs[FINISH_CLOSE].follow_up_id, "retries exhausted")

    assert ledger.due_again(NOW, max_deliveries=10, limit=10) == []
    lost = ledger.due_again(NOW + timedelta(minutes=11), max_deliveries=10, limit=10)
    assert lost == [jobs[SEND_MESSAGE]]
    ledger.handed_out_again(lost, NOW + timedelta(minutes=11))
    assert ledger.due_again(NOW + timedelta(minutes=11), max_deliveries=10, limit=10) == []
    assert ledger.due_again(NOW + timedelta(days=1), max_deliveries=2, limit=10) == [], "handed out twice: enough"
    assert ledger.counts() == {"pending": 1, "failed": 1}


def test_started_on_a_log_with_history_the_follower_hands_out_only_what_comes_next(store: EventStore,
                                                                                  engine: Any) -> None:
    a_chat_the_customer_wrote_to(store)
    broker = Broker()
    runner, _ = follower_runner(store, engine, broker)
    runner.catch_up()
    assert broker.received == []

    later = Chat.open("whatsapp", "whatsapp:+573009998877", SENDER, profile_name="", flow_name="default",
                      actor="t", at=NOW)
    later.receive_customer_message("SM2", "Hola", [], actor="t", at=NOW)
    store.save(later)
    runner.catch_up()
    assert [h.args for h in broker.received] == [(str(later.id),)]

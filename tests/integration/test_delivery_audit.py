"""Delivery audit and failure detection on SQLite and PostgreSQL: the audit tables, the alert rules, retries.

Messages are sent synchronously through the fake transport and projected with `catch_up`, so the
tests stay fast and exact.
"""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from typing import Any

import pytest

from adapters.clock import FixedClock
from application.delivery_monitor import DeliveryMonitor, DeliveryThresholds
from application.outbound import RetryRefusedError, StatusReport
from application.ports import SendFailedError
from despacho.bootstrap import Despacho
from domain.chats import Chat
from projections import message_queries
from projections.message_queries import AuditFilter, SqlDeliveryDirectory
from projections.messages import MessagesProjector
from projections.rebuild import rebuild
from tests.conftest import WITH_CLOSING_TEMPLATE

BANCO_NUMBER = "whatsapp:+5716000001"
TELCO_NUMBER = "whatsapp:+5716000002"
CUSTOMER = "whatsapp:+573001112233"
sids = (f"SM{n:032x}" for n in itertools.count(1))


@pytest.fixture
def banco(despacho: Despacho) -> str:
    campaign = despacho.campaigns.register("banco_a", "Banco Andino", "Banco Andino", WITH_CLOSING_TEMPLATE,
                                           actor="test")
    despacho.campaigns.link_sender(campaign, BANCO_NUMBER, "whatsapp", is_default=True, actor="test")
    return str(campaign)


def a_chat(despacho: Despacho, campaign_id: str, customer: str = CUSTOMER, sender: str = BANCO_NUMBER) -> Chat:
    now = despacho.clock.now()
    chat = Chat.open("whatsapp", customer, sender, profile_name="María", flow_name="default", actor="test", at=now)
    chat.receive_customer_message(next(sids), "Hola", [], actor="customer", at=now)
    chat.identify(campaign_id, "CC", "1020304050", actor="test", at=now)
    despacho.store.save(chat)
    return chat


def a_sent_message(despacho: Despacho, chat: Chat, body: str = "Hola, ¿en qué le ayudo?") -> str:
    message = despacho.outbound.compose(chat, "bot", body=body, actor="test")
    despacho.store.save(message)
    despacho.outbound.send(str(message.id))
    return str(message.id)


def callback(despacho: Despacho, message_id: str, status: str, error_code: str = "") -> bool:
    row = projected_message(despacho, message_id, project=False) or {}
    sid = row.get("sid") or despacho.outbound.log_facts(message_id)["sid"]
    return despacho.outbound.apply_status(StatusReport(message_id=message_id, sid=str(sid), status=status,
                                                       error_code=error_code))


def projected_message(despacho: Despacho, message_id: str, *, project: bool = True) -> dict[str, Any] | None:
    if project:
        despacho.runner.catch_up()
    return message_queries.message(despacho.read_engine, message_id)


def alerts(despacho: Despacho, kind: str | None = None) -> list[dict[str, Any]]:
    despacho.runner.catch_up()
    found = message_queries.delivery_alerts(despacho.read_engine, campaign_ids=None)
    return [a for a in found if kind is None or a["kind"] == kind]


def test_every_message_keeps_its_status_history_and_its_status_never_moves_back(
        despacho: Despacho, banco: str) -> None:
    message_id = a_sent_message(despacho, a_chat(despacho, banco))
    for status in ("sent", "delivered", "sent", "delivered"):
        callback(despacho, message_id, status)
    row = projected_message(despacho, message_id)
    assert row is not None
    assert (row["status"], row["campaign_id"], row["customer_phone"]) == ("delivered", banco, "+573001112233")
    assert row["sid"].startswith("SM") and row["attempts"] == 1
    assert row["final_at"] is not None and row["submitted_at"] is not None
    history = message_queries.status_history(despacho.read_engine, [message_id])[message_id]
    assert [(h["event"], h["status"]) for h in history] == [
        ("requested", "requested"), ("attempt_started", None), ("submitted", "queued"),
        ("status_reported", "sent"), ("status_reported", "delivered")]


def test_a_message_twilio_refuses_raises_one_failure_alert(despacho: Despacho, banco: str) -> None:
    despacho.transport.fail_next(SendFailedError("21211", "El número de destino no es válido.",  # type: ignore[attr-defined]
                                                 retryable=False))
    message_id = a_sent_message(despacho, a_chat(despacho, banco))
    despacho.outbound.send(message_id)
    [alert] = alerts(despacho)
    assert (alert["kind"], alert["message_id"], alert["error_code"]) == ("message_failed", message_id, "21211")
    assert alert["campaign_id"] == banco and alert["state"] == "open"
    row = projected_message(despacho, message_id)
    assert row is not None and (row["status"], row["error_code"]) == ("failed", "21211")


def test_an_undelivered_callback_raises_the_failure_alert_once(despacho: Despacho, banco: str) -> None:
    message_id = a_sent_message(despacho, a_chat(despacho, banco))
    assert callback(despacho, message_id, "undelivered", "30003")
    assert not callback(despacho, message_id, "undelivered", "30003")
    [alert] = alerts(despacho)
    assert (alert["kind"], alert["error_code"]) == ("message_failed", "30003")


def test_rejected_credentials_raise_an_account_alert_once_per_hour(despacho: Despacho, banco: str) -> None:
    chat = a_chat(despacho, banco)
    for _ in range(2):
        despacho.transport.fail_next(SendFailedError("20003", "Autenticación", retryable=False))  # type: ignore[attr-defined]
        a_sent_message(despacho, chat)
    assert len(alerts(despacho, "account")) == 1
    assert len(alerts(despacho, "message_failed")) == 2
    assert "credenciales" in alerts(despacho, "account")[0]["detail"]


def test_a_message_without_a_final_status_after_the_configured_time_raises_one_alert(
        despacho: Despacho, banco: str, clock: FixedClock) -> None:
    stuck = a_sent_message(despacho, a_chat(despacho, banco))
    delivered = a_sent_message(despacho, a_chat(despacho, banco))
    callback(despacho, delivered, "delivered")
    despacho.runner.catch_up()
    clock.advance(timedelta(minutes=despacho.settings.delivery_stuck_minutes - 1))
    assert despacho.delivery.run().stuck == 0
    clock.advance(timedelta(minutes=2))
    assert despacho.delivery.run().stuck == 1
    assert despacho.delivery.run().stuck == 0, "raised once"
    [alert] = alerts(despacho, "message_stuck")
    assert alert["message_id"] == stuck and alert["figures"]["status"] == "queued"


def test_a_sender_and_a_campaign_failing_too_often_raise_rate_alerts_from_several_workers_once(
        despacho: Despacho, banco: str) -> None:
    chat = a_chat(despacho, banco)
    messages = [a_sent_message(despacho, chat) for _ in range(4)]
    for message_id in messages[:3]:
        callback(despacho, message_id, "undelivered", "30008")
    despacho.runner.catch_up()
    thresholds = DeliveryThresholds(window_minutes=60, min_messages=4, max_failure_rate=0.5)
    monitors = [DeliveryMonitor(despacho.store, despacho.clock, SqlDeliveryDirectory(despacho.read_engine),
                                thresholds) for _ in range(3)]
    workers = [threading.Thread(target=m.run) for m in monitors]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    rate_alerts = alerts(despacho, "failure_rate")
    assert sorted(a["figures"]["scope"] for a in rate_alerts) == ["campaign", "sender"]
    assert all((a["figures"]["total"], a["figures"]["failed"]) == (4, 3) for a in rate_alerts)


def test_few_messages_or_a_low_failure_rate_raise_no_rate_alert(despacho: Despacho, banco: str) -> None:
    chat = a_chat(despacho, banco)
    messages = [a_sent_message(despacho, chat) for _ in range(4)]
    callback(despacho, messages[0], "undelivered", "30008")
    despacho.runner.catch_up()
    directory = SqlDeliveryDirectory(despacho.read_engine)
    low_rate = DeliveryMonitor(despacho.store, despacho.clock, directory,
                               DeliveryThresholds(min_messages=4, max_failure_rate=0.3))
    too_few = DeliveryMonitor(despacho.store, despacho.clock, directory,
                              DeliveryThresholds(min_messages=5, max_failure_rate=0.1))
    assert low_rate.run().failing == 0 and too_few.run().failing == 0


def test_a_retry_sends_a_new_message_once_and_links_both(despacho: Despacho, banco: str) -> None:
    chat = a_chat(despacho, banco)
    failed = a_sent_message(despacho, chat, body="Su saldo es 1.250.000")
    callback(despacho, failed, "undelivered", "30003")
    retry = despacho.outbound.retry(failed, actor="user:test")
    assert retry != failed
    despacho.outbound.send(retry)
    sent = [m.delivery for m in despacho.transport.sent]  # type: ignore[attr-defined]
    assert [d.message_id for d in sent] == [failed, retry]
    assert sent[1].body == "Su saldo es 1.250.000"
    with pytest.raises(RetryRefusedError, match="ya se reintentó"):
        despacho.outbound.retry(failed, actor="user:test")
    original, again = projected_message(despacho, failed), projected_message(despacho, retry)
    assert original is not None and again is not None
    assert (original["retried_by"], again["retry_of"]) == (retry, failed)
    assert message_queries.delivery_of(despacho.read_engine, [failed])[failed]["retryable"] is False


@pytest.mark.parametrize("code", ["21610", "21211", "63016"])
def test_no_retry_when_sending_again_cannot_help(despacho: Despacho, banco: str, code: str) -> None:
    message_id = a_sent_message(despacho, a_chat(despacho, banco))
    callback(despacho, message_id, "failed", code)
    with pytest.raises(RetryRefusedError, match="no se puede reintentar"):
        despacho.outbound.retry(message_id, actor="user:test")
    despacho.runner.catch_up()
    assert message_queries.delivery_of(despacho.read_engine, [message_id])[message_id]["retryable"] is False


def test_a_retry_outside_the_whatsapp_window_is_refused(despacho: Despacho, banco: str, clock: FixedClock) -> None:
    message_id = a_sent_message(despacho, a_chat(despacho, banco))
    callback(despacho, message_id, "undelivered", "30003")
    clock.advance(timedelta(hours=25))
    with pytest.raises(Exception, match="24 h"):
        despacho.outbound.retry(message_id, actor="user:test")


def test_a_callback_for_an_unknown_sid_is_kept_for_reconciliation(despacho: Despacho) -> None:
    sid = "SM" + "e" * 32
    despacho.outbound.apply_status(StatusReport(message_id="", sid=sid, status="delivered",
                                                params={"MessageSid": sid, "MessageStatus": "delivered"}))
    despacho.runner.catch_up()
    [row] = message_queries.unmatched_callbacks(despacho.read_engine)
    assert (row["sid"], row["status"]) == (sid, "delivered")


def test_the_audit_finds_messages_by_phone_chat_campaign_date_status_and_error(
        despacho: Despacho, banco: str, clock: FixedClock) -> None:
    telco = str(despacho.campaigns.register("telco_b", "Telco Sur", "Telco Sur", {}, actor="test"))
    maria = a_chat(despacho, banco)
    first = a_sent_message(despacho, maria)
    clock.advance(timedelta(days=1))
    pedro = a_chat(despacho, telco, customer="whatsapp:+573209998877", sender=TELCO_NUMBER)
    failed = a_sent_message(despacho, pedro)
    callback(despacho, failed, "undelivered", "30005")
    despacho.runner.catch_up()

    def found(campaign_ids: set[str] | None = None, **criteria: Any) -> list[str]:
        rows = message_queries.audit_messages(despacho.read_engine, AuditFilter(**criteria),
                                              campaign_ids=campaign_ids)
        return [r["id"] for r in rows]

    assert found() == [failed, first]
    assert found(phone="3001112233") == [first]
    assert found(phone="+573209998877") == [failed]
    assert found(chat_id=str(maria.id)) == [first]
    assert found(campaign_id=telco) == [failed]
    assert found(status="undelivered") == [failed]
    assert found(error_code="30005") == [failed]
    assert found(date_to=clock.now() - timedelta(hours=1)) == [first]
    assert found(date_from=clock.now() - timedelta(hours=1)) == [failed]
    assert found(campaign_ids={banco}) == [first], "a supervisor sees only their campaigns"


def test_the_delivery_tables_rebuild_from_the_log_without_differences(
        despacho: Despacho, banco: str, clock: FixedClock) -> None:
    chat = a_chat(despacho, banco)
    delivered, failed = a_sent_message(despacho, chat), a_sent_message(despacho, chat)
    callback(despacho, delivered, "read")
    callback(despacho, failed, "undelivered", "30003")
    despacho.outbound.send(despacho.outbound.retry(failed, actor="user:test"))
    despacho.outbound.apply_status(StatusReport(message_id="", sid="SM" + "d" * 32, status="sent",
                                                params={"MessageSid": "SM" + "d" * 32}))
    clock.advance(timedelta(hours=1))
    despacho.runner.catch_up()
    despacho.delivery.run()
    [alert] = alerts(despacho, "message_failed")
    despacho.outbound.acknowledge_alert(alert["id"], actor="user:test")
    despacho.runner.catch_up()

    assert rebuild(despacho.store, despacho.read_engine, MessagesProjector, replace_live=False) == []
    still_open = message_queries.delivery_alerts(despacho.read_engine, campaign_ids=None, states=("open",))
    assert {a["kind"] for a in still_open} == {"message_stuck"}, "the acknowledged one left the open list"

"""The send path at the sender's pace: caps recorded with their reason, a waiting message sent once, replies first."""

from __future__ import annotations

import itertools
from datetime import timedelta
from uuid import UUID

import dramatiq
import pytest

from application.throttle import SendPostponedError
from despacho.bootstrap import Despacho, make_throttle
from domain.chats import Chat
from domain.messages import OutboundMessage
from tests.conftest import WITH_CLOSING_TEMPLATE

SMS_NUMBER = "+15005550006"
CUSTOMER = "+573001112233"
TEMPLATE = "HX" + "b" * 32
sids = (f"SM{n:032x}" for n in itertools.count(1))


class AtLevel:
    def __init__(self, level: str) -> None:
        self.level = level

    def level_of(self, sender: str) -> str:
        return self.level


@pytest.fixture
def chat(despacho: Despacho) -> Chat:
    campaign = despacho.campaigns.register("banco_a", "Banco Andino", "Banco Andino", WITH_CLOSING_TEMPLATE,
                                           actor="test")
    despacho.campaigns.link_sender(campaign, SMS_NUMBER, "sms", is_default=True, actor="test")
    now = despacho.clock.now()
    opened = Chat.open("sms", CUSTOMER, SMS_NUMBER, profile_name="María", flow_name="default", actor="test", at=now)
    opened.receive_customer_message(next(sids), "Hola", [], actor="customer", at=now)
    opened.identify(str(campaign), "CC", "1020304050", actor="test", at=now)
    despacho.store.save(opened)
    return opened


def requested(despacho: Despacho, chat: Chat, kind: str, **content: str) -> str:
    message = despacho.outbound.compose(chat, kind, actor="test", **content)
    despacho.store.save(message)
    return str(message.id)


def stored(despacho: Despacho, message_id: str) -> OutboundMessage:
    message = despacho.store.repository.get(UUID(message_id))
    assert isinstance(message, OutboundMessage)
    return message


def test_a_template_past_the_customers_cap_is_recorded_failed_with_its_reason(despacho: Despacho,
                                                                               chat: Chat) -> None:
    despacho.clock.advance(timedelta(hours=30))  # the window closed: templates are business-initiated now
    sent = []
    for _ in range(despacho.settings.customer_business_messages_per_day + 1):
        sent.append(requested(despacho, chat, "template", content_sid=TEMPLATE))
        despacho.actors.send_message.fn(sent[-1])  # the long code's next token is a second away: the worker waits
        despacho.runner.catch_up(hand_out_work=False)
    refused = stored(despacho, sent[-1])
    assert (refused.status, refused.error_code, refused.attempts) == ("failed", "customer_cap", 0)
    assert [stored(despacho, m).status for m in sent[:-1]] == ["queued"] * (len(sent) - 1)


def test_a_message_that_waits_for_its_token_is_sent_once_when_tried_again(despacho: Despacho, chat: Chat) -> None:
    first, second = requested(despacho, chat, "agent", body="Hola"), requested(despacho, chat, "agent", body="¿Sigue?")
    despacho.outbound.send(first)
    despacho.outbound.send(second)  # a long code holds two tokens: a reply may have both
    third = requested(despacho, chat, "agent", body="Quedo atento")
    with pytest.raises(SendPostponedError):
        despacho.outbound.send(third)
    assert stored(despacho, third).attempts == 0, "a wait is no attempt"
    assert despacho.throttle.waiting_for_token() == {SMS_NUMBER: 1}
    despacho.actors.send_message.fn(third)  # the worker waits the second in its thread
    despacho.actors.send_message.fn(third)
    message = stored(despacho, third)
    assert (message.status, message.attempts) == ("queued", 1)
    assert despacho.throttle.waiting_for_token() == {}


def test_at_critical_risk_bulk_goes_back_to_the_broker_and_replies_still_go(despacho: Despacho, chat: Chat) -> None:
    critical = make_throttle(despacho.settings, despacho.clock, despacho.read_engine, AtLevel("critical"))
    despacho.outbound.throttle = critical
    reply = requested(despacho, chat, "agent", body="Hola")
    despacho.actors.send_message.fn(reply)
    despacho.clock.advance(timedelta(hours=30))
    bulk = requested(despacho, chat, "template", content_sid=TEMPLATE)
    with pytest.raises(dramatiq.Retry) as retry:
        despacho.actors.send_message.fn(bulk)
    assert retry.value.delay == 60_000
    assert (stored(despacho, reply).status, stored(despacho, bulk).status) == ("queued", "requested")
    assert critical.waiting_for_token() == {SMS_NUMBER: 1}

"""The inbound webhook records the message alone; the inbound follower puts it on its chat, once, in order.

Runs on SQLite and PostgreSQL with the real store and runner, no background threads: each test drives
the runner itself, so it can stop the follower at the moment it wants (a failed or missed attach).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.twilio_signatures import sign, webhook_url
from api.app import create_app
from application.inbound import InboundText
from despacho.bootstrap import Despacho
from domain.chats import Chat
from domain.messages import InboundMessage
from domain.threads import CustomerThread
from projections.inbound_attachments import InboundFollower

CUSTOMER, SENDER, OTHER = "whatsapp:+573001112233", "whatsapp:+5716000001", "whatsapp:+573009990000"
WEBHOOK = "/webhooks/twilio/messages"


def follower(despacho: Despacho) -> InboundFollower:
    return next(p for p in despacho.runner.projectors if isinstance(p, InboundFollower))


def record(despacho: Despacho, sid: str, body: str, customer: str = CUSTOMER) -> str:
    return despacho.inbound.receive(InboundText(sid, customer, SENDER, body)).inbound_id


def written(despacho: Despacho, customer: str = CUSTOMER) -> list[str]:
    """The message SIDs on the customer's open chat, in the chat's order."""
    thread = despacho.store.repository.get(CustomerThread.create_id(customer, SENDER))
    return [e.message_sid for e in despacho.store.events.get(UUID(thread.open_chat_id))
            if isinstance(e, Chat.CustomerWrote)]


def test_a_recorded_message_reaches_its_chat_only_through_the_follower(despacho: Despacho) -> None:
    inbound_id = record(despacho, "SM1", "Hola")
    assert not despacho.store.repository.get(UUID(inbound_id)).attached
    assert CustomerThread.create_id(CUSTOMER, SENDER) not in despacho.store.repository
    despacho.runner.catch_up()
    assert written(despacho) == ["SM1"]
    chat_id = despacho.store.repository.get(UUID(inbound_id)).chat_id
    assert chat_id == despacho.store.repository.get(CustomerThread.create_id(CUSTOMER, SENDER)).open_chat_id


def test_attaching_a_message_again_changes_nothing(despacho: Despacho) -> None:
    inbound_id = record(despacho, "SM1", "Hola")
    assert despacho.inbound.attach(inbound_id) is not None
    assert despacho.inbound.attach(inbound_id) is None, "the second attach finds it attached"
    despacho.runner.catch_up()  # the follower tries too, and finds nothing left to do
    assert follower(despacho).attach_pending() == 0
    assert written(despacho) == ["SM1"]


def test_twilio_retrying_a_message_records_it_once(despacho: Despacho) -> None:
    first = despacho.inbound.receive(InboundText("SM1", CUSTOMER, SENDER, "Hola"))
    again = despacho.inbound.receive(InboundText("SM1", CUSTOMER, SENDER, "Hola"))
    assert (first.duplicate, again.duplicate, again.inbound_id) == (False, True, first.inbound_id)
    despacho.runner.catch_up()
    assert written(despacho) == ["SM1"]


def test_a_customers_second_message_never_reaches_the_chat_before_the_first(despacho: Despacho) -> None:
    first, second = record(despacho, "SM1", "Hola"), record(despacho, "SM2", "1")
    other = record(despacho, "SM3", "Buenas", customer=OTHER)
    real_attach, tried = despacho.inbound.attach, []

    def first_attempt_fails(inbound_id: str) -> Any:
        tried.append(inbound_id)
        if inbound_id == first and tried.count(first) == 1:
            raise ConnectionError("database went away")
        return real_attach(inbound_id)

    follower(despacho).attach = first_attempt_fails
    despacho.runner.catch_up()
    assert second not in tried, "the second message waited behind the failed first"
    assert other in tried, "another customer's message did not wait"
    follower(despacho).when_idle()  # the next turn
    assert written(despacho) == ["SM1", "SM2"]


def test_a_message_recorded_just_before_a_crash_is_attached_after_the_restart(despacho: Despacho) -> None:
    real_attach = despacho.inbound.attach
    follower(despacho).attach = lambda inbound_id: None  # the process died after the batch committed
    inbound_id = record(despacho, "SM1", "Hola")
    despacho.runner.catch_up()
    assert not despacho.store.repository.get(UUID(inbound_id)).attached
    follower(despacho).attach = real_attach  # started again: the first idle turn finishes it
    follower(despacho).when_idle()
    assert written(despacho) == ["SM1"]


def signed_post(despacho: Despacho, client: TestClient, params: dict[str, str], **kwargs: Any) -> Any:
    url = webhook_url(despacho.settings.public_url, WEBHOOK)
    signature = sign(despacho.settings.twilio_auth_token.get_secret_value(), url, params)
    return client.post(WEBHOOK, headers={"X-Twilio-Signature": signature, **kwargs.pop("headers", {})}, **kwargs)


def test_a_forged_signature_is_refused_before_anything_is_recorded(despacho: Despacho) -> None:
    client = TestClient(create_app(despacho))
    params = {"MessageSid": "SM1", "From": CUSTOMER, "To": SENDER, "Body": "Hola"}
    forged = client.post(WEBHOOK, data=params, headers={"X-Twilio-Signature": sign("otro-token", "x", params)})
    assert forged.status_code == 403
    assert InboundMessage.create_id("SM1") not in despacho.store.repository


@pytest.mark.parametrize("malformed", ["missing From", "not a form"])
def test_a_malformed_webhook_is_refused_and_its_retry_is_not_taken_for_a_duplicate(
        despacho: Despacho, malformed: str) -> None:
    client = TestClient(create_app(despacho))
    complete = {"MessageSid": "SM1", "From": CUSTOMER, "To": SENDER, "Body": "Hola"}
    if malformed == "missing From":
        refused = signed_post(despacho, client, {k: v for k, v in complete.items() if k != "From"},
                              data={k: v for k, v in complete.items() if k != "From"})
    else:
        refused = signed_post(despacho, client, {}, content=b'{"MessageSid": "SM1"}',
                              headers={"Content-Type": "application/json"})
    assert refused.status_code == 400
    assert InboundMessage.create_id("SM1") not in despacho.store.repository
    assert signed_post(despacho, client, complete, data=complete).status_code == 200
    despacho.runner.catch_up()
    assert written(despacho) == ["SM1"]

"""The real `twilio` SDK, through TwilioTransport, against the local fake of Twilio's Messages API.

Nothing here reaches the real Twilio: the transport's `api_base_url` points the SDK at
adapters/fake_twilio_api.py served on a free localhost port, and every request that crosses the
wire is recorded so it can be checked against Twilio's own OpenAPI description.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.fake_twilio_api import BackgroundServer, FakeTwilio, ProgrammedAnswer, create_app
from adapters.twilio_transport import TwilioTransport
from application.ports import Delivery, SendFailedError

OPENAPI = Path(__file__).parents[1] / "fixtures" / "twilio" / "twilio_api_v2010.json"
SID = re.compile(r"^SM[0-9a-f]{32}$")
WHATSAPP_SENDER = "whatsapp:+5716000001"
SMS_SENDER = "+5716000002"
MESSAGING_SERVICE = "MG" + "a" * 32
CUSTOMER = "whatsapp:+573001112233"
SMS_CUSTOMER = "+573001112233"


# -- the fake Twilio on the wire, recorded ---------------------------------------------------------
@dataclass(frozen=True)
class WireRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]


class RecordingApp:
    """Passes every request to the fake Twilio app and keeps what the SDK actually sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: list[WireRequest] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.requests.append(WireRequest(scope["method"], scope["path"],
                                         parse_qsl(scope["query_string"].decode(), keep_blank_values=True),
                                         parse_qsl(body.decode(), keep_blank_values=True)))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def creates(self) -> list[dict[str, str]]:
        return [dict(r.form) for r in self.requests if r.method == "POST"]


@dataclass
class CallbackInbox:
    """Stands in for Despacho's status webhook: keeps the status callbacks the fake posts."""

    url: str = ""
    received: list[tuple[dict[str, list[str]], dict[str, str]]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, sid: str, timeout: float = 10.0) -> tuple[dict[str, list[str]], dict[str, str]]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for query, form in self.received:
                    if form.get("MessageSid") == sid:
                        return query, form
                if (left := deadline - time.monotonic()) <= 0:
                    raise AssertionError(f"no status callback for {sid}")
                self.arrived.wait(left)


@pytest.fixture
def inbox() -> Iterator[CallbackInbox]:
    inbox = CallbackInbox()

    async def status(request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        with inbox.arrived:
            inbox.received.append((parse_qs(request.url.query), form))
            inbox.arrived.notify_all()
        return Response(status_code=204)

    with BackgroundServer(Starlette(routes=[Route("/webhooks/twilio/status", status, methods=["POST"])])) as server:
        inbox.url = server.url
        yield inbox


@pytest.fixture
def twilio() -> FakeTwilio:
    return FakeTwilio()


@pytest.fixture
def wire(twilio: FakeTwilio) -> Iterator[tuple[str, RecordingApp]]:
    recorder = RecordingApp(create_app(twilio))
    with BackgroundServer(recorder, on_stop=twilio.released.set) as server:
        yield server.url, recorder


@pytest.fixture
def recorder(wire: tuple[str, RecordingApp]) -> RecordingApp:
    return wire[1]


@pytest.fixture
def transport(twilio: FakeTwilio, wire: tuple[str, RecordingApp]) -> TwilioTransport:
    return another_process(twilio, wire)


def another_process(twilio: FakeTwilio, wire: tuple[str, RecordingApp], *, timeout: float = 2.0) -> TwilioTransport:
    """A fresh transport, as a restarted worker would build it: nothing remembered."""
    return TwilioTransport(twilio.account_sid, twilio.auth_token, api_base_url=wire[0], timeout=timeout)


@pytest.fixture
def make_delivery(inbox: CallbackInbox) -> Any:
    def make(*, to: str = CUSTOMER, sender: str = WHATSAPP_SENDER, body: str = "", content_sid: str = "",
             content_variables: dict[str, str] | None = None) -> Delivery:
        message_id = str(uuid.uuid4())
        if not body and not content_sid:
            body = "Hola, le escribe Ana de Cobranzas Andina. ¿En qué le ayudo?"
        return Delivery(message_id=message_id, to=to, sender=sender, body=body, content_sid=content_sid,
                        content_variables=content_variables or {},
                        status_callback=f"{inbox.url}/webhooks/twilio/status?mid={message_id}")
    return make


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def refused(call: Any) -> SendFailedError:
    with pytest.raises(SendFailedError) as caught:
        call()
    return caught.value


# -- sending ----------------------------------------------------------------------------------------
def test_sends_free_form_whatsapp_from_the_number_the_customer_wrote_to(
        transport: TwilioTransport, twilio: FakeTwilio, make_delivery: Any) -> None:
    delivery = make_delivery()

    submitted = transport.send(delivery)

    assert SID.match(submitted.sid) and submitted.status == "queued"
    stored = twilio.fetch_message(submitted.sid)
    assert (stored.to, stored.from_, stored.body) == (CUSTOMER, WHATSAPP_SENDER, delivery.body)
    assert stored.status_callback == delivery.status_callback


def test_sends_a_template_with_its_content_variables_as_json_and_no_body(
        transport: TwilioTransport, recorder: RecordingApp, make_delivery: Any) -> None:
    variables = {"1": "Ana María", "2": "3 de noviembre"}
    delivery = make_delivery(content_sid="HX" + "b" * 32, content_variables=variables)

    transport.send(delivery)

    [form] = recorder.creates()
    assert form["ContentSid"] == delivery.content_sid
    assert json.loads(form["ContentVariables"]) == variables
    assert "Body" not in form


def test_sends_sms_from_a_plain_number(transport: TwilioTransport, twilio: FakeTwilio, make_delivery: Any) -> None:
    submitted = transport.send(make_delivery(to=SMS_CUSTOMER, sender=SMS_SENDER, body="Su pago fue registrado."))

    stored = twilio.fetch_message(submitted.sid)
    assert (stored.to, stored.from_, stored.body) == (SMS_CUSTOMER, SMS_SENDER, "Su pago fue registrado.")


def test_a_messaging_service_sender_goes_as_messaging_service_sid_without_from(
        transport: TwilioTransport, recorder: RecordingApp, make_delivery: Any) -> None:
    submitted = transport.send(make_delivery(sender=MESSAGING_SERVICE))

    [form] = recorder.creates()
    assert form["MessagingServiceSid"] == MESSAGING_SERVICE and "From" not in form
    assert submitted.status == "accepted"


def test_twilio_status_callbacks_carry_despachos_message_id(
        transport: TwilioTransport, inbox: CallbackInbox, make_delivery: Any) -> None:
    delivery = make_delivery()

    submitted = transport.send(delivery)

    query, form = inbox.wait_for(submitted.sid)
    assert query["mid"] == [delivery.message_id]
    assert form["MessageStatus"] in {"sent", "delivered", "read"}


# -- errors that retrying cannot fix ----------------------------------------------------------------
def test_an_invalid_number_fails_at_once_with_a_clear_reason(transport: TwilioTransport, make_delivery: Any) -> None:
    error = refused(lambda: transport.send(make_delivery(to="whatsapp:3001112233")))

    assert (error.code, error.retryable, error.opted_out) == ("21211", False, False)
    assert "no es válido" in error.reason


def test_an_opted_out_customer_fails_at_once_and_is_marked_opted_out(
        transport: TwilioTransport, twilio: FakeTwilio, make_delivery: Any) -> None:
    twilio.opt_out(SMS_CUSTOMER)

    error = refused(lambda: transport.send(make_delivery(to=SMS_CUSTOMER, sender=SMS_SENDER)))

    assert (error.code, error.retryable, error.opted_out) == ("21610", False, True)
    assert "no recibir más mensajes" in error.reason


def test_free_form_outside_the_whatsapp_window_is_refused_without_retry(
        transport: TwilioTransport, twilio: FakeTwilio, make_delivery: Any) -> None:
    twilio.reject_outside_window = True
    twilio.close_window(CUSTOMER)

    error = refused(lambda: transport.send(make_delivery()))

    assert (error.code, error.retryable) == ("63016", False)
    assert "plantilla" in error.reason


def test_rejected_credentials_are_not_retried(twilio: FakeTwilio, wire: tuple[str, RecordingApp],
                                              make_delivery: Any) -> None:
    transport = TwilioTransport(twilio.account_sid, "not-the-token", api_base_url=wire[0], timeout=2)

    error = refused(lambda: transport.send(make_delivery()))

    assert (error.code, error.retryable) == ("20003", False)
    assert "credenciales" in error.reason


# -- errors worth retrying --------------------------------------------------------------------------
@pytest.mark.parametrize(("answer", "code"), [
    (ProgrammedAnswer.error(429, 20429, "Too Many Requests"), "20429"),
    (ProgrammedAnswer.error(429), "http_429"),
    (ProgrammedAnswer.error(500), "http_500"),
    (ProgrammedAnswer.error(503), "http_503"),
])
def test_rate_limits_and_server_errors_are_retryable_and_nothing_was_sent(
        transport: TwilioTransport, twilio: FakeTwilio, make_delivery: Any, answer: ProgrammedAnswer,
        code: str) -> None:
    twilio.program(answer)
    delivery = make_delivery()

    error = refused(lambda: transport.send(delivery))

    assert (error.code, error.retryable) == (code, True)
    assert transport.find_sent(delivery) is None
    assert SID.match(transport.send(delivery).sid)  # the retry goes through


def test_twilio_unreachable_is_retryable(twilio: FakeTwilio, make_delivery: Any) -> None:
    transport = TwilioTransport(twilio.account_sid, twilio.auth_token,
                                api_base_url=f"http://127.0.0.1:{free_port()}", timeout=2)

    error = refused(lambda: transport.send(make_delivery()))

    assert (error.code, error.retryable) == ("network", True)


def test_a_dropped_connection_is_retryable_and_the_message_is_found_before_resending(
        transport: TwilioTransport, twilio: FakeTwilio, make_delivery: Any) -> None:
    twilio.program(ProgrammedAnswer.drop(create_first=True))
    delivery = make_delivery()

    error = refused(lambda: transport.send(delivery))

    assert error.retryable and "verificará si el mensaje salió" in error.reason
    [created] = twilio.list_messages({})
    found = transport.find_sent(delivery)
    assert found is not None and found.sid == created.sid


def test_a_timeout_after_twilio_created_the_message_is_reported_for_a_lookup(
        twilio: FakeTwilio, wire: tuple[str, RecordingApp], make_delivery: Any) -> None:
    transport = another_process(twilio, wire, timeout=0.5)
    twilio.program(ProgrammedAnswer.hang(5, create_first=True))
    delivery = make_delivery()

    error = refused(lambda: transport.send(delivery))

    assert (error.code, error.retryable) == ("timeout", True)
    assert "verificará si el mensaje salió" in error.reason
    [created] = twilio.list_messages({})
    found = transport.find_sent(delivery)
    assert found is not None and found.sid == created.sid


# -- find_sent -------------------------------------------------------------------------------------
def test_a_restarted_worker_finds_the_message_twilio_accepted_before_the_crash(
        twilio: FakeTwilio, wire: tuple[str, RecordingApp], make_delivery: Any) -> None:
    delivery = make_delivery()
    twilio.program(ProgrammedAnswer.drop(create_first=True))
    refused(lambda: another_process(twilio, wire).send(delivery))  # the worker dies right after this

    found = another_process(twilio, wire).find_sent(delivery)

    [created] = twilio.list_messages({})
    assert found is not None and found.sid == created.sid


def test_find_sent_finds_nothing_when_no_attempt_reached_twilio(
        transport: TwilioTransport, make_delivery: Any) -> None:
    assert transport.find_sent(make_delivery()) is None


def test_find_sent_does_not_take_another_text_to_the_same_customer(
        transport: TwilioTransport, make_delivery: Any) -> None:
    transport.send(make_delivery(body="Buenos días"))

    assert transport.find_sent(make_delivery(body="Su acuerdo de pago quedó registrado")) is None


def test_find_sent_does_not_take_a_message_from_another_sender(
        transport: TwilioTransport, make_delivery: Any) -> None:
    sent = make_delivery()
    transport.send(sent)

    assert transport.find_sent(make_delivery(sender="whatsapp:+5716000009", body=sent.body)) is None


def test_find_sent_does_not_take_a_same_text_message_this_worker_sent_for_another_delivery(
        transport: TwilioTransport, make_delivery: Any) -> None:
    first = make_delivery(body="Por favor escriba su número de documento.")
    transport.send(first)

    assert transport.find_sent(make_delivery(body=first.body)) is None


def test_find_sent_works_for_a_messaging_service_sender(
        twilio: FakeTwilio, wire: tuple[str, RecordingApp], make_delivery: Any) -> None:
    delivery = make_delivery(sender=MESSAGING_SERVICE)
    submitted = another_process(twilio, wire).send(delivery)

    found = another_process(twilio, wire).find_sent(delivery)

    assert found is not None and found.sid == submitted.sid


def test_find_sent_works_for_a_template_and_ignores_other_text(
        twilio: FakeTwilio, wire: tuple[str, RecordingApp], make_delivery: Any) -> None:
    another_process(twilio, wire).send(make_delivery(body="Hola"))
    template = make_delivery(content_sid="HX" + "c" * 32, content_variables={"1": "Ana"})
    assert another_process(twilio, wire).find_sent(template) is None

    submitted = another_process(twilio, wire).send(template)

    found = another_process(twilio, wire).find_sent(template)
    assert found is not None and found.sid == submitted.sid


def test_a_lookup_that_cannot_reach_twilio_is_retryable_never_an_answer(
        transport: TwilioTransport, twilio: FakeTwilio, make_delivery: Any) -> None:
    unreachable = TwilioTransport(twilio.account_sid, twilio.auth_token,
                                  api_base_url=f"http://127.0.0.1:{free_port()}", timeout=2)

    error = refused(lambda: unreachable.find_sent(make_delivery()))

    assert error.retryable


# -- what crossed the wire matches Twilio's OpenAPI description ------------------------------------------
@cache
def openapi() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return spec


def operation(method: str, path: str) -> dict[str, Any]:
    for template, item in openapi()["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            found: dict[str, Any] = item[method.lower()]
            return found
    raise AssertionError(f"{method} {path} is not in Twilio's API description")


def test_the_requests_the_sdk_sent_match_twilios_api_description(
        transport: TwilioTransport, twilio: FakeTwilio, recorder: RecordingApp, make_delivery: Any) -> None:
    transport.send(make_delivery())
    transport.send(make_delivery(content_sid="HX" + "d" * 32, content_variables={"1": "Ana"}))
    transport.send(make_delivery(to=SMS_CUSTOMER, sender=SMS_SENDER))
    transport.send(make_delivery(sender=MESSAGING_SERVICE))
    transport.find_sent(make_delivery())
    transport.find_sent(make_delivery(sender=MESSAGING_SERVICE))

    assert {r.method for r in recorder.requests} == {"POST", "GET"}
    for request in recorder.requests:
        spec = operation(request.method, request.path)
        account = urlsplit(request.path).path.split("/")[3]
        assert re.match(openapi()["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]["post"]
                        ["parameters"][0]["schema"]["pattern"], account) and account == twilio.account_sid
        if request.method == "POST":
            schema = spec["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
            sent = {name for name, _ in request.form}
            assert sent <= set(schema["properties"]), sent - set(schema["properties"])
            assert set(schema.get("required", [])) <= sent
            assert {"To", "StatusCallback"} <= sent and len(sent & {"From", "MessagingServiceSid"}) == 1
            assert len(sent & {"Body", "ContentSid"}) == 1
        else:
            allowed = {p["name"] for p in spec["parameters"] if p["in"] == "query"}
            sent = {name for name, _ in request.query}
            assert sent <= allowed, sent - allowed
            assert "To" in sent


def test_asks_twilio_for_the_status_of_a_message_whose_callbacks_never_came(
        transport: TwilioTransport, twilio: FakeTwilio, make_delivery: Any) -> None:
    submitted = transport.send(make_delivery())
    for _ in range(200):  # the fake advances the message on its own schedule, as Twilio does
        if twilio.fetch_message(submitted.sid).status == "delivered":
            break
        time.sleep(0.02)
    reported = transport.current_status(submitted.sid)
    assert reported is not None and reported.status == twilio.fetch_message(submitted.sid).status
    assert transport.current_status("SM" + "0" * 32) is None, "an unknown SID: Twilio cannot say"

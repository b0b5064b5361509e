"""Outbound messages per second through the worker against the local fake Twilio, and status
callbacks per second through the signed webhook, each beside the fake's raw rate in the same run.

Everything goes over real HTTP on 127.0.0.1: the fake of Twilio's REST API
(adapters/fake_twilio_api.py) and Despacho's app each run under uvicorn in a background thread.
Despacho is built as in production with `DESPACHO_TWILIO_TRANSPORT=twilio` and
`DESPACHO_TWILIO_API_BASE_URL` pointing at the fake, so its transport is `TwilioTransport` (the
real `twilio` SDK); `DESPACHO_PUBLIC_URL` is the URL Despacho is served on, so the status-callback
URLs it hands Twilio are reachable and their signatures check out.

1. Outbound: `send_message`, the worker's actor, called in one thread for each of MESSAGES
   requested messages: load the message, record the attempt, `TwilioTransport.send` →
   `client.messages.create` → fake, record the SID. Baseline: the same SDK client calling
   `client.messages.create` in a loop with the same parameters (To, From, Body, StatusCallback) —
   the fake's raw rate as the SDK sees it, i.e. what the worker would reach if it did nothing else.
2. Status callbacks: the fake plays Twilio and POSTs `sent`, `delivered`, `read` for each message
   (`FakeTwilio.replay_callbacks`, signed with the auth token, one request each as its dispatcher
   does, but over a kept-alive connection — see `ReplayOnly`) to the message's StatusCallback,
   Despacho's `/webhooks/twilio/status?mid=…`, which checks the signature and applies the status
   to the event-sourced message. Baseline: the same fake replaying the same callbacks for the
   baseline messages, whose StatusCallback is a bare FastAPI endpoint (same uvicorn setup) that
   reads the form and answers 204 — the rate the fake posts callbacks at when the receiver does
   nothing.

Both paths are measured serially (one sender, one callback at a time), on SQLite and on
PostgreSQL when reachable. The read-side projection is not part of either figure (the projector
runs on its own in production). The fake's automatic callbacks are switched off so only the
measured ones reach the servers.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from uuid import UUID, uuid4

from common import available_backends, backend, rate, report
from fastapi import FastAPI, Request
from fastapi.responses import Response
from twilio.rest import Client

from adapters.fake_twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    BackgroundServer,
    FakeTwilio,
    serve_fake_twilio,
)
from adapters.twilio_callbacks import CallbackDispatcher, Step
from adapters.twilio_transport import RedirectingHttpClient, create_params
from api.app import create_app
from application.ports import Delivery
from despacho.bootstrap import Despacho
from domain.messages import OutboundMessage
from tests.services import free_port

MESSAGES = 400
STATUSES = ("sent", "delivered", "read")
SENDER = "whatsapp:+5716000001"
customers = (f"whatsapp:+57300{n:07d}" for n in itertools.count(1))


class ReplayOnly(CallbackDispatcher):
    """The fake's dispatcher without its automatic callbacks: only `replay_callbacks` posts, so both
    figures count exactly the callbacks the bench replays."""

    def schedule(self, url: str | None, steps: Sequence[Step]) -> None:
        return None


def bare_receiver() -> FastAPI:
    app = FastAPI()

    @app.post("/bare")
    async def bare(request: Request) -> Response:
        await request.form()
        return Response(status_code=204)

    return app


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def served_despacho(name: str, fake_url: str) -> Iterator[tuple[Despacho, str]]:
    """A fresh Despacho on this backend whose transport is the SDK against the fake, served over HTTP."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    with environment({"DESPACHO_PUBLIC_URL": public_url, "DESPACHO_TWILIO_TRANSPORT": "twilio",
                      "DESPACHO_TWILIO_API_BASE_URL": fake_url, "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
                      "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN}), backend(name) as despacho, \
            BackgroundServer(create_app(despacho), port=port):
        yield despacho, public_url


def requested_messages(despacho: Despacho, count: int) -> list[str]:
    now = despacho.clock.now()
    messages = [OutboundMessage.request(chat_id=str(uuid4()), campaign_id="", kind="agent", channel="whatsapp",
                                        to=next(customers), sender=SENDER, body=f"Hola, le escribe su asesor ({n})",
                                        actor="bench", at=now) for n in range(count)]
    despacho.store.save(*messages)
    return [str(m.id) for m in messages]


def timed_rate(count: int, work: Callable[[int], None]) -> float:
    start = time.perf_counter()
    for n in range(count):
        work(n)
    return rate(count, time.perf_counter() - start)


def run(name: str) -> None:
    dispatcher = ReplayOnly(DEFAULT_AUTH_TOKEN)
    fake = FakeTwilio(dispatcher=dispatcher)
    with serve_fake_twilio(fake) as twilio_server, BackgroundServer(bare_receiver()) as bare_server, \
            served_despacho(name, twilio_server.url) as (despacho, public_url):
        sdk = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, http_client=RedirectingHttpClient(twilio_server.url))
        baseline_sids: list[str] = []

        def create_directly(n: int) -> None:
            delivery = Delivery(message_id=str(uuid4()), to=next(customers), sender=SENDER,
                                body=f"Hola, le escribe su asesor ({n})",
                                status_callback=f"{bare_server.url}/bare?mid={uuid4()}")
            baseline_sids.append(str(sdk.messages.create(**create_params(delivery)).sid))

        message_ids = requested_messages(despacho, MESSAGES)
        send_message = despacho.actors.send_message

        def send_through_worker(n: int) -> None:
            send_message(message_ids[n])

        create_directly(0)  # warm up the SDK's connection pool and the fake
        baseline_sids.clear()
        baseline = timed_rate(MESSAGES, create_directly)
        throughput = timed_rate(MESSAGES, send_through_worker)
        report(f"[{name}] outbound msgs/s, worker → SDK → fake Twilio", throughput, "msg/s",
               "SDK create loop", baseline)

        sids = [message_of(despacho, message_id).sid for message_id in message_ids]
        assert all(sids), "every message was handed to the fake Twilio"
        assert (fake.fetch_message(sids[0]).status_callback or "").startswith(public_url)

        def replay(sid_list: list[str]) -> Callable[[int], None]:
            def post(n: int) -> None:
                answers = fake.replay_callbacks(sid_list[n], STATUSES)
                assert all(answer == 204 for answer in answers), answers
            return post

        callbacks_baseline = timed_rate(MESSAGES, replay(baseline_sids)) * len(STATUSES)
        callbacks = timed_rate(MESSAGES, replay(sids)) * len(STATUSES)
        report(f"[{name}] status callbacks/s, fake → signed webhook", callbacks, "req/s",
               "fake → bare endpoint", callbacks_baseline)
        final = {message_of(despacho, message_id).status for message_id in message_ids}
        assert final == {"read"}, final
    dispatcher.stop()


def message_of(despacho: Despacho, message_id: str) -> OutboundMessage:
    message: OutboundMessage = despacho.store.repository.get(UUID(message_id))
    return message


def main() -> None:
    for name in available_backends():
        run(name)


if __name__ == "__main__":
    main()

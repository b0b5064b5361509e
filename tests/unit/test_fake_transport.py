"""The in-memory transport of embedded mode: records what it sends, fails when told to, finds earlier sends."""

from __future__ import annotations

import re
import threading

import pytest

from adapters.clock import FixedClock
from adapters.twilio_transport import FakeTransport, failure_for
from application.ports import Delivery, SendFailedError

SID = re.compile(r"^SM[0-9a-f]{32}$")


def delivery(message_id: str = "m-1", to: str = "whatsapp:+573001112233", body: str = "Hola") -> Delivery:
    return Delivery(message_id=message_id, to=to, sender="whatsapp:+5716000001", body=body,
                    status_callback=f"https://despacho.example/webhooks/twilio/status?mid={message_id}")


def test_records_each_send_with_a_twilio_like_sid(clock: FixedClock) -> None:
    transport = FakeTransport(clock)

    submitted = transport.send(delivery())

    assert SID.match(submitted.sid) and submitted.status == "queued"
    [sent] = transport.sent
    assert (sent.sid, sent.delivery, sent.at) == (submitted.sid, delivery(), clock.now())


def test_shows_what_one_customer_received_in_order() -> None:
    transport = FakeTransport()
    transport.send(delivery("m-1", body="Hola"))
    transport.send(delivery("m-2", to="whatsapp:+573009998877", body="Otro cliente"))
    transport.send(delivery("m-3", body="¿En qué le ayudo?"))

    assert [m.delivery.body for m in transport.sent_to("whatsapp:+573001112233")] == ["Hola", "¿En qué le ayudo?"]


def test_a_programmed_failure_is_raised_once_and_sends_nothing() -> None:
    transport = FakeTransport()
    transport.fail_next(failure_for(21211))

    with pytest.raises(SendFailedError) as caught:
        transport.send(delivery())

    assert (caught.value.code, caught.value.retryable) == ("21211", False)
    assert transport.sent == [] and transport.find_sent(delivery()) is None
    assert SID.match(transport.send(delivery()).sid)


def test_a_failure_after_accepting_leaves_the_message_for_find_sent() -> None:
    transport = FakeTransport()
    transport.fail_next(SendFailedError("timeout", "Twilio no respondió a tiempo", retryable=True),
                        after_accepting=True)

    with pytest.raises(SendFailedError):
        transport.send(delivery())

    found = transport.find_sent(delivery())
    assert found is not None and found.sid == transport.sent[0].sid


def test_find_sent_matches_by_despachos_message_id_only() -> None:
    transport = FakeTransport()
    submitted = transport.send(delivery("m-1"))

    assert transport.find_sent(delivery("m-1")) == submitted
    assert transport.find_sent(delivery("m-2")) is None


def test_failures_built_from_twilio_codes_say_whether_to_retry() -> None:
    opted_out, rate_limited = failure_for(21610), failure_for(20429, 429)

    assert (opted_out.retryable, opted_out.opted_out) == (False, True)
    assert (rate_limited.retryable, rate_limited.opted_out) == (True, False)


def test_concurrent_sends_are_all_recorded_with_distinct_sids() -> None:
    transport = FakeTransport()

    def send_many(worker: int) -> None:
        for n in range(50):
            transport.send(delivery(f"m-{worker}-{n}"))

    threads = [threading.Thread(target=send_many, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({m.sid for m in transport.sent}) == 400

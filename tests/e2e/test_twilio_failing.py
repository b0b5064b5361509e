"""Twilio answering 500, 429 and timeouts in the middle of the traffic: every message still goes out exactly once.

While customers identify themselves over signed webhooks, the fake Twilio is programmed, one answer
at a time among the sends, to refuse a create with 500, 503 or 429 (with and without Twilio's 20429),
to hang past the SDK's timeout or drop the connection after it created the message (the ambiguous
case: the next attempt must find it instead of sending again), and to hang before creating it. They
are all retryable (adapters/twilio_errors.py), so each one costs its message one more attempt and
nothing else: afterwards every outbound message reached the fake exactly once, none is recorded as
failed, the attempts add up, and the invariants after SIGKILL hold too. Sized for CI: about a minute.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from adapters.fake_twilio_api import ProgrammedAnswer
from domain.messages import OutboundMessage
from tests.e2e.production_support import postgres_database_fixture, redis_database_fixture, wait_for  # noqa: F401
from tests.e2e.traffic_support import Deployment, check_invariants, deployment, outbound_messages, traffic_under

# One at a time on one worker: each starts its own processes, and two side by side starve both on two cores.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow,
              pytest.mark.xdist_group("production_processes")]

CUSTOMERS = 20
PAST_THE_TIMEOUT = 16.0  # the SDK gives up after 15 s (adapters/twilio_transport.py)
ANSWERS = (
    ProgrammedAnswer.error(500),
    ProgrammedAnswer.error(429, 20429, "Too Many Requests"),
    ProgrammedAnswer.hang(PAST_THE_TIMEOUT, create_first=True),
    ProgrammedAnswer.error(503),
    ProgrammedAnswer.error(429),
    ProgrammedAnswer.drop(create_first=True),
    ProgrammedAnswer.hang(PAST_THE_TIMEOUT, create_first=False),
    ProgrammedAnswer.error(500),
)



def test_every_message_goes_out_once_when_twilio_fails_and_times_out(database_url: str, redis_database: str,
                                                                     tmp_path: Path) -> None:
    with deployment(database_url, redis_database, tmp_path, CUSTOMERS) as deployed:
        def havoc() -> None:
            for answer in ANSWERS:
                time.sleep(0.7)
                deployed.fake.program(answer)

        sids = traffic_under(deployed, havoc)
        wait_for(lambda: deployed.fake.answers_left() == 0, "every programmed answer to meet a send",
                 deployed.alive())
        check_invariants(deployed, sids, also=lambda despacho: check_each_failure_cost_one_attempt(despacho, deployed))


def check_each_failure_cost_one_attempt(despacho: Any, deployed: Deployment) -> None:
    """Every create the fake answered badly was tried again, and no message ended failed: one attempt per message,
    one more per programmed answer, less the ambiguous ones that had created their message (found, not resent)."""
    events = [event for requested in outbound_messages(despacho)
              for event in despacho.store.events.get(requested.originator_id)]
    kinds = Counter(type(event).__name__ for event in events)
    assert kinds["Failed"] == 0, [e for e in events if isinstance(e, OutboundMessage.Failed)]
    created_while_failing = sum(1 for answer in ANSWERS if answer.kind != "error" and answer.create_first)
    assert kinds["AttemptStarted"] == kinds["Requested"] + len(ANSWERS) - created_while_failing
    assert kinds["Submitted"] == kinds["Requested"]
    assert max(e.attempt for e in events if isinstance(e, OutboundMessage.AttemptStarted)) >= 2
    assert deployed.fake.answers_left() == 0

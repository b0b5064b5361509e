"""Follow-ups survive SIGKILL: two APIs, a worker and a projector on PostgreSQL and Redis, killed and restarted.

Sixty customers identify themselves at once over signed webhooks, every webhook posted to both API
processes (Twilio retries; a second API answers when one is down). Meanwhile the worker, the
projector and one API are killed with SIGKILL at random moments and started again. Afterwards no
inbound message is lost or applied twice, every outbound message reached the fake Twilio exactly
once, every bot reply due while the worker was down went out soon after its restart, every chat
was assigned, `audit routing` and `projections rebuild --verify` find nothing, and the chats the
agents close have their confirmation and PDF (`audit closes`). Sized for CI: about a minute.
"""

from __future__ import annotations

import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from domain.messages import OutboundMessage
from tests.e2e.production_support import postgres_database_fixture, redis_database_fixture  # noqa: F401
from tests.e2e.traffic_support import Deployment, check_invariants, deployment, outbound_messages, traffic_under

# One at a time on one worker: each starts its own processes, and two side by side starve both on two cores.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow,
              pytest.mark.xdist_group("production_processes")]

CUSTOMERS = 60
REPLY_AFTER_RESTART_SECONDS = 10


@dataclass
class Chaos:
    """When each process was down: (killed at, running again at), by process name."""

    outages: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def record(self, name: str, killed: float, restarted: float) -> None:
        self.outages.setdefault(name, []).append((killed, restarted))



def kill_and_restart(deployed: Deployment, name: str, chaos: Chaos, down_seconds: float) -> None:
    killed = time.time()
    deployed.running[name].send_signal(signal.SIGKILL)
    deployed.running[name].wait()
    time.sleep(down_seconds)
    deployed.restart(name)
    chaos.record(name, killed, time.time())


def test_nothing_is_lost_or_sent_twice_when_processes_are_killed(database_url: str, redis_database: str,
                                                                 tmp_path: Path) -> None:
    chaos = Chaos()
    with deployment(database_url, redis_database, tmp_path, CUSTOMERS) as deployed:
        def havoc() -> None:
            for name in ("worker", "projector", "api-2", "worker", "projector"):
                time.sleep(random.uniform(1.0, 3.0))
                kill_and_restart(deployed, name, chaos, random.uniform(0.5, 2.0))

        sids = traffic_under(deployed, havoc)
        check_invariants(deployed, sids, also=lambda despacho: check_replies_soon_after_the_worker_restarted(
            despacho, chaos))


def check_replies_soon_after_the_worker_restarted(despacho: Any, chaos: Chaos) -> None:
    """A reply requested while the worker was down went out within seconds of the worker coming back."""
    late = []
    for event in outbound_messages(despacho):
        requested = event.at.timestamp()
        for killed, restarted in chaos.outages.get("worker", []):
            if killed <= requested <= restarted:
                submitted = next(e.at.timestamp() for e in despacho.store.events.get(event.originator_id)
                                 if isinstance(e, OutboundMessage.Submitted))
                if submitted - restarted > REPLY_AFTER_RESTART_SECONDS:
                    late.append(round(submitted - restarted, 1))
    assert late == [], f"replies sent long after the worker's restart (seconds): {late}"

"""The processes ride out a PostgreSQL restart and a Redis restart in the middle of the traffic.

Both servers are this test's own (a PostgreSQL cluster initialised in a temporary folder, a
redis-server on a port of its own), never the machine's shared ones, which other tests use at the
same time. While customers identify themselves over signed webhooks, PostgreSQL is restarted
twice (`fast`, then `immediate`, a crash it recovers from), or Redis is shut down without saving
and started again empty, twice. Nobody restarts Despacho's processes: they must reconnect on their
own. Afterwards the same invariants as after SIGKILL hold (tests/e2e/traffic_support.py). Sized
for CI: about a minute each.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.traffic_support import check_invariants, deployment, traffic_under
from tests.services import (
    PrivatePostgres,
    PrivateRedis,
    fresh_postgres_database,
    fresh_redis_database,
    private_postgres_server,
    restartable_redis_server,
)

# One at a time on one worker: each starts its own processes, and two side by side starve both on two cores.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow,
              pytest.mark.xdist_group("production_processes")]

CUSTOMERS = 24
# Follow-ups a Redis restart threw away are handed out again this long after they were handed out (the
# default, ten minutes, is for production, where a send's own retries can take that long).
QUICK_REDELIVERY = {"DESPACHO_FOLLOW_UP_REDELIVERY_SECONDS": "15", "DESPACHO_TIMER_INTERVAL_SECONDS": "2"}


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    with private_postgres_server() as server:
        yield server


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    with restartable_redis_server() as server:
        yield server


def test_processes_reconnect_after_postgres_restarts(private_postgres: PrivatePostgres, tmp_path: Path) -> None:
    with fresh_redis_database() as redis_url, \
            deployment(private_postgres.create_database(), redis_url, tmp_path, CUSTOMERS) as deployed:
        def havoc() -> None:
            for mode in ("fast", "immediate"):
                time.sleep(2.5)
                private_postgres.restart(mode)

        sids = traffic_under(deployed, havoc)
        check_invariants(deployed, sids)


def test_processes_reconnect_after_redis_restarts_empty(private_redis: PrivateRedis, tmp_path: Path) -> None:
    with fresh_postgres_database() as database_url, \
            deployment(database_url, private_redis.url, tmp_path, CUSTOMERS, **QUICK_REDELIVERY) as deployed:
        def havoc() -> None:
            for _ in range(2):
                time.sleep(2.5)
                private_redis.restart(down_seconds=1.0)

        sids = traffic_under(deployed, havoc)
        check_invariants(deployed, sids)

"""The dramatiq broker: Redis in production, an in-process stub broker in embedded mode."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

# A worker killed in the middle of a job leaves its messages unacknowledged; another worker gives them back to
# the queue once the dead one's heartbeat is this old, at its next maintenance (here one Redis command in ten).
# Dramatiq's defaults (60 s, one in a thousand) left a customer's reply waiting minutes after a crash.
HEARTBEAT_TIMEOUT_MS = 15_000
MAINTENANCE_CHANCE_PER_MILLION = 100_000
# An idle worker asks Redis for work at least this often: the longest a follow-up waits for a free worker.
WORKER_IDLE_POLL_MS = 50


def make_broker(redis_url: str | None) -> dramatiq.Broker:
    if redis_url:
        return RedisBroker(url=redis_url, heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,  # type: ignore[no-untyped-call]
                           maintenance_chance=MAINTENANCE_CHANCE_PER_MILLION)
    broker = StubBroker()
    broker.emit_after("process_boot")
    return broker


def start_worker(broker: dramatiq.Broker, threads: int = 4) -> dramatiq.Worker:
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=WORKER_IDLE_POLL_MS)
    worker.start()
    return worker

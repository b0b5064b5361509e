"""The dramatiq broker: Redis in production, an in-process stub broker in embedded mode."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker


def make_broker(redis_url: str | None) -> dramatiq.Broker:
    if redis_url:
        return RedisBroker(url=redis_url)  # type: ignore[no-untyped-call]
    broker = StubBroker()
    broker.emit_after("process_boot")
    return broker


def start_worker(broker: dramatiq.Broker, threads: int = 4) -> dramatiq.Worker:
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=200)
    worker.start()
    return worker

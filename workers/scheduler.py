"""Periodic jobs (every minute by default) that work in embedded and production modes.

Each tick of each job is claimed under a key naming the job and the time slot, so several
worker processes may run the scheduler at once and the job is still enqueued once per slot.
The jobs themselves are idempotent, so a slot run twice after a crash does no harm either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


class SlotClaims(Protocol):
    def claim(self, key: str, ttl_seconds: int) -> bool: ...


class InMemorySlotClaims:
    def __init__(self) -> None:
        self._claimed: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        with self._lock:
            self._claimed = {k: t for k, t in self._claimed.items() if t > now}
            if key in self._claimed:
                return False
            self._claimed[key] = now + ttl_seconds
            return True


class RedisSlotClaims:
    def __init__(self, redis_url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url)

    def claim(self, key: str, ttl_seconds: int) -> bool:
        return bool(self._redis.set(f"despacho:slot:{key}", "1", nx=True, ex=ttl_seconds))


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: int
    enqueue: Callable[[], object]


class Scheduler:
    def __init__(self, jobs: list[PeriodicJob], claims: SlotClaims, *,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.jobs = jobs
        self.claims = claims
        self.wall_clock = wall_clock

    def tick(self) -> list[str]:
        """Enqueue every job whose current slot nobody has claimed yet; returns their names."""
        enqueued = []
        now = self.wall_clock()
        for job in self.jobs:
            slot = int(now // job.every_seconds)
            if self.claims.claim(f"{job.name}:{slot}", ttl_seconds=job.every_seconds * 3):
                job.enqueue()
                enqueued.append(job.name)
        return enqueued

    def run_forever(self, stop: threading.Event, resolution_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            stop.wait(resolution_seconds)

    def start_thread(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, args=(stop,), name="scheduler", daemon=True)
        thread.start()
        return thread

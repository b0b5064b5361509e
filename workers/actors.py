"""Dramatiq actors, declared against the broker the composition root built.

Actors take ids, not objects, delegate to application/ and are safe to run twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

import dramatiq

from projections.queries import open_sessions_opened_before
from workers.scheduler import PeriodicJob

if TYPE_CHECKING:
    from despacho.bootstrap import Despacho

log = logging.getLogger(__name__)
SHIFT_LIMIT = timedelta(hours=12)


@dataclass(frozen=True)
class Actors:
    expire_sessions: dramatiq.Actor  # type: ignore[type-arg]

    def periodic_jobs(self, every_seconds: int) -> list[PeriodicJob]:
        return [PeriodicJob("expire_sessions", every_seconds, self.expire_sessions.send)]


def declare_actors(broker: dramatiq.Broker, despacho: Despacho) -> Actors:
    def expire_sessions() -> int:
        """Close sessions left open past a shift (browser closed without logging out)."""
        cutoff = despacho.clock.now() - SHIFT_LIMIT
        stale = open_sessions_opened_before(despacho.read_engine, cutoff)
        for session_id in stale:
            despacho.staff.close_session(UUID(session_id), "expired", actor="system")
        return len(stale)

    return Actors(
        expire_sessions=_actor(broker, expire_sessions, max_retries=3, time_limit=60_000),
    )


def _actor(broker: dramatiq.Broker, fn: object, **options: object) -> dramatiq.Actor:  # type: ignore[type-arg]
    name = getattr(fn, "__name__", "job")
    return dramatiq.Actor(fn, broker=broker, actor_name=name, queue_name="default", priority=0,  # type: ignore[arg-type]
                          options=dict(options))

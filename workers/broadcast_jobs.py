"""The proactive-send actors: a broadcast's start at its time and each of its waves, handed out by the follower
of the event log (application/follow_ups.py). Both are idempotent: a start of a started broadcast and a wave
whose number is not the broadcast's next one do nothing.

A job that must wait (not yet time, outside business hours, its sender held at critical risk) goes back to the
broker with that delay under the same message id, as a send waiting for its token does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dramatiq

from application.broadcasts import BroadcastPostponedError, BroadcastService
from application.follow_ups import SEND_BROADCAST_WAVE, START_BROADCAST

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BroadcastActors:
    start_broadcast: dramatiq.Actor  # type: ignore[type-arg]
    send_broadcast_wave: dramatiq.Actor  # type: ignore[type-arg]


def declare_broadcast_actors(broker: dramatiq.Broker, broadcasts: BroadcastService) -> BroadcastActors:
    def start_broadcast(broadcast_id: str) -> None:
        """Fix a scheduled broadcast's recipients once its time came."""
        with postponed():
            log.info("broadcast start", extra={"broadcast_id": broadcast_id,
                                               "state": broadcasts.start(broadcast_id)})

    def send_broadcast_wave(broadcast_id: str, wave: str) -> None:
        """Request the messages of one wave of a running broadcast."""
        with postponed():
            sent = broadcasts.send_wave(broadcast_id, int(wave))
            log.info("broadcast wave", extra={"broadcast_id": broadcast_id, "wave": wave, "messages": sent})

    options = {"max_retries": 5, "time_limit": 120_000, "retry_when": _retryable}
    return BroadcastActors(
        start_broadcast=dramatiq.Actor(start_broadcast, broker=broker, actor_name=START_BROADCAST,
                                       queue_name="default", priority=10, options=dict(options)),
        send_broadcast_wave=dramatiq.Actor(send_broadcast_wave, broker=broker, actor_name=SEND_BROADCAST_WAVE,
                                           queue_name="default", priority=10, options=dict(options)))


@contextmanager
def postponed() -> Iterator[None]:
    """Turns a job's `BroadcastPostponedError` into dramatiq's retry with that delay."""
    try:
        yield
    except BroadcastPostponedError as error:
        raise dramatiq.Retry(str(error), delay=max(1, round(error.seconds * 1000))) from None


def _retryable(retries_so_far: int, exception: BaseException) -> bool:
    """Waiting is no failure: a postponed job is always tried again; anything else a few times."""
    return isinstance(exception, dramatiq.Retry) or retries_so_far < 5

"""Follow-ups on the broker: handed out with their ledger id as the message id, settled by a middleware.

The follower hands a batch out just before it commits; a worker runs each job through its actor
(idempotent by id); this middleware then deletes the ledger row, or marks it failed once dramatiq
has given up retrying. Rows left pending (a broker that lost its queue) are handed out again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy

from projections.follow_ups import FollowUpLedger, Handout

log = logging.getLogger(__name__)
MARK = "follow_up"
MAX_DELIVERIES = 10


def hand_out(broker: dramatiq.Broker, handouts: Sequence[Handout]) -> None:
    for handout in handouts:
        queue = broker.get_actor(handout.job).queue_name
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=queue, actor_name=handout.job, args=handout.args, kwargs={}, options={MARK: True},
            message_id=handout.follow_up_id)
        broker.enqueue(message, delay=int(handout.delay_seconds * 1000) or None)


def hand_out_again(broker: dramatiq.Broker, ledger: FollowUpLedger, now: datetime, *, after: timedelta,
                   limit: int = 500) -> int:
    """Follow-ups still pending long after they were handed out: the broker lost them; hand them out again."""
    due = ledger.due_again(now - after, max_deliveries=MAX_DELIVERIES, limit=limit)
    if due:
        hand_out(broker, due)
        ledger.handed_out_again(due, now)
        log.warning("follow-ups handed out again", extra={"count": len(due)})
    return len(due)


class SettleFollowUps(dramatiq.Middleware):
    """Deletes a follow-up's ledger row when its job succeeds; marks it failed when dramatiq gives up."""

    def __init__(self, ledger: FollowUpLedger) -> None:
        self.ledger = ledger

    @property
    def actor_options(self) -> set[str]:
        return {MARK}

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        if exception is None and message.options.get(MARK):
            self.ledger.done(message.message_id)

    def after_nack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        if message.options.get(MARK):
            error = str(message.options.get("traceback", ""))[-2000:] or "retries exhausted"
            self.ledger.failed(message.message_id, error)
            log.error("follow-up failed for good", extra={"follow_up_id": message.message_id,
                                                          "job": message.actor_name})

"""Dramatiq actors, declared against the broker the composition root built.

Actors take ids, not objects, delegate to application/ and are safe to run twice: every use case
they call checks the aggregates' current state first, so a redelivered message finds nothing to do.
They never enqueue the next step: what follows a save is decided by the follower of the event log
(application/follow_ups.py) and the routing follower. The periodic jobs are only what time or the
outside world decides (timers, Twilio's silence, a broker that lost its queue).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import dramatiq
from sqlalchemy import Engine

from adapters.clock import Clock
from application.closing import ClosingService
from application.conversations import ConversationService
from application.delivery_monitor import DeliveryMonitor
from application.offline_agents import OfflineAgentChats
from application.outbound import OutboundService, StatusReport
from application.ports import SendFailedError
from application.routing import AssignmentService
from application.staff import StaffService
from application.throttle import SendPostponedError
from application.timers import TimerService
from projections.follow_ups import FollowUpLedger
from projections.queries import chats_idle_in_bot, confirmations_to_follow, open_session_ids
from workers.follow_up_delivery import hand_out_again
from workers.scheduler import PeriodicJob

log = logging.getLogger(__name__)
MIN_BOT_INACTIVITY = timedelta(minutes=1)  # the shortest a flow may set; each flow's own limit is checked per chat
SEND_RETRIES = 8
PACE_WAIT_IN_THREAD = 2.0  # seconds a send may wait for its token in the worker's thread (an SMS long code: 1/s)
# A follow-up still pending this long after it was handed out was lost by the broker. Longer than a send's
# own retries with backoff take, so a job dramatiq is still retrying is not handed out twice for nothing
# (the default of `DESPACHO_FOLLOW_UP_REDELIVERY_SECONDS`).
REDELIVER_AFTER = timedelta(minutes=10)
UNRECONCILED = timedelta(minutes=10)
RECONCILE_HORIZON = timedelta(hours=24)  # older ones stay as they are, alerted, for a person to look at
RECONCILE_BATCH = 100  # Twilio rate-limits fetches; the rest wait for the next run


@dataclass(frozen=True)
class ActorServices:
    """What the actors use, and nothing more; the composition root fills it in."""

    clock: Clock
    read_engine: Engine
    follow_up_ledger: FollowUpLedger
    staff: StaffService
    conversations: ConversationService
    outbound: OutboundService
    delivery: DeliveryMonitor
    closing: ClosingService
    timers: TimerService
    offline_agents: OfflineAgentChats
    router: AssignmentService
    unidentified_campaign_id: Callable[[], str | None]
    redeliver_after: timedelta = REDELIVER_AFTER


@dataclass(frozen=True)
class Actors:
    expire_sessions: dramatiq.Actor  # type: ignore[type-arg]
    process_chat: dramatiq.Actor  # type: ignore[type-arg]
    send_message: dramatiq.Actor  # type: ignore[type-arg]
    finish_close: dramatiq.Actor  # type: ignore[type-arg]
    follow_confirmations: dramatiq.Actor  # type: ignore[type-arg]
    run_timers: dramatiq.Actor  # type: ignore[type-arg]
    check_delivery: dramatiq.Actor  # type: ignore[type-arg]
    record_bot_inactivity: dramatiq.Actor  # type: ignore[type-arg]
    report_fake_delivery: dramatiq.Actor  # type: ignore[type-arg]
    reconcile_deliveries: dramatiq.Actor  # type: ignore[type-arg]
    redeliver_follow_ups: dramatiq.Actor  # type: ignore[type-arg]

    def periodic_jobs(self, every_seconds: int) -> list[PeriodicJob]:
        """Only what time or the outside world decides: the follow-ups of events come from the follower."""
        return [
            PeriodicJob("expire_sessions", every_seconds, self.expire_sessions.send),
            PeriodicJob("run_timers", every_seconds, self.run_timers.send),
            PeriodicJob("follow_confirmations", every_seconds, self.follow_confirmations.send),
            PeriodicJob("check_delivery", every_seconds, self.check_delivery.send),
            PeriodicJob("record_bot_inactivity", every_seconds, self.record_bot_inactivity.send),
            PeriodicJob("reconcile_deliveries", every_seconds * 5, self.reconcile_deliveries.send),
            PeriodicJob("redeliver_follow_ups", every_seconds, self.redeliver_follow_ups.send),
        ]


def declare_actors(broker: dramatiq.Broker, services: ActorServices) -> Actors:
    def expire_sessions() -> None:
        """Close the sessions idle past their limit at the clock's now (no request nor heartbeat: the tabs were
        closed), each stamped at its last activity; a session in use is left alone."""
        open_ids = open_session_ids(services.read_engine)
        expired = sum(services.staff.close_idle_session(UUID(session_id)) for session_id in open_ids)
        log.log(logging.INFO if expired else logging.DEBUG, "idle sessions expired",
                extra={"examined": len(open_ids), "expired": expired})

    def process_chat(chat_id: str) -> None:
        """The bot's turn for every unread customer message of a chat (a follow-up of each message)."""
        services.conversations.process(chat_id)

    def send_message(message_id: str) -> None:
        """Hand one outbound message to Twilio at its sender's pace; retried with backoff on retryable failures."""
        try:
            send_when_paced(services.outbound, message_id)
        except SendFailedError as failure:
            log.warning("send failed, will retry",
                        extra={**services.outbound.log_facts(message_id), "error_code": failure.code})
            raise
        log.info("message sent", extra=services.outbound.log_facts(message_id))

    def reconcile_deliveries() -> None:
        """Messages handed to Twilio without a final status for a while: ask Twilio for it (a callback
        can be lost on the way)."""
        now = services.clock.now()
        unfinished = services.delivery.directory.unfinished_before(now - UNRECONCILED, RECONCILE_BATCH,
                                                                   since=now - RECONCILE_HORIZON)
        for message in unfinished:
            if services.outbound.sid_of(message.message_id):
                services.outbound.reconcile(message.message_id)

    def redeliver_follow_ups() -> None:
        """Follow-ups the broker lost (Redis restarted empty) are handed out again; the jobs are idempotent."""
        hand_out_again(broker, services.follow_up_ledger, services.clock.now(), after=services.redeliver_after)

    def report_fake_delivery(message_id: str) -> None:
        """Embedded demo only: report `sent` then `delivered`, as Twilio's callbacks would."""
        sid = services.outbound.sid_of(message_id)
        for status in ("sent", "delivered"):
            if sid:
                services.outbound.apply_status(StatusReport(message_id, sid, status))

    def check_delivery() -> None:
        """Delivery alerts for messages without a final status and for senders or campaigns failing too often."""
        run = services.delivery.run(services.clock.now())
        log.info("delivery checked", extra={"stuck": run.stuck, "failing": run.failing})

    def finish_close(chat_id: str) -> None:
        """Make sure a closed chat has its one confirmation and one transcript; safe to repeat."""
        try:
            services.closing.finish(chat_id)
        except Exception:
            log.exception("close not finished; retrying with backoff", extra={"chat_id": chat_id})
            services.closing.alert_incomplete(chat_id)
            raise

    def follow_confirmations() -> None:
        """Put each closing confirmation's fate, as Twilio reported it, on its chat: a lost one is an open alert
        until it is resolved (R8)."""
        for chat_id in confirmations_to_follow(services.read_engine):
            services.closing.follow_confirmation(chat_id)

    def run_timers() -> None:
        """Alerts at 30 minutes and the 24-hour close, at the clock's now (R6, R7), chats of agents gone offline
        (alerted, then back to the queue, R17), and an alert for every chat waiting in the unidentified queue
        while none of its agents is available."""
        now = services.clock.now()
        run = services.timers.run(now)
        offline = services.offline_agents.run(now)
        services.router.alert_unserved(services.unidentified_campaign_id())
        log.log(logging.INFO if run.examined else logging.DEBUG, "timers applied",
                extra={"alerts": run.alerts, "closed": len(run.closed), "examined": run.examined,
                       "offline_alerts": offline.alerts, "requeued": offline.requeued})

    def record_bot_inactivity() -> None:
        """Customers who left the bot waiting (each flow says how long): recorded for the drop rate."""
        now = services.clock.now()
        idle = chats_idle_in_bot(services.read_engine, now - MIN_BOT_INACTIVITY)
        recorded = sum(services.conversations.record_inactivity(chat_id, now) for chat_id in idle)
        log.log(logging.INFO if recorded else logging.DEBUG, "bot inactivity",
                extra={"examined": len(idle), "recorded": recorded})

    actors = Actors(
        expire_sessions=_actor(broker, expire_sessions, max_retries=3, time_limit=60_000),
        process_chat=_actor(broker, process_chat, max_retries=5, time_limit=60_000),
        send_message=_actor(broker, send_message, max_retries=SEND_RETRIES, min_backoff=1_000,
                            max_backoff=300_000, time_limit=60_000, retry_when=_retryable),
        finish_close=_actor(broker, finish_close, max_retries=10, min_backoff=2_000, max_backoff=600_000,
                            time_limit=120_000),
        follow_confirmations=_actor(broker, follow_confirmations, max_retries=1, time_limit=120_000),
        run_timers=_actor(broker, run_timers, max_retries=1, time_limit=300_000),
        check_delivery=_actor(broker, check_delivery, max_retries=1, time_limit=300_000),
        record_bot_inactivity=_actor(broker, record_bot_inactivity, max_retries=1, time_limit=120_000),
        report_fake_delivery=_actor(broker, report_fake_delivery, max_retries=1, time_limit=30_000),
        reconcile_deliveries=_actor(broker, reconcile_deliveries, max_retries=1, time_limit=300_000),
        redeliver_follow_ups=_actor(broker, redeliver_follow_ups, max_retries=1, time_limit=60_000),
    )
    return actors


def send_when_paced(outbound: OutboundService, message_id: str, sleep: Callable[[float], None] = time.sleep) -> None:
    """Send, waiting in this thread for a token due soon (at 80 msg/s the next one is milliseconds away); a longer
    wait goes back to the broker with its delay, under the same message id, so nothing is lost or sent twice."""
    waited = 0.0
    while True:
        try:
            outbound.send(message_id)
            return
        except SendPostponedError as postponed:
            if waited + postponed.seconds > PACE_WAIT_IN_THREAD:
                raise dramatiq.Retry(str(postponed), delay=max(1, round(postponed.seconds * 1000))) from None
            sleep(postponed.seconds)
            waited += postponed.seconds


def _retryable(retries_so_far: int, exception: BaseException) -> bool:
    """A message waiting for its token is always tried again: waiting is no failure, so dramatiq's count of retries
    (which includes the waits) cannot bound Twilio's failures; the message counts its own attempts and records the
    failure after the last (OutboundService.send)."""
    if isinstance(exception, dramatiq.Retry):
        return True
    if isinstance(exception, SendFailedError):
        return exception.retryable
    return retries_so_far < SEND_RETRIES


def _actor(broker: dramatiq.Broker, fn: Callable[..., Any], **options: Any) -> dramatiq.Actor:  # type: ignore[type-arg]
    return dramatiq.Actor(fn, broker=broker, actor_name=fn.__name__, queue_name="default", priority=0,
                          options=dict(options))

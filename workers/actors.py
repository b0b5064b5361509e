"""Dramatiq actors, declared against the broker the composition root built.

Actors take ids, not objects, delegate to application/ and are safe to run twice: every use case
they call checks the aggregates' current state first, so a redelivered message finds nothing to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import dramatiq

from application.outbound import StatusReport
from application.ports import SendFailedError
from domain.chats import ChatClosedError
from projections.queries import (
    chats_idle_in_bot,
    chats_waiting_for_the_bot,
    closed_chats_missing_their_close_work,
    confirmations_to_follow,
    open_sessions_opened_before,
    portfolio_jobs_queued_before,
)
from projections.runner import wait_for_position
from workers.scheduler import PeriodicJob

if TYPE_CHECKING:
    from despacho.bootstrap import Despacho

log = logging.getLogger(__name__)
SHIFT_LIMIT = timedelta(hours=12)
STUCK_BOT_INPUT = timedelta(seconds=30)
MIN_BOT_INACTIVITY = timedelta(minutes=1)  # the shortest a flow may set; each flow's own limit is checked per chat
SEND_RETRIES = 8
LOST_JOB = timedelta(minutes=5)
BOT_ACTOR = "system:bot"
UNRECONCILED = timedelta(minutes=10)
RECONCILE_HORIZON = timedelta(hours=24)  # older ones stay as they are, alerted, for a person to look at
RECONCILE_BATCH = 100  # Twilio rate-limits fetches; the rest wait for the next run


@dataclass(frozen=True)
class Actors:
    expire_sessions: dramatiq.Actor  # type: ignore[type-arg]
    process_chat: dramatiq.Actor  # type: ignore[type-arg]
    send_message: dramatiq.Actor  # type: ignore[type-arg]
    dispatch_queue: dramatiq.Actor  # type: ignore[type-arg]
    sweep_bot_input: dramatiq.Actor  # type: ignore[type-arg]
    close_chat: dramatiq.Actor  # type: ignore[type-arg]
    finish_close: dramatiq.Actor  # type: ignore[type-arg]
    sweep_unfinished_closes: dramatiq.Actor  # type: ignore[type-arg]
    run_timers: dramatiq.Actor  # type: ignore[type-arg]
    check_delivery: dramatiq.Actor  # type: ignore[type-arg]
    record_bot_inactivity: dramatiq.Actor  # type: ignore[type-arg]
    report_fake_delivery: dramatiq.Actor  # type: ignore[type-arg]
    sweep_portfolio_jobs: dramatiq.Actor  # type: ignore[type-arg]
    reconcile_deliveries: dramatiq.Actor  # type: ignore[type-arg]

    def periodic_jobs(self, every_seconds: int) -> list[PeriodicJob]:
        return [
            PeriodicJob("expire_sessions", every_seconds, self.expire_sessions.send),
            PeriodicJob("sweep_bot_input", every_seconds, self.sweep_bot_input.send),
            PeriodicJob("sweep_unfinished_closes", every_seconds, self.sweep_unfinished_closes.send),
            PeriodicJob("run_timers", every_seconds, self.run_timers.send),
            PeriodicJob("check_delivery", every_seconds, self.check_delivery.send),
            PeriodicJob("record_bot_inactivity", every_seconds, self.record_bot_inactivity.send),
            PeriodicJob("sweep_portfolio_jobs", every_seconds, self.sweep_portfolio_jobs.send),
            PeriodicJob("reconcile_deliveries", every_seconds * 5, self.reconcile_deliveries.send),
            # A safety net: dispatch is also triggered by every change that can free an agent.
            PeriodicJob("dispatch_queue", max(every_seconds // 6, 5), lambda: self.dispatch_queue.send(None, 0)),
        ]


def declare_actors(broker: dramatiq.Broker, despacho: Despacho) -> Actors:
    def expire_sessions() -> None:
        """Close sessions left open past a shift (browser closed without logging out)."""
        cutoff = despacho.clock.now() - SHIFT_LIMIT
        stale = open_sessions_opened_before(despacho.read_engine, cutoff)
        for session_id in stale:
            despacho.staff.close_session(UUID(session_id), "expired", actor="system")

    def process_chat(chat_id: str) -> None:
        """The bot's turn for every unread customer message of a chat, then routing if it was handed off."""
        progress = despacho.conversations.process(chat_id)
        for message_id in progress.messages:
            actors.send_message.send(message_id)
        if progress.queued_in:
            actors.dispatch_queue.send([progress.queued_in], despacho.runner.head())
        if progress.closed_by_bot:  # the flow ended the conversation itself: one close like any other (R8)
            actors.close_chat.send(chat_id, "bot", "", "", BOT_ACTOR)

    def send_message(message_id: str) -> None:
        """Hand one outbound message to Twilio; retried with backoff on retryable failures."""
        try:
            despacho.outbound.send(message_id)
        except SendFailedError as failure:
            log.warning("send failed, will retry",
                        extra={**despacho.outbound.log_facts(message_id), "error_code": failure.code})
            raise
        log.info("message sent", extra=despacho.outbound.log_facts(message_id))
        seconds = despacho.settings.fake_delivery_seconds
        if despacho.settings.twilio_transport == "fake" and seconds > 0:
            actors.report_fake_delivery.send_with_options(args=(message_id,), delay=int(seconds * 1000))

    def reconcile_deliveries() -> None:
        """Messages without a final status for a while: never handed to Twilio (a lost job) are sent
        again, which is safe (`find_sent`); the others' status is asked of Twilio."""
        now = despacho.clock.now()
        unfinished = despacho.delivery.directory.unfinished_before(now - UNRECONCILED, RECONCILE_BATCH,
                                                                   since=now - RECONCILE_HORIZON)
        for message in unfinished:
            if despacho.outbound.sid_of(message.message_id):
                despacho.outbound.reconcile(message.message_id)
            else:
                actors.send_message.send(message.message_id)

    def sweep_portfolio_jobs() -> None:
        """Confirmed imports whose job message was lost (a broker outage right after the save): send it again."""
        for job_id in portfolio_jobs_queued_before(despacho.read_engine, despacho.clock.now() - LOST_JOB):
            despacho.import_portfolio.send(job_id)

    def report_fake_delivery(message_id: str) -> None:
        """Embedded demo only: report `sent` then `delivered`, as Twilio's callbacks would."""
        sid = despacho.outbound.sid_of(message_id)
        for status in ("sent", "delivered"):
            if sid:
                despacho.outbound.apply_status(StatusReport(message_id, sid, status))

    def check_delivery() -> None:
        """Delivery alerts for messages without a final status and for senders or campaigns failing too often."""
        run = despacho.delivery.run(despacho.clock.now())
        log.info("delivery checked", extra={"stuck": run.stuck, "failing": run.failing})

    def dispatch_queue(campaign_ids: list[str] | None, after_position: int) -> None:
        """Assign waiting chats once the read side has seen everything up to `after_position`."""
        if after_position and not wait_for_position(despacho.runner, after_position, ("chats", "agents")):
            log.warning("read side behind; dispatching on what it shows", extra={"position": after_position})
        assigned = despacho.router.dispatch(set(campaign_ids) if campaign_ids else None)
        log.log(logging.INFO if assigned else logging.DEBUG, "dispatched", extra={"assigned": len(assigned)})

    def sweep_bot_input() -> None:
        """Chats whose customer message was recorded but never handed to the bot (a lost enqueue)."""
        stuck = chats_waiting_for_the_bot(despacho.read_engine, despacho.clock.now() - STUCK_BOT_INPUT)
        for chat_id in stuck:
            actors.process_chat.send(chat_id)

    def close_chat(chat_id: str, reason: str, disposition: str, note: str, actor: str) -> None:
        """The one close command (R8), then its confirmation and transcript."""
        try:
            despacho.closing.close(chat_id, reason, disposition=disposition, note=note, actor=actor)
        except ChatClosedError:
            log.info("chat already closed", extra={"chat_id": chat_id})
        actors.finish_close.send(chat_id)

    def finish_close(chat_id: str) -> None:
        """Make sure a closed chat has its one confirmation and one transcript; safe to repeat."""
        try:
            to_send = despacho.closing.finish(chat_id)
        except Exception:
            log.exception("close not finished; retrying with backoff", extra={"chat_id": chat_id})
            despacho.closing.alert_incomplete(chat_id)
            raise
        for message_id in to_send:
            actors.send_message.send(message_id)
        actors.dispatch_queue.send(None, despacho.runner.head())

    def sweep_unfinished_closes() -> None:
        """Resume closes a crash interrupted (closed chats still missing their confirmation or transcript), and
        put each confirmation's fate on its chat: a lost one is an open alert until it is resolved (R8)."""
        for chat_id in closed_chats_missing_their_close_work(despacho.read_engine):
            actors.finish_close.send(chat_id)
        for chat_id in confirmations_to_follow(despacho.read_engine):
            despacho.closing.follow_confirmation(chat_id)

    def run_timers() -> None:
        """Alerts at 30 minutes and the 24-hour close, at the clock's now (R6, R7), and an alert for every chat
        waiting in the unidentified queue while none of its agents is available."""
        run = despacho.timers.run(despacho.clock.now())
        for chat_id in run.closed:
            actors.finish_close.send(chat_id)
        despacho.router.alert_unserved(despacho.unidentified.campaign_id_if_exists())
        log.log(logging.INFO if run.examined else logging.DEBUG, "timers applied",
                extra={"alerts": run.alerts, "closed": len(run.closed), "examined": run.examined})

    def record_bot_inactivity() -> None:
        """Customers who left the bot waiting (each flow says how long): recorded for the drop rate."""
        now = despacho.clock.now()
        idle = chats_idle_in_bot(despacho.read_engine, now - MIN_BOT_INACTIVITY)
        recorded = sum(despacho.conversations.record_inactivity(chat_id, now) for chat_id in idle)
        log.log(logging.INFO if recorded else logging.DEBUG, "bot inactivity",
                extra={"examined": len(idle), "recorded": recorded})

    actors = Actors(
        expire_sessions=_actor(broker, expire_sessions, max_retries=3, time_limit=60_000),
        process_chat=_actor(broker, process_chat, max_retries=5, time_limit=60_000),
        send_message=_actor(broker, send_message, max_retries=SEND_RETRIES, min_backoff=1_000,
                            max_backoff=300_000, time_limit=60_000, retry_when=_retryable),
        dispatch_queue=_actor(broker, dispatch_queue, max_retries=3, time_limit=60_000),
        sweep_bot_input=_actor(broker, sweep_bot_input, max_retries=1, time_limit=60_000),
        close_chat=_actor(broker, close_chat, max_retries=5, time_limit=60_000),
        finish_close=_actor(broker, finish_close, max_retries=10, min_backoff=2_000, max_backoff=600_000,
                            time_limit=120_000),
        sweep_unfinished_closes=_actor(broker, sweep_unfinished_closes, max_retries=1, time_limit=60_000),
        run_timers=_actor(broker, run_timers, max_retries=1, time_limit=300_000),
        check_delivery=_actor(broker, check_delivery, max_retries=1, time_limit=300_000),
        record_bot_inactivity=_actor(broker, record_bot_inactivity, max_retries=1, time_limit=120_000),
        report_fake_delivery=_actor(broker, report_fake_delivery, max_retries=1, time_limit=30_000),
        sweep_portfolio_jobs=_actor(broker, sweep_portfolio_jobs, max_retries=1, time_limit=60_000),
        reconcile_deliveries=_actor(broker, reconcile_deliveries, max_retries=1, time_limit=300_000),
    )
    return actors


def _retryable(retries_so_far: int, exception: BaseException) -> bool:
    return retries_so_far < SEND_RETRIES and (not isinstance(exception, SendFailedError) or exception.retryable)


def _actor(broker: dramatiq.Broker, fn: Callable[..., Any], **options: Any) -> dramatiq.Actor:  # type: ignore[type-arg]
    return dramatiq.Actor(fn, broker=broker, actor_name=fn.__name__, queue_name="default", priority=0,
                          options=dict(options))

"""The periodic delivery check: messages without a final status, and senders or campaigns failing too often.

Run by a periodic job; safe in several workers at once and safe to repeat: every alert has a
natural id, so a second worker raising the same alert collides and skips it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from eventsourcing.persistence import IntegrityError

from application.ports import Clock
from application.store import EventStore
from domain.delivery_alerts import DeliveryAlert, window_slot

MONITOR = "system:delivery_monitor"


@dataclass(frozen=True)
class UnfinishedMessage:
    message_id: str
    campaign_id: str
    chat_id: str
    sender: str
    status: str
    requested_at: datetime


@dataclass(frozen=True)
class FailureCount:
    """Messages requested in the window by one sender (`scope="sender"`) or campaign, for one campaign."""

    scope: str
    subject: str
    campaign_id: str
    total: int
    failed: int

    @property
    def rate(self) -> float:
        return self.failed / self.total if self.total else 0.0


class DeliveryDirectory(Protocol):
    def unfinished_before(self, cutoff: datetime, limit: int,
                          since: datetime | None = None) -> list[UnfinishedMessage]: ...

    def failure_counts(self, since: datetime) -> list[FailureCount]: ...


@dataclass(frozen=True)
class DeliveryThresholds:
    stuck_minutes: int = 15
    window_minutes: int = 60
    min_messages: int = 20
    max_failure_rate: float = 0.2


@dataclass(frozen=True)
class MonitorRun:
    stuck: int
    failing: int


class DeliveryMonitor:
    def __init__(self, store: EventStore, clock: Clock, directory: DeliveryDirectory,
                 thresholds: DeliveryThresholds, batch: int = 500) -> None:
        self.store = store
        self.clock = clock
        self.directory = directory
        self.thresholds = thresholds
        self.batch = batch

    def run(self, now: datetime | None = None) -> MonitorRun:
        """Raise the alerts not raised yet at `now`; returns how many were raised of each kind."""
        now = now or self.clock.now()
        stuck = sum(self._raise(self._stuck(message, now))
                    for message in self.directory.unfinished_before(now - self._stuck_after, self.batch))
        since = now - timedelta(minutes=self.thresholds.window_minutes)
        failing = sum(self._raise(self._failing(count, now)) for count in self.directory.failure_counts(since)
                      if count.total >= self.thresholds.min_messages
                      and count.rate > self.thresholds.max_failure_rate)
        return MonitorRun(stuck=stuck, failing=failing)

    @property
    def _stuck_after(self) -> timedelta:
        return timedelta(minutes=self.thresholds.stuck_minutes)

    def _stuck(self, message: UnfinishedMessage, now: datetime) -> tuple[str, DeliveryAlert]:
        key = f"stuck:{message.message_id}"
        minutes = self.thresholds.stuck_minutes
        return key, DeliveryAlert.raise_alert(
            key, "message_stuck", campaign_id=message.campaign_id, message_id=message.message_id,
            chat_id=message.chat_id, sender=message.sender,
            detail=f"Sin estado final después de {minutes} minutos (último estado: {message.status})",
            figures={"status": message.status, "minutes": minutes}, actor=MONITOR, at=now)

    def _failing(self, count: FailureCount, now: datetime) -> tuple[str, DeliveryAlert]:
        window = self.thresholds.window_minutes
        key = f"rate:{count.scope}:{count.subject}:{count.campaign_id}:{window_slot(now, window)}"
        who = f"el remitente {count.subject}" if count.scope == "sender" else "la campaña"
        detail = (f"{count.failed} de {count.total} mensajes fallaron en {window} minutos para {who} "
                  f"({count.rate:.0%}, umbral {self.thresholds.max_failure_rate:.0%})")
        figures = {"scope": count.scope, "subject": count.subject, "total": count.total, "failed": count.failed,
                   "rate": round(count.rate, 4), "window_minutes": window}
        return key, DeliveryAlert.raise_alert(
            key, "failure_rate", campaign_id=count.campaign_id, sender=count.subject if count.scope == "sender"
            else "", detail=detail, figures=figures, actor=MONITOR, at=now)

    def _raise(self, keyed: tuple[str, DeliveryAlert]) -> int:
        key, alert = keyed
        if DeliveryAlert.create_id(key) in self.store.repository:
            return 0
        try:
            self.store.save(alert)
        except IntegrityError:  # another worker raised it first
            return 0
        return 1

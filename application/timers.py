"""The periodic timer job: unanswered and queue alerts (R6) and the 24-hour close (R7).

The read side proposes chats that may be due (fast, indexed, possibly a moment stale); each
one is then decided on its aggregate at the given instant, so a stale proposal costs nothing and
running the job twice, or in several workers at once, raises no second alert and closes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.closing import ClosingService
from application.store import EventStore, retry_on_conflict
from domain.chats import Chat, ChatClosedError
from domain.sla import AUTO_CLOSE, QUEUE_ALERT, UNANSWERED_ALERT, Sla, due_actions

TIMERS = "system:timers"


class TimerDirectory(Protocol):
    def sla_by_campaign(self) -> dict[str | None, Sla]:
        """Each campaign's SLA; the key None holds the default for chats without a campaign yet."""

    def possibly_due(self, now: datetime, sla_by_campaign: dict[str | None, Sla]) -> list[str]:
        """Ids of open chats that may have an alert or the close due at `now`."""


@dataclass
class TimerRun:
    alerts: int = 0
    closed: list[str] = field(default_factory=list)
    examined: int = 0


class TimerService:
    def __init__(self, store: EventStore, directory: TimerDirectory, closing: ClosingService) -> None:
        self.store = store
        self.directory = directory
        self.closing = closing

    def run(self, now: datetime) -> TimerRun:
        slas = self.directory.sla_by_campaign()
        run = TimerRun()
        for chat_id in self.directory.possibly_due(now, slas):
            run.examined += 1
            self._apply(chat_id, now, slas, run)
        return run

    def acknowledge(self, chat_id: str, kind: str, streak_started_at: datetime, *, actor: str) -> None:
        def command() -> None:
            chat: Chat = self.store.repository.get(UUID(chat_id))
            chat.acknowledge_alert(kind, streak_started_at, actor=actor, at=self.closing.clock.now())
            self.store.save(chat)
        retry_on_conflict(command)

    def _apply(self, chat_id: str, now: datetime, slas: dict[str | None, Sla], run: TimerRun) -> None:
        actions: list[str] = retry_on_conflict(lambda: self._decide_and_save(chat_id, now, slas))
        run.alerts += sum(a in (UNANSWERED_ALERT, QUEUE_ALERT) for a in actions)
        if AUTO_CLOSE in actions:
            try:
                self.closing.close(chat_id, "auto_24h", actor=TIMERS, at=now)
                run.closed.append(chat_id)
            except ChatClosedError:
                pass

    def _decide_and_save(self, chat_id: str, now: datetime, slas: dict[str | None, Sla]) -> list[str]:
        chat: Chat = self.store.repository.get(UUID(chat_id))
        actions = due_actions(chat, slas.get(chat.campaign_id or None, slas[None]), now)
        if UNANSWERED_ALERT in actions and chat.unanswered_since is not None:
            chat.raise_unanswered_alert(chat.unanswered_since, actor=TIMERS, at=now)
        if QUEUE_ALERT in actions:
            chat.raise_queue_alert(actor=TIMERS, at=now)
        if AUTO_CLOSE not in actions:
            self.store.save(chat)
        return actions

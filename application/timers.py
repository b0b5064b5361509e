"""The periodic timer job: unanswered and queue alerts (R6) and the 24-hour close (R7).

The read side proposes chats that may be due (fast, indexed, possibly a moment stale); each
one is then decided on its aggregate at the given instant, so a stale proposal costs nothing and
running the job twice, or in several workers at once, raises no second alert and closes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.closing import ClosingService
from application.store import EventStore, retry_on_conflict
from domain.chats import Chat, ChatClosedError, ChatError
from domain.common import NotFoundError
from domain.sla import AUTO_CLOSE, QUEUE_ALERT, UNANSWERED_ALERT, Sla, due_actions

TIMERS = "system:timers"
# Due chats decided per batch: one save (one transaction, one commit) raises the batch's alerts.
BATCH_SIZE = 200

log = logging.getLogger(__name__)


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
    skipped: list[str] = field(default_factory=list)  # read rows with no aggregate behind them


@dataclass(frozen=True)
class Decided:
    chat: Chat
    actions: list[str]

    @property
    def alerts(self) -> int:
        return sum(a in (UNANSWERED_ALERT, QUEUE_ALERT) for a in self.actions)

    @property
    def closes(self) -> bool:
        return AUTO_CLOSE in self.actions


class TimerService:
    def __init__(self, store: EventStore, directory: TimerDirectory, closing: ClosingService, *,
                 batch_size: int = BATCH_SIZE) -> None:
        self.store = store
        self.directory = directory
        self.closing = closing
        self.batch_size = batch_size

    def run(self, now: datetime) -> TimerRun:
        slas = self.directory.sla_by_campaign()
        due = self.directory.possibly_due(now, slas)
        run = TimerRun(examined=len(due))
        for start in range(0, len(due), self.batch_size):
            self._apply_batch(due[start:start + self.batch_size], now, slas, run)
        return run

    def acknowledge(self, chat_id: str, kind: str, streak_started_at: datetime, *, actor: str) -> None:
        def command() -> None:
            chat: Chat = self.store.repository.get(UUID(chat_id))
            chat.acknowledge_alert(kind, streak_started_at, actor=actor, at=self.closing.clock.now())
            self.store.save(chat)
        retry_on_conflict(command)

    def acknowledge_all(self, alerts: Sequence[tuple[str, str, datetime]], *, actor: str) -> int:
        """Several alerts (chat, kind, streak) marked as seen in one action, each still its own event with who and
        when; one seen by someone else, or resolved, meanwhile is left as it is. Returns how many were marked."""
        marked = 0
        for chat_id, kind, streak_started_at in alerts:
            try:
                self.acknowledge(chat_id, kind, streak_started_at, actor=actor)
            except ChatError:
                continue
            marked += 1
        return marked

    def _apply_batch(self, chat_ids: Sequence[str], now: datetime, slas: dict[str | None, Sla], run: TimerRun) -> None:
        decided = self._decide_all(chat_ids, now, slas, run)
        try:
            self._save_alerts(decided)
        except IntegrityError:
            # Someone changed one of these chats since it was read: each is decided again on its own, retried.
            found = [str(d.chat.id) for d in decided]
            decided = [d for chat_id in found for d in self._decide_and_save_retried(chat_id, now, slas, run)]
        run.alerts += sum(d.alerts for d in decided)
        for chat_id in (str(d.chat.id) for d in decided if d.closes):
            self._close(chat_id, now, run)

    def _decide_all(self, chat_ids: Sequence[str], now: datetime, slas: dict[str | None, Sla],
                    run: TimerRun) -> list[Decided]:
        """The batch's chats read from the log in one go, each decided at `now`."""
        chats = self.store.get_many([UUID(c) for c in chat_ids])
        decided = []
        for chat_id in chat_ids:
            chat = chats.get(UUID(chat_id))
            if isinstance(chat, Chat):
                decided.append(self._decided(chat, now, slas))
            else:
                self._skip(chat_id, run)
        return decided

    def _decide_and_save_retried(self, chat_id: str, now: datetime, slas: dict[str | None, Sla],
                                 run: TimerRun) -> list[Decided]:
        def command() -> list[Decided]:
            decided = self._decide(chat_id, now, slas, run)
            self._save_alerts(decided)
            return decided
        result: list[Decided] = retry_on_conflict(command)
        return result

    def _decide(self, chat_id: str, now: datetime, slas: dict[str | None, Sla], run: TimerRun) -> list[Decided]:
        """The chat's due actions on its aggregate, its alerts raised; none for a chat the store lacks."""
        try:
            chat: Chat = self.store.repository.get(UUID(chat_id))
        except AggregateNotFoundError:
            self._skip(chat_id, run)
            return []
        return [self._decided(chat, now, slas)]

    @staticmethod
    def _decided(chat: Chat, now: datetime, slas: dict[str | None, Sla]) -> Decided:
        actions = due_actions(chat, slas.get(chat.campaign_id or None, slas[None]), now)
        if UNANSWERED_ALERT in actions and chat.unanswered_since is not None:
            chat.raise_unanswered_alert(chat.unanswered_since, actor=TIMERS, at=now)
        if QUEUE_ALERT in actions:
            chat.raise_queue_alert(actor=TIMERS, at=now)
        return Decided(chat, actions)

    def _save_alerts(self, decided: Sequence[Decided]) -> None:
        """A chat that closes is saved by the close, which loads it again; its alerts go unsaved."""
        alerting = [d.chat for d in decided if d.alerts and not d.closes]
        if alerting:
            self.store.save(*alerting)

    def _close(self, chat_id: str, now: datetime, run: TimerRun) -> None:
        try:
            self.closing.close(chat_id, "auto_24h", actor=TIMERS, at=now)
            run.closed.append(chat_id)
        except ChatClosedError:
            pass
        except NotFoundError:  # the chat's agent or thread is missing: the next chats still get their turn
            self._skip(chat_id, run)

    def _skip(self, chat_id: str, run: TimerRun) -> None:
        log.warning("timer sweep skipped chat %s: the read tables list it but its aggregate is missing", chat_id)
        run.skipped.append(chat_id)

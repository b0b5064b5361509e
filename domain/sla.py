"""The timer rules (R6, R7) as a pure decision over one chat at one instant.

- R6: `alert_after` into an unanswered streak, one alert for that streak; a chat waiting in the
  queue that long, one alert to the supervisors.
- R7: `auto_close_after` since the customer's last message the chat closes (`auto_24h`), whether
  assigned or still waiting; never earlier for the customer's silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

UNANSWERED_ALERT = "unanswered_alert"
QUEUE_ALERT = "queue_alert"
AUTO_CLOSE = "auto_close"


@dataclass(frozen=True)
class Sla:
    alert_after: timedelta = timedelta(minutes=30)
    auto_close_after: timedelta = timedelta(hours=24)

    @classmethod
    def of(cls, alert_after_minutes: int, auto_close_after_hours: int) -> Sla:
        return cls(timedelta(minutes=alert_after_minutes), timedelta(hours=auto_close_after_hours))


class TimedChat(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def queued_at(self) -> datetime | None: ...
    @property
    def last_customer_message_at(self) -> datetime | None: ...
    @property
    def unanswered_since(self) -> datetime | None: ...
    @property
    def alerted_streaks(self) -> set[datetime]: ...
    @property
    def queue_alerted(self) -> bool: ...


def due_actions(chat: TimedChat, sla: Sla, now: datetime) -> list[str]:
    """What the timer job must do to this chat now; empty when nothing is due."""
    if chat.status == "closed":
        return []
    last = chat.last_customer_message_at
    if last is not None and now - last >= sla.auto_close_after:
        return [AUTO_CLOSE]
    actions = []
    streak = chat.unanswered_since
    if (chat.status == "assigned" and streak is not None and now - streak >= sla.alert_after
            and streak not in chat.alerted_streaks):
        actions.append(UNANSWERED_ALERT)
    if (chat.status == "waiting_queue" and chat.queued_at is not None and now - chat.queued_at >= sla.alert_after
            and not chat.queue_alerted):
        actions.append(QUEUE_ALERT)
    return actions

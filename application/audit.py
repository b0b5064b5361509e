"""Event history for auditors: every event of an aggregate, in order, with actor and time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.store import EventStore

REDACTED_FIELDS = frozenset({"password_hash", "token_hash"})
HIDDEN_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "actor", "at"})


@dataclass(frozen=True)
class EventRecord:
    position: int | None
    aggregate_id: str
    version: int
    type: str
    actor: str
    at: datetime | None
    recorded_at: datetime
    data: dict[str, Any]


def aggregate_history(store: EventStore, aggregate_id: UUID) -> list[EventRecord]:
    return [_record(None, event) for event in store.events.get(aggregate_id)]


def recent_events(store: EventStore, *, before: int | None = None, limit: int = 50) -> list[EventRecord]:
    """The newest events of the whole log, newest first (the auditors' event page)."""
    head = int(store.recorder.max_notification_id() or 0)
    stop = min(before - 1, head) if before else head
    start = max(stop - limit + 1, 1)
    notifications = store.recorder.select_notifications(start=start, limit=limit, stop=stop)
    return [_record(n.id, store.mapper.to_domain_event(n)) for n in reversed(notifications)]


def _record(position: int | None, event: Any) -> EventRecord:
    data = {key: ("[oculto]" if key in REDACTED_FIELDS else _plain(value))
            for key, value in vars(event).items() if key not in HIDDEN_FIELDS}
    return EventRecord(position=position, aggregate_id=str(event.originator_id),
                       version=event.originator_version, type=type(event).__qualname__,
                       actor=getattr(event, "actor", ""), at=getattr(event, "at", None),
                       recorded_at=event.timestamp, data=data)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class CloseFinding:
    """A closed chat whose close is not done (R8), and what is missing, in Spanish for the auditor."""

    chat_id: str
    closed_at: datetime | None
    confirmation_problem: str
    transcript_missing: bool

    @property
    def problems(self) -> list[str]:
        return [p for p in (self.confirmation_problem, "sin transcripción PDF" if self.transcript_missing else "") if p]


def close_findings(closes: list[dict[str, Any]]) -> list[CloseFinding]:
    """Every close must end with a confirmation Twilio accepted and a stored PDF; a confirmation on record
    as failed (no closing template outside the window, opted out, refused by Twilio) counts like a missing one."""
    findings = [CloseFinding(close["id"], close["closed_at"],
                             _confirmation_problem(close["confirmation_message_id"], close["confirmation_status"]),
                             not close["transcript_location"]) for close in closes]
    return [finding for finding in findings if finding.problems]


def _confirmation_problem(message_id: str | None, status: str | None) -> str:
    if not message_id:
        return "sin confirmación de cierre"
    if status == "failed":
        return "la confirmación de cierre no se envió o Twilio la rechazó"
    if status != "accepted":
        return "la confirmación de cierre aún no fue aceptada por Twilio"
    return ""

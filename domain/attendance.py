"""Attendance figures of one agent in one campaign, per local day (§12, "control de asistencia").

One definition for every place that shows them (R20): the page, the API and both exports call
`day_reports`. Connected time is the union of the agent's sessions while a member of the campaign;
presence (available, a break per reason) and simultaneous chats count only inside it, so nothing
is counted after a session closed, even when an expired session was stamped at its last activity
and a later event still reached the log. Days are cut at local midnight of the campaign's zone
(23 or 25 hours on a daylight-saving change); every interval is split at each midnight.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.common import DomainError

ZERO = timedelta(0)
MAX_DAYS = 92
"""The longest range one report covers: a quarter."""
ACTIVITY_KINDS = ("assigned", "message", "closed")


class AttendanceError(DomainError):
    pass


@dataclass(frozen=True, order=True)
class Span:
    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return max(self.end - self.start, ZERO)


@dataclass(frozen=True)
class Session:
    id: str
    opened_at: datetime
    closed_at: datetime | None
    close_reason: str


@dataclass(frozen=True)
class Presence:
    status: str
    reason: str
    span: Span


@dataclass(frozen=True)
class LoadStep:
    open_chats: int
    span: Span


@dataclass(frozen=True)
class Activity:
    kind: str
    chat_id: str
    at: datetime


@dataclass(frozen=True)
class Timeline:
    """What the log says of one agent in one campaign; open intervals end at `now`."""

    sessions: Sequence[Session]
    presence: Sequence[Presence]
    load: Sequence[LoadStep]
    activity: Sequence[Activity]
    membership: Sequence[Span]
    now: datetime


@dataclass(frozen=True)
class TimeSplit:
    """connected = available + breaks + other, exact; `seconds()` keeps the identity in whole seconds."""

    connected: timedelta = ZERO
    available: timedelta = ZERO
    breaks: dict[str, timedelta] = field(default_factory=dict)

    @property
    def other(self) -> timedelta:
        return self.connected - self.available - sum(self.breaks.values(), ZERO)

    def seconds(self) -> SecondsSplit:
        """Each part floored to a second and `other` the remainder, so the sum still holds and other ≥ 0."""
        connected, available = _whole(self.connected), _whole(self.available)
        breaks = {reason: _whole(span) for reason, span in sorted(self.breaks.items())}
        return SecondsSplit(connected, available, breaks, connected - available - sum(breaks.values()))


@dataclass(frozen=True)
class SecondsSplit:
    connected: int
    available: int
    breaks: dict[str, int]
    other: int


@dataclass(frozen=True)
class SessionPart:
    """The piece of one session that falls in one day."""

    session: Session
    time: TimeSplit


@dataclass(frozen=True)
class DayReport:
    day: date
    first_login: datetime | None
    last_logout: datetime | None
    time: TimeSplit
    sessions: tuple[SessionPart, ...]
    chats_assigned: int
    chats_handled: int
    chats_closed: int
    messages_sent: int
    max_simultaneous_chats: int
    average_simultaneous_chats: float

    @property
    def is_empty(self) -> bool:
        return not (self.sessions or self.time.connected or self.chats_assigned or self.messages_sent
                    or self.chats_closed)


def check_range(first: date, last: date) -> None:
    if last < first:
        raise AttendanceError("La fecha final es anterior a la inicial")
    if (last - first).days + 1 > MAX_DAYS:
        raise AttendanceError("El reporte cubre hasta %(days)s días", days=MAX_DAYS)


def local_days(first: date, last: date, zone: ZoneInfo) -> list[tuple[date, Span]]:
    """Each local day of the range as its span of absolute time, midnight to midnight in `zone`."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [(day, Span(_midnight(day, zone), _midnight(day + timedelta(days=1), zone))) for day in days]


def day_reports(timeline: Timeline, zone: ZoneInfo, first: date, last: date) -> list[DayReport]:
    check_range(first, last)
    return [report for day, window in local_days(first, last, zone)
            if not (report := _day_report(timeline, day, window)).is_empty]


def union(spans: Iterable[Span]) -> list[Span]:
    """The same instants as sorted, disjoint spans of positive length."""
    merged: list[Span] = []
    for span in sorted(s for s in spans if s.end > s.start):
        if merged and span.start <= merged[-1].end:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


def intersect(left: Sequence[Span], right: Sequence[Span]) -> list[Span]:
    """Both arguments sorted and disjoint (as `union` gives them)."""
    found, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        start, end = max(left[i].start, right[j].start), min(left[i].end, right[j].end)
        if end > start:
            found.append(Span(start, end))
        if left[i].end <= right[j].end:
            i += 1
        else:
            j += 1
    return found


def total(spans: Iterable[Span]) -> timedelta:
    return sum((s.length for s in spans), ZERO)


def session_span(session: Session, now: datetime) -> Span:
    end = session.closed_at if session.closed_at is not None else max(now, session.opened_at)
    return Span(session.opened_at, max(end, session.opened_at))


def connected_spans(timeline: Timeline, window: Span) -> list[Span]:
    """When the agent had a session open as a member of the campaign, inside `window`."""
    member = intersect(union(timeline.membership), [window])
    return intersect(union(session_span(s, timeline.now) for s in timeline.sessions), member)


def time_split(timeline: Timeline, window: Span) -> TimeSplit:
    """Connected, available and break time inside any window (a day, a whole range)."""
    return _split(timeline, connected_spans(timeline, window))


def _day_report(timeline: Timeline, day: date, window: Span) -> DayReport:
    member = intersect(union(timeline.membership), [window])
    connected = connected_spans(timeline, window)
    parts = tuple(SessionPart(s, _split(timeline, intersect([session_span(s, timeline.now)], member)))
                  for s in sorted(timeline.sessions, key=lambda s: (s.opened_at, s.id))
                  if _in_day(s, timeline.now, member))
    activity = [a for a in timeline.activity if window.start <= a.at < window.end]
    max_chats, average_chats = _simultaneous(timeline.load, connected)
    return DayReport(
        day=day,
        first_login=min((s.opened_at for s in timeline.sessions if _inside(s.opened_at, window)), default=None),
        last_logout=max((s.closed_at for s in timeline.sessions
                         if s.closed_at is not None and _inside(s.closed_at, window)), default=None),
        time=_split(timeline, connected), sessions=parts,
        chats_assigned=sum(a.kind == "assigned" for a in activity),
        chats_handled=len({a.chat_id for a in activity if a.kind == "message"}),
        chats_closed=sum(a.kind == "closed" for a in activity),
        messages_sent=sum(a.kind == "message" for a in activity),
        max_simultaneous_chats=max_chats, average_simultaneous_chats=average_chats)


def _split(timeline: Timeline, connected: list[Span]) -> TimeSplit:
    def time_in(status: str, reason: str | None = None) -> timedelta:
        spans = union(p.span for p in timeline.presence
                      if p.status == status and (reason is None or p.reason == reason))
        return total(intersect(spans, connected))

    reasons = sorted({p.reason for p in timeline.presence if p.status == "break"})
    breaks = {reason: spent for reason in reasons if (spent := time_in("break", reason))}
    return TimeSplit(total(connected), time_in("available"), breaks)


def _simultaneous(load: Sequence[LoadStep], connected: list[Span]) -> tuple[int, float]:
    """The most chats open at once while connected, and their time-weighted average over connected time."""
    connected_time = total(connected)
    weighted, most = 0.0, 0
    for step in load:
        overlap = total(intersect([step.span], connected)) if step.span.end > step.span.start else ZERO
        if overlap:
            weighted += step.open_chats * overlap.total_seconds()
            most = max(most, step.open_chats)
    average = weighted / connected_time.total_seconds() if connected_time else 0.0
    return most, round(average, 2)


def _in_day(session: Session, now: datetime, member: list[Span]) -> bool:
    """A session of the day: some of it falls in the day, or it opened in the day (a login replaced at once)."""
    return bool(intersect([session_span(session, now)], member)) or any(_inside(session.opened_at, m) for m in member)


def _inside(instant: datetime, span: Span) -> bool:
    return span.start <= instant < span.end


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    # In UTC: Python subtracts and compares datetimes of one zone by their wall clocks, so a day of the
    # fall-back change would measure 24 hours and not 25.
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _whole(span: timedelta) -> int:
    return int(span // timedelta(seconds=1))

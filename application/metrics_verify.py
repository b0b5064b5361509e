"""`despacho metrics verify`: every registered metric counted again from the raw event log and compared with what
the metric queries answer (R14).

Deliberately simple and separate from the projector: the log is read once in order, each chat's events are kept
together, and each chat is then walked from its first event to its last, counting what the registry defines
(domain/metrics/registry.py) straight into each local day of its campaign. Nothing here reads a read table; the
answers of the queries come in as plain values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from application.store import EventStore
from domain.campaigns import Campaign
from domain.chats import Chat
from domain.dispositions import stored_disposition
from domain.messages import FAILED_STATUSES, OutboundMessage, accepted_by_twilio
from domain.metrics.registry import (
    AGENT,
    BOT,
    CAMPAIGN,
    CONTAINMENT_WINDOW_HOURS,
    COUNTER_KEYS,
    MAXIMA,
    SERVICE_LEVEL_SECONDS,
    metrics_of,
    values,
)

PAGE = 1000
UNDETERMINED_ZONE = "America/Bogota"
TOLERANCE = 0.001
Key = tuple[str, tuple[str, ...], date]  # level, dimensions (as the queries name them), local day
Effective = dict[str, frozenset[str]]  # each campaign's effective disposition codes


@dataclass(frozen=True)
class Difference:
    level: str
    dimensions: tuple[str, ...]
    day: date
    metric: str
    from_log: float | None
    from_queries: float | None


@dataclass
class _Log:
    zones: dict[str, str] = field(default_factory=dict)
    chats: dict[str, list[tuple[int, Any, Effective]]] = field(default_factory=lambda: defaultdict(list))
    messages: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))


def read_log(store: EventStore, stop: int | None = None) -> Iterator[tuple[int, Any]]:
    """Every event in the log's order (up to `stop`, a notification id), through the notification log."""
    start = 0
    while notifications := store.recorder.select_notifications(start=start, limit=PAGE, inclusive_of_start=False,
                                                               stop=stop):
        for notification in notifications:
            yield notification.id, store.mapper.to_domain_event(notification)
        start = notifications[-1].id


def counters_from_log(events: Iterable[tuple[int, Any]]) -> dict[Key, dict[str, float]]:
    log, effective = _Log(), Effective()
    for position, event in events:
        if isinstance(event, Campaign.Created | Campaign.Edited):
            campaign = str(event.originator_id)
            log.zones[campaign] = event.settings.get("time_zone") or UNDETERMINED_ZONE
            effective[campaign] = frozenset(d.code for d in map(stored_disposition, event.settings.get(
                "dispositions", [])) if d.effective)
        elif isinstance(event, Chat.Event):
            # a close counts as effective by the campaign's dispositions as they stood when it closed
            log.chats[str(event.originator_id)].append((position, event, dict(effective)))
        elif isinstance(event, OutboundMessage.Event):
            log.messages[str(event.originator_id)].append(event)
    counting = _Counting(log.zones)
    walks = [_walk(chat_events, counting) for chat_events in log.chats.values()]
    _containment(walks, counting)
    for message_events in log.messages.values():
        _message(message_events, counting)
    return counting.found


class _Counting:
    def __init__(self, zones: dict[str, str]) -> None:
        self.zones = zones
        self.found: dict[Key, dict[str, float]] = {}

    def add(self, level: str, dimensions: tuple[str, ...], campaign: str, at: datetime, **counters: float) -> None:
        day = at.astimezone(ZoneInfo(self.zones.get(campaign, UNDETERMINED_ZONE))).date()
        row = self.found.setdefault((level, dimensions, day), dict.fromkeys(COUNTER_KEYS[level], 0.0))
        for name, amount in counters.items():
            row[name] = max(row[name], float(amount)) if name in MAXIMA else row[name] + float(amount)


@dataclass
class _Chat:
    campaign: str = ""
    flow: str = ""
    customer: str = ""
    opened_at: datetime | None = None
    identified: bool = False
    transferred: bool = False
    inactive: bool = False
    attended: bool = False
    closed: bool = False
    close_reason: str = ""
    closed_at: datetime | None = None
    close_position: int = 0
    open_position: int = 0


def _seconds(start: datetime, end: datetime) -> float:
    return round(max((end - start).total_seconds(), 0.0), 3)


def _walk(events: list[tuple[int, Any, Any]], counting: _Counting) -> _Chat:
    chat = _Chat()
    waiting = False
    queue: dict[str, Any] | None = None
    assignment: dict[str, Any] | None = None
    for position, event, effective in events:
        if isinstance(event, Chat.Opened):
            chat.flow, chat.customer, chat.opened_at = event.flow_name, event.customer_address, event.at
            chat.campaign, chat.open_position = event.campaign_id, position
        elif isinstance(event, Chat.BotAdvanced) and event.bot_state.get("flow_name"):
            chat.flow = event.bot_state["flow_name"]
        elif isinstance(event, Chat.BotInactivityRecorded):
            chat.inactive = True
        elif isinstance(event, Chat.CustomerIdentified):
            chat.identified, chat.campaign = True, event.campaign_id
        elif isinstance(event, Chat.Queued | Chat.Requeued):
            if assignment is not None:
                _finish_assignment(assignment, event.at, counting)
                assignment = None
            if isinstance(event, Chat.Queued):
                chat.transferred, chat.campaign, waiting = True, event.campaign_id, True
            queue = {"campaign": event.campaign_id, "at": event.at}
        elif isinstance(event, Chat.AgentAssigned | Chat.Reassigned):
            if queue is not None:
                _finish_queue(queue, "assigned", event.at, counting)
                queue = None
            if assignment is not None:
                _finish_assignment(assignment, event.at, counting)
            agent = event.agent_id if isinstance(event, Chat.AgentAssigned) else event.to_agent_id
            assignment = {"agent": agent, "campaign": chat.campaign, "at": event.at, "first": None, "messages": 0,
                          "waiting": event.at if waiting else None, "reply_sum": 0.0, "reply_count": 0, "alerts": 0}
        elif isinstance(event, Chat.CustomerWrote):
            waiting = True
            if assignment is not None and assignment["waiting"] is None:
                assignment["waiting"] = event.at
        elif isinstance(event, Chat.AgentReplied):
            chat.attended, waiting = True, False
            counting.add(AGENT, (event.agent_id, chat.campaign), chat.campaign, event.at, messages=1)
            if assignment is not None:
                assignment["messages"] += 1
                assignment["first"] = assignment["first"] or event.at
                if assignment["waiting"] is not None:
                    assignment["reply_sum"] += _seconds(assignment["waiting"], event.at)
                    assignment["reply_count"] += 1
                    assignment["waiting"] = None
        elif isinstance(event, Chat.AlertRaised) and event.kind == "unanswered" and assignment is not None:
            assignment["alerts"] += 1
        elif isinstance(event, Chat.QueueAbandoned) and queue is not None:
            _finish_queue(queue, "abandoned", event.at, counting)
            queue = None
        elif isinstance(event, Chat.Closed):
            if queue is not None:  # a log from before QueueAbandoned
                _finish_queue(queue, "abandoned", event.at, counting)
                queue = None
            if assignment is not None:
                _finish_assignment(assignment, event.at, counting)
                assignment = None
            chat.closed, chat.close_reason, chat.closed_at, chat.close_position = True, event.reason, event.at, position
            _close_counts(event, chat.campaign, effective, counting)
    if queue is not None:
        _finish_queue(queue, "", None, counting)
    if assignment is not None:
        _finish_assignment(assignment, None, counting)
    return chat


def _close_counts(event: Any, campaign: str, effective: Mapping[str, frozenset[str]], counting: _Counting) -> None:
    if event.reason == "agent" and event.actor.startswith("user:"):
        closer = event.actor.partition(":")[2]
        counting.add(AGENT, (closer, campaign), campaign, event.at, closes=1,
                     effective_closes=event.disposition in effective.get(campaign, frozenset()))
    if event.reason == "opt_out":
        counting.add(CAMPAIGN, (campaign,), campaign, event.at, opt_outs=1)


def _finish_queue(queue: dict[str, Any], outcome: str, at: datetime | None, counting: _Counting) -> None:
    wait = _seconds(queue["at"], at) if at is not None else 0.0
    assigned = outcome == "assigned"
    counting.add(CAMPAIGN, (queue["campaign"],), queue["campaign"], queue["at"], queue_entries=1,
                 queue_assigned=assigned, queue_abandoned=outcome == "abandoned",
                 wait_assigned_sum=wait if assigned else 0, wait_ended_sum=wait if outcome else 0,
                 wait_max=wait if outcome else 0, within_target=assigned and wait <= SERVICE_LEVEL_SECONDS)


def _finish_assignment(assignment: dict[str, Any], end: datetime | None, counting: _Counting) -> None:
    start, first = assignment["at"], assignment["first"]
    counting.add(AGENT, (assignment["agent"], assignment["campaign"]), assignment["campaign"], start, assignments=1,
                 handled=assignment["messages"] > 0, frt_sum=_seconds(start, first) if first else 0,
                 frt_count=first is not None, reply_sum=assignment["reply_sum"], reply_count=assignment["reply_count"],
                 aht_sum=_seconds(start, end) if end else 0, aht_count=end is not None, alerts=assignment["alerts"])


def _containment(chats: list[_Chat], counting: _Counting) -> None:
    """A bot close is contained unless a later chat of the same customer opened within the window."""
    opened_by_customer: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for chat in chats:
        if chat.opened_at is not None:
            opened_by_customer[chat.customer].append((chat.open_position, chat.opened_at))
    window = timedelta(hours=CONTAINMENT_WINDOW_HOURS)
    for chat in chats:
        if chat.opened_at is None:
            continue
        bot_closed = chat.close_reason == "bot"
        returned = bot_closed and any(position > chat.close_position and opened - chat.closed_at < window
                                      for position, opened in opened_by_customer[chat.customer]
                                      if chat.closed_at is not None)
        counting.add(CAMPAIGN, (chat.campaign,), chat.campaign, chat.opened_at, chats=1, attended=chat.attended,
                     unattended=chat.closed and not chat.attended)
        counting.add(BOT, (chat.campaign, chat.flow), chat.campaign, chat.opened_at, bot_chats=1,
                     identified=chat.identified, transferred=chat.transferred,
                     dropped=chat.inactive and not chat.transferred, bot_closed=bot_closed,
                     contained=bot_closed and not returned)


def _message(events: list[Any], counting: _Counting) -> None:
    requested = events[0]
    failed = any(isinstance(e, OutboundMessage.Failed)
                 or (isinstance(e, OutboundMessage.StatusReported) and e.status in FAILED_STATUSES)
                 or (isinstance(e, OutboundMessage.Submitted) and not accepted_by_twilio(e.sid, e.status))
                 for e in events)
    counting.add(CAMPAIGN, (requested.campaign_id,), requested.campaign_id, requested.at, outbound=1,
                 outbound_failed=failed)


def compare(from_log: Mapping[Key, Mapping[str, float]], from_queries: Mapping[Key, Mapping[str, float]],
            first: date, last: date) -> list[Difference]:
    """Every metric of every row (a level's dimensions and day) where the two disagree; a row missing on one side
    reads as zero counters."""
    differences = []
    for key in sorted(set(from_log) | set(from_queries)):
        level, dimensions, day = key
        if not first <= day <= last:
            continue
        empty = dict.fromkeys(COUNTER_KEYS[level], 0.0)
        expected = values(level, from_log.get(key, empty))
        found = values(level, from_queries.get(key, empty))
        for metric in metrics_of(level):
            if not _same(expected[metric.key], found[metric.key]):
                differences.append(Difference(level, dimensions, day, metric.key, expected[metric.key],
                                              found[metric.key]))
    return differences


def _same(left: float | None, right: float | None) -> bool:
    if left is None or right is None:
        return left == right
    return abs(left - right) <= TOLERANCE * max(1.0, abs(left), abs(right))

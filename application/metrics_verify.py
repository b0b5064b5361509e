"""`despacho metrics verify`: every registered metric counted again from the raw event log and compared with what
the metric queries answer (R14).

Deliberately simple and separate from the projector: the log is read in pages, in order, and each chat is walked
from its first event to its last, counting what the registry defines (domain/metrics/registry.py) straight into
each local day of its campaign. Nothing here reads a read table; the answers of the queries come in as plain values.

Only the state still needed is kept while reading: the chats still open, the bot closes whose customer may yet come
back, the messages that may yet fail, and the counters themselves. A first read of the campaigns' events alone gives
the zone each campaign ends with, which cuts its days (as the queries do).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.utils import get_topic

from application.store import EventStore
from domain.campaigns import Campaign
from domain.chats import Chat
from domain.dispositions import stored_disposition
from domain.messages import FAILED_STATUSES, FINAL_STATUSES, OutboundMessage, accepted_by_twilio
from domain.metrics.registry import (
    ABANDON_REASONS,
    AGENT,
    BOT,
    CAMPAIGN,
    CONTAINMENT_WINDOW_HOURS,
    COUNTER_KEYS,
    MAXIMA,
    MOVED,
    metrics_of,
    values,
)
from domain.metrics.targets import service_level_seconds
from domain.surveys import is_satisfied

PAGE = 1000
UNDETERMINED_ZONE = "America/Bogota"
TOLERANCE = 0.001
CAMPAIGN_TOPICS = (get_topic(Campaign.Created), get_topic(Campaign.Edited))
Key = tuple[str, tuple[str, ...], date]  # level, dimensions (as the queries name them), local day


@dataclass(frozen=True)
class Difference:
    level: str
    dimensions: tuple[str, ...]
    day: date
    metric: str
    from_log: float | None
    from_queries: float | None


def read_log(store: EventStore, stop: int | None = None, topics: Sequence[str] = ()) -> Iterator[tuple[int, Any]]:
    """The events in the log's order (up to `stop`, a notification id; only `topics` if given), a page at a time."""
    start = 0
    while notifications := store.recorder.select_notifications(start=start, limit=PAGE, inclusive_of_start=False,
                                                               stop=stop, topics=topics):
        for notification in notifications:
            yield notification.id, store.mapper.to_domain_event(notification)
        start = notifications[-1].id


def counters_from_log(store: EventStore, stop: int | None = None) -> dict[Key, dict[str, float]]:
    counting = _Counting(final_zones(event for _, event in read_log(store, stop, CAMPAIGN_TOPICS)))
    walk = _Walk(counting)
    for _, event in read_log(store, stop):
        walk.apply(event)
    walk.finish()
    return counting.found


def final_zones(campaign_events: Iterable[Any]) -> dict[str, str]:
    return {str(e.originator_id): e.settings.get("time_zone") or UNDETERMINED_ZONE for e in campaign_events}


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
    waiting: bool = False
    queue: dict[str, Any] | None = None
    assignment: dict[str, Any] | None = None


@dataclass(frozen=True)
class _BotClose:
    """A chat the bot ended, counted as contained until its customer opens another chat within the window."""

    campaign: str
    flow: str
    opened_at: datetime
    closed_at: datetime


@dataclass
class _Walk:
    counting: _Counting
    effective: dict[str, frozenset[str]] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    chats: dict[str, _Chat] = field(default_factory=dict)
    bot_closes: dict[str, list[_BotClose]] = field(default_factory=lambda: defaultdict(list))
    messages: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    """Messages that may still fail: their campaign and request."""

    def apply(self, event: Any) -> None:
        if isinstance(event, Campaign.Created | Campaign.Edited):
            campaign = str(event.originator_id)
            self.effective[campaign] = frozenset(d.code for d in map(stored_disposition, event.settings.get(
                "dispositions", [])) if d.effective)
            self.thresholds[campaign] = service_level_seconds(event.settings.get("metric_targets", {}))
        elif isinstance(event, Chat.Opened):
            self._opened(event)
        elif isinstance(event, Chat.SurveyAnswered):  # on a chat already closed, so walked no more
            self._survey_answered(event)
        elif isinstance(event, Chat.Event) and (chat := self.chats.get(str(event.originator_id))) is not None:
            self._step(chat, event)
            if isinstance(event, Chat.Closed):
                self._closed(chat, event)
                del self.chats[str(event.originator_id)]
        elif isinstance(event, OutboundMessage.Event):
            self._message(event)

    def finish(self) -> None:
        """Chats still open at the end of the log: their queue entry and assignment are unfinished."""
        for chat in self.chats.values():
            if chat.queue is not None:
                _finish_queue(chat.queue, "", None, "", self.counting)
            if chat.assignment is not None:
                _finish_assignment(chat.assignment, None, self.counting)
            self._count_chat(chat, closed=False, bot_closed=False)
        self.chats.clear()

    def _opened(self, event: Any) -> None:
        """A customer back within the window of a bot close: that close was not contained after all."""
        window = timedelta(hours=CONTAINMENT_WINDOW_HOURS)
        pending = self.bot_closes.get(event.customer_address, [])
        for close in [c for c in pending if event.at - c.closed_at < window]:
            self.counting.add(BOT, (close.campaign, close.flow), close.campaign, close.opened_at, contained=-1)
            pending.remove(close)
        self.chats[str(event.originator_id)] = _Chat(campaign=event.campaign_id, flow=event.flow_name,
                                                     customer=event.customer_address, opened_at=event.at)

    def _survey_answered(self, event: Any) -> None:
        campaign, score = event.campaign_id, event.score
        levels = [(AGENT, (event.agent_id, campaign))] if event.agent_id else []
        for level, dimensions in [*levels, (CAMPAIGN, (campaign,))]:
            self.counting.add(level, dimensions, campaign, event.at, survey_answers=1,
                              survey_satisfied=is_satisfied(score), survey_score_sum=score)

    def _closed(self, chat: _Chat, event: Any) -> None:
        bot_closed = event.reason == "bot"
        self._count_chat(chat, closed=True, bot_closed=bot_closed)
        if event.reason == "agent" and event.actor.startswith("user:"):
            closer = event.actor.partition(":")[2]
            self.counting.add(AGENT, (closer, chat.campaign), chat.campaign, event.at, closes=1,
                              effective_closes=event.disposition in self.effective.get(chat.campaign, frozenset()))
        self.counting.add(CAMPAIGN, (chat.campaign,), chat.campaign, event.at, **{f"closed_{event.reason}": 1})
        if bot_closed and chat.opened_at is not None:
            self.bot_closes[chat.customer].append(_BotClose(chat.campaign, chat.flow, chat.opened_at, event.at))

    def _count_chat(self, chat: _Chat, *, closed: bool, bot_closed: bool) -> None:
        if chat.opened_at is None:
            return
        self.counting.add(CAMPAIGN, (chat.campaign,), chat.campaign, chat.opened_at, chats=1, attended=chat.attended,
                          unattended=closed and not chat.attended)
        self.counting.add(BOT, (chat.campaign, chat.flow), chat.campaign, chat.opened_at, bot_chats=1,
                          identified=chat.identified, transferred=chat.transferred,
                          dropped=chat.inactive and not chat.transferred, bot_closed=bot_closed, contained=bot_closed)

    def _step(self, chat: _Chat, event: Any) -> None:
        counting = self.counting
        if isinstance(event, Chat.BotAdvanced) and event.bot_state.get("flow_name"):
            chat.flow = event.bot_state["flow_name"]
        elif isinstance(event, Chat.BotInactivityRecorded):
            chat.inactive = True
        elif isinstance(event, Chat.CustomerIdentified):
            chat.identified, chat.campaign = True, event.campaign_id
        elif isinstance(event, Chat.Queued | Chat.Requeued | Chat.TransferredToCampaign):
            if chat.assignment is not None:
                _finish_assignment(chat.assignment, event.at, counting)
                chat.assignment = None
            if isinstance(event, Chat.TransferredToCampaign):
                chat.campaign = event.campaign_id
                if chat.queue is not None:  # moved while waiting: neither assigned nor abandoned
                    _finish_queue(chat.queue, MOVED, event.at, "", counting)
            if isinstance(event, Chat.Queued):
                chat.transferred, chat.campaign, chat.waiting = True, event.campaign_id, True
            chat.queue = {"campaign": event.campaign_id, "at": event.at,
                          "threshold": self.thresholds.get(event.campaign_id, service_level_seconds({}))}
        elif isinstance(event, Chat.AgentAssigned | Chat.Reassigned):
            if chat.queue is not None:
                _finish_queue(chat.queue, "assigned", event.at, "", counting)
                chat.queue = None
            if chat.assignment is not None:
                _finish_assignment(chat.assignment, event.at, counting)
            agent = event.agent_id if isinstance(event, Chat.AgentAssigned) else event.to_agent_id
            chat.assignment = {"agent": agent, "campaign": chat.campaign, "at": event.at, "first": None, "messages": 0,
                               "waiting": event.at if chat.waiting else None, "reply_sum": 0.0, "reply_count": 0,
                               "alerts": 0}
        elif isinstance(event, Chat.CustomerWrote):
            chat.waiting = True
            if chat.assignment is not None and chat.assignment["waiting"] is None:
                chat.assignment["waiting"] = event.at
        elif isinstance(event, Chat.AgentReplied):
            chat.attended, chat.waiting = True, False
            counting.add(AGENT, (event.agent_id, chat.campaign), chat.campaign, event.at, messages=1)
            if (assignment := chat.assignment) is not None:
                assignment["messages"] += 1
                assignment["first"] = assignment["first"] or event.at
                if assignment["waiting"] is not None:
                    assignment["reply_sum"] += _seconds(assignment["waiting"], event.at)
                    assignment["reply_count"] += 1
                    assignment["waiting"] = None
        elif isinstance(event, Chat.AlertRaised) and event.kind == "unanswered" and chat.assignment is not None:
            chat.assignment["alerts"] += 1
        elif isinstance(event, Chat.QueueAbandoned | Chat.Closed):
            if chat.queue is not None:  # a Closed alone: a log from before QueueAbandoned
                _finish_queue(chat.queue, "abandoned", event.at, event.reason, counting)
                chat.queue = None
            if isinstance(event, Chat.Closed) and chat.assignment is not None:
                _finish_assignment(chat.assignment, event.at, counting)
                chat.assignment = None

    def _message(self, event: Any) -> None:
        """A message counts once when requested and once more when it first fails; in a final status it can no
        longer fail (statuses never move back and `fail` refuses a final one), so it is forgotten."""
        message = str(event.originator_id)
        if isinstance(event, OutboundMessage.Requested):
            self.messages[message] = (event.campaign_id, event.at)
            self.counting.add(CAMPAIGN, (event.campaign_id,), event.campaign_id, event.at, outbound=1)
            return
        if message not in self.messages:
            return
        failed = (isinstance(event, OutboundMessage.Failed)
                  or (isinstance(event, OutboundMessage.StatusReported) and event.status in FAILED_STATUSES)
                  or (isinstance(event, OutboundMessage.Submitted) and not accepted_by_twilio(event.sid, event.status)))
        if failed:
            campaign, requested_at = self.messages.pop(message)
            self.counting.add(CAMPAIGN, (campaign,), campaign, requested_at, outbound_failed=1)
        elif isinstance(event, OutboundMessage.AnsweredByTwilio) or getattr(event, "status", "") in FINAL_STATUSES:
            del self.messages[message]


def _seconds(start: datetime, end: datetime) -> float:
    return round(max((end - start).total_seconds(), 0.0), 3)


def _finish_queue(queue: dict[str, Any], outcome: str, at: datetime | None, reason: str, counting: _Counting) -> None:
    """`reason`: the close reason of an abandoned entry."""
    wait = _seconds(queue["at"], at) if at is not None else 0.0
    assigned, abandoned = outcome == "assigned", outcome == "abandoned"
    ended = assigned or abandoned
    counting.add(CAMPAIGN, (queue["campaign"],), queue["campaign"], queue["at"], queue_entries=1,
                 queue_assigned=assigned, queue_abandoned=abandoned,
                 wait_assigned_sum=wait if assigned else 0, wait_ended_sum=wait if ended else 0,
                 wait_max=wait if ended else 0, within_target=assigned and wait <= queue["threshold"],
                 **{f"abandoned_{r}": abandoned and reason == r for r in ABANDON_REASONS})


def _finish_assignment(assignment: dict[str, Any], end: datetime | None, counting: _Counting) -> None:
    start, first = assignment["at"], assignment["first"]
    counting.add(AGENT, (assignment["agent"], assignment["campaign"]), assignment["campaign"], start, assignments=1,
                 handled=assignment["messages"] > 0, frt_sum=_seconds(start, first) if first else 0,
                 frt_count=first is not None, reply_sum=assignment["reply_sum"], reply_count=assignment["reply_count"],
                 aht_sum=_seconds(start, end) if end else 0, aht_count=end is not None, alerts=assignment["alerts"])


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

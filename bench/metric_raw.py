"""The benchmark's baseline: each question the metric queries answer, answered again from the raw events.

The events are read from the notification log and decoded, as `despacho metrics verify` does: the campaigns' own
events (their zones, names and dispositions), then the slice of the log whose events fall between the day before
the first day asked and the day after the last (found by bisecting the log on the events' `at`; a benchmark chat
lasts minutes, so its events all lie inside that slice). The registry's counters come from the verify's own
deliberately simple walk (application/metrics_verify.py), the rest from plain loops below.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.utils import get_topic

from application.metrics_verify import counters_from_log
from domain.campaigns import Campaign
from domain.chats import Chat
from domain.dispositions import stored_disposition
from domain.messages import FAILED_STATUSES, OutboundMessage, accepted_by_twilio
from domain.metrics.registry import AGENT, BY_KEY, CAMPAIGN, combine
from projections.metric_queries import KPI_METRICS, MetricFilter, bucket_of

PAGE = 2000
CAMPAIGN_TOPICS = [get_topic(Campaign.Created), get_topic(Campaign.Edited)]
Answer = dict[tuple[Any, ...], Any]


@dataclass
class RawLog:
    """The decoded events a question needs, and what the campaigns' events say."""

    events: list[tuple[int, Any]]
    zones: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)


def read_raw(store: Any, first: date, last: date) -> RawLog:
    campaigns = list(_notifications(store, 0, None, CAMPAIGN_TOPICS))
    begin = _position_at(store, datetime.combine(first - timedelta(days=2), time(0), UTC))
    end = _position_at(store, datetime.combine(last + timedelta(days=2), time(0), UTC))
    raw = RawLog(campaigns + [e for e in _notifications(store, begin - 1, end, ()) if not _is_campaign(e[1])])
    for _, event in campaigns:
        campaign_id = str(event.originator_id)
        raw.zones[campaign_id] = event.settings.get("time_zone") or "America/Bogota"
        raw.labels[campaign_id] = {d.code: d.label for d in map(stored_disposition, event.settings.get(
            "dispositions", []))}
        if isinstance(event, Campaign.Created) or getattr(event, "name", None):
            raw.names[campaign_id] = event.name
    return raw


def _is_campaign(event: Any) -> bool:
    return isinstance(event, Campaign.Event)


def _notifications(store: Any, after: int, stop: int | None, topics: list[str] | tuple[()]
                   ) -> Iterator[tuple[int, Any]]:
    while batch := store.recorder.select_notifications(start=after, limit=PAGE, stop=stop, topics=topics,
                                                       inclusive_of_start=False):
        for notification in batch:
            yield notification.id, store.mapper.to_domain_event(notification)
        after = batch[-1].id


def _position_at(store: Any, instant: datetime) -> int:
    """The first position whose event is at or after `instant` (the log's `at` grows, give or take a chat)."""
    low, high = 1, int(store.recorder.max_notification_id() or 0) + 1
    while low < high:
        middle = (low + high) // 2
        [notification] = store.recorder.select_notifications(start=middle, limit=1)
        if store.mapper.to_domain_event(notification).at < instant:
            low = notification.id + 1
        else:
            high = middle
    return low


def _window(wanted: MetricFilter, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return (datetime.combine(wanted.date_from, time(0), tz).astimezone(UTC),
            datetime.combine(wanted.date_to + timedelta(days=1), time(0), tz).astimezone(UTC))


def counters(raw: RawLog, level: str, wanted: MetricFilter,
             counted: dict[tuple[str, tuple[str, ...], date], dict[str, float]] | None = None) -> Answer:
    """The registry's counters per level's dimensions and bucket, rows with nothing counted left out (`counted`:
    the walk's per-day counters when already made)."""
    parts: dict[tuple[Any, ...], list[dict[str, float]]] = defaultdict(list)
    for (found_level, dimensions, day), found in (counters_from_log(raw.events) if counted is None
                                                  else counted).items():
        if found_level != level or not wanted.date_from <= day <= wanted.date_to:
            continue
        zone = raw.zones.get(dimensions[-1] if level == AGENT else dimensions[0], "America/Bogota")
        parts[dimensions, bucket_of(day, wanted.granularity, zone)].append(found)
    combined = {key: combine(found, level) for key, found in parts.items()}
    return {key: rounded(counters) for key, counters in combined.items() if any(counters.values())}


def rounded(counted: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 3) for name, value in counted.items()}


def agent_dispositions(raw: RawLog, wanted: MetricFilter) -> Answer:
    """Each agent's closes per disposition label and bucket, dated by the close."""
    campaign_of: dict[str, str] = {}
    found: dict[tuple[Any, ...], dict[str, int]] = defaultdict(dict)
    for _, event in raw.events:
        chat = str(event.originator_id)
        if isinstance(event, Chat.Opened | Chat.CustomerIdentified | Chat.Queued) and event.campaign_id:
            campaign_of[chat] = event.campaign_id
        elif isinstance(event, Chat.Closed) and event.reason == "agent" and event.actor.startswith("user:"):
            campaign = campaign_of.get(chat, "")
            if campaign not in raw.zones:  # opened before the slice, so closed days before the range
                continue
            start, end = _window(wanted, raw.zones[campaign])
            if start <= event.at < end:
                label = raw.labels[campaign].get(event.disposition) or stored_disposition(event.disposition).label
                counts = found[event.actor.partition(":")[2], campaign,
                               bucket_of(event.at, wanted.granularity, raw.zones[campaign])]
                counts[label] = counts.get(label, 0) + 1
    return dict(found)


def kpis(raw: RawLog, now: datetime) -> list[tuple[str, str, float]]:
    """Each campaign's registry figures of its own local today, as the dashboards' cards show them."""
    found = []
    counted = counters_from_log(raw.events)
    for campaign in sorted(raw.zones, key=lambda c: (raw.names[c], c)):
        today = now.astimezone(ZoneInfo(raw.zones[campaign])).date()
        wanted = MetricFilter(today, today)
        rows = {CAMPAIGN: counters(raw, CAMPAIGN, wanted, counted), AGENT: counters(raw, AGENT, wanted, counted)}
        for key, _ in KPI_METRICS:
            metric = BY_KEY[key]
            parts = [c for (dimensions, _), c in rows[metric.level].items() if dimensions[-1 if metric.level == AGENT
                                                                                          else 0] == campaign]
            figure = metric.value(combine(parts, metric.level)) if parts else None
            if figure is not None:
                found.append((raw.names[campaign], metric.name_es, round(figure, 6)))
    return found


def _chats(raw: RawLog) -> dict[str, dict[str, Any]]:
    """Each chat's start, campaign (its latest), flow and the bot states it reached, in order."""
    chats: dict[str, dict[str, Any]] = {}
    for _, event in raw.events:
        if isinstance(event, Chat.Opened):
            chats[str(event.originator_id)] = {"at": event.at, "campaign": event.campaign_id,
                                               "flow": event.flow_name, "states": {}}
        chat = chats.get(str(event.originator_id))
        if chat is None:
            continue
        if isinstance(event, Chat.CustomerIdentified | Chat.Queued):
            chat["campaign"] = event.campaign_id
        elif isinstance(event, Chat.BotAdvanced):
            chat["flow"] = event.bot_state.get("flow_name") or chat["flow"]
            state = str(event.bot_state.get("state", ""))
            if state:
                chat["states"].setdefault(state, chat["flow"])
    return chats


def _opened_inside(raw: RawLog, wanted: MetricFilter) -> Iterator[dict[str, Any]]:
    for chat in _chats(raw).values():
        start, end = _window(wanted, raw.zones.get(chat["campaign"], "America/Bogota"))
        if chat["campaign"] in raw.zones and start <= chat["at"] < end:
            yield chat


def volume(raw: RawLog, wanted: MetricFilter) -> Answer:
    counts: dict[tuple[Any, ...], int] = defaultdict(int)
    for chat in _opened_inside(raw, wanted):
        local = chat["at"].astimezone(ZoneInfo(raw.zones[chat["campaign"]]))
        counts[chat["campaign"], local.weekday(), local.hour] += 1
    return dict(counts)


def funnel(raw: RawLog, wanted: MetricFilter) -> Answer:
    counts: dict[tuple[Any, ...], int] = defaultdict(int)
    for chat in _opened_inside(raw, wanted):
        for state, flow in chat["states"].items():
            counts[chat["campaign"], flow, state] += 1
    return dict(counts)


def delivery(raw: RawLog, wanted: MetricFilter) -> Answer:
    messages: dict[str, dict[str, Any]] = {}
    for _, event in raw.events:
        if isinstance(event, OutboundMessage.Requested):
            messages[str(event.originator_id)] = {"event": event, "failed": False}
        elif isinstance(event, OutboundMessage.Event) and str(event.originator_id) in messages:
            failed = isinstance(event, OutboundMessage.Failed) or (
                isinstance(event, OutboundMessage.StatusReported) and event.status in FAILED_STATUSES) or (
                isinstance(event, OutboundMessage.Submitted) and not accepted_by_twilio(event.sid, event.status))
            messages[str(event.originator_id)]["failed"] |= failed
    counts: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: {"outbound": 0, "failed": 0})
    for message in messages.values():
        requested = message["event"]
        if requested.campaign_id not in raw.zones:
            continue
        start, end = _window(wanted, raw.zones[requested.campaign_id])
        if start <= requested.at < end:
            found = counts[requested.campaign_id, requested.sender]
            found["outbound"] += 1
            found["failed"] += message["failed"]
    return {key: (n["outbound"], n["failed"]) for key, n in counts.items()}

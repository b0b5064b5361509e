"""The metrics of agents, campaigns and the bot read from the metric tables, for the API, its CSV and XLSX, the
dashboards and `despacho metrics verify`: one function per level, so every view shows the same number.

Buckets are local to a time zone: each campaign's own, or the one the filter names. Days, weeks and months in
the campaign's own zone read the daily counters; hours, or another zone, read the hourly ones. The viewer's scope
is an argument applied here: `campaign_ids` None means every campaign (and the chats whose campaign is not
determined yet), `only_agent` limits agent rows to one person (an agent looking at themself).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, case, func, select

from domain.attendance import Span, check_range, local_days
from domain.common import DomainError
from domain.dispositions import stored_disposition
from domain.metrics.occupancy import occupancy
from domain.metrics.registry import (
    AGENT,
    BOT,
    BY_KEY,
    CAMPAIGN,
    COUNTER_KEYS,
    combine,
    counters_in,
    jain_index,
    values,
)
from domain.metrics.targets import THRESHOLD, met, target_of
from projections.agents import AgentsProjector
from projections.attendance_queries import AttendanceFilter, attendance_timelines
from projections.campaigns import CampaignsProjector
from projections.kpis import Kpi
from projections.metric_facts import UNDETERMINED_ZONE, MetricsProjector
from projections.metric_tables import DIMENSIONS

METRICS = MetricsProjector()
AGENTS = AgentsProjector()
CAMPAIGNS = CampaignsProjector()
GRANULARITIES = ("hour", "day", "week", "month")
UNDETERMINED = ""
"""The campaign id of chats no number or bot has attributed yet; only viewers of every campaign see them."""


class MetricFilterError(DomainError):
    pass


@dataclass(frozen=True)
class MetricFilter:
    date_from: date
    date_to: date
    campaign_id: str = ""
    agent_id: str = ""
    flow_name: str = ""
    time_zone: str = ""
    """Empty: each campaign's own zone."""
    granularity: str = "day"

    def check(self) -> None:
        check_range(self.date_from, self.date_to)
        if self.granularity not in GRANULARITIES:
            raise MetricFilterError("Granularidad desconocida: %(granularity)s", granularity=self.granularity)
        if self.time_zone:
            try:
                ZoneInfo(self.time_zone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise MetricFilterError("Zona horaria desconocida: %(zone)s", zone=self.time_zone) from exc


@dataclass(frozen=True)
class MetricRow:
    level: str
    bucket: str
    """The bucket's start in its zone: `2026-06-15` for a day, week (its Monday) or month, `2026-06-15T08:00` for
    an hour."""
    time_zone: str
    campaign_id: str
    campaign_name: str
    agent_id: str = ""
    agent_name: str = ""
    flow_name: str = ""
    counters: dict[str, float] = field(default_factory=dict)
    values: dict[str, float | None] = field(default_factory=dict)
    breakdown: dict[str, int] = field(default_factory=dict)
    """Agent rows: closes per disposition label."""


@dataclass(frozen=True)
class _Campaign:
    id: str
    name: str
    zone: str
    dispositions: dict[str, str]
    day_zone: str
    """The zone its daily counters are cut in (the one it was created with)."""
    archived: bool = False
    targets: dict[str, float] = field(default_factory=dict)


def agent_metrics(engine: Engine, wanted: MetricFilter, *, campaign_ids: set[str] | None,
                  only_agent: str | None = None, now: datetime | None = None) -> list[MetricRow]:
    """`now` (the end of intervals still open) adds each row's occupancy, read from the attendance timeline."""
    rows = _rows(engine, AGENT, wanted, campaign_ids, only_agent)
    busy = _occupancy(engine, wanted, campaign_ids, only_agent, now) if now is not None else {}
    if wanted.agent_id or only_agent:  # a share of the whole campaign's load, whoever looks
        totals = {key: sum(loads.values()) for key, loads in _assignments(engine, wanted, campaign_ids).items()}
    else:
        totals = defaultdict(float)
        for row in rows:
            totals[row.campaign_id, row.bucket] += row.counters["assignments"]
    with engine.connect() as connection:
        names = _agent_names(connection, {r.agent_id for r in rows})
    for row in rows:
        whole = totals[row.campaign_id, row.bucket]
        row.values["load_share"] = round(row.counters["assignments"] / whole, 4) if whole else None
        if now is not None:
            row.values["occupancy"] = busy.get((row.agent_id, row.campaign_id, row.bucket))
    return [MetricRow(**{**r.__dict__, "agent_name": names.get(r.agent_id, "")}) for r in rows]


def campaign_metrics(engine: Engine, wanted: MetricFilter, *, campaign_ids: set[str] | None) -> list[MetricRow]:
    rows = _rows(engine, CAMPAIGN, wanted, campaign_ids, None)
    loads = _assignments(engine, wanted, campaign_ids)
    for row in rows:
        shares = [n for n in loads.get((row.campaign_id, row.bucket), {}).values() if n]
        row.values["load_fairness"] = jain_index(shares)
    return rows


def _assignments(engine: Engine, wanted: MetricFilter, scope: set[str] | None
                 ) -> dict[tuple[str, str], dict[str, float]]:
    """Every agent's assignments per (campaign, bucket), whatever agent the filter names: the loads that shares and
    fairness are of, summed straight from the counters (a month is thousands of agent-day rows)."""
    everyone = MetricFilter(**{**wanted.__dict__, "agent_id": ""})
    everyone.check()
    loads: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    with engine.connect() as connection:
        campaigns = _campaigns(connection, everyone, scope)
        for zone, members in _by_zone(campaigns, everyone).items():
            for (agent_id, campaign_id), bucket, counters in _counters(connection, AGENT, everyone, zone, members,
                                                                       None):
                loads[campaign_id, bucket][agent_id] += counters["assignments"]
    return loads


def _occupancy(engine: Engine, wanted: MetricFilter, scope: set[str] | None, only_agent: str | None,
               now: datetime) -> dict[tuple[str, str, str], float | None]:
    timelines = attendance_timelines(
        engine, AttendanceFilter(wanted.date_from, wanted.date_to, wanted.campaign_id, wanted.agent_id),
        campaign_ids=scope, only_agent=only_agent, now=now)
    found = {}
    for who in timelines:
        for bucket, window in bucket_windows(wanted, wanted.time_zone or who.zone.key):
            found[who.agent_id, who.campaign_id, bucket] = occupancy(who.timeline, window)
    return found


def bucket_windows(wanted: MetricFilter, zone: str) -> list[tuple[str, Span]]:
    """Each bucket of the range as its span of absolute time."""
    if wanted.granularity == "hour":
        start, end = _window(wanted, zone)
        hours = [start + timedelta(hours=n) for n in range(int((end - start) / timedelta(hours=1)))]
        return [(bucket_of(hour, "hour", zone), Span(hour, hour + timedelta(hours=1))) for hour in hours]
    windows: dict[str, Span] = {}
    for day, span in local_days(wanted.date_from, wanted.date_to, ZoneInfo(zone)):
        bucket = bucket_of(day, wanted.granularity, zone)
        windows[bucket] = Span(windows[bucket].start, span.end) if bucket in windows else span
    return list(windows.items())


def bot_metrics(engine: Engine, wanted: MetricFilter, *, campaign_ids: set[str] | None) -> list[MetricRow]:
    return _rows(engine, BOT, wanted, campaign_ids, None)


def _rows(engine: Engine, level: str, wanted: MetricFilter, scope: set[str] | None,
          only_agent: str | None) -> list[MetricRow]:
    wanted.check()
    with engine.connect() as connection:
        campaigns = _campaigns(connection, wanted, scope)
        found: dict[tuple[tuple[str, ...], str, str], list[dict[str, Any]]] = defaultdict(list)
        for zone, members in _by_zone(campaigns, wanted).items():
            for dimensions, bucket, counters in _counters(connection, level, wanted, zone, members, only_agent):
                found[dimensions, bucket, zone].append(counters)
        breakdowns = _dispositions(connection, wanted, campaigns) if level == AGENT else {}
    rows = []
    for (dimensions, bucket, zone), parts in found.items():
        keys = dict(zip(DIMENSIONS[level], dimensions, strict=True))
        campaign = campaigns[keys["campaign_id"]]
        counters = combine(parts, level)
        if not any(counters.values()):  # what a fact contributed before it moved to another campaign or flow
            continue
        rows.append(MetricRow(level, bucket, zone, campaign.id, campaign.name, keys.get("agent_id", ""), "",
                              keys.get("flow_name", ""), counters, values(level, counters),
                              breakdowns.get((keys.get("agent_id", ""), campaign.id, bucket), {})))
    return sorted(rows, key=lambda r: (r.bucket, r.campaign_name, r.campaign_id, r.agent_id, r.flow_name))


def _campaigns(connection: Connection, wanted: MetricFilter, scope: set[str] | None) -> dict[str, _Campaign]:
    table, cut = CAMPAIGNS.campaigns, METRICS.campaigns
    query = select(table.c.id, table.c.name, table.c.time_zone, table.c.dispositions, cut.c.time_zone.label("day_zone"),
                   table.c.archived, table.c.metric_targets).outerjoin(cut, cut.c.campaign_id == table.c.id)
    if wanted.campaign_id:
        query = query.where(table.c.id == wanted.campaign_id)
    if scope is not None:
        query = query.where(table.c.id.in_(scope))
    found = {r.id: _Campaign(r.id, r.name, r.time_zone, _labels(r.dispositions), r.day_zone or r.time_zone,
                             r.archived, dict(r.metric_targets)) for r in connection.execute(query)}
    if scope is None and not wanted.campaign_id:
        found[UNDETERMINED] = _Campaign(UNDETERMINED, "Sin campaña", UNDETERMINED_ZONE, {}, UNDETERMINED_ZONE)
    return found


def _labels(dispositions: Iterable[Any]) -> dict[str, str]:
    return {(d := stored_disposition(value)).code: d.label for value in dispositions}


def _by_zone(campaigns: dict[str, _Campaign], wanted: MetricFilter) -> dict[str, list[_Campaign]]:
    zones: dict[str, list[_Campaign]] = defaultdict(list)
    for campaign in campaigns.values():
        zones[wanted.time_zone or campaign.zone].append(campaign)
    return zones


def _window(wanted: MetricFilter, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return (datetime.combine(wanted.date_from, time(0), tz).astimezone(UTC),
            datetime.combine(wanted.date_to + timedelta(days=1), time(0), tz).astimezone(UTC))


def bucket_of(instant: datetime | date, granularity: str, zone: str) -> str:
    """The start of the bucket holding an instant (a UTC datetime) or a local day."""
    if isinstance(instant, datetime):
        local = instant.astimezone(ZoneInfo(zone))
        if granularity == "hour":
            return local.strftime("%Y-%m-%dT%H:00")
        instant = local.date()
    if granularity == "week":
        instant -= timedelta(days=instant.weekday())
    elif granularity == "month":
        instant = instant.replace(day=1)
    return instant.isoformat()


def _counters(connection: Connection, level: str, wanted: MetricFilter, zone: str, campaigns: list[_Campaign],
              only_agent: str | None) -> Iterable[tuple[tuple[str, ...], str, dict[str, Any]]]:
    own_zone = all(c.day_zone == zone for c in campaigns)
    by_day = wanted.granularity != "hour" and own_zone
    table = METRICS.counters[level, "day" if by_day else "hour"]
    query = select(table).where(table.c.campaign_id.in_([c.id for c in campaigns]))
    if by_day:
        query = query.where(table.c.day >= wanted.date_from, table.c.day <= wanted.date_to)
    else:
        start, end = _window(wanted, zone)
        query = query.where(table.c.hour >= start, table.c.hour < end)
    for agent in filter(None, (wanted.agent_id if level == AGENT else "", only_agent if level == AGENT else "")):
        query = query.where(table.c.agent_id == agent)
    if level == BOT and wanted.flow_name:
        query = query.where(table.c.flow_name == wanted.flow_name)
    for row in connection.execute(query).mappings():
        dimensions = tuple(row[name] for name in DIMENSIONS[level])
        instant = row["day"] if by_day else row["hour"]
        yield dimensions, bucket_of(instant, wanted.granularity, zone), {k: row[k] for k in COUNTER_KEYS[level]}


def _dispositions(connection: Connection, wanted: MetricFilter, campaigns: dict[str, _Campaign]
                  ) -> dict[tuple[str, str, str], dict[str, int]]:
    """Each agent's closes per disposition label and bucket, dated by the close: counted by the database, each
    close put in its bucket by the buckets' bounds (a month's closes are hundreds of thousands of rows)."""
    table = METRICS.chats
    found: dict[tuple[str, str, str], dict[str, int]] = {}
    for zone, members in _by_zone(campaigns, wanted).items():
        windows = bucket_windows(wanted, zone)
        bucket = case(*((table.c.closed_at < span.end, label) for label, span in windows), else_=None)
        query = select(table.c.closed_by_agent, table.c.campaign_id, table.c.disposition, bucket, func.count()).where(
            table.c.closed_at >= windows[0][1].start, table.c.closed_at < windows[-1][1].end,
            table.c.campaign_id.in_([c.id for c in members]), table.c.closed_by_agent.is_not(None),
        ).group_by(table.c.closed_by_agent, table.c.campaign_id, table.c.disposition, bucket)
        for agent_id, campaign_id, code, label_of_bucket, closes in connection.execute(query):
            label = campaigns[campaign_id].dispositions.get(code) or stored_disposition(code).label
            counts = found.setdefault((agent_id, campaign_id, label_of_bucket), {})
            counts[label] = counts.get(label, 0) + closes
    return found


def _agent_names(connection: Connection, agent_ids: set[str]) -> dict[str, str]:
    table = AGENTS.agents
    if not agent_ids:
        return {}
    return dict(connection.execute(select(table.c.id, table.c.name).where(table.c.id.in_(agent_ids))).all())


def bot_funnel(engine: Engine, wanted: MetricFilter, *, campaign_ids: set[str] | None) -> list[dict[str, Any]]:
    """Chats that reached each state of each flow, the chats dated by their start."""
    wanted.check()
    chats, states = METRICS.chats, METRICS.bot_states
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    with engine.connect() as connection:
        campaigns = _campaigns(connection, wanted, campaign_ids)
        for zone, members in _by_zone(campaigns, wanted).items():
            start, end = _window(wanted, zone)
            query = select(chats.c.campaign_id, states.c.flow_name, states.c.state, func.count()).join(
                states, states.c.chat_id == chats.c.chat_id).where(
                chats.c.campaign_id.in_([c.id for c in members]), chats.c.opened_at >= start, chats.c.opened_at < end
            ).group_by(chats.c.campaign_id, states.c.flow_name, states.c.state)
            if wanted.flow_name:
                query = query.where(states.c.flow_name == wanted.flow_name)
            for campaign_id, flow, state, reached in connection.execute(query):
                counts[campaign_id, flow, state] += reached
    return [{"campaign_id": c, "campaign_name": campaigns[c].name, "flow_name": f, "state": s, "chats": n}
            for (c, f, s), n in sorted(counts.items(), key=lambda item: (campaigns[item[0][0]].name, item[0][1],
                                                                         -item[1], item[0][2]))]


def campaign_volume(engine: Engine, wanted: MetricFilter, *, campaign_ids: set[str] | None) -> list[dict[str, Any]]:
    """Chats started per campaign, local weekday (0 = Monday) and local hour, from the hourly counters."""
    wanted.check()
    table = METRICS.counters[CAMPAIGN, "hour"]
    counts: dict[tuple[str, int, int], int] = defaultdict(int)
    with engine.connect() as connection:
        campaigns = _campaigns(connection, wanted, campaign_ids)
        for zone, members in _by_zone(campaigns, wanted).items():
            start, end = _window(wanted, zone)
            query = select(table.c.campaign_id, table.c.hour, table.c.chats).where(
                table.c.campaign_id.in_([c.id for c in members]), table.c.hour >= start, table.c.hour < end,
                table.c.chats > 0)
            for campaign_id, hour, chats in connection.execute(query):
                local = hour.astimezone(ZoneInfo(zone))
                counts[campaign_id, local.weekday(), local.hour] += int(chats)
    return [{"campaign_id": c, "campaign_name": campaigns[c].name, "weekday": day, "hour": hour, "chats": n}
            for (c, day, hour), n in sorted(counts.items(), key=lambda item: (campaigns[item[0][0]].name, item[0]))]


def delivery_by_sender(engine: Engine, wanted: MetricFilter, *, campaign_ids: set[str] | None
                       ) -> list[dict[str, Any]]:
    """The delivery failure rate per campaign and sender, dated by each message's request."""
    wanted.check()
    table = METRICS.outbound
    counts: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: {"outbound": 0, "outbound_failed": 0})
    with engine.connect() as connection:
        campaigns = _campaigns(connection, wanted, campaign_ids)
        for zone, members in _by_zone(campaigns, wanted).items():
            start, end = _window(wanted, zone)
            failed = func.sum(case((table.c.failed, 1), else_=0))
            query = select(table.c.campaign_id, table.c.sender, func.count(), failed).where(
                table.c.campaign_id.in_([c.id for c in members]), table.c.requested_at >= start,
                table.c.requested_at < end).group_by(table.c.campaign_id, table.c.sender)
            for campaign_id, sender, requested, went_wrong in connection.execute(query):
                found = counts[campaign_id, sender]
                found["outbound"] += requested
                found["outbound_failed"] += int(went_wrong or 0)
    rate = BY_KEY["delivery_failure_rate"].value
    return [{"campaign_id": c, "campaign_name": campaigns[c].name, "sender": s, "outbound": int(n["outbound"]),
             "failed": int(n["outbound_failed"]), "failure_rate": rate(n)}
            for (c, s), n in sorted(counts.items(), key=lambda item: (campaigns[item[0][0]].name, item[0][1]))]


@dataclass(frozen=True)
class _Today:
    campaigns: list[_Campaign]
    """The active campaigns in scope, by name."""
    days: dict[str, str]
    """Each campaign's own local today (its bucket)."""
    wanted: MetricFilter
    """The days that cover every campaign's today."""


def _today(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> _Today | None:
    with engine.connect() as connection:
        scope = _campaigns(connection, MetricFilter(now.date(), now.date()), campaign_ids)
    campaigns = sorted((c for c in scope.values() if c.id != UNDETERMINED and not c.archived),
                       key=lambda c: (c.name, c.id))
    if not campaigns:
        return None
    days = {c.id: now.astimezone(ZoneInfo(c.zone)).date().isoformat() for c in campaigns}
    return _Today(campaigns, days, MetricFilter(date.fromisoformat(min(days.values())),
                                                date.fromisoformat(max(days.values()))))


def campaign_rows_today(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> dict[str, MetricRow]:
    """Each active campaign's row of its own local today: the row /api/metrics/campaigns answers for that day."""
    today = _today(engine, campaign_ids, now)
    if today is None:
        return {}
    return {r.campaign_id: r for r in _rows(engine, CAMPAIGN, today.wanted, set(today.days), None)
            if r.bucket == today.days[r.campaign_id]}


def volume_today(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[int]:
    """Chats started in each local hour 0–23 of each active campaign's own today, summed over them: the rows of
    /api/metrics/campaigns/volume for that day (the days covered are at most two, so the weekday picks today)."""
    hours = [0] * 24
    today = _today(engine, campaign_ids, now)
    if today is None:
        return hours
    weekdays = {c: date.fromisoformat(day).weekday() for c, day in today.days.items()}
    for row in campaign_volume(engine, today.wanted, campaign_ids=set(today.days)):
        if row["weekday"] == weekdays[row["campaign_id"]]:
            hours[row["hour"]] += row["chats"]
    return hours


def chats_closed_ever(engine: Engine, campaign_ids: set[str] | None) -> int:
    """Every chat closed in the campaigns in scope, ever (chats_closed over all days)."""
    table = METRICS.counters[CAMPAIGN, "day"]
    closed = BY_KEY["chats_closed"]
    query = select(*(func.coalesce(func.sum(table.c[name]), 0) for name in counters_in(closed.formula_code)))
    if campaign_ids is not None:
        query = query.where(table.c.campaign_id.in_(campaign_ids))
    with engine.connect() as connection:
        sums = connection.execute(query).one()
    return int(closed.value(dict(zip(counters_in(closed.formula_code), sums, strict=True))) or 0)


KPI_METRICS = (("first_response_time", "seconds"), ("average_speed_of_answer", "seconds"),
               ("service_level", "share"), ("abandonment_rate", "share"), ("campaign_csat", "share"))
"""Today's registry figures on the dashboards' cards, per campaign and against its targets: each the same number as
the campaign's row in the table."""


def metric_kpis(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[Kpi]:
    """Today's chats and closes over the campaigns in scope, then each campaign's figures of its own local today
    against its targets, from the same rows and formulas as the tables; a figure without data (nothing to divide
    by) gets no card."""
    today = _today(engine, campaign_ids, now)
    if today is None:
        return []
    rows = {level: [r for r in query(engine, today.wanted, campaign_ids=set(today.days))
                    if r.bucket == today.days[r.campaign_id]]
            for level, query in ((CAMPAIGN, campaign_metrics), (AGENT, agent_metrics))}
    kpis = [Kpi(title, int(sum(r.values[key] or 0 for r in rows[CAMPAIGN])), "count", None, "")
            for title, key in (("Chats de hoy", "chats_total"), ("Cierres de hoy", "chats_closed"))]
    for campaign in today.campaigns:
        for key, unit in KPI_METRICS:
            metric = BY_KEY[key]
            parts = [r.counters for r in rows[metric.level] if r.campaign_id == campaign.id]
            figure = metric.value(combine(parts, metric.level)) if parts else None
            if figure is None:
                continue
            target = target_of(campaign.targets, key)
            kpis.append(Kpi(metric.name_es, figure, unit, target, "", campaign.name,
                            met(key, figure, target) if target is not None else None,
                            target_of(campaign.targets, THRESHOLD) if key == "service_level" else None))
    return kpis

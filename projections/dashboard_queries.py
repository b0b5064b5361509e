"""What the dashboards show now and today, read from the campaigns, agents, chats and messages tables.

Every figure is scoped by the viewer's campaigns here, in the query layer: `campaign_ids=None` means every
campaign (admins and auditors), a set only those campaigns (a supervisor's), so a supervisor of one campaign
never sees a number of another. "Today" is the campaign's own local day (its time zone): a chat counts on the
day it was opened, a close on the day it was closed, an outbound message on the day it was requested. Chats
still in the bot with no campaign decided yet belong to no campaign and are not counted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Engine, and_, case, func, or_, select

from domain.agents import presence
from domain.attendance import Span, local_days
from domain.messages import FAILED_STATUSES
from projections.desk_queries import MESSAGES
from projections.queries import AGENTS, CAMPAIGNS, CHATS

PRESENCES = ("available", "break", "offline")


@dataclass(frozen=True)
class CampaignToday:
    """Where a campaign stands now, and what it did since its local midnight."""

    id: str
    name: str
    time_zone: str
    waiting: int = 0
    oldest_queued_at: datetime | None = None
    assigned: int = 0
    agents: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PRESENCES, 0))
    chats_today: int = 0
    closes_today: dict[str, int] = field(default_factory=dict)

    def longest_wait_seconds(self, now: datetime) -> int | None:
        """How long the oldest waiting chat has waited; None with an empty queue."""
        if self.oldest_queued_at is None:
            return None
        return max(int((now - self.oldest_queued_at).total_seconds()), 0)

    @property
    def closes_total(self) -> int:
        return sum(self.closes_today.values())


@dataclass(frozen=True)
class DeliveryToday:
    """Today's outbound messages of a campaign: how many were requested and how many failed or went undelivered."""

    campaign_id: str
    requested: int
    failed: int

    @property
    def failed_share(self) -> float | None:
        return self.failed / self.requested if self.requested else None


@dataclass(frozen=True)
class Kpi:
    """One KPI card: a Spanish msgid title, a value in `unit` ("count", "seconds" or "share"), the target it is
    read against (same unit; None without one), the page listing what is behind it, and the campaign it is of
    ("" for every campaign in scope)."""

    title: str
    value: float
    unit: str
    target: float | None
    url: str
    campaign: str = ""


KpiSource = Callable[[Engine, set[str] | None, datetime], list[Kpi]]
"""Computes KPIs for the campaigns in scope (None: all) at an instant; the dashboards list their sources."""


def read_table_kpis(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[Kpi]:
    """Today's figures the live read tables answer, over the campaigns in scope."""
    boards = campaigns_today(engine, campaign_ids, now)
    waits = [w for b in boards if (w := b.longest_wait_seconds(now)) is not None]
    kpis = [Kpi("Chats en cola", sum(b.waiting for b in boards), "count", None, "/supervisor/queue"),
            Kpi("Chats de hoy", sum(b.chats_today for b in boards), "count", None, ""),
            Kpi("Cierres de hoy", sum(b.closes_total for b in boards), "count", None, "")]
    if waits:
        kpis.insert(1, Kpi("Espera más larga", max(waits), "seconds", None, "/supervisor/queue"))
    return kpis


def campaigns_today(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[CampaignToday]:
    """Every active campaign in scope, by name, with its queue, assigned chats, agents now and today's volume."""
    with engine.connect() as connection:
        campaigns = _campaigns(connection, campaign_ids)
        if not campaigns:
            return []
        today = _today_windows(campaigns, now)
        queues = _queues(connection, set(campaigns))
        agents = _agents_now(connection, set(campaigns))
        opened = _count_in_windows(connection, CHATS.chats.c.opened_at, today)
        closes = _closes(connection, today)
    return [CampaignToday(id=c["id"], name=c["name"], time_zone=c["time_zone"],
                          waiting=queues.get((c["id"], "waiting_queue"), (0, None))[0],
                          oldest_queued_at=queues.get((c["id"], "waiting_queue"), (0, None))[1],
                          assigned=queues.get((c["id"], "assigned"), (0, None))[0],
                          agents={p: agents[c["id"]][p] for p in PRESENCES},
                          chats_today=opened.get(c["id"], 0), closes_today=dict(closes.get(c["id"], {})))
            for c in campaigns.values()]


def volume_by_hour(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[int]:
    """Chats opened today in each local hour 0–23 (each campaign's own clock), over the campaigns in scope."""
    chats = CHATS.chats
    hours = [0] * 24
    with engine.connect() as connection:
        campaigns = _campaigns(connection, campaign_ids)
        if not campaigns:
            return hours
        today = _today_windows(campaigns, now)
        rows = connection.execute(select(chats.c.campaign_id, chats.c.opened_at)
                                  .where(_in_windows(chats.c.opened_at, today))).all()
    for campaign_id, opened_at in rows:
        hours[opened_at.astimezone(ZoneInfo(campaigns[campaign_id]["time_zone"])).hour] += 1
    return hours


def delivery_today(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[DeliveryToday]:
    """Outbound messages requested today per campaign in scope (by name), and how many failed or went
    undelivered (failed, undelivered or canceled as Twilio last reported them)."""
    messages = MESSAGES.messages
    with engine.connect() as connection:
        campaigns = _campaigns(connection, campaign_ids)
        if not campaigns:
            return []
        today = _today_windows(campaigns, now, column=messages.c.campaign_id)
        failed = func.sum(case((messages.c.status.in_(sorted(FAILED_STATUSES)), 1), else_=0))
        rows = {r.campaign_id: r for r in connection.execute(
            select(messages.c.campaign_id, func.count().label("requested"), failed.label("failed"))
            .where(_in_windows(messages.c.requested_at, today)).group_by(messages.c.campaign_id))}
    return [DeliveryToday(campaign_id, rows[campaign_id].requested if campaign_id in rows else 0,
                          int(rows[campaign_id].failed or 0) if campaign_id in rows else 0)
            for campaign_id in campaigns]


def closed_chats(engine: Engine, campaign_ids: set[str] | None) -> int:
    """Every closed chat of the campaigns in scope, ever."""
    chats = CHATS.chats
    query = select(func.count()).select_from(chats).where(chats.c.status == "closed")
    if campaign_ids is not None:
        query = query.where(chats.c.campaign_id.in_(campaign_ids))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


# ---- building blocks ----

_Windows = dict[str, tuple[Span, ColumnElement[Any]]]


def _campaigns(connection: Connection, campaign_ids: set[str] | None) -> dict[str, dict[str, Any]]:
    table = CAMPAIGNS.campaigns
    query = select(table.c.id, table.c.name, table.c.time_zone).where(table.c.archived.is_(False))
    if campaign_ids is not None:
        query = query.where(table.c.id.in_(campaign_ids))
    return {r.id: dict(r._mapping) for r in connection.execute(query.order_by(table.c.name, table.c.id))}


def _today_windows(campaigns: dict[str, dict[str, Any]], now: datetime,
                   column: ColumnElement[Any] | None = None) -> _Windows:
    """Each campaign's local day containing `now`, with the condition selecting its rows."""
    owner = CHATS.chats.c.campaign_id if column is None else column
    windows: _Windows = {}
    for campaign_id, campaign in campaigns.items():
        zone = ZoneInfo(campaign["time_zone"])
        [(_, span)] = local_days(now.astimezone(zone).date(), now.astimezone(zone).date(), zone)
        windows[campaign_id] = (span, owner == campaign_id)
    return windows


def _in_windows(column: ColumnElement[Any], windows: _Windows) -> ColumnElement[bool]:
    """Rows of each campaign inside its own day; the range over all those days first, so an index on the
    column reads only today's rows."""
    spans = [span for span, _ in windows.values()]
    return and_(column >= min(s.start for s in spans), column < max(s.end for s in spans),
                or_(*(and_(owned, column >= span.start, column < span.end) for span, owned in windows.values())))


def _queues(connection: Connection, campaign_ids: set[str]) -> dict[tuple[str, str], tuple[int, datetime | None]]:
    """(campaign, status) → (chats, oldest queued_at) for the chats waiting or assigned now."""
    chats = CHATS.chats
    query = (select(chats.c.campaign_id, chats.c.status, func.count(), func.min(chats.c.queued_at))
             .where(chats.c.status.in_(("waiting_queue", "assigned")), chats.c.campaign_id.in_(campaign_ids))
             .group_by(chats.c.campaign_id, chats.c.status))
    return {(campaign_id, status): (count, oldest) for campaign_id, status, count, oldest in connection.execute(query)}


def _agents_now(connection: Connection, campaign_ids: set[str]) -> dict[str, Counter[str]]:
    """Active agents of each campaign by presence (available needs an open session, as routing sees it)."""
    agents, members = AGENTS.agents, AGENTS.memberships
    query = (select(members.c.campaign_id, agents.c.status, agents.c.open_sessions)
             .join(agents, agents.c.id == members.c.agent_id)
             .where(members.c.campaign_id.in_(campaign_ids), agents.c.role == "agent", agents.c.active.is_(True)))
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for campaign_id, status, open_sessions in connection.execute(query):
        found[campaign_id][presence(status, open_sessions > 0)] += 1
    return found


def _count_in_windows(connection: Connection, column: ColumnElement[Any], windows: _Windows) -> dict[str, int]:
    chats = CHATS.chats
    query = select(chats.c.campaign_id, func.count()).where(_in_windows(column, windows)).group_by(chats.c.campaign_id)
    return {campaign_id: count for campaign_id, count in connection.execute(query)}


def _closes(connection: Connection, windows: _Windows) -> dict[str, dict[str, int]]:
    chats = CHATS.chats
    query = (select(chats.c.campaign_id, chats.c.close_reason, func.count())
             .where(chats.c.status == "closed", _in_windows(chats.c.closed_at, windows))
             .group_by(chats.c.campaign_id, chats.c.close_reason).order_by(chats.c.close_reason))
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for campaign_id, reason, count in connection.execute(query):
        found[campaign_id][reason or ""] = count
    return found

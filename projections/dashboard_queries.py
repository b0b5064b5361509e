"""What the dashboards show now and today: the live figures (queue, assigned chats, agents now) from the campaigns,
agents and chats tables; today's figures from the metric queries, so a card, its table, its export and the API
answer the same number (R20).

Every figure is scoped by the viewer's campaigns here, in the query layer: `campaign_ids=None` means every
campaign (admins and auditors), a set only those campaigns (a supervisor's), so a supervisor of one campaign
never sees a number of another. "Today" is the campaign's own local day (its time zone), each figure dated as the
registry says (a chat by its start, a close by the close, a message by its request). Chats still in the bot with
no campaign decided yet belong to no campaign and are not counted; nor are archived campaigns.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from domain.agents import presence
from domain.chats import CLOSE_REASONS
from domain.metrics.registry import BY_KEY
from projections import metric_queries
from projections.kpis import Kpi
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
        return BY_KEY["delivery_failure_rate"].value({"outbound": self.requested, "outbound_failed": self.failed})


def read_table_kpis(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[Kpi]:
    """The queue now, from the live read tables, over the campaigns in scope (today's figures are metrics:
    metric_queries.metric_kpis)."""
    boards = campaigns_now(engine, campaign_ids)
    waits = [w for b in boards if (w := b.longest_wait_seconds(now)) is not None]
    kpis = [Kpi("Chats en cola", sum(b.waiting for b in boards), "count", None, "/supervisor/queue")]
    if waits:
        kpis.append(Kpi("Espera más larga", max(waits), "seconds", None, "/supervisor/queue"))
    return kpis


def campaigns_today(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[CampaignToday]:
    """Every active campaign in scope, by name, with its queue, assigned chats and agents now, and its local
    today's chats and closes by reason: the registry's counters, the same row /api/metrics/campaigns answers."""
    boards = campaigns_now(engine, campaign_ids)
    today = metric_queries.campaign_rows_today(engine, {b.id for b in boards}, now)
    return [replace(b, chats_today=int(row.counters["chats"]), closes_today={
        reason: int(row.counters[f"closed_{reason}"]) for reason in CLOSE_REASONS if row.counters[f"closed_{reason}"]})
        if (row := today.get(b.id)) is not None else b for b in boards]


def campaigns_now(engine: Engine, campaign_ids: set[str] | None) -> list[CampaignToday]:
    """Every active campaign in scope, by name, with its queue, assigned chats and agents now."""
    with engine.connect() as connection:
        campaigns = _campaigns(connection, campaign_ids)
        if not campaigns:
            return []
        queues = _queues(connection, set(campaigns))
        agents = _agents_now(connection, set(campaigns))
    return [CampaignToday(id=c["id"], name=c["name"], time_zone=c["time_zone"],
                          waiting=queues.get((c["id"], "waiting_queue"), (0, None))[0],
                          oldest_queued_at=queues.get((c["id"], "waiting_queue"), (0, None))[1],
                          assigned=queues.get((c["id"], "assigned"), (0, None))[0],
                          agents={p: agents[c["id"]][p] for p in PRESENCES})
            for c in campaigns.values()]


def volume_by_hour(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[int]:
    """Chats started today in each local hour 0–23 (each campaign's own clock), over the active campaigns in scope:
    the registry's counters, as /api/metrics/campaigns/volume answers them."""
    active = {b.id for b in campaigns_now(engine, campaign_ids)}
    return metric_queries.volume_today(engine, active, now) if active else [0] * 24


def delivery_today(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[DeliveryToday]:
    """Outbound messages requested today per active campaign in scope (by name), and how many never reached the
    customer: the registry's delivery counters of the campaign's local today."""
    boards = campaigns_now(engine, campaign_ids)
    today = metric_queries.campaign_rows_today(engine, {b.id for b in boards}, now)
    return [DeliveryToday(b.id, int(row.counters["outbound"]) if row else 0,
                          int(row.counters["outbound_failed"]) if row else 0)
            for b in boards for row in [today.get(b.id)]]


def closed_chats(engine: Engine, campaign_ids: set[str] | None) -> int:
    """Every closed chat of the campaigns in scope, ever: the registry's chats_closed."""
    return metric_queries.chats_closed_ever(engine, campaign_ids)


# ---- building blocks ----

def _campaigns(connection: Connection, campaign_ids: set[str] | None) -> dict[str, dict[str, Any]]:
    table = CAMPAIGNS.campaigns
    query = select(table.c.id, table.c.name, table.c.time_zone).where(table.c.archived.is_(False))
    if campaign_ids is not None:
        query = query.where(table.c.id.in_(campaign_ids))
    return {r.id: dict(r._mapping) for r in connection.execute(query.order_by(table.c.name, table.c.id))}


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



"""Read-side queries of block and spam risk: traffic over sliding windows, senders in scope, levels.

A window of length w ending at `now` holds the minute buckets that start after `now - w` (the current,
partial minute included). Campaign scoping is applied here: `campaign_ids=None` means every sender, a set
means the senders linked to those campaigns only.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Integer, and_, case, func, literal, select, union_all

from application.risk import SenderFacts, TrafficScope
from domain.risk_thresholds import Traffic
from projections import risk_windows
from projections.risk import RiskProjector
from projections.risk_windows import HistoryPoint, Sums, points_ending
from projections.sql import UtcDateTime

RISK = RiskProjector()
MINUTE, HOUR, DAY, WEEK = (timedelta(minutes=1), timedelta(hours=1), timedelta(days=1), timedelta(days=7))
# The ranges a sender's page charts: (how far back, one point every…).
HISTORY_SPANS = {"24h": (DAY, HOUR), "7d": (WEEK, 6 * HOUR)}


def _scoped(table: Any, scope: TrafficScope) -> list[Any]:
    conditions = []
    if scope.senders is not None:
        conditions.append(table.c.sender.in_(list(scope.senders)))
    if scope.campaign_id is not None:
        conditions.append(table.c.campaign_id == scope.campaign_id)
    return conditions


class SqlRiskDirectory:
    """What the risk monitor reads, from the risk projector's tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def senders(self) -> list[SenderFacts]:
        return senders(self.engine)

    def traffic(self, now: datetime, scope: TrafficScope) -> Traffic:
        return traffic(self.engine, now, scope)

    def campaign_thresholds(self, campaign_ids: Collection[str]) -> list[dict[str, list[float]]]:
        return campaign_thresholds(self.engine, campaign_ids)

    def reach(self, now: datetime, senders: Collection[str]) -> int:
        return reach(self.engine, now, senders)


def reach(engine: Engine, now: datetime, senders: Collection[str]) -> int:
    """Unique customers these senders together reached on the business's initiative in the last 24 hours."""
    t = RISK.contacts
    with engine.connect() as connection:
        return int(connection.execute(select(func.count(func.distinct(t.c.customer))).where(
            t.c.minute > now - DAY, t.c.business_initiated > 0, t.c.sender.in_(list(senders)))).scalar() or 0)


def traffic(engine: Engine, now: datetime, scope: TrafficScope) -> Traffic:
    with engine.connect() as connection:
        minutes = _minute_sums(connection, now, scope)
        contacts = _contact_figures(connection, now, scope)
        errors = _errors(connection, now, scope)
    return Traffic(last_minute=minutes["last_minute"], last_hour=minutes["last_hour"], last_24h=minutes["messages"],
                   opt_outs_24h=minutes["opt_outs"], failed_24h=minutes["failed"],
                   templates_24h=minutes["templates"], templates_failed_24h=minutes["templates_failed"],
                   errors_24h=errors, **contacts)


def _minute_sums(connection: Connection, now: datetime, scope: TrafficScope) -> dict[str, Any]:
    t = RISK.minutes
    columns = ("messages", "templates", "templates_failed", "failed", "opt_outs")
    sums = [func.coalesce(func.sum(t.c[name]), 0).label(name) for name in columns]
    recent = [func.coalesce(func.sum(case((t.c.minute > since, t.c.messages), else_=0)), 0).label(label)
              for label, since in (("last_minute", now - MINUTE), ("last_hour", now - HOUR))]
    row = connection.execute(select(*sums, *recent).where(t.c.minute > now - DAY, *_scoped(t, scope))).mappings().one()
    return {key: int(value) for key, value in row.items()}


def _contact_figures(connection: Connection, now: datetime, scope: TrafficScope) -> dict[str, int]:
    t = RISK.contacts
    day = t.c.minute > now - DAY
    per_customer = (select(
        t.c.customer,
        func.sum(case((day, t.c.messages), else_=0)).label("messages"),
        func.sum(case((day, t.c.business_initiated), else_=0)).label("business_24h"),
        func.sum(t.c.business_initiated).label("business_7d"),
        func.min(case((and_(day, t.c.business_initiated > 0), t.c.minute))).label("first_business"),
        func.max(case((and_(day, t.c.replies > 0), t.c.minute))).label("last_reply"),
    ).where(t.c.minute > now - WEEK, *_scoped(t, scope)).group_by(t.c.customer).subquery())
    c = per_customer.c
    row = connection.execute(select(
        func.coalesce(func.sum(case((c.messages > 0, 1), else_=0)), 0).label("customers_24h"),
        func.coalesce(func.sum(case((c.business_24h > 0, 1), else_=0)), 0).label("business_customers_24h"),
        func.coalesce(func.sum(case((c.last_reply >= c.first_business, 1), else_=0)), 0)
        .label("business_customers_answered_24h"),
        func.coalesce(func.max(c.business_24h), 0).label("most_business_to_one_customer_24h"),
        func.coalesce(func.max(c.business_7d), 0).label("most_business_to_one_customer_7d"),
    )).mappings().one()
    return {key: int(value) for key, value in row.items()}


def _errors(connection: Connection, now: datetime, scope: TrafficScope) -> dict[str, int]:
    t = RISK.errors
    rows = connection.execute(select(t.c.error_code, func.sum(t.c.failures))
                              .where(t.c.minute > now - DAY, *_scoped(t, scope)).group_by(t.c.error_code))
    return {str(code): int(count) for code, count in rows}


def senders(engine: Engine, campaign_ids: Collection[str] | None = None) -> list[SenderFacts]:
    """Every sender linked to a campaign in scope; with no scope also those that sent without being linked."""
    links, buckets = RISK.campaign_senders, RISK.minutes
    query = select(links.c.sender, links.c.channel, links.c.campaign_id)
    if campaign_ids is not None:
        query = query.where(links.c.campaign_id.in_(list(campaign_ids)))
    found: dict[str, SenderFacts] = {}
    with engine.connect() as connection:
        for sender, channel, campaign_id in connection.execute(query.order_by(links.c.sender, links.c.campaign_id)):
            earlier = found[sender].campaign_ids if sender in found else ()
            found[sender] = SenderFacts(sender, channel, (*earlier, campaign_id))
        if campaign_ids is None:
            for (sender,) in connection.execute(select(buckets.c.sender).where(buckets.c.messages > 0).distinct()):
                found.setdefault(sender, SenderFacts(sender, channel_of(sender), ()))
    return sorted(found.values(), key=lambda facts: facts.sender)


def channel_of(sender: str) -> str:
    if sender.startswith("whatsapp:"):
        return "whatsapp"
    return "messaging_service" if sender.startswith("MG") else "sms"


def campaign_thresholds(engine: Engine, campaign_ids: Collection[str]) -> list[dict[str, list[float]]]:
    t = RISK.campaigns
    with engine.connect() as connection:
        return [dict(row) for (row,) in connection.execute(
            select(t.c.thresholds).where(t.c.campaign_id.in_(list(campaign_ids))).order_by(t.c.campaign_id))]


def current_level(engine: Engine, sender: str) -> str:
    """The sender's risk level now (`ok` until anything moved it): what a throttle or a bulk send asks."""
    t = RISK.levels
    with engine.connect() as connection:
        level = connection.execute(select(t.c.level).where(t.c.sender == sender)).scalar()
    return str(level or "ok")


def levels(engine: Engine) -> dict[str, dict[str, Any]]:
    t = RISK.levels
    with engine.connect() as connection:
        return {row["sender"]: dict(row) for row in connection.execute(select(t)).mappings()}


def level_changes(engine: Engine, sender: str, limit: int = 100) -> list[dict[str, Any]]:
    t = RISK.level_changes
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            select(t).where(t.c.sender == sender).order_by(t.c.version.desc()).limit(limit)).mappings()]


def hourly(engine: Engine, sender: str, now: datetime, hours: int = 24) -> list[dict[str, Any]]:
    """The sender's counts per hour over the last `hours`, oldest first (the page's signals over time)."""
    t = RISK.minutes
    columns = ("messages", "business_initiated", "replies", "opt_outs", "failed")
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    with engine.connect() as connection:
        rows = connection.execute(select(t.c.minute, *(t.c[name] for name in columns))
                                  .where(t.c.sender == sender, t.c.minute >= start)).mappings().all()
    table = {start + timedelta(hours=n): dict.fromkeys(columns, 0) for n in range(hours)}
    for row in rows:
        hour = row["minute"].replace(minute=0)
        for name in columns:
            table[hour][name] += row[name]
    return [{"hour": hour, **counts} for hour, counts in table.items()]


def in_scope(engine: Engine, sender: str, campaign_ids: Collection[str] | None) -> bool:
    return any(facts.sender == sender for facts in senders(engine, campaign_ids))


def history(engine: Engine, sender: str, now: datetime, span: str, campaign_ids: Collection[str] | None,
            portfolio_senders: Collection[str]) -> list[HistoryPoint] | None:
    """The sender's traffic at each point of the span (`HISTORY_SPANS`), each point's windows ending at it, with the
    level changes of each step; None when the sender is not one of the viewer's campaigns (`campaign_ids`)."""
    if not in_scope(engine, sender, campaign_ids):
        return None
    length, step = HISTORY_SPANS[span]
    ends = points_ending(now, length, step)
    m, e, changes = RISK.minutes, RISK.errors, RISK.level_changes
    since = now - length - DAY  # the first point's 24-hour windows start a day before it
    with engine.connect() as connection:
        def rows(query: Any) -> list[dict[str, Any]]:
            return [dict(row) for row in connection.execute(query).mappings()]

        return risk_windows.history(
            ends, step,
            minutes=rows(select(m.c.minute, *(m.c[name] for name in risk_windows.MINUTE_COLUMNS))
                         .where(m.c.sender == sender, m.c.minute > since, m.c.minute <= now)),
            errors=rows(select(e.c.minute, e.c.error_code, e.c.failures)
                        .where(e.c.sender == sender, e.c.minute > since, e.c.minute <= now)),
            customers=_customer_figures_at(connection, sender, ends),
            portfolio=_reach_at(connection, portfolio_senders, ends),
            changes=rows(select(changes).where(changes.c.sender == sender, changes.c.at > now - length - step,
                                               changes.c.at <= now).order_by(changes.c.version)))


def _points(ends: list[datetime]) -> Any:
    """The points as a table (n, start_at, end_at) of 24-hour windows; a UNION of literals, which SQLite and
    PostgreSQL both read (SQLite names no columns of a VALUES list)."""
    windows = [select(literal(n, Integer).label("n"), literal(end - DAY, UtcDateTime).label("start_at"),
                      literal(end, UtcDateTime).label("end_at")) for n, end in enumerate(ends)]
    return union_all(*windows).subquery("points")


def _customer_figures_at(connection: Connection, sender: str, ends: list[datetime]) -> list[dict[str, int]]:
    """`_contact_figures` over the 24 hours ending at each point, in one statement."""
    t, points = RISK.contacts, _points(ends)
    per_customer = (select(
        points.c.n,
        func.sum(t.c.messages).label("messages"),
        func.sum(t.c.business_initiated).label("business"),
        func.min(case((t.c.business_initiated > 0, t.c.minute))).label("first_business"),
        func.max(case((t.c.replies > 0, t.c.minute))).label("last_reply"),
    ).select_from(t.join(points, and_(t.c.minute > points.c.start_at, t.c.minute <= points.c.end_at)))
        .where(t.c.sender == sender, t.c.minute > ends[0] - DAY, t.c.minute <= ends[-1])
        .group_by(points.c.n, t.c.customer).subquery())
    c = per_customer.c
    found = [dict.fromkeys(("customers_24h", "business_customers_24h", "business_customers_answered_24h",
                            "most_business_to_one_customer_24h"), 0) for _ in ends]
    for row in connection.execute(select(
            c.n,
            func.sum(case((c.messages > 0, 1), else_=0)).label("customers_24h"),
            func.sum(case((c.business > 0, 1), else_=0)).label("business_customers_24h"),
            func.sum(case((c.last_reply >= c.first_business, 1), else_=0)).label("business_customers_answered_24h"),
            func.max(c.business).label("most_business_to_one_customer_24h")).group_by(c.n)).mappings():
        found[row["n"]] = {key: int(value or 0) for key, value in row.items() if key != "n"}
    return found


def _reach_at(connection: Connection, senders: Collection[str], ends: list[datetime]) -> list[int]:
    """Unique customers these senders together reached on the business's initiative in the 24 hours ending at each
    point (`reach` at each point)."""
    t, points = RISK.contacts, _points(ends)
    found = [0] * len(ends)
    for n, customers in connection.execute(
            select(points.c.n, func.count(func.distinct(t.c.customer)))
            .select_from(t.join(points, and_(t.c.minute > points.c.start_at, t.c.minute <= points.c.end_at)))
            .where(t.c.sender.in_(list(senders)), t.c.business_initiated > 0, t.c.minute > ends[0] - DAY,
                   t.c.minute <= ends[-1]).group_by(points.c.n)):
        found[n] = int(customers)
    return found


def weekly_volume(engine: Engine, senders: Collection[str], now: datetime) -> dict[str, list[tuple[datetime, int]]]:
    """Each sender's messages per day over the last 7 days (days ending at `now`, oldest first): the overview's
    sparklines. The senders are those the caller may see (`senders(engine, campaign_ids)`)."""
    t = RISK.minutes
    days = points_ending(now, WEEK, DAY)
    by_sender: dict[str, list[dict[str, Any]]] = {sender: [] for sender in senders}
    with engine.connect() as connection:
        for row in connection.execute(select(t.c.sender, t.c.minute, t.c.messages).where(
                t.c.sender.in_(list(senders)), t.c.minute > now - WEEK, t.c.minute <= now)).mappings():
            by_sender[row["sender"]].append(dict(row))
    found = {}
    for sender, rows in by_sender.items():
        sums = Sums(rows, ["messages"])
        found[sender] = [(end, sums.over("messages", end, DAY)) for end in days]
    return found

"""The risk buckets keep only what a signal can still sum (7 days and a day's margin before the log's latest
instant), on SQLite and PostgreSQL, and pruning never makes the live tables differ from a rebuild of the log."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from despacho.bootstrap import Despacho
from projections import risk_queries
from projections.rebuild import rebuild
from projections.risk import RETENTION, RiskProjector
from tests.integration.test_risk_levels import BANCO, campaigns, customer, fail, reply_from, template_to

__all__ = ["campaigns"]  # the fixture, shared with the level tests
RISK = RiskProjector()


def oldest_bucket(despacho: Despacho) -> datetime | None:
    with despacho.read_engine.connect() as connection:
        return min((connection.execute(select(func.min(t.c.minute))).scalar() for t in RISK.pruned
                    if connection.execute(select(func.count()).select_from(t)).scalar()), default=None)


def a_day_of_traffic(despacho: Despacho, campaign_id: str, customers: range) -> None:
    for n in customers:
        message = template_to(despacho, campaign_id, customer(n))
        if n % 3 == 0:
            fail(despacho, message, "63049")
        if n % 2 == 0:
            reply_from(despacho, customer(n))
        despacho.clock.advance(timedelta(minutes=7))
        despacho.runner.catch_up()  # the live projector sees the traffic in many small batches


def test_buckets_older_than_the_longest_window_are_pruned_and_the_rebuild_equals_the_live_tables(
        despacho: Despacho, campaigns: dict[str, str]) -> None:
    start = despacho.clock.now()
    a_day_of_traffic(despacho, campaigns["banco_a"], range(12))
    despacho.clock.set(start + timedelta(days=9))
    a_day_of_traffic(despacho, campaigns["banco_a"], range(100, 106))
    now = despacho.clock.now()

    oldest = oldest_bucket(despacho)
    assert oldest is not None and oldest >= now.replace(minute=0, second=0, microsecond=0) - RETENTION > start
    assert risk_queries.traffic(despacho.read_engine, now, risk_queries.TrafficScope(senders=[BANCO])).last_24h == 6
    assert rebuild(despacho.store, despacho.read_engine, RiskProjector, replace_live=False) == []


def test_an_event_dated_before_the_kept_buckets_is_not_counted_live_nor_in_a_rebuild(
        despacho: Despacho, campaigns: dict[str, str]) -> None:
    start = despacho.clock.now()
    despacho.clock.set(start + timedelta(days=10))
    template_to(despacho, campaigns["banco_a"], customer(1))
    despacho.runner.catch_up()
    despacho.clock.set(start)  # a job acting for an instant long past (`timers run --now`)
    template_to(despacho, campaigns["banco_a"], customer(2))
    despacho.runner.catch_up()

    assert oldest_bucket(despacho) == start + timedelta(days=10)
    assert rebuild(despacho.store, despacho.read_engine, RiskProjector, replace_live=False) == []

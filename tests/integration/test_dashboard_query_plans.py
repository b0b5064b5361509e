"""The dashboards' queries are served by indexes on SQLite and PostgreSQL: today's chats, closes and messages are
read from their day's range, never by scanning every chat or message ever recorded."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho
from projections import dashboard_queries
from tests.integration.test_query_plans import a_call_center, full_scans, plan_findings


def whole_campaign_reads(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """SQLite plan lines reading every chat of a campaign (by its campaign index alone): a day's figures must
    constrain the time too. PostgreSQL's plans are checked for scans only (full_scans)."""
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as connection:
        lines = [r[3] for r in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    return [line for line in lines if re.search(r"^SEARCH chats USING INDEX \w+ \(campaign_id=\?\)$", line)]


def test_dashboard_queries_never_scan_a_table_that_grows_with_history(despacho: Despacho, clock: FixedClock) -> None:
    campaign_id, _, _ = a_call_center(despacho)
    engine, now = despacho.read_engine, clock.now()
    queries = {
        "campaigns today": lambda: dashboard_queries.campaigns_today(engine, {campaign_id}, now),
        "every campaign today": lambda: dashboard_queries.campaigns_today(engine, None, now),
        "volume by hour": lambda: dashboard_queries.volume_by_hour(engine, {campaign_id}, now),
        "delivery today": lambda: dashboard_queries.delivery_today(engine, {campaign_id}, now),
    }
    assert plan_findings(engine, queries, full_scans, whole_campaign_reads) == {}

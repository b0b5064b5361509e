"""The metric queries the dashboards and /api/metrics/* run read their range of hours, days or instants through an
index on SQLite and PostgreSQL: a month's report never reads every fact or counter ever recorded (the bench at a
million chats: bench/bench_metric_queries.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho
from projections import metric_queries
from projections.metric_queries import MetricFilter
from tests.integration.test_query_plans import a_call_center, plan_findings

GROWING_METRIC_TABLES = re.compile(r"^metric_(chats|queue_entries|assignments|outbound|bot_states|"
                                   r"(agent|campaign|bot)_(hours|days))$")


def growing_table_scans(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """Plan lines reading a metric table that grows with history whole (PostgreSQL with sequential scans off,
    since it weighs the indexes of near-empty tables alike)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
            lines = [r[0] for r in connection.exec_driver_sql("EXPLAIN " + statement, parameters)]
            scan = r"Seq Scan on (\w+)"
        else:
            lines = [r[3] for r in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
            scan = r"^SCAN (\w+)(?! USING (?:COVERING )?INDEX \w+ \()"
    return [line for line in lines if (m := re.search(scan, line)) and GROWING_METRIC_TABLES.match(m.group(1))]


def test_metric_reports_read_only_their_range_of_the_history(despacho: Despacho, clock: FixedClock) -> None:
    campaign_id, _, _ = a_call_center(despacho)
    engine, now = despacho.read_engine, clock.now()
    today = now.date()
    month = MetricFilter(today - timedelta(days=29), today, granularity="month")
    week = MetricFilter(today - timedelta(days=6), today)
    queries = {
        "KPI cards today": lambda: metric_queries.metric_kpis(engine, None, now),
        "agents by month": lambda: metric_queries.agent_metrics(engine, month, campaign_ids=None),
        "agents by hour": lambda: metric_queries.agent_metrics(engine, MetricFilter(today, today, granularity="hour"),
                                                               campaign_ids={campaign_id}),
        "campaigns by day": lambda: metric_queries.campaign_metrics(engine, week, campaign_ids=None),
        "bot by day": lambda: metric_queries.bot_metrics(engine, week, campaign_ids=None),
        "hourly volume": lambda: metric_queries.campaign_volume(engine, week, campaign_ids={campaign_id}),
        "bot funnel": lambda: metric_queries.bot_funnel(engine, week, campaign_ids=None),
        "delivery by sender": lambda: metric_queries.delivery_by_sender(engine, week, campaign_ids=None),
    }
    assert plan_findings(engine, queries, growing_table_scans) == {}

"""`despacho metrics docs` writes docs/metrics.md from the registry; `despacho metrics verify` recomputes every
registered metric from the raw log and compares it with what the metric queries answer (exit 1 on any
difference)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from domain.metrics.docs import metrics_markdown

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from application.metrics_verify import Key

DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"


@click.group("metrics")
def metrics() -> None:
    """Agent, campaign and bot metrics: their documentation and their verification against the log."""


@metrics.command("docs")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=DOC, show_default=True)
def write_docs(output: Path) -> None:
    """Write the metrics' documentation (Spanish) from the registry."""
    output.write_text(metrics_markdown(), encoding="utf-8")
    click.echo(f"{output}")


def _day(_: click.Context, __: click.Parameter, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use AAAA-MM-DD") from exc


@metrics.command("verify")
@click.option("--from", "first", required=True, callback=_day, help="First local day (YYYY-MM-DD).")
@click.option("--to", "last", required=True, callback=_day, help="Last local day (YYYY-MM-DD), included.")
def verify(first: date, last: date) -> None:
    """Count every registered metric again from the event log, per local day of each campaign, and compare with
    the metric queries; print each difference and exit 1 if there is any."""
    from application.metrics_verify import compare, counters_from_log
    from despacho.bootstrap import build
    from projections.positions import read_position

    despacho = build()
    try:
        despacho.runner.catch_up(hand_out_work=False)
        with despacho.read_engine.connect() as connection:
            position = read_position(connection, "metrics")
        expected = counters_from_log(despacho.store, stop=position)
        queried = query_counters(despacho.read_engine, first, last)
        differences = compare(expected, queried, first, last)
        rows = sum(first <= day <= last for _, _, day in set(expected) | set(queried))
    finally:
        despacho.close()
    for d in differences:
        click.echo(f"{d.day} {d.level} {'/'.join(d.dimensions) or '-'} {d.metric}: log {d.from_log} "
                   f"≠ queries {d.from_queries}")
    click.echo(f"{len(differences)} differences in {rows} rows (level, dimensions, day) up to log position {position}")
    sys.exit(1 if differences else 0)


def query_counters(engine: Engine, first: date, last: date) -> dict[Key, dict[str, float]]:
    """What the queries answer for every campaign, agent and flow, per local day of its campaign."""
    from domain.metrics.registry import AGENT, BOT, CAMPAIGN
    from projections.metric_queries import MetricFilter, agent_metrics, bot_metrics, campaign_metrics

    wanted = MetricFilter(first, last)
    found: dict[Key, dict[str, float]] = {}
    for row in agent_metrics(engine, wanted, campaign_ids=None):
        found[AGENT, (row.agent_id, row.campaign_id), date.fromisoformat(row.bucket)] = row.counters
    for row in campaign_metrics(engine, wanted, campaign_ids=None):
        found[CAMPAIGN, (row.campaign_id,), date.fromisoformat(row.bucket)] = row.counters
    for row in bot_metrics(engine, wanted, campaign_ids=None):
        found[BOT, (row.campaign_id, row.flow_name), date.fromisoformat(row.bucket)] = row.counters
    return found

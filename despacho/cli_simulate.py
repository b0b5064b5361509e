"""`despacho simulate`: customers against a running server, or a whole simulated month in-process."""

from __future__ import annotations

import json
import time
from datetime import date

import click

from despacho.settings import Settings


@click.group()
def simulate() -> None:
    """Simulated customers (embedded mode): over HTTP against a running server, or a month in-process."""


@simulate.command("customers")
@click.option("--customers", default=1, show_default=True, type=click.IntRange(1, 200))
@click.option("--document", required=True, help="Document number the customers identify with.")
@click.option("--to", "to", default="whatsapp:+5716000001", show_default=True, help="Campaign number written to.")
@click.option("--base-url", default=None, help="Running server (default: DESPACHO_PUBLIC_URL).")
@click.option("--pause", default=0.4, show_default=True, type=float, help="Seconds between a customer's messages.")
@click.option("--wait", default=3.0, show_default=True, type=float, help="Seconds to wait before the report.")
def simulate_customers(customers: int, document: str, to: str, base_url: str | None, pause: float,
                       wait: float) -> None:
    """Customers write over the real, signed webhook path of a running server and identify themselves."""
    from despacho.simulator import report, run_simulation

    settings = _embedded("El simulador de clientes solo existe en modo embebido")
    addresses = run_simulation(settings, base_url=base_url or settings.public_url, customers=customers, to=to,
                               document=document, pause=pause)
    time.sleep(wait)
    for line in report(settings, addresses):
        click.echo(line)


@simulate.command("month")
@click.option("--seed", required=True, type=int, help="The same seed gives the same month.")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 92))
@click.option("--campaigns", default=3, show_default=True, type=click.IntRange(1, 6))
@click.option("--agents", default=8, show_default=True, type=click.IntRange(1, 60))
@click.option("--customers-per-day", default=150, show_default=True, type=click.IntRange(0, 5000),
              help="On weekdays; half on Saturdays, a quarter on Sundays.")
@click.option("--start", default="2026-11-02", show_default=True, help="The first day (YYYY-MM-DD).")
@click.option("--transcripts/--no-transcripts", default=True, show_default=True,
              help="Render each close's PDF (about a second each); without, `audit closes` lists every close.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def simulate_month(seed: int, days: int, campaigns: int, agents: int, customers_per_day: int, start: str,
                   transcripts: bool, as_json: bool) -> None:
    """A seeded month through the real application on a simulated clock, into an empty database
    (DESPACHO_DATABASE_URL, or SQLite under DESPACHO_VAR_DIR); prints what happened."""
    from despacho.simulation.application import SimulationError
    from despacho.simulation.month import MonthPlan
    from despacho.simulation.month import simulate_month as run
    from despacho.simulation.summary import summary_lines

    settings = _embedded("La simulación de un mes solo existe en modo embebido")
    if campaigns > agents:
        raise click.BadParameter("cada campaña necesita al menos un asesor", param_hint="--agents")
    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise click.BadParameter("use el formato AAAA-MM-DD", param_hint="--start") from None
    plan = MonthPlan(seed=seed, days=days, campaigns=campaigns, agents=agents, customers_per_day=customers_per_day,
                     start=first, transcripts=transcripts)
    began = time.perf_counter()
    try:
        summary = run(plan, settings)
    except SimulationError as error:
        raise click.ClickException(str(error)) from error
    click.echo(json.dumps(summary, indent=2, ensure_ascii=False) if as_json else "\n".join(summary_lines(summary)))
    click.echo(f"({time.perf_counter() - began:.1f} s)", err=True)  # apart, so a seed's output stays the same


def _embedded(refusal: str) -> Settings:
    settings = Settings()
    if not settings.is_embedded:
        raise click.ClickException(refusal)
    return settings

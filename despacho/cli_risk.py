"""`despacho risk status`: every sender's block and spam risk level and signals, and each campaign's, in Spanish."""

from __future__ import annotations

import json

import click

from adapters.clock import FixedClock
from domain.delivery_errors import CATEGORY_LABELS
from domain.labels import label
from domain.risk_thresholds import DEFAULT_THRESHOLDS, SHOWN_SIGNALS, shown


@click.group("risk")
def risk() -> None:
    """Riesgo de bloqueo y spam de los remitentes de Twilio."""


@risk.command("status")
@click.option("--json", "as_json", is_flag=True, help="Salida en JSON (códigos y valores sin formato).")
@click.option("--now", "instant", default=None,
              help="Las ventanas terminan en este instante (ISO 8601 con zona, p. ej. 2026-01-31T10:00:00-05:00).")
def status(as_json: bool, instant: str | None) -> None:
    """Muestra el nivel de riesgo y las señales de cada remitente ahora (o en --now)."""
    from despacho.bootstrap import build
    from despacho.cli_timers import instant_option
    from projections import risk_queries
    from projections.queries import list_campaigns

    at = instant_option(instant)
    despacho = build(clock=FixedClock(at) if at else None)
    try:
        despacho.runner.catch_up(hand_out_work=False)
        readings = despacho.risk.read()
        recorded = risk_queries.levels(despacho.read_engine)
        campaigns = [(c["name"], despacho.risk.campaign_signals(c["id"]))
                     for c in list_campaigns(despacho.read_engine)]
    finally:
        despacho.close()
    if as_json:
        click.echo(json.dumps({"senders": [
            {"sender": r.facts.sender, "level": recorded.get(r.facts.sender, {}).get("level", "ok"),
             "portfolio": r.portfolio, "tier": r.tier,
             "signals": {name: signal.value for name, signal in r.signals.items()},
             "failures_by_category": r.failures_by_category} for r in readings],
            "campaigns": {name: {key: s.value for key, s in found.items()} for name, found in campaigns}},
            ensure_ascii=False, indent=2))
        return
    if not readings:
        click.echo("Ningún remitente ha enviado mensajes ni está en una campaña.")
    for reading in readings:
        level = recorded.get(reading.facts.sender, {}).get("level", "ok")
        tier = f"{reading.tier} clientes/24 h" if reading.tier else "ilimitado"
        click.echo(f"{reading.facts.sender}: nivel {label('risk_level', level)} "
                   f"(portafolio {reading.portfolio}, límite de Meta {tier})")
        for name in (*SHOWN_SIGNALS, *DEFAULT_THRESHOLDS):
            judged = name in DEFAULT_THRESHOLDS and reading.thresholds[name].level_of(
                reading.signals[name].value, reading.signals[name].sample)
            mark = f"  [{label('risk_level', judged)}]" if judged and judged != "ok" else ""
            click.echo(f"  {label('risk_signal', name)}: {shown(name, reading.signals[name].value)}{mark}")
        if reading.failures_by_category:
            click.echo("  Fallos por categoría (24 h): " + ", ".join(
                f"{CATEGORY_LABELS.get(category, category)} {count}"
                for category, count in reading.failures_by_category.items()))
    for name, found in campaigns:
        click.echo(f"Campaña {name}:")
        for key, signal in found.items():
            click.echo(f"  {label('risk_signal', key)}: {shown(key, signal.value)}")

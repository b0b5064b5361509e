"""`despacho timers run` and `despacho audit closes|routing`: the timer rules on demand, the close audit (R8)
and the routing audit (R5, R16)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from adapters.clock import FixedClock
from application.ports import SendFailedError

if TYPE_CHECKING:
    from despacho.bootstrap import Despacho


@click.group("timers")
def timers() -> None:
    """Alerts at 30 minutes and the 24-hour close."""


@timers.command("run")
@click.option("--now", "instant", default=None,
              help="Apply the rules at this instant (ISO 8601 with offset, e.g. 2026-01-31T10:00:00-05:00).")
def run_timers(instant: str | None) -> None:
    """Apply the timer rules once, at the clock's now or at --now, and finish the closes it makes."""
    from despacho.bootstrap import build

    at = instant_option(instant)
    despacho = build(clock=FixedClock(at) if at else None)
    try:
        despacho.runner.catch_up(hand_out_work=False)
        now = despacho.clock.now()
        run = despacho.timers.run(now)
        unsent = _finish(despacho, run.closed)
        despacho.runner.catch_up(hand_out_work=False)
    finally:
        despacho.close()
    click.echo(f"{now.isoformat()}: {run.examined} chat(s) examinado(s), {run.alerts} alerta(s), "
               f"{len(run.closed)} cierre(s) automático(s)" + (f", {unsent} envío(s) pendiente(s)" if unsent else ""))


@click.group("audit")
def audit() -> None:
    """Checks auditors run."""


@audit.command("closes")
def audit_closes() -> None:
    """List closed chats without a confirmation accepted by Twilio or without their PDF; exit 1 if any."""
    from application.audit import close_findings
    from despacho.bootstrap import build
    from projections.queries import closes_to_audit

    despacho = build()
    try:
        despacho.runner.catch_up(hand_out_work=False)
        findings = close_findings(closes_to_audit(despacho.read_engine))
    finally:
        despacho.close()
    for finding in findings:
        closed_at = finding.closed_at.isoformat() if finding.closed_at else "?"
        click.echo(f"chat {finding.chat_id} (cerrado {closed_at}): {'; '.join(finding.problems)}")
    unconfirmed = sum(bool(finding.confirmation_problem) for finding in findings)
    click.echo(f"{len(findings)} cierre(s) incompleto(s): {unconfirmed} sin confirmación aceptada por Twilio, "
               f"{len(findings) - unconfirmed} solo sin PDF")
    if findings:
        sys.exit(1)


@audit.command("routing")
@click.option("--from", "since", default=None, help="Only decisions from this instant (ISO 8601 with offset).")
@click.option("--to", "until", default=None, help="Only decisions up to this instant (ISO 8601 with offset).")
@click.option("--campaign", "campaign_code", default=None, help="Only this campaign (its code).")
def audit_routing_command(since: str | None, until: str | None, campaign_code: str | None) -> None:
    """Replay the log and check every automatic assignment against the policy at its instant; exit 1 on any
    difference or first-in-first-out overtake."""
    from application.routing_audit import audit_routing
    from despacho.bootstrap import build

    despacho = build()
    try:
        campaign_id = str(despacho.campaigns.id_for_code(campaign_code)) if campaign_code else None
        report = audit_routing(despacho.store, since=instant_option(since), until=instant_option(until),
                               campaign_id=campaign_id)
    finally:
        despacho.close()
    for finding in report.findings:
        click.echo(f"posición {finding.position}, chat {finding.chat_id}: {finding.what}")
    click.echo(f"{report.checked} decisión(es) verificada(s), {len(report.findings)} diferencia(s)"
               + (f", {report.unverifiable} anterior(es) a que las decisiones registraran su posición"
                  if report.unverifiable else ""))
    if report.findings:
        sys.exit(1)


def instant_option(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"no es una fecha ISO 8601: {text}") from exc
    if instant.tzinfo is None:
        raise click.BadParameter("indique la zona horaria, por ejemplo -05:00")
    return instant


def _finish(despacho: Despacho, closed: list[str]) -> int:
    """Confirmation and PDF for each close, here and now; a send Twilio refuses for now is left to the workers."""
    unsent = 0
    for chat_id in closed:
        for message_id in despacho.closing.finish(chat_id):
            try:
                despacho.outbound.send(message_id)
            except SendFailedError:
                unsent += 1
    return unsent

"""The `despacho` command: run the product, manage users, inspect projections."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

import click
from pydantic import ValidationError

from despacho.cli_as_of import as_of
from despacho.cli_flows import flows
from despacho.cli_loadtest import loadtest
from despacho.cli_metrics import metrics
from despacho.cli_portfolios import portfolios
from despacho.cli_report import report
from despacho.cli_risk import risk
from despacho.cli_simulate import simulate
from despacho.cli_timers import audit, timers
from despacho.settings import Settings

HEADING = ("Despacho no arranca: su configuración (variables de entorno) está incompleta o no es válida. "
           "Defina o corrija:")


class SettingsCheckedGroup(click.Group):
    """Every command reads the settings; a wrong or missing one is one clear message, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ValidationError as error:
            if error.title != Settings.__name__:
                raise
            raise click.ClickException(settings_problems(error)) from None


def settings_problems(error: ValidationError) -> str:
    lines = []
    for problem in error.errors(include_url=False):
        if problem["loc"]:
            lines.append(f"{_variable(str(problem['loc'][0]))}: {problem['msg']}")
        else:  # the model's own check: its message already names each variable, one a line
            lines.append(str(problem.get("ctx", {}).get("error", problem["msg"])))
    return (HEADING + "".join(f"\n  {line}" for part in lines for line in part.splitlines()))


def _variable(field_or_alias: str) -> str:
    return field_or_alias if field_or_alias.isupper() else f"DESPACHO_{field_or_alias.upper()}"


@click.group(cls=SettingsCheckedGroup)
def main() -> None:
    """Despacho: enrutamiento de chats de WhatsApp y SMS por campaña."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Embedded mode: API, projectors, workers and timers in one process (SQLite under ./var/)."""
    from despacho.runtime import serve_embedded

    serve_embedded(host, port)


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)  # noqa: S104 - a server process behind a proxy
@click.option("--port", default=8000, show_default=True, type=int)
def api(host: str, port: int) -> None:
    """Production: the HTTP API only (run several behind a load balancer)."""
    from despacho.runtime import serve_api

    serve_api(host, port)


@main.command()
@click.option("--threads", default=8, show_default=True, type=int)
def worker(threads: int) -> None:
    """Production: a dramatiq worker on Redis, with the minute scheduler."""
    from despacho.runtime import run_worker

    run_worker(threads)


@main.command()
def projector() -> None:
    """Production: keeps the read tables up to date (woken by PostgreSQL notifications)."""
    from despacho.runtime import run_projector

    run_projector()


@main.group()
def users() -> None:
    """Staff accounts."""


@users.command("create")
@click.option("--login", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "supervisor", "agent", "auditor"]), required=True)
@click.option("--capacity", default=5, show_default=True, type=int)
@click.option("--password", envvar="DESPACHO_NEW_PASSWORD", help="Prompted for when omitted.")
def create_user(login: str, name: str, role: str, capacity: int, password: str | None) -> None:
    """Create a staff account (bootstraps the first admin)."""
    from despacho.bootstrap import build
    from domain.common import DomainError

    password = password or getpass.getpass("Contraseña (mínimo 10 caracteres): ")
    despacho = build()
    try:
        agent_id = despacho.staff.register(login, name, role, password=password, capacity=capacity,
                                           actor="system:cli")
        despacho.unidentified.ensure_exists()  # the install: the unidentified queue exists from the start
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        despacho.close()
    click.echo(f"Usuario {login} ({role}) creado: {agent_id}")


@main.group()
def projections() -> None:
    """Read tables built from the event log."""


@projections.command("status")
@click.option("--json", "as_json", is_flag=True)
def projections_status(as_json: bool) -> None:
    """Each projector's position in the log and how far behind it is."""
    from despacho.bootstrap import build

    despacho = build()
    rows = [{"name": s.name, "position": s.position, "head": s.head, "lag": s.lag} for s in despacho.runner.status()]
    despacho.close()
    if as_json:
        click.echo(json.dumps(rows))
        return
    click.echo(f"{'projector':<14}{'position':>10}{'head':>10}{'lag':>8}")
    for row in rows:
        click.echo(f"{row['name']:<14}{row['position']:>10}{row['head']:>10}{row['lag']:>8}")


@projections.command("rebuild")
@click.argument("name", required=False)
@click.option("--verify", is_flag=True, help="Only compare with the live tables; exit 1 on any difference.")
def projections_rebuild(name: str | None, verify: bool) -> None:
    """Rebuild read tables from the log (all, or NAME) and report differences from the live ones."""
    from despacho.bootstrap import all_projectors, build
    from projections.rebuild import rebuild

    despacho = build()
    known = {p.name: type(p) for p in all_projectors()}
    if name and name not in known:
        raise click.ClickException(f"unknown projector {name!r}; known: {', '.join(known)}")
    total = 0
    for projector_name, projector_class in known.items():
        if name and projector_name != name:
            continue
        differences = rebuild(despacho.store, despacho.read_engine, projector_class, replace_live=not verify)
        total += len(differences)
        click.echo(f"{projector_name}: {len(differences)} difference(s)"
                   + ("" if verify or not differences else " — live tables replaced by the rebuild"))
        for difference in differences[:20]:
            click.echo(f"  {difference.table} {difference.key}: live={difference.live} rebuilt={difference.rebuilt}")
    despacho.close()
    if verify and total:
        sys.exit(1)


@main.command()
def demo() -> None:
    """Create demo data (embedded mode only) and print the demo credentials."""
    from despacho.demo import load_demo

    settings = Settings()
    if not settings.is_embedded:
        raise click.ClickException("Los datos y usuarios de demostración solo existen en modo embebido")
    for line in load_demo(settings):
        click.echo(line)


main.add_command(portfolios)
main.add_command(flows)
main.add_command(timers)
audit.add_command(as_of)
main.add_command(audit)
main.add_command(simulate)
main.add_command(metrics)
main.add_command(risk)
main.add_command(loadtest)
main.add_command(report)


if __name__ == "__main__":
    main()

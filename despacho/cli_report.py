"""`despacho report endpoints`: docs/endpoints.md from the route table and the last test run."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from despacho.reports.endpoints import Endpoint

DEFAULT_RECORD = Path("var/test-routes.json")  # where `make test` leaves it
DEFAULT_OUTPUT = Path("docs/endpoints.md")


@click.group("report")
def report() -> None:
    """Informes de verificación generados del código y de la última corrida de pruebas."""


@report.command("endpoints")
@click.option("--record", "record_path", type=click.Path(path_type=Path), default=DEFAULT_RECORD,
              show_default=True, help="Registro de rutas de la corrida de pruebas (pytest --record-routes).")
@click.option("--output", type=click.Path(path_type=Path), default=DEFAULT_OUTPUT, show_default=True)
def endpoints(record_path: Path, output: Path) -> None:
    """Escribe el inventario de endpoints: roles, pruebas que los ejercitan y estado."""
    from despacho.reports.endpoints import RunRecord
    from despacho.reports.endpoints_page import endpoints_markdown

    listed = served_endpoints()
    record = RunRecord.read(record_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(endpoints_markdown(listed, record, str(record_path)), encoding="utf-8")
    summary = "sin datos de pruebas" if record is None else f"{len(record.outcomes)} pruebas registradas"
    click.echo(f"{output}: {len(listed)} endpoints ({summary})")


def served_endpoints() -> list[Endpoint]:
    """The route table of the app as built, over a throwaway SQLite store: only the routes are read."""
    from api.app import create_app
    from despacho.bootstrap import build
    from despacho.reports.endpoints import app_endpoints
    from despacho.settings import Settings

    with tempfile.TemporaryDirectory(prefix="despacho-report-") as scratch:
        despacho = build(Settings(mode="embedded", var_dir=Path(scratch), database_url=None,
                                  read_database_url=None, redis_url=None))
        try:
            return app_endpoints(create_app(despacho))
        finally:
            despacho.close()

"""`despacho portfolios …`: customer portfolios (carteras) from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from adapters.portfolio_files import stream_table
from application.portfolio_check import (
    DEFAULT_MAX_BYTES,
    PortfolioFileError,
    PortfolioPreview,
    RowProblem,
    preview_portfolio,
)
from application.portfolio_tables import ensure_within_size_limit

SHOWN_PROBLEMS = 20
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252"}


@click.group("portfolios")
def portfolios() -> None:
    """Carteras de clientes por campaña."""


@portfolios.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Imprime el resultado como JSON (todos los errores).")
@click.option("--sheet", default=None, help="Hoja del Excel que se revisa (por omisión, la primera con encabezado).")
@click.option("--report", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Guarda aquí el informe completo de errores (CSV para Excel).")
@click.option("--max-mb", type=click.IntRange(min=1), default=DEFAULT_MAX_BYTES // (1024 * 1024),
              show_default=True, help="Tamaño máximo del archivo en MB.")
def check(file: Path, as_json: bool, sheet: str | None, report: Path | None, max_mb: int) -> None:
    """Revisa FILE (CSV o XLSX) sin cargar nada: filas válidas, inválidas, duplicadas y errores.

    Sale con código 1 si el archivo no se puede usar; con 0 si se pudo revisar, aunque tenga filas
    con errores.
    """
    max_bytes = max_mb * 1024 * 1024
    try:
        ensure_within_size_limit(file.stat().st_size, max_bytes)  # before reading a huge file into memory
        preview = preview_portfolio(file.read_bytes(), file.name, stream_table=stream_table, sheet=sheet,
                                    max_bytes=max_bytes)
    except PortfolioFileError as error:
        click.echo(f"Error: {error}", err=True)
        raise SystemExit(1) from error
    if report is not None:
        report.write_bytes(preview.error_report_csv())
    if as_json:
        click.echo(json.dumps(preview.summary(limit=None), ensure_ascii=False, indent=2))
    else:
        click.echo(render_preview(preview))


@portfolios.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--campaign", "campaign_code", required=True, help="Código de la campaña (por ejemplo banco_a).")
@click.option("--mode", type=click.Choice(["upsert", "replace"]), default="upsert", show_default=True,
              help="upsert: agrega y actualiza por documento; replace: los clientes ausentes quedan inactivos.")
@click.option("--sheet", default=None, help="Hoja del Excel que se importa (por omisión, la primera con encabezado).")
@click.option("--confirm-deactivation", is_flag=True,
              help="Con --mode replace: confirma que se desactive más de la quinta parte de la cartera.")
def import_(file: Path, campaign_code: str, mode: str, sheet: str | None, confirm_deactivation: bool) -> None:
    """Importa las filas válidas de FILE en la cartera de una campaña (todo o nada).

    Con --mode replace dice cuántos clientes activos quedan desactivados; si son más de la quinta
    parte de la cartera, no importa nada sin --confirm-deactivation.

    Sale con código 1, sin importar nada, si la campaña no existe, el archivo no se puede usar o
    falta la confirmación.
    """
    from despacho.bootstrap import build
    from domain.common import DomainError
    from domain.portfolios import DeactivationNotConfirmedError

    despacho = build()
    try:
        ensure_within_size_limit(file.stat().st_size, despacho.portfolios.max_bytes)
        campaign_id = despacho.campaigns.id_for_code(campaign_code)
        despacho.runner.catch_up(hand_out_work=False)  # the portfolio a replace is measured against
        result = despacho.portfolios.import_file(campaign_id, file.read_bytes(), file.name, mode=mode, sheet=sheet,
                                                 confirm_deactivation=confirm_deactivation, actor="system:cli")
    except DeactivationNotConfirmedError as error:
        click.echo(f"Error: {error} Nada se importó; repita con --confirm-deactivation si es lo que quiere.",
                   err=True)
        raise SystemExit(1) from error
    except (DomainError, PortfolioFileError) as error:
        click.echo(f"Error: {error}", err=True)
        raise SystemExit(1) from error
    finally:
        despacho.close()
    counts = result.counts
    click.echo(f"Importación {result.import_id} en {campaign_code} ({mode}): filas {counts['rows']}   "
               f"importadas: {counts['valid']}   inválidas: {counts['invalid']}   duplicadas: {counts['duplicates']}   "
               f"con advertencias: {counts['warnings']}")
    if result.replacement is not None:
        click.echo(f"Desactivados: {result.replacement.deactivated} de {result.replacement.active} clientes activos "
                   "(sus chats abiertos siguen y se marcan como fuera de cartera)")


def render_preview(preview: PortfolioPreview) -> str:
    """The preview as a person reads it in a terminal."""
    summary = preview.summary(limit=SHOWN_PROBLEMS)
    lines = [_source_line(preview),
             f"Filas: {summary['total']}   válidas: {summary['valid']}   inválidas: {summary['invalid']}   "
             f"duplicadas: {summary['duplicates']}   con advertencias: {summary['warnings']}"]
    if summary["custom_fields"]:
        lines.append(f"Campos adicionales: {', '.join(summary['custom_fields'])}")
    lines += [f"Nota: {note}" for note in preview.notes]
    lines += _problem_lines("Errores", preview.errors())
    lines += _problem_lines("Advertencias", preview.warnings())
    return "\n".join(lines)


def _source_line(preview: PortfolioPreview) -> str:
    source = preview.source
    if source.file_type == "xlsx":
        sheets = ", ".join(source.sheet_names)
        return (f"{preview.file_name}: Excel, hoja «{source.sheet}» (hojas: {sheets}), "
                f"encabezado en la fila {source.header_row}")
    delimiter = "tabulador" if source.delimiter == "\t" else f"«{source.delimiter}»"
    encoding = ENCODING_NAMES.get(source.encoding or "", source.encoding)
    return (f"{preview.file_name}: CSV {encoding}, separador {delimiter}, "
            f"encabezado en la línea {source.header_row}")


def _problem_lines(title: str, problems: list[RowProblem]) -> list[str]:
    if not problems:
        return []
    lines = [f"{title} ({len(problems)}), filas contadas desde la primera fila de datos:"]
    for problem in problems[:SHOWN_PROBLEMS]:
        column = f", {problem.column}" if problem.column else ""
        lines.append(f"  fila {problem.row_number}{column}: {problem.reason}")
    if len(problems) > SHOWN_PROBLEMS:
        lines.append(f"  … y {len(problems) - SHOWN_PROBLEMS} más (use --report o --json para verlos todos)")
    return lines

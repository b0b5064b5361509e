"""`despacho portfolios check FILE`: the preview in a terminal, as JSON, and refusals."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from despacho.cli_portfolios import portfolios

FIXTURES = Path(__file__).parents[1] / "fixtures" / "portfolios"


def run(*arguments: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(portfolios, ["check", *map(str, arguments)])
    return result.exit_code, result.stdout, result.stderr


def test_prints_the_counts_and_the_row_errors() -> None:
    code, out, _ = run(FIXTURES / "cartera_con_errores.csv")

    assert code == 0
    assert "Filas: 40   válidas: 30   inválidas: 10   duplicadas: 2   con advertencias: 1" in out
    assert "fila 4, documento: Falta el número de documento" in out
    assert "fila 32: La fila tiene 4 columnas y el encabezado 10" in out
    assert "fila 23, celular: Sin teléfono principal" in out


def test_says_how_the_file_was_read() -> None:
    _, csv_out, _ = run(FIXTURES / "cartera_telco_b_excel.csv")
    _, xlsx_out, _ = run(FIXTURES / "cartera_banco_a.xlsx")

    assert "CSV Windows-1252, separador «;», encabezado en la línea 1" in csv_out
    assert "Excel, hoja «Cartera» (hojas: Cartera, Resumen), encabezado en la fila 3" in xlsx_out
    assert "Se ignoró la fila 31: es una fila de totales con fórmulas." in xlsx_out


def test_json_has_the_counts_and_every_error() -> None:
    code, out, _ = run("--json", FIXTURES / "cartera_con_errores.csv")

    summary = json.loads(out)
    assert code == 0
    assert {key: summary[key] for key in ("valid", "invalid", "duplicates", "warnings")} == {
        "valid": 30, "invalid": 10, "duplicates": 2, "warnings": 1}
    assert [error["row"] for error in summary["errors"]] == [4, 8, 12, 13, 15, 16, 20, 26, 28, 32]
    assert summary["errors"][0] == {"row": 4, "column": "documento", "reason": "Falta el número de documento"}


@pytest.mark.parametrize(("name", "message"), [
    ("cartera_vacia.csv", "está vacío"),
    ("cartera_solo_encabezado.csv", "solo tiene el encabezado"),
    ("cartera_sin_documento.csv", "Falta la columna del número de documento"),
    ("no_es_csv.csv", "no es un archivo de texto"),
])
def test_an_unusable_file_exits_with_1_and_a_message_on_stderr(name: str, message: str) -> None:
    code, out, err = run(FIXTURES / name)

    assert code == 1
    assert out == ""
    assert message in err


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "grande.csv"
    big.write_bytes(b"documento\r\n" + b"1234567\r\n" * 250_000)

    code, _, err = run("--max-mb", "1", big)

    assert code == 1
    assert "el límite es 1,0 MB" in err


def test_checks_the_sheet_asked_for(tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.title = "Primera"
    workbook.active.append(["documento", "celular"])
    workbook.active.append([52123456, "3001234567"])
    second = workbook.create_sheet("Segunda")
    second.append(["documento", "celular"])
    second.append([80765432, "12"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = tmp_path / "hojas.xlsx"
    path.write_bytes(buffer.getvalue())

    code, out, _ = run("--sheet", "Segunda", path)

    assert code == 0
    assert "hoja «Segunda»" in out
    assert "válidas: 0   inválidas: 1" in out


def test_writes_the_full_error_report_when_asked(tmp_path: Path) -> None:
    source = tmp_path / "cartera_con_errores.csv"
    shutil.copy(FIXTURES / "cartera_con_errores.csv", source)
    report = tmp_path / "errores.csv"

    code, _, _ = run("--report", report, source)

    assert code == 0
    assert report.read_bytes().decode("utf-8-sig").splitlines()[0] == "fila;columna;gravedad;motivo"
    assert len(report.read_bytes().decode("utf-8-sig").splitlines()) == 1 + 11

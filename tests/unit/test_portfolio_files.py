"""Reading uploaded portfolio files: CSV as Excel in Spanish writes it, XLSX, and what is refused."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from adapters.portfolio_files import read_table
from application.portfolio_check import is_portfolio_header
from application.portfolio_tables import PortfolioFileError, ensure_within_size_limit

FIXTURES = Path(__file__).parents[1] / "fixtures" / "portfolios"
MB = 1024 * 1024


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_reads_a_utf8_comma_separated_file() -> None:
    table = read_table(fixture("cartera_banco_a.csv"), "cartera_banco_a.csv")

    assert table.header[:2] == ["tipo_documento", "documento"]
    assert len(table.rows) == 50
    assert (table.format.file_type, table.format.encoding, table.format.delimiter) == ("csv", "utf-8", ",")


def test_reads_what_excel_in_spanish_exports_windows_1252_and_semicolons() -> None:
    table = read_table(fixture("cartera_telco_b_excel.csv"), "cartera_telco_b_excel.csv")

    assert table.header[1] == "Número de documento"
    assert table.header[9] == "Días de mora"
    assert table.rows[0][1] == "1.020.304.050"
    assert (table.format.encoding, table.format.delimiter) == ("cp1252", ";")


def test_reads_utf8_with_a_byte_order_mark() -> None:
    table = read_table("\ufeffdocumento;nombres\r\n123456;Ana Peña\r\n".encode(), "bom.csv")

    assert table.header == ["documento", "nombres"]
    assert table.rows == [["123456", "Ana Peña"]]


def test_reads_excel_unicode_text_utf16_with_tabs() -> None:
    table = read_table("documento\tnombres\r\n123456\tÁngela\r\n".encode("utf-16"), "unicode.txt")

    assert table.header == ["documento", "nombres"]
    assert table.rows == [["123456", "Ángela"]]
    assert table.format.delimiter == "\t"


@pytest.mark.parametrize(("name", "rows"), [
    ("an address with commas", ["123456;Ana Peña;Calle 5, Apto 3, Torre 2", "223456;Luis Mora;Cra 7 # 8-10"]),
    ("a document written with commas", ["1,020,304,050;Ana Peña;Calle 5", "52123456;Luis Mora;Cra 7"]),
    ("decimal commas on every row", ["123456;Ana Peña;1234,56", "223456;Luis Mora;99,5"]),
    ("a single row", ["123456;Ana Peña;Calle 5, Apto 3, Torre 2"]),
])
def test_a_semicolon_file_is_read_by_its_header_whatever_commas_its_cells_hold(name: str, rows: list[str]) -> None:
    content = "\r\n".join(["documento;nombre;direccion", *rows]).encode()

    table = read_table(content, "cartera.csv", is_header=is_portfolio_header)

    assert table.format.delimiter == ";", name
    assert table.header == ["documento", "nombre", "direccion"]
    assert all(len(row) == 3 for row in table.rows)


def test_a_comma_file_keeps_names_with_commas_and_semicolons_in_one_cell() -> None:
    content = 'documento,nombre,saldo\r\n123456,"Pérez, Ana",1234.56\r\n223456,"Gómez; Luis",10\r\n'.encode()

    table = read_table(content, "cartera.csv", is_header=is_portfolio_header)

    assert table.format.delimiter == ","
    assert table.rows == [["123456", "Pérez, Ana", "1234.56"], ["223456", "Gómez; Luis", "10"]]


def test_a_title_line_with_commas_does_not_decide_the_delimiter() -> None:
    content = b"Cartera enero, febrero y marzo, 2026\r\n\r\ndocumento;nombre\r\n123456;Ana\r\n"

    table = read_table(content, "cartera.csv", is_header=is_portfolio_header)

    assert table.format.delimiter == ";"
    assert table.header == ["documento", "nombre"]


_HEADER = ["tipo_documento", "documento", "nombres", "direccion", "saldo"]
_CELL = st.text(alphabet="abc 0123456789,;|\t.-\"", max_size=12)


@given(st.sampled_from([",", ";", "\t", "|"]), st.lists(st.lists(_CELL, min_size=5, max_size=5), min_size=1,
                                                        max_size=8))
def test_the_header_decides_the_delimiter_whatever_the_cells_hold(delimiter: str, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows([_HEADER, *rows])

    table = read_table(buffer.getvalue().encode(), "cartera.csv", is_header=is_portfolio_header)

    assert table.format.delimiter == delimiter
    assert table.header == _HEADER


def test_skips_a_title_line_above_the_csv_header() -> None:
    content = b"Cartera Banco A - corte 2026-11-20;;\r\n;;\r\ndocumento;nombres;celular\r\n123456;Ana;3001234567\r\n"

    table = read_table(content, "titulo.csv")

    assert table.header == ["documento", "nombres", "celular"]
    assert table.format.header_row == 3
    assert table.rows == [["123456", "Ana", "3001234567"]]


def test_blank_lines_keep_the_row_numbers_of_the_lines_after_them() -> None:
    table = read_table(b"documento,nombres\r\n1234567,Ana\r\n\r\n7654321,Luis\r\n", "blancos.csv")

    assert table.rows[2] == ["7654321", "Luis"]  # data row 3 is file line 4


def test_flags_csv_cells_that_start_with_an_equals_sign_as_formulas() -> None:
    assert read_table(b"documento,saldo\r\n1234567,=1+1\r\n", "f.csv").has_formulas
    assert not read_table(b"documento,saldo\r\n1234567,100\r\n", "f.csv").has_formulas


def test_xlsx_skips_the_title_rows_and_gives_documents_without_a_decimal_suffix() -> None:
    table = read_table(fixture("cartera_banco_a.xlsx"), "cartera_banco_a.xlsx")

    assert table.format.header_row == 3
    assert table.header[1] == "documento"
    assert table.rows[0][1] == "1020304050"
    assert table.rows[0][8] == "10590662.56"


def test_xlsx_keeps_the_formula_of_the_totals_row_and_names_every_sheet() -> None:
    table = read_table(fixture("cartera_banco_a.xlsx"), "cartera_banco_a.xlsx")

    assert table.rows[-1][8] == "=SUM(I4:I33)"
    assert table.has_formulas
    assert table.format.sheet == "Cartera"
    assert table.format.sheet_names == ("Cartera", "Resumen")


def test_xlsx_reads_the_sheet_asked_for_even_with_other_accents_or_case() -> None:
    content = xlsx({"Cartera": [["documento"], [111111]], "Segunda Cartera": [["documento"], [222222]]})

    table = read_table(content, "dos.xlsx", sheet="segunda cartéra")

    assert table.format.sheet == "Segunda Cartera"
    assert table.rows == [["222222"]]


def test_xlsx_finds_the_sheet_asked_for_whatever_its_punctuation_as_the_bot_reads_answers() -> None:
    content = xlsx({"Cartera": [["documento"], [111111]], "Cartera-Enero_2026": [["documento"], [222222]]})

    table = read_table(content, "enero.xlsx", sheet="cartera enero 2026")

    assert table.format.sheet == "Cartera-Enero_2026"


def test_xlsx_without_a_sheet_named_uses_the_first_sheet_with_a_header() -> None:
    content = xlsx({"Instrucciones": [["Llene la hoja Datos"]],
                    "Datos": [["documento", "nombres"], [123456, "Ana"]]})

    table = read_table(content, "instrucciones.xlsx")

    assert table.format.sheet == "Datos"
    assert table.rows == [["123456", "Ana"]]


def test_xlsx_refuses_an_unknown_sheet_and_lists_the_ones_there_are() -> None:
    with pytest.raises(PortfolioFileError, match=r"«Hoja9».*«Cartera», «Resumen»"):
        read_table(fixture("cartera_banco_a.xlsx"), "cartera_banco_a.xlsx", sheet="Hoja9")


def test_xlsx_numbers_dates_and_short_rows_become_plain_text() -> None:
    content = xlsx({"Datos": [["documento", "saldo", "fecha", "nota"],
                              [52123456.0, 1234.567, datetime(2026, 11, 20), "x"],
                              [80765432]]})

    table = read_table(content, "tipos.xlsx")

    # "1234.567" would read as one million two hundred thirty-four thousand in Colombian text
    assert table.rows[0] == ["52123456", "1234.5670", "2026-11-20", "x"]
    assert table.rows[1] == ["80765432", "", "", ""]


@pytest.mark.parametrize("content", [b"", b"   \r\n", "\ufeff".encode(), b"\r\n\r\n"])
def test_refuses_an_empty_file(content: bytes) -> None:
    with pytest.raises(PortfolioFileError, match="vacío"):
        read_table(content, "cartera_vacia.csv")


def test_refuses_a_csv_whose_quote_never_closes() -> None:
    content = b'documento,nombres\r\n1234567,"Ana\r\n' + b"7654321,Luis\r\n" * 12_000

    with pytest.raises(PortfolioFileError, match="comillas"):
        read_table(content, "comillas.csv")


def test_refuses_binary_garbage() -> None:
    with pytest.raises(PortfolioFileError, match="no es un archivo de texto"):
        read_table(fixture("no_es_csv.csv"), "no_es_csv.csv")


def test_refuses_text_with_control_characters() -> None:
    with pytest.raises(PortfolioFileError, match="caracteres de control"):
        read_table(b"documento,nombres\r\n123\x07456,Ana\r\n", "raro.csv")


def test_refuses_a_file_over_the_size_limit_before_reading_it() -> None:
    with pytest.raises(PortfolioFileError, match=r"200,0 MB y el límite es 50,0 MB"):
        ensure_within_size_limit(200 * MB, 50 * MB)
    with pytest.raises(PortfolioFileError, match="límite"):
        read_table(b"documento\r\n" + b"1234567\r\n" * 200, "grande.csv", max_bytes=1000)


def test_refuses_old_excel_and_password_protected_files() -> None:
    ole_header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)

    with pytest.raises(PortfolioFileError, match=r"\.xls.*contraseña"):
        read_table(ole_header, "cartera.xls")


def test_refuses_a_zip_that_is_not_an_excel_workbook() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cartera.csv", "documento\r\n123456\r\n")

    with pytest.raises(PortfolioFileError, match="comprimido"):
        read_table(buffer.getvalue(), "cartera.zip")


def test_refuses_a_damaged_xlsx() -> None:
    damaged = fixture("cartera_banco_a.xlsx")[:3000]

    with pytest.raises(PortfolioFileError, match="dañado"):
        read_table(damaged, "cartera_banco_a.xlsx")


def test_refuses_an_xlsx_that_would_unpack_far_beyond_the_limit() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(fixture("cartera_banco_a.xlsx"))) as original, \
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in original.infolist():
            bomb.writestr(item, original.read(item))
        bomb.writestr("xl/media/relleno.bin", bytes(5 * MB))
    content = buffer.getvalue()

    with pytest.raises(PortfolioFileError, match="descomprimirlo"):
        read_table(content, "bomba.xlsx", max_bytes=len(content) + 1)

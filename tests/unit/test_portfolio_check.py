"""The portfolio preview: what each sample file must report (tests/fixtures/portfolios/EXPECTED.md),
how cells are normalised, what is refused, and the phone fast path proven equal to phonenumbers."""

from __future__ import annotations

import csv
import gc
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from adapters.portfolio_files import read_table
from application.portfolio_check import (
    CustomerRow,
    InvalidCellError,
    Phone,
    PortfolioFileError,
    PortfolioPreview,
    check_portfolio,
    classify_header,
    colombian_national_number,
    e164_by_phonenumbers,
    map_columns,
    normalise_balance,
    phones_in_cell,
    to_e164,
)
from domain.documents import InvalidDocumentError, normalise_document_number, normalise_document_type

FIXTURES = Path(__file__).parents[1] / "fixtures" / "portfolios"


def check(content: bytes, file_name: str, **options: Any) -> PortfolioPreview:
    """The checker with the real CSV/XLSX reader, as the composition root wires it."""
    return check_portfolio(content, file_name, read_table=read_table, **options)
SHARED_DOCUMENTS = {"1020304050", "52123456", "80765432", "1098765432", "43210987"}
HEADER = "tipo_documento,documento,nombres,apellidos,celular,telefono2,correo,ciudad,saldo,dias_mora"


def check_fixture(name: str) -> PortfolioPreview:
    return check((FIXTURES / name).read_bytes(), name)


def check_csv(*rows: str, header: str = HEADER) -> PortfolioPreview:
    return check("\r\n".join([header, *rows]).encode(), "prueba.csv")


def by_row(preview: PortfolioPreview) -> dict[int, CustomerRow]:
    return {row.row_number: row for row in preview.valid_rows}


def problems_of(preview: PortfolioPreview, row_number: int) -> list[tuple[str, str, str]]:
    return [(p.column, p.reason, p.severity) for p in preview.problems if p.row_number == row_number]


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


# --- the sample files ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "total", "valid", "invalid", "duplicates"), [
    ("cartera_banco_a.csv", 50, 50, 0, 0),
    ("cartera_banco_a.xlsx", 30, 30, 0, 0),
    ("cartera_telco_b_excel.csv", 100, 100, 0, 0),
    ("cartera_con_errores.csv", 40, 30, 10, 2),
])
def test_each_sample_file_reports_the_expected_counts(name: str, total: int, valid: int, invalid: int,
                                                      duplicates: int) -> None:
    preview = check_fixture(name)

    assert (preview.total_rows, preview.valid_count, preview.invalid_count) == (total, valid, invalid)
    assert preview.duplicate_rows == duplicates


@pytest.mark.parametrize(("row", "column", "reason"), [
    (4, "documento", "Falta el número de documento"),
    (8, "documento", "«12AB45» tiene letras"),
    (12, "celular", "«12345» no es válido"),
    (13, "celular", "«telefono» no es un número"),
    (15, "documento", "repetido en el archivo (filas 15, 16)"),
    (16, "documento", "repetido en el archivo (filas 15, 16)"),
    (20, "tipo_documento", "desconocido «XX»"),
    (26, "saldo", "«mucho» no es un número"),
    (28, "documento", "tiene 16 dígitos"),
    (32, "", "La fila tiene 4 columnas y el encabezado 10"),
])
def test_each_defect_of_the_error_file_makes_its_row_invalid_with_its_reason(row: int, column: str,
                                                                             reason: str) -> None:
    preview = check_fixture("cartera_con_errores.csv")

    assert row not in by_row(preview)
    assert any(c == column and reason in r and s == "error" for c, r, s in problems_of(preview, row))


def test_only_the_listed_rows_of_the_error_file_are_invalid() -> None:
    preview = check_fixture("cartera_con_errores.csv")

    invalid = {problem.row_number for problem in preview.errors()}
    assert invalid == {4, 8, 12, 13, 15, 16, 20, 26, 28, 32}


def test_a_customer_without_a_phone_is_valid_with_a_warning() -> None:
    preview = check_fixture("cartera_con_errores.csv")

    assert 23 in by_row(preview)
    assert problems_of(preview, 23) == [
        ("celular", "Sin teléfono principal: el cliente aún puede escribir e identificarse con su documento",
         "warning")]
    assert preview.warning_rows == 1


def test_a_us_number_is_accepted_and_kept_in_e164() -> None:
    assert by_row(check_fixture("cartera_con_errores.csv"))[34].phones[0] == "+12025550143"


def test_a_spaced_dotted_document_is_stored_as_its_digits() -> None:
    assert by_row(check_fixture("cartera_con_errores.csv"))[37].document_number == "52987654"


def test_neither_row_of_a_repeated_document_is_imported() -> None:
    preview = check_fixture("cartera_con_errores.csv")
    repeated = next(p.reason for p in preview.problems if p.row_number == 15).split()[2]

    assert repeated not in {row.document_number for row in preview.valid_rows}


def test_a_semicolon_file_with_commas_in_its_cells_is_checked_not_refused() -> None:
    content = ("tipo_documento;documento;nombres;direccion;saldo\r\n"
               "CC;1,020,304,050;Ana Peña;Calle 5, Apto 3, Torre 2;1.234,56\r\n").encode("cp1252")

    preview = check(content, "cartera.csv")

    assert preview.source.delimiter == ";"
    assert [(row.document_number, row.balance, row.custom_fields) for row in preview.valid_rows] == [
        ("1020304050", "1234.56", {"direccion": "Calle 5, Apto 3, Torre 2"})]


def test_the_same_number_under_two_document_types_is_two_customers() -> None:
    preview = check_csv("CC,100001,Ana,Citizen,3001234567,,,,,",
                        "CE,100001,Ann,Foreigner,3001234568,,,,,",
                        "CC,100001,Ana,Repetida,3001234569,,,,,")

    assert [(row.document_type, row.full_name) for row in preview.valid_rows] == [("CE", "Ann Foreigner")]
    assert preview.duplicate_rows == 2
    assert problems_of(preview, 1)[0][1].startswith("El documento CC 100001 está repetido en el archivo (filas 1, 3)")


def test_the_excel_spanish_export_is_fully_normalised() -> None:
    first = check_fixture("cartera_telco_b_excel.csv").valid_rows[0]

    assert (first.document_type, first.document_number) == ("CC", "1020304050")
    assert first.full_name == "Nubia Ospina Ramírez"
    assert first.phones == ("+573221299450", "+576017419250")
    assert first.email == "nub.6312@example.com"
    assert first.balance == "4443629.66"
    assert first.custom_fields == {"ciudad": "Medellín", "dias_mora": "53"}


def test_every_phone_spelling_of_the_excel_export_becomes_e164() -> None:
    preview = check_fixture("cartera_telco_b_excel.csv")

    main_phones = [row.phones[0] for row in preview.valid_rows]
    assert len(main_phones) == 100
    assert all(phone.startswith("+573") and len(phone) == 13 for phone in main_phones)


def test_the_xlsx_total_row_is_ignored_and_said_so() -> None:
    preview = check_fixture("cartera_banco_a.xlsx")

    assert preview.notes == ["Se ignoró la fila 31: es una fila de totales con fórmulas."]
    assert preview.sheet == "Cartera"
    assert preview.summary()["sheets"] == ["Cartera", "Resumen"]
    assert preview.valid_rows[0].document_number == "1020304050"


def test_the_five_shared_documents_are_in_both_campaign_files() -> None:
    banco_a = {row.document_number for row in check_fixture("cartera_banco_a.csv").valid_rows}
    telco_b = {row.document_number for row in check_fixture("cartera_telco_b_excel.csv").valid_rows}

    assert banco_a & telco_b == SHARED_DOCUMENTS


def test_an_invalid_extra_phone_is_dropped_with_a_warning() -> None:
    preview = check_fixture("cartera_banco_a.csv")

    assert by_row(preview)[9].phones == ("+573515278240",)
    assert problems_of(preview, 9) == [("telefono2", "El teléfono «6041230679» no es válido (se espera, por "
                                        "ejemplo, 3001234567, 601 234 5678 o +1 202 555 0143); se omite", "warning")]


# --- files that cannot be used ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "message"), [
    ("cartera_vacia.csv", "está vacío"),
    ("cartera_solo_encabezado.csv", "solo tiene el encabezado"),
    ("cartera_sin_documento.csv", "Falta la columna del número de documento"),
    ("no_es_csv.csv", "no es un archivo de texto"),
])
def test_an_unusable_sample_file_is_refused_with_a_clear_message(name: str, message: str) -> None:
    with pytest.raises(PortfolioFileError, match=message):
        check_fixture(name)


def test_the_missing_column_message_names_the_columns_found() -> None:
    with pytest.raises(PortfolioFileError, match="Columnas encontradas: «nombres», «celular»"):
        check_fixture("cartera_sin_documento.csv")


def test_a_file_over_the_limit_is_refused() -> None:
    with pytest.raises(PortfolioFileError, match="límite"):
        check((FIXTURES / "cartera_banco_a.csv").read_bytes(), "grande.csv", max_bytes=4096)


def test_a_formula_in_a_data_cell_makes_that_row_invalid() -> None:
    content = xlsx({"Cartera": [["documento", "celular", "saldo"],
                                [52123456, "3001234567", "=A2*2"],
                                [80765432, "3101234567", 1500]]})

    preview = check(content, "formulas.xlsx")

    assert [row.document_number for row in preview.valid_rows] == ["80765432"]
    assert problems_of(preview, 1) == [("saldo", "La celda tiene una fórmula (=A2*2); pegue solo los valores",
                                        "error")]


def test_a_formula_typed_in_a_csv_is_refused_too() -> None:
    preview = check_csv('CC,52123456,Ana,Peña,3001234567,,,Cali,"=HYPERLINK(""http://x"")",3')

    assert preview.valid_count == 0
    assert "fórmula" in preview.errors()[0].reason


def test_the_sheet_asked_for_is_the_one_checked() -> None:
    content = xlsx({"Primera": [["documento", "celular"], [52123456, "3001234567"]],
                    "Segunda": [["documento", "celular"], [80765432, "3101234567"], [43210987, ""]]})

    preview = check(content, "hojas.xlsx", sheet="Segunda")

    assert preview.sheet == "Segunda"
    assert [row.document_number for row in preview.valid_rows] == ["80765432", "43210987"]


def test_the_garbage_collector_is_running_again_after_a_check_and_after_a_refusal() -> None:
    check_fixture("cartera_banco_a.csv")
    assert gc.isenabled()
    with pytest.raises(PortfolioFileError):
        check_fixture("no_es_csv.csv")
    assert gc.isenabled()


# --- columns ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "role"), [
    ("documento", "document_number"), ("Número de documento", "document_number"),
    ("NUMERO DE IDENTIFICACIÓN", "document_number"), ("Cédula", "document_number"), ("Nº doc", "document_number"),
    ("tipo_documento", "document_type"), ("Tipo de documento", "document_type"),
    ("Tipo Identificación", "document_type"),
    ("Nombres", "given_names"), ("Apellidos", "family_names"), ("Nombre completo", "full_name"),
    ("Razón social", "full_name"), ("celular", "mobile_phone"), ("Teléfono celular", "mobile_phone"),
    ("WhatsApp", "mobile_phone"), ("telefono", "phone"), ("telefono2", "phone"), ("Teléfono fijo", "phone"),
    ("correo", "email"), ("Correo electrónico", "email"), ("E-mail", "email"), ("saldo", "balance"),
    ("Saldo en mora", "balance"), ("Valor", "balance"), ("Días de mora", "days_past_due"),
    ("dias_mora", "days_past_due"), ("Ciudad", None), ("Tipo de cliente", None), ("Código", None),
])
def test_spanish_headers_are_recognised_whatever_their_accents_and_case(label: str, role: str | None) -> None:
    assert classify_header(label) == role


def test_unknown_columns_are_kept_as_custom_fields() -> None:
    preview = check_csv("CC,52123456,Ana,Peña,3001234567,Bogotá,x,Oro",
                        header="tipo_documento,documento,nombres,apellidos,celular,Ciudad,,Segmento cliente")

    assert preview.valid_rows[0].custom_fields == {"ciudad": "Bogotá", "columna_7": "x",
                                                   "segmento_cliente": "Oro"}


def test_the_first_mobile_column_is_the_main_phone_whatever_its_position() -> None:
    columns = map_columns(["documento", "telefono", "celular"])

    assert (columns.main_phone, columns.other_phones) == (2, (1,))


def test_a_file_without_a_type_column_assumes_cc_and_says_so() -> None:
    preview = check_csv("52123456,3001234567", header="documento,celular")

    assert preview.valid_rows[0].document_type == "CC"
    assert "se asume CC" in preview.notes[0]


# --- cells -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "code"), [
    ("CC", "CC"), ("c.c.", "CC"), ("Cédula de ciudadanía", "CC"), ("C.E.", "CE"), ("nit", "NIT"),
    ("Pasaporte", "PA"), ("T.I.", "TI"), ("RC", "RC"), ("PEP", "PEP"), ("PPT", "PPT"), ("13", "CC"),
])
def test_document_types_are_read_in_their_usual_spellings(text: str, code: str) -> None:
    assert normalise_document_type(text) == code


@pytest.mark.parametrize(("text", "kind", "number"), [
    ("1.020.304.050", "CC", "1020304050"), ("  52.987.654 ", "CE", "52987654"), ("52 123 456", "CC", "52123456"),
    ("900.123.456-7", "NIT", "9001234567"), ("ab123456", "PA", "AB123456"),
])
def test_document_numbers_lose_dots_spaces_and_dashes(text: str, kind: str, number: str) -> None:
    assert normalise_document_number(text, kind) == number


@pytest.mark.parametrize(("text", "kind", "reason"), [
    ("12AB45", "CC", "tiene letras"), ("123", "CC", "entre 4 y 10"), ("1" * 16, "CC", "16 dígitos"),
    ("1,02E+09", "CC", "notación científica"), ("12#45", "PA", "caracteres no permitidos"), ("", "CC", "Falta"),
])
def test_malformed_document_numbers_are_refused_with_a_reason(text: str, kind: str, reason: str) -> None:
    with pytest.raises(InvalidDocumentError, match=reason):
        normalise_document_number(text, kind)


@pytest.mark.parametrize(("text", "amount"), [
    ("1234567.89", "1234567.89"), ("1234567,89", "1234567.89"), ("1.234.567,89", "1234567.89"),
    ("1,234,567.89", "1234567.89"), ("$ 1.234.567", "1234567"), ("1.500", "1500"), ("0,125", "0.125"),
    ("1234,5", "1234.5"), ("-2.500,50", "-2500.50"), ("(1.000)", "-1000"), ("", None), ("COP 50.000", "50000"),
])
def test_balances_accept_decimal_comma_or_point_and_thousands_separators(text: str, amount: str | None) -> None:
    assert normalise_balance(text) == amount


@pytest.mark.parametrize("text", ["mucho", "1.23.4", "12,34,5", "1.2.3,4.5", "--5"])
def test_balances_that_are_not_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidCellError, match="saldo"):
        normalise_balance(text)


def test_a_cell_can_hold_several_phones() -> None:
    phones = phones_in_cell("300 123 4567 / (+57) 310 765 4321")

    assert [phone.e164 for phone in phones] == ["+573001234567", "+573107654321"]


@pytest.mark.parametrize("text", ["1-800-FLOWERS", "300-FLOWERS ext 12", "ext 12", "300 123 4567 ext 12 llamar tarde"])
def test_letters_in_a_phone_are_refused_not_read_as_a_keypad(text: str) -> None:
    with pytest.raises(InvalidCellError, match="no es un número"):
        phones_in_cell(text)


@pytest.mark.parametrize(("text", "e164", "extension"), [
    ("300 123 4567 ext 12", "+573001234567", "12"),
    ("(+57) 300 123 4567 Ext. 12", "+573001234567", "12"),
    ("3001234567x12", "+573001234567", "12"),
    ("601 234 5678 extensión 104", "+576012345678", "104"),
    ("601 234 5678 #104", "+576012345678", "104"),
    ("+1 202 555 0143 ext 7", "+12025550143", "7"),
])
def test_a_phone_with_an_extension_keeps_its_number_and_drops_the_extension(text: str, e164: str,
                                                                            extension: str) -> None:
    assert phones_in_cell(text) == [Phone(e164, extension)]


def test_a_main_phone_with_an_extension_leaves_the_row_valid_with_a_warning() -> None:
    preview = check_csv("CC,52123456,Ana,Peña,300 123 4567 ext 12,601 234 5678 ext. 104,,Cali,100,3")

    assert preview.valid_rows[0].phones == ("+573001234567", "+576012345678")
    assert problems_of(preview, 1) == [
        ("celular", "Se quitó la extensión 12 del teléfono «300 123 4567 ext 12»: WhatsApp y SMS no marcan "
                    "extensiones", "warning"),
        ("telefono2", "Se quitó la extensión 104 del teléfono «601 234 5678 ext. 104»: WhatsApp y SMS no "
                      "marcan extensiones", "warning")]


def test_an_email_that_does_not_look_like_one_is_dropped_with_a_warning() -> None:
    preview = check_csv("CC,52123456,Ana,Peña,3001234567,,ana@@correo,Cali,100,3")

    assert preview.valid_rows[0].email is None
    assert problems_of(preview, 1) == [("correo", "El correo «ana@@correo» no parece válido; se omite", "warning")]


def test_days_past_due_must_be_a_whole_number() -> None:
    preview = check_csv("CC,52123456,Ana,Peña,3001234567,,,Cali,100,muchos")

    assert preview.valid_count == 0
    assert "días de mora" in preview.errors()[0].reason


# --- phones: the fast path gives phonenumbers' answer -----------------------------------------

USUAL_SPELLINGS = ["3001234567", "300 123 4567", "(+57) 3001234567", "57-300-123-4567", "+573001234567",
                   "+57 300 123 4567", " 300.123.4567 "]


@pytest.mark.parametrize("text", USUAL_SPELLINGS)
def test_the_usual_colombian_spellings_take_the_fast_path(text: str) -> None:
    assert colombian_national_number(text) == "3001234567"
    assert to_e164(text) == "+573001234567"


@st.composite
def phone_like_texts(draw: st.DrawFn) -> str:
    digits = draw(st.one_of(st.from_regex(r"3[0-9]{9}", fullmatch=True), st.from_regex(r"60[0-9]{8}", fullmatch=True),
                            st.text("0123456789", min_size=1, max_size=13)))
    cuts = sorted(draw(st.lists(st.integers(0, len(digits)), max_size=4)))
    separators = st.sampled_from(["", " ", "-", ".", "  ", "(", ")", "/", "\t", "\u00a0", "+"])
    pieces, start = [], 0
    for cut in cuts:
        pieces += [digits[start:cut], draw(separators)]
        start = cut
    prefix = draw(st.one_of(
        st.sampled_from(["", "57", "+57", "(+57)", "(57)", "+57)", "(+57", "0057", "057", "+ 57", "57 ", "+57 ",
                         "+1 ", "+7 ", "+5", "7", "00", "0", "+", "03"]),
        st.from_regex(r"(\+|00)?\(?[0-9]{1,3}\)?[ .-]?", fullmatch=True)))
    padding = st.sampled_from(["", " ", "  ", "\t"])
    return draw(padding) + prefix + "".join(pieces) + digits[start:] + draw(padding)


@settings(max_examples=600, deadline=None)
@given(st.one_of(phone_like_texts(), st.text(max_size=20)))
def test_phone_normalisation_always_gives_phonenumbers_answer(text: str) -> None:
    assert to_e164(text) == e164_by_phonenumbers(text)


# --- what the preview hands over -------------------------------------------------------------


def test_the_error_report_is_a_csv_for_excel_in_spanish() -> None:
    report = check_fixture("cartera_con_errores.csv").error_report_csv()

    assert report.startswith("\ufeff".encode())
    lines = report.decode("utf-8-sig").splitlines()
    assert lines[0] == "fila;columna;gravedad;motivo"
    assert lines[1] == "4;documento;error;Falta el número de documento"
    assert "23;celular;advertencia;Sin teléfono principal" in report.decode("utf-8-sig")


def test_the_error_report_cannot_carry_a_formula_into_excel() -> None:
    preview = check_csv("CC,52123456,Ana,Peña,3001234567,,,Cali,100,3", header=HEADER.replace("saldo", "=saldo"))
    preview_with_problem = check_csv("CC,52123456,Ana,Peña,12,,,Cali,100,3",
                                     header=HEADER.replace("celular", "=celular"))

    assert preview.problems == []
    assert ";'=celular;" in preview_with_problem.error_report_csv().decode("utf-8-sig")


cells = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["", "CC", "XX", "52.123.456", "12AB45", "3001234567", "12345", "+57 300 123 4567",
                     "=1+1", "mucho", "1.234,5", "a@b.co", "línea\nnueva", '"', ";"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(cells, min_size=1, max_size=12), min_size=1, max_size=25))
def test_the_error_report_has_one_line_per_problem(rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([HEADER.split(","), *rows])
    try:
        preview = check(buffer.getvalue().encode(), "azar.csv")
    except PortfolioFileError:
        return  # every row blank, or a control character: refused as a whole, nothing to report

    lines = preview.error_report_csv().decode("utf-8-sig").split("\r\n")
    assert lines[-1] == ""
    assert len(lines) - 2 == len(preview.problems)


def test_the_summary_is_json_with_counts_and_the_first_errors() -> None:
    summary = check_fixture("cartera_con_errores.csv").summary(limit=3)

    decoded = json.loads(json.dumps(summary))
    assert {key: decoded[key] for key in ("total", "valid", "invalid", "duplicates", "warnings")} == {
        "total": 40, "valid": 30, "invalid": 10, "duplicates": 2, "warnings": 1}
    assert decoded["errors_total"] == 10
    assert decoded["errors"][0] == {"row": 4, "column": "documento", "reason": "Falta el número de documento"}
    assert len(decoded["errors"]) == 3


def test_valid_rows_turn_into_json_for_the_import_events() -> None:
    row = check_fixture("cartera_banco_a.csv").valid_rows[0]

    assert json.loads(json.dumps(row.to_dict()))["phones"] == ["+573517714997"]

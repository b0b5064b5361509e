"""Canned replies filled for a customer: their portfolio values in, money and dates as Colombians write them, and
a variable their row lacks kept visible and named, so it is never sent as written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.portfolio_values import money, reply_variables
from domain.canned_replies import CannedReply, CannedReplyError, check_no_variables_left, fill

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
MARIA = {"full_name": "María Pérez Gómez", "document_type": "CC", "document_number": "1020304050",
         "phones": ["3001112233"], "email": "", "balance": "1250000.50",
         "custom_fields": {"dias_mora": "45", "fecha_de_vencimiento": "2026-11-30", "valor_cuota": "180000"}}
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


def test_a_reply_is_filled_with_the_customers_name_balance_in_pesos_and_dates_in_spanish() -> None:
    filled = fill("Hola {primer_nombre}: su saldo es {saldo}, la cuota de {valor_cuota} vence el "
                  "{fecha_de_vencimiento} ({dias_mora} días de mora).", reply_variables(MARIA))

    assert filled.text == ("Hola María: su saldo es $ 1.250.000,50, la cuota de $ 180.000 vence el "
                           "30 de noviembre de 2026 (45 días de mora).")
    assert filled.missing == ()


def test_a_variable_the_customers_row_lacks_is_kept_and_named_and_the_message_is_refused() -> None:
    filled = fill("{nombre}, escríbanos antes del {fecha_limite}. Correo: {correo}", reply_variables(MARIA))

    assert filled.text == "María Pérez Gómez, escríbanos antes del {fecha_limite}. Correo: {correo}"
    assert filled.missing == ("fecha_limite", "correo")
    with pytest.raises(CannedReplyError, match=r"\{correo\}, \{fecha_limite\}"):
        check_no_variables_left(filled.text)


def test_a_customer_not_in_the_portfolio_leaves_every_variable_to_the_agent() -> None:
    assert fill("Hola {nombre}", reply_variables(None)).missing == ("nombre",)


@pytest.mark.parametrize(("amount", "shown"), [("1250000", "$ 1.250.000"), ("44000.5", "$ 44.000,50"),
                                                ("0", "$ 0"), ("-1500", "-$ 1.500"), ("sin dato", "sin dato")])
def test_money_reads_as_colombian_pesos(amount: str, shown: str) -> None:
    assert money(amount, "es_CO") == shown


def test_dates_in_a_portfolio_read_as_spoken_dates_whichever_way_the_file_wrote_them() -> None:
    variables = reply_variables({"custom_fields": {"fecha": "2026-01-05", "otra_fecha": "05/01/2026",
                                                   "ciudad": "Bogotá "}})
    assert variables["fecha"] == variables["otra_fecha"] == "5 de enero de 2026"
    assert variables["ciudad"] == "Bogotá"


@given(st.dictionaries(NAMES, st.text(min_size=1, max_size=20).filter(lambda v: "{" not in v)),
       st.lists(NAMES, max_size=6))
def test_every_variable_is_either_filled_or_named_missing_never_both(values: dict[str, str],
                                                                    names: list[str]) -> None:
    text = " ".join("{" + name + "}" for name in names)
    filled = fill(text, values)

    assert set(filled.missing) == {name for name in names if name not in values}
    for name in names:
        assert ("{" + name + "}" in filled.text) == (name in filled.missing)


def test_a_canned_reply_needs_a_name_and_a_text_and_a_deleted_one_changes_no_more() -> None:
    with pytest.raises(CannedReplyError):
        CannedReply.write("c-1", "  ", "Hola", actor="t", at=NOW)
    reply = CannedReply.write("c-1", " Saludo  inicial ", "Hola {nombre}", actor="t", at=NOW)
    assert reply.title == "Saludo inicial"
    reply.delete(actor="t", at=NOW)
    with pytest.raises(CannedReplyError):
        reply.edit("Saludo", "Hola", actor="t", at=NOW)

"""The portfolio panel's values: pesos as Colombians write them, dates in the reader's language, and each extra
field under the header the file gave it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.portfolio_values import field_label, field_value, money


@pytest.mark.parametrize(("stored", "shown"), [
    ("1234567", "$ 1.234.567"),
    ("1250000.50", "$ 1.250.000,50"),
    ("-44000", "-$ 44.000"),
    ("0", "$ 0"),
    ("no sabe", "no sabe"),
])
def test_money_is_in_colombian_pesos(stored: str, shown: str) -> None:
    assert money(stored, "es_CO") == shown


@given(st.integers(min_value=0, max_value=10**12))
def test_whole_pesos_read_back_as_the_same_amount(amount: int) -> None:
    shown = money(str(amount), "es_CO")
    assert shown.startswith("$ ") and "," not in shown
    assert Decimal(shown.removeprefix("$ ").replace(".", "")) == amount


@pytest.mark.parametrize(("key", "stored", "lang", "shown"), [
    ("fecha_de_vencimiento", "2026-03-15", "es_CO", "15 mar 2026"),
    ("fecha_de_vencimiento", "15/03/2026", "es_CO", "15 mar 2026"),
    ("fecha_pago", "2026-03-15 00:00:00", "en_US", "15 Mar 2026"),
    ("valor_cuota", "150000", "es_CO", "$ 150.000"),
    ("dias_mora", "45", "es_CO", "45"),
    ("producto", "Tarjeta Oro", "es_CO", "Tarjeta Oro"),
    ("fecha", "31/02/2026", "es_CO", "31/02/2026"),
])
def test_custom_fields_show_dates_and_amounts_formatted(key: str, stored: str, lang: str, shown: str) -> None:
    assert field_value(key, stored, lang) == shown


def test_a_field_is_named_by_the_files_header_and_readably_without_one() -> None:
    labels = {"fecha_de_vencimiento": "Fecha de vencimiento"}

    assert field_label("fecha_de_vencimiento", labels) == "Fecha de vencimiento"
    assert field_label("numero_de_obligacion", labels) == "Numero de obligacion"
    assert field_label("producto", None) == "Producto"

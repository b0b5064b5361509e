"""A customer's portfolio data as people read it: money in pesos and dates in the reader's locale, each extra field
under the header the file gave it (the desk's portfolio panel), and the values a canned reply puts in a message to
the customer (always Colombian Spanish: `$ 1.250.000`, `30 de noviembre de 2026`).

Values are stored as the import normalised them (`1250000`, `2026-01-15`), keys as folded headers
(`fecha_de_vencimiento`); this is how they are written for a reader, in one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency

from domain.text import fold

CURRENCY = "COP"
MONEY_PATTERNS = ("¤ #,##0", "¤ #,##0.00")
"""Whole pesos without decimals, cents when there are some."""
DATE_PATTERN = "d MMM y"
SPOKEN_DATE = "long"
"""How a message to a customer writes a date: `30 de noviembre de 2026`."""
CUSTOMER_LOCALE = "es_CO"
NAME_ALIASES = ("nombre", "nombres", "nombre_completo", "cliente")
"""Variables a canned reply may use for the customer's full name."""
PLAIN_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?")
DAY_FIRST_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
MONEY_WORDS = ("saldo", "valor", "monto", "cuota", "deuda", "pago", "capital", "interes", "total", "precio",
               "abono", "mora_valor", "importe")
"""Words in a custom field's header that say its number is an amount of money."""


def money(value: str | None, locale: str) -> str:
    """`1250000` → `$ 1.250.000` in es_CO; a value that is not a plain amount is shown as it is."""
    amount = _amount(value or "")
    if amount is None:
        return value or ""
    pattern = MONEY_PATTERNS[amount != amount.to_integral_value()]
    return str(format_currency(amount, CURRENCY, format=pattern, locale=locale, currency_digits=False))


def field_value(key: str, value: str, locale: str, date_format: str = DATE_PATTERN) -> str:
    """A custom field's value: a date formatted, an amount in pesos when its header names money, else as it is."""
    day = _date(value)
    if day is not None:
        return str(format_date(day, date_format, locale=locale))
    if _names_money(key) and _amount(value) is not None:
        return money(value, locale)
    return value


def reply_variables(row: Mapping[str, Any] | None) -> dict[str, str]:
    """The variables a customer's portfolio row gives a canned reply (`{nombre}`, `{saldo}`, every column), written
    for the customer."""
    if row is None:
        return {}
    found: dict[str, str] = {name: str(row.get("full_name") or "") for name in NAME_ALIASES}
    found["primer_nombre"] = found["nombre"].split(" ")[0] if found["nombre"] else ""
    found["documento"] = str(row.get("document_number") or "")
    found["tipo_documento"] = str(row.get("document_type") or "")
    found["correo"] = str(row.get("email") or "")
    found["telefono"] = str((row.get("phones") or [""])[0])
    found["saldo"] = money(str(row.get("balance") or ""), CUSTOMER_LOCALE)
    for key, value in (row.get("custom_fields") or {}).items():
        found[str(key)] = field_value(str(key), str(value or "").strip(), CUSTOMER_LOCALE, SPOKEN_DATE)
    return found


def field_label(key: str, labels: Mapping[str, str] | None) -> str:
    """The header the file gave a custom field; imports from before headers were kept show the key readably."""
    if labels and labels.get(key):
        return labels[key]
    return key.replace("_", " ").capitalize()


def _amount(text: str) -> Decimal | None:
    if not PLAIN_AMOUNT.fullmatch(text.strip()):
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


def _date(text: str) -> date | None:
    text = text.strip()
    try:
        if match := ISO_DATE.fullmatch(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := DAY_FIRST_DATE.fullmatch(text):  # Colombian files write day/month/year
            return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None
    return None


def _names_money(key: str) -> bool:
    folded = fold(key).replace(" ", "_")
    return any(word in folded for word in MONEY_WORDS)


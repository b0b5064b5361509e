"""Balances, emails and days past due as a portfolio file writes them, normalised."""

from __future__ import annotations

import re

from application.portfolio_check.problems import InvalidCellError
from domain.text import quoted

PLAIN_AMOUNT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]{1,2}|\.[0-9]{4,})?", re.ASCII)
_AMOUNT = re.compile(r"(-?)([0-9][0-9.,]*)", re.ASCII)
_AMOUNT_NOISE = str.maketrans("", "", "$ \u00a0\u202f")
EMAIL_SHAPE = re.compile(r"[^@\s,;<>()\[\]]+@[^@\s,;<>()\[\]]+\.[^@\s,;<>()\[\].]{2,}")


def normalise_balance(text: str) -> str | None:
    """"$ 1.234.567,89", "1,234,567.89", "1234567,89" → "1234567.89"; "1.500" is one thousand five hundred."""
    text = text.strip()
    if not text:
        return None
    if PLAIN_AMOUNT.fullmatch(text):
        return text
    cleaned = text.translate(_AMOUNT_NOISE).upper().removeprefix("COP").removesuffix("COP")
    if cleaned.startswith("(") and cleaned.endswith(")"):
        cleaned = f"-{cleaned[1:-1]}"
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise InvalidCellError(f"El saldo {quoted(text)} no es un número")
    sign, digits = match.groups()
    integer, fraction = _split_amount(digits, text)
    return f"{sign}{int(integer)}" + (f".{fraction}" if fraction else "")


def _split_amount(digits: str, original: str) -> tuple[str, str]:
    """Integer and fraction digits, once the thousands separators are checked and removed."""
    decimal = _decimal_separator(digits)
    integer, _, fraction = digits.rpartition(decimal) if decimal else (digits, "", "")
    thousands = {".": ",", ",": "."}.get(decimal) or ("." if "." in integer else ",")
    groups = integer.split(thousands)
    well_grouped = len(groups) == 1 or (len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:]))
    if not (all(group.isdigit() for group in groups) and well_grouped and (fraction.isdigit() or not fraction)):
        raise InvalidCellError(f"El saldo {quoted(original)} tiene los separadores de miles o decimales mal puestos")
    return "".join(groups), fraction


def _decimal_separator(digits: str) -> str:
    """The last of "." and "," when both appear; a lone one is decimal unless it groups thousands."""
    last_dot, last_comma = digits.rfind("."), digits.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        return "." if last_dot > last_comma else ","
    if last_dot < 0 and last_comma < 0:
        return ""
    separator = "." if last_dot >= 0 else ","
    integer, _, fraction = digits.rpartition(separator)
    groups_thousands = digits.count(separator) > 1 or (
        len(fraction) == 3 and 1 <= len(integer) <= 3 and not integer.startswith("0"))
    return "" if groups_thousands else separator


def normalise_email(text: str) -> str | None:
    if EMAIL_SHAPE.fullmatch(text):
        return text
    text = text.strip()
    if not text:
        return None
    if not EMAIL_SHAPE.fullmatch(text):
        raise InvalidCellError(f"El correo {quoted(text)} no parece válido; se omite")
    return text


def normalise_days(text: str) -> str | None:
    """Days past due as a whole number without leading zeros ("12,0" → "12")."""
    if not (text.isdigit() and text.isascii()):
        text = text.strip()
        if not text:
            return None
        match = _WHOLE_NUMBER.fullmatch(text)
        if match is None:
            raise InvalidCellError(f"Los días de mora {quoted(text)} deben ser un número entero")
        text = match[1]
    return text.lstrip("0") or "0"


_WHOLE_NUMBER = re.compile(r"([0-9]+)(?:[.,]0+)?", re.ASCII)

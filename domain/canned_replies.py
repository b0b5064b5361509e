"""Canned replies (respuestas rápidas): texts an admin keeps per campaign, which agents insert by typing "/".

A reply's text may name columns of the customer's portfolio row in braces: `{nombre}`, `{saldo}`, or any
column of the file (`{fecha_de_vencimiento}`). Filling a reply for a customer puts their values in,
money in pesos and dates as Colombians write them; a variable the customer's row lacks stays visible to
the agent and is reported missing, and an agent's message still holding one is refused, so a customer
never receives a literal `{saldo}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, require_aware

MAX_TITLE = 80
MAX_TEXT = 1600
"""An agent's reply holds up to 1,600 characters; a canned one filled in must fit too."""
VARIABLE = re.compile(r"\{([a-z0-9_áéíóúñü]+)\}")
MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre")
MONEY_WORDS = ("saldo", "valor", "monto", "cuota", "pago", "deuda", "capital", "interes")
NAME_ALIASES = ("nombre", "nombres", "nombre_completo", "cliente")


class CannedReplyError(DomainError):
    pass


class CannedReply(Aggregate):
    @event("Created")
    def __init__(self, campaign_id: str, title: str, text: str, actor: str, at: datetime) -> None:
        self.campaign_id = campaign_id
        self.title = title
        self.text = text
        self.deleted = False

    @classmethod
    def write(cls, campaign_id: str, title: str, text: str, *, actor: str, at: datetime) -> CannedReply:
        title, text = _checked(title, text)
        return cls(campaign_id=campaign_id, title=title, text=text, actor=actor, at=require_aware(at))

    def edit(self, title: str, text: str, *, actor: str, at: datetime) -> None:
        self._check_not_deleted()
        title, text = _checked(title, text)
        self._edited(title=title, text=text, actor=actor, at=require_aware(at))

    @event("Edited")
    def _edited(self, title: str, text: str, actor: str, at: datetime) -> None:
        self.title = title
        self.text = text

    def delete(self, *, actor: str, at: datetime) -> None:
        self._check_not_deleted()
        self._deleted(actor=actor, at=require_aware(at))

    @event("Deleted")
    def _deleted(self, actor: str, at: datetime) -> None:
        self.deleted = True

    def _check_not_deleted(self) -> None:
        if self.deleted:
            raise CannedReplyError("Esa respuesta rápida ya fue eliminada")


def _checked(title: str, text: str) -> tuple[str, str]:
    title, text = " ".join(title.split()), text.strip()
    if not title or not text:
        raise CannedReplyError("La respuesta rápida necesita un nombre y un texto")
    if len(title) > MAX_TITLE:
        raise CannedReplyError("El nombre de la respuesta rápida admite hasta %(most)s caracteres", most=MAX_TITLE)
    if len(text) > MAX_TEXT:
        raise CannedReplyError("El texto de la respuesta rápida admite hasta %(most)s caracteres", most=MAX_TEXT)
    return title, text


@dataclass(frozen=True)
class FilledReply:
    text: str
    missing: tuple[str, ...]
    """Variables the customer's row has no value for, left in the text as written (`{saldo}`)."""


def fill(text: str, values: Mapping[str, str]) -> FilledReply:
    missing: list[str] = []

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if values.get(name):
            return values[name]
        if name not in missing:
            missing.append(name)
        return match.group(0)

    return FilledReply(VARIABLE.sub(value_of, text), tuple(missing))


def check_no_variables_left(text: str) -> None:
    """An agent's message never goes out holding a variable nobody filled in."""
    left = sorted({match.group(1) for match in VARIABLE.finditer(text)})
    if left:
        raise CannedReplyError("Complete o quite los datos que faltan antes de enviar: %(names)s",
                               names=", ".join("{" + name + "}" for name in left))


def portfolio_variables(row: Mapping[str, Any] | None) -> dict[str, str]:
    """The variables a customer's portfolio row gives, formatted for Colombia (es_CO)."""
    if row is None:
        return {}
    found: dict[str, str] = {name: str(row.get("full_name") or "") for name in NAME_ALIASES}
    found["primer_nombre"] = found["nombre"].split(" ")[0] if found["nombre"] else ""
    found["documento"] = str(row.get("document_number") or "")
    found["tipo_documento"] = str(row.get("document_type") or "")
    found["correo"] = str(row.get("email") or "")
    found["telefono"] = str((row.get("phones") or [""])[0])
    found["saldo"] = pesos(str(row.get("balance") or ""))
    for key, value in (row.get("custom_fields") or {}).items():
        found[str(key)] = formatted_cell(str(key), str(value or ""))
    return found


def formatted_cell(key: str, value: str) -> str:
    """A date as `30 de noviembre de 2026`, an amount in a money column as pesos, anything else as written."""
    as_date = _date(value)
    if as_date is not None:
        return f"{as_date.day} de {MONTHS[as_date.month - 1]} de {as_date.year}"
    if any(word in key for word in MONEY_WORDS):
        return pesos(value)
    return value.strip()


def pesos(amount: str) -> str:
    """`1250000` → `$ 1.250.000`; cents when there are any (`$ 44.000,50`); text that is no amount, as written."""
    try:
        number = Decimal(amount.strip())
    except InvalidOperation:
        return amount.strip()
    if not number.is_finite():
        return amount.strip()
    whole = f"{abs(number):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    whole = whole.removesuffix(",00")
    return f"{'-' if number < 0 else ''}$ {whole}"


def _date(value: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value.strip()[:10], pattern).date()
        except ValueError:
            continue
    return None

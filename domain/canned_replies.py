"""Canned replies (respuestas rápidas): texts an admin keeps per campaign, which agents insert by typing "/".

A reply's text may name columns of the customer's portfolio row in braces: `{nombre}`, `{saldo}`, or any
column of the file (`{fecha_de_vencimiento}`). Filling a reply for a customer puts their values in
(application/portfolio_values.py writes them: money in pesos, dates as Colombians say them); a variable
the customer's row lacks stays visible to the agent and is reported missing, and an agent's message still
holding one is refused, so a customer never receives a literal `{saldo}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, require_aware

MAX_TITLE = 80
MAX_TEXT = 1600
"""An agent's reply holds up to 1,600 characters; a canned one filled in must fit too."""
VARIABLE = re.compile(r"\{([a-z0-9_áéíóúñü]+)\}")


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

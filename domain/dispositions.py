"""Dispositions (tipificaciones): the outcome an agent records when closing a chat.

A disposition is a stable code, recorded on the closed chat and counted by the data team, and the
label people read ("Información entregada"). Each campaign lists its own. Campaigns saved before
labels existed list bare codes: a bare code reads as itself, named by its default label when it
is one of the defaults, so old events and old closes stay readable.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.common import DomainError

MAX_LENGTH = 60
"""Codes and labels both fit the chat's `disposition` column and the close form."""
_CODE_LIKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


class DispositionError(DomainError):
    pass


@dataclass(frozen=True)
class Disposition:
    code: str
    label: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "label": self.label}


DEFAULT_DISPOSITIONS = (
    Disposition("acuerdo_de_pago", "Acuerdo de pago"),
    Disposition("promesa_de_pago", "Promesa de pago"),
    Disposition("no_interesado", "No interesado"),
    Disposition("informacion_entregada", "Información entregada"),
    Disposition("numero_equivocado", "Número equivocado"),
)
_DEFAULT_LABELS = {d.code: d.label for d in DEFAULT_DISPOSITIONS}


def stored_disposition(value: str | Mapping[str, Any]) -> Disposition:
    """A disposition as events and read tables hold it: `{"code", "label"}`, or an older bare code."""
    if isinstance(value, str):
        return Disposition(value, _DEFAULT_LABELS.get(value) or _readable(value))
    code = str(value.get("code", ""))
    return Disposition(code, str(value.get("label") or _readable(code)))


def typed_dispositions(lines: Iterable[str], existing: Iterable[Disposition] = DEFAULT_DISPOSITIONS,
                       ) -> tuple[Disposition, ...]:
    """What an admin typed, one label per line. A line naming one the campaign already has (by label or code)
    keeps that code, so editing a campaign never changes the codes already counted; a new one gets a code
    made from its label ("Pago total" → pago_total)."""
    known = {key: d for d in (*DEFAULT_DISPOSITIONS, *existing) for key in (d.code, code_for(d.label))}
    typed = []
    for line in lines:
        text = " ".join(line.split())
        if not text:
            continue
        found = known.get(text) or known.get(code_for(text))
        if found is not None:
            typed.append(Disposition(found.code, found.label if text == found.code else text))
        elif _CODE_LIKE.match(text):
            typed.append(Disposition(text, _readable(text)))
        else:
            typed.append(Disposition(code_for(text), text))
    return tuple(typed)


def check_dispositions(dispositions: Iterable[Disposition]) -> None:
    codes: set[str] = set()
    for disposition in dispositions:
        if not disposition.code or not disposition.label.strip():
            raise DispositionError("Cada tipificación necesita un nombre con letras o números")
        if len(disposition.code) > MAX_LENGTH or len(disposition.label) > MAX_LENGTH:
            raise DispositionError("Una tipificación admite hasta 60 caracteres: «%(label)s»",
                                   label=disposition.label[:MAX_LENGTH])
        if disposition.code in codes:
            raise DispositionError("La tipificación «%(label)s» está repetida", label=disposition.label)
        codes.add(disposition.code)
    if not codes:
        raise DispositionError("La campaña necesita al menos una tipificación")


def disposition_label(code: str, dispositions: Iterable[Disposition]) -> str:
    """The label of a code recorded on a closed chat: the campaign's, else the default, else the code made readable
    (a disposition the campaign no longer offers)."""
    return next((d.label for d in dispositions if d.code == code), None) or stored_disposition(code).label


def code_for(label: str) -> str:
    """`Información entregada` → `informacion_entregada`: lowercase ASCII words joined by `_`."""
    without_accents = "".join(c for c in unicodedata.normalize("NFKD", label) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "_", without_accents.lower()).strip("_")[:MAX_LENGTH]


def _readable(code: str) -> str:
    """A bare code shown to people: `pago_total` → `Pago total`; anything else as it was written."""
    return code.replace("_", " ").capitalize() if _CODE_LIKE.match(code) else code

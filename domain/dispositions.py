"""Dispositions (tipificaciones): the outcome an agent records when closing a chat.

A disposition is a stable code, recorded on the closed chat and counted by the data team, the
label people read ("Información entregada"), and whether it is effective (the campaign's goal was
met, for the effective close ratio). Each campaign lists its own. Campaigns saved before
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


EFFECTIVE_MARK = "*"
"""Typed at the end of a line ("Acuerdo de pago *"), it marks the disposition effective."""


@dataclass(frozen=True)
class Disposition:
    """`effective`: the close achieved what the campaign is after (a payment agreed or promised), counted by the
    effective close ratio."""

    code: str
    label: str
    effective: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "effective": self.effective}

    def as_typed(self) -> str:
        """The line an admin reads and types back for it."""
        return f"{self.label} {EFFECTIVE_MARK}" if self.effective else self.label


DEFAULT_DISPOSITIONS = (
    Disposition("acuerdo_de_pago", "Acuerdo de pago", effective=True),
    Disposition("promesa_de_pago", "Promesa de pago", effective=True),
    Disposition("no_interesado", "No interesado"),
    Disposition("informacion_entregada", "Información entregada"),
    Disposition("numero_equivocado", "Número equivocado"),
)
_DEFAULTS = {d.code: d for d in DEFAULT_DISPOSITIONS}


def stored_disposition(value: str | Mapping[str, Any]) -> Disposition:
    """A disposition as events and read tables hold it: `{"code", "label", "effective"}`, or an older form
    (`{"code", "label"}`, or a bare code) that did not say, read as effective only for the default effective
    codes."""
    if isinstance(value, str):
        default = _DEFAULTS.get(value)
        return Disposition(value, default.label if default else _readable(value), _effective_by_default(value))
    code = str(value.get("code", ""))
    effective = value.get("effective")
    return Disposition(code, str(value.get("label") or _readable(code)),
                       _effective_by_default(code) if effective is None else bool(effective))


def typed_dispositions(lines: Iterable[str], existing: Iterable[Disposition] = DEFAULT_DISPOSITIONS,
                       ) -> tuple[Disposition, ...]:
    """What an admin typed, one label per line, ending in `*` when the disposition is effective. A line naming
    one the campaign already has (by label or code) keeps that code, so editing a campaign never changes the
    codes already counted; a new one gets a code made from its label ("Pago total" → pago_total)."""
    known = {key: d for d in (*DEFAULT_DISPOSITIONS, *existing) for key in (d.code, code_for(d.label))}
    typed = []
    for line in lines:
        text = " ".join(line.split())
        effective = text.endswith(EFFECTIVE_MARK)
        text = text.removesuffix(EFFECTIVE_MARK).rstrip()
        if not text:
            continue
        found = known.get(text) or known.get(code_for(text))
        if found is not None:
            typed.append(Disposition(found.code, found.label if text == found.code else text, effective))
        elif _CODE_LIKE.match(text):
            typed.append(Disposition(text, _readable(text), effective))
        else:
            typed.append(Disposition(code_for(text), text, effective))
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


def _effective_by_default(code: str) -> bool:
    default = _DEFAULTS.get(code)
    return default is not None and default.effective


def code_for(label: str) -> str:
    """`Información entregada` → `informacion_entregada`: lowercase ASCII words joined by `_`."""
    without_accents = "".join(c for c in unicodedata.normalize("NFKD", label) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "_", without_accents.lower()).strip("_")[:MAX_LENGTH]


def _readable(code: str) -> str:
    """A bare code shown to people: `pago_total` → `Pago total`; anything else as it was written."""
    return code.replace("_", " ").capitalize() if _CODE_LIKE.match(code) else code

"""Colombian identity documents: the types a customer may hold, how their numbers are written, and
the customer's identity key (type + normalised number).

The portfolio import, the read tables and the bot all go through `CustomerIdentity`, so a
document is the same key wherever it is written: `CC 1.020.304.050` in a file and `1020304050`
typed after choosing "Cédula de ciudadanía" meet, and a CE number never finds a CC customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple, NoReturn

from domain.common import DomainError
from domain.text import fold, quoted


class InvalidDocumentError(DomainError, ValueError):
    """A document type or number cannot be used; the message (Spanish) says why."""


@dataclass(frozen=True)
class DocumentRule:
    digits_only: bool
    min_length: int
    max_length: int


DOCUMENT_RULES = {
    "CC": DocumentRule(digits_only=True, min_length=4, max_length=10),   # cédula de ciudadanía
    "CE": DocumentRule(digits_only=False, min_length=3, max_length=12),  # cédula de extranjería
    "NIT": DocumentRule(digits_only=True, min_length=5, max_length=11),  # with or without check digit
    "TI": DocumentRule(digits_only=True, min_length=6, max_length=11),   # tarjeta de identidad
    "RC": DocumentRule(digits_only=False, min_length=6, max_length=15),  # registro civil
    "PA": DocumentRule(digits_only=False, min_length=4, max_length=16),  # pasaporte
    "PEP": DocumentRule(digits_only=False, min_length=5, max_length=20),  # permiso especial de permanencia
    "PPT": DocumentRule(digits_only=False, min_length=4, max_length=20),  # permiso por protección temporal
}
DOCUMENT_TYPE_LABELS = {
    "CC": "Cédula de ciudadanía", "CE": "Cédula de extranjería", "NIT": "NIT", "TI": "Tarjeta de identidad",
    "RC": "Registro civil", "PA": "Pasaporte", "PEP": "Permiso especial de permanencia",
    "PPT": "Permiso por protección temporal",
}
DEFAULT_DOCUMENT_TYPE = "CC"
"""What a portfolio without a type column, or a bot flow that never asks, means."""
_TYPE_ALIASES = {
    "CEDULA": "CC", "CEDULADECIUDADANIA": "CC", "CEDULACIUDADANIA": "CC", "CIUDADANIA": "CC",
    "CEDULADEEXTRANJERIA": "CE", "CEDULAEXTRANJERIA": "CE", "EXTRANJERIA": "CE",
    "TARJETADEIDENTIDAD": "TI", "TARJETAIDENTIDAD": "TI", "REGISTROCIVIL": "RC",
    "REGISTROCIVILDENACIMIENTO": "RC", "PASAPORTE": "PA", "PAS": "PA", "PP": "PA",
    "PERMISOESPECIALDEPERMANENCIA": "PEP", "PERMISOPORPROTECCIONTEMPORAL": "PPT",
    "PERMISODEPROTECCIONTEMPORAL": "PPT",
    # DIAN's numeric codes, as accounting systems export them
    "11": "RC", "12": "TI", "13": "CC", "22": "CE", "31": "NIT", "41": "PA", "47": "PEP", "48": "PPT",
}
_DOCUMENT_SEPARATORS = str.maketrans("", "", ".,-_' \t\u00a0\u202f")
_SCIENTIFIC = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE]\+?[0-9]+")


@lru_cache(maxsize=256)
def normalise_document_type(text: str) -> str:
    """"c.c." → "CC", "Cédula de extranjería" → "CE"; unknown types raise InvalidDocumentError."""
    compact = fold(text).replace(" ", "").upper()
    code = compact if compact in DOCUMENT_RULES else _TYPE_ALIASES.get(compact)
    if code is None:
        *first, last = DOCUMENT_RULES
        raise InvalidDocumentError("Tipo de documento desconocido %(written)s; use %(types)s o %(last)s",
                                   written=quoted(text), types=", ".join(first), last=last)
    return code


def normalise_document_number(text: str, document_type: str | None = None) -> str:
    """Without dots, spaces or dashes, upper case; checked against the type's rule when given."""
    number = text if text.isdigit() and text.isascii() else _cleaned_document_number(text)
    rule = DOCUMENT_RULES.get(document_type or "")
    if rule is None:
        return number
    if rule.digits_only and not number.isdigit():
        raise InvalidDocumentError("El documento %(written)s tiene letras; un documento %(document_type)s solo lleva "
                                   "números", written=quoted(text), document_type=document_type)
    if not rule.min_length <= len(number) <= rule.max_length:
        _refuse_length(quoted(text), len(number), document_type or "", rule)
    return number


def _refuse_length(written: str, length: int, document_type: str, rule: DocumentRule) -> NoReturn:
    """Digits or characters: one message each, so the unit is translated with the sentence."""
    if rule.digits_only:
        raise InvalidDocumentError(
            "El documento %(written)s tiene %(length)s dígitos; un documento %(document_type)s tiene entre "
            "%(min_length)s y %(max_length)s", written=written, length=length, document_type=document_type,
            min_length=rule.min_length, max_length=rule.max_length)
    raise InvalidDocumentError(
        "El documento %(written)s tiene %(length)s caracteres; un documento %(document_type)s tiene entre "
        "%(min_length)s y %(max_length)s", written=written, length=length, document_type=document_type,
        min_length=rule.min_length, max_length=rule.max_length)


def _cleaned_document_number(text: str) -> str:
    number = text.translate(_DOCUMENT_SEPARATORS).upper()
    if not number:
        raise InvalidDocumentError("Falta el número de documento")
    if _SCIENTIFIC.fullmatch(text.strip()):
        raise InvalidDocumentError("El documento %(written)s está en notación científica y Excel le quitó dígitos; dé "
                                   "a la columna formato de texto y exporte de nuevo", written=quoted(text))
    if not (number.isascii() and number.isalnum()):
        raise InvalidDocumentError("El documento %(written)s tiene caracteres no permitidos", written=quoted(text))
    return number


class CustomerIdentity(NamedTuple):
    """Who a customer is within a campaign's portfolio: the document type and its number, normalised.
    A NamedTuple because the import keys every row of a big file by it."""

    document_type: str
    document_number: str

    @classmethod
    def of(cls, document_type: str, document_number: str) -> CustomerIdentity:
        """From what a person wrote: a type in any usual spelling (none means CC) and a number with
        or without separators; raise InvalidDocumentError when either is unusable."""
        code = normalise_document_type(document_type) if document_type.strip() else DEFAULT_DOCUMENT_TYPE
        return cls(code, normalise_document_number(document_number, code))

    @property
    def type_label(self) -> str:
        return DOCUMENT_TYPE_LABELS[self.document_type]

    def __str__(self) -> str:
        return f"{self.document_type} {self.document_number}"

"""Colombian identity documents: the types a customer may hold and how their numbers are written.

The portfolio import reads documents with these rules, so what they accept is what a portfolio
can hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

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
DEFAULT_DOCUMENT_TYPE = "CC"
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
        raise InvalidDocumentError(f"Tipo de documento desconocido {quoted(text)}; use {', '.join(first)} o {last}")
    return code


def normalise_document_number(text: str, document_type: str | None = None) -> str:
    """Without dots, spaces or dashes, upper case; checked against the type's rule when given."""
    number = text if text.isdigit() and text.isascii() else _cleaned_document_number(text)
    rule = DOCUMENT_RULES.get(document_type or "")
    if rule is None:
        return number
    if rule.digits_only and not number.isdigit():
        raise InvalidDocumentError(f"El documento {quoted(text)} tiene letras; un documento {document_type} "
                                   "solo lleva números")
    if not rule.min_length <= len(number) <= rule.max_length:
        unit = "dígitos" if rule.digits_only else "caracteres"
        raise InvalidDocumentError(f"El documento {quoted(text)} tiene {len(number)} {unit}; un documento "
                                   f"{document_type} tiene entre {rule.min_length} y {rule.max_length}")
    return number


def _cleaned_document_number(text: str) -> str:
    number = text.translate(_DOCUMENT_SEPARATORS).upper()
    if not number:
        raise InvalidDocumentError("Falta el número de documento")
    if _SCIENTIFIC.fullmatch(text.strip()):
        raise InvalidDocumentError(f"El documento {quoted(text)} está en notación científica y Excel le quitó "
                                   "dígitos; dé a la columna formato de texto y exporte de nuevo")
    if not (number.isascii() and number.isalnum()):
        raise InvalidDocumentError(f"El documento {quoted(text)} tiene caracteres no permitidos")
    return number

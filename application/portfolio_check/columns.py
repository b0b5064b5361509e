"""Which column of a portfolio file holds what, from its header (Spanish, any accents or case)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from application.portfolio_tables import PortfolioFileError
from domain.text import fold

DOCUMENT_NUMBER = "document_number"
DOCUMENT_TYPE = "document_type"
FULL_NAME = "full_name"
GIVEN_NAMES = "given_names"
FAMILY_NAMES = "family_names"
MOBILE_PHONE = "mobile_phone"
PHONE = "phone"
EMAIL = "email"
BALANCE = "balance"
DAYS_PAST_DUE = "days_past_due"
SINGLE_ROLES = (DOCUMENT_NUMBER, DOCUMENT_TYPE, EMAIL, BALANCE, DAYS_PAST_DUE)
DAYS_PAST_DUE_KEY = "dias_mora"

_EXACT_HEADERS = {
    "doc": DOCUMENT_NUMBER, "nit": DOCUMENT_NUMBER, "no doc": DOCUMENT_NUMBER, "nro doc": DOCUMENT_NUMBER,
    "num doc": DOCUMENT_NUMBER, "numero doc": DOCUMENT_NUMBER, "td": DOCUMENT_TYPE,
    "nombre completo": FULL_NAME, "nombres y apellidos": FULL_NAME, "nombre y apellidos": FULL_NAME,
    "nombre y apellido": FULL_NAME, "razon social": FULL_NAME, "cliente": FULL_NAME,
    "nombre cliente": FULL_NAME, "nombre del cliente": FULL_NAME, "deudor": FULL_NAME,
    "nombre deudor": FULL_NAME, "nombre del deudor": FULL_NAME, "titular": FULL_NAME,
    "nombre titular": FULL_NAME, "valor": BALANCE, "monto": BALANCE, "valor deuda": BALANCE,
    "valor en mora": BALANCE, "valor mora": BALANCE, "total deuda": BALANCE, "valor adeudado": BALANCE,
    "monto adeudado": BALANCE, "edad mora": DAYS_PAST_DUE, "edad de mora": DAYS_PAST_DUE,
    "mora dias": DAYS_PAST_DUE, "mora en dias": DAYS_PAST_DUE,
}
_TYPE_WORDS = {"documento", "doc", "docto", "identificacion", "id", "ident"}
_NUMBER_WORDS = {"documento", "docto", "identificacion", "cedula"}
_EMAIL_WORDS = {"correo", "email", "mail"}
_MOBILE_WORDS = {"celular", "celulares", "cel", "movil", "whatsapp"}
_PHONE_WORDS = {"telefono", "telefonos", "tel", "fijo"}


def classify_header(label: str) -> str | None:
    """The role of a column from its header, or None for a custom field."""
    folded = fold(label)
    if folded in _EXACT_HEADERS:
        return _EXACT_HEADERS[folded]
    words = {word.rstrip("0123456789") for word in folded.split()} - {""}
    if "tipo" in words:
        return DOCUMENT_TYPE if words & _TYPE_WORDS else None
    rules = ((_NUMBER_WORDS, DOCUMENT_NUMBER), (_EMAIL_WORDS, EMAIL), (_MOBILE_WORDS, MOBILE_PHONE),
             (_PHONE_WORDS, PHONE))
    for role_words, role in rules:
        if words & role_words:
            return role
    if {"dias", "mora"} <= words:
        return DAYS_PAST_DUE
    if words & {"saldo", "deuda"}:
        return BALANCE
    if words & {"apellido", "apellidos"}:
        return FAMILY_NAMES
    if words & {"nombre", "nombres"}:
        return GIVEN_NAMES
    return None


def is_portfolio_header(cells: Sequence[str]) -> bool:
    """A row that names a document column and holds no numbers (data rows do)."""
    return (any(classify_header(cell) == DOCUMENT_NUMBER for cell in cells)
            and not any(_looks_like_number(cell) for cell in cells))


def _looks_like_number(cell: str) -> bool:
    return cell.translate(_NUMBER_PUNCTUATION).isdigit()


_NUMBER_PUNCTUATION = str.maketrans("", "", "+-$.,() ")


@dataclass(frozen=True)
class ColumnMap:
    labels: tuple[str, ...]
    document_number: int
    document_type: int | None = None
    full_name: tuple[int, ...] = ()
    given_names: tuple[int, ...] = ()
    family_names: tuple[int, ...] = ()
    main_phone: int | None = None
    other_phones: tuple[int, ...] = ()
    email: int | None = None
    balance: int | None = None
    days_past_due: int | None = None
    custom: tuple[tuple[int, str], ...] = ()
    """(column index, custom field key) for every column without a role."""
    notes: tuple[str, ...] = ()

    @property
    def has_names(self) -> bool:
        return bool(self.full_name or self.given_names or self.family_names)

    def custom_labels(self) -> dict[str, str]:
        """Each custom field key with the header it came from, as written in the file."""
        return {key: self.labels[index] for index, key in self.custom}

    def described(self) -> dict[str, Any]:
        """Which header fills which field, for the preview."""
        def labels(indexes: Iterable[int | None]) -> list[str]:
            return [self.labels[index] for index in indexes if index is not None]
        return {
            "document_number": labels([self.document_number]),
            "document_type": labels([self.document_type]),
            "full_name": labels([*self.full_name, *self.given_names, *self.family_names]),
            "phones": labels([self.main_phone, *self.other_phones]),
            "email": labels([self.email]),
            "balance": labels([self.balance]),
            "days_past_due": labels([self.days_past_due]),
        }


def map_columns(header: Sequence[str]) -> ColumnMap:
    """Give each column its role; raise PortfolioFileError if there is no document column."""
    labels = tuple(label.strip() or f"columna {index + 1}" for index, label in enumerate(header))
    by_role: dict[str | None, list[int]] = {}
    for index, label in enumerate(header):
        by_role.setdefault(classify_header(label), []).append(index)
    if DOCUMENT_NUMBER not in by_role:
        found = ", ".join(f"«{label}»" for label in labels) or "ninguna"
        raise PortfolioFileError(
            "Falta la columna del número de documento (por ejemplo «documento» o «Número de documento»). "
            f"Columnas encontradas: {found}."
        )
    notes: list[str] = []
    extra: list[int] = list(by_role.get(None, []))
    for role in SINGLE_ROLES:
        first, *rest = by_role.get(role, [0])
        if rest:
            others = ", ".join(f"«{labels[index]}»" for index in rest)
            notes.append(f"Se usó «{labels[first]}» como {_ROLE_NAMES[role]}; {others}: campo adicional.")
            extra.extend(rest)
    phones = _phones_in_order(by_role)
    if DOCUMENT_TYPE not in by_role:
        notes.append("El archivo no tiene columna de tipo de documento: se asume CC para todos.")
    if not phones:
        notes.append("El archivo no tiene columna de teléfono: los clientes solo se identificarán por documento.")
    days = _first(by_role, DAYS_PAST_DUE)
    return ColumnMap(
        labels=labels, document_number=by_role[DOCUMENT_NUMBER][0],
        document_type=_first(by_role, DOCUMENT_TYPE), full_name=tuple(by_role.get(FULL_NAME, [])),
        given_names=tuple(by_role.get(GIVEN_NAMES, [])), family_names=tuple(by_role.get(FAMILY_NAMES, [])),
        main_phone=phones[0] if phones else None, other_phones=tuple(phones[1:]),
        email=_first(by_role, EMAIL), balance=_first(by_role, BALANCE), days_past_due=days,
        custom=_custom_keys(labels, sorted(extra), days), notes=tuple(notes),
    )


_ROLE_NAMES = {DOCUMENT_NUMBER: "número de documento", DOCUMENT_TYPE: "tipo de documento",
               EMAIL: "correo", BALANCE: "saldo", DAYS_PAST_DUE: "días de mora"}


def _first(by_role: dict[str | None, list[int]], role: str) -> int | None:
    return by_role[role][0] if role in by_role else None


def _phones_in_order(by_role: dict[str | None, list[int]]) -> list[int]:
    """The main phone is the first mobile column (WhatsApp needs one), else the first phone column."""
    mobiles, others = by_role.get(MOBILE_PHONE, []), by_role.get(PHONE, [])
    if mobiles:
        return [mobiles[0], *sorted(mobiles[1:] + others)]
    return others


def _custom_keys(labels: tuple[str, ...], indexes: list[int], days: int | None) -> tuple[tuple[int, str], ...]:
    keys: list[tuple[int, str]] = [(days, DAYS_PAST_DUE_KEY)] if days is not None else []
    taken = {key for _, key in keys}
    for index in indexes:
        base = fold(labels[index]).replace(" ", "_") or f"columna_{index + 1}"
        key, suffix = base, 2
        while key in taken:
            key, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(key)
        keys.append((index, key))
    return tuple(sorted(keys))

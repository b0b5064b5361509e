"""Check an uploaded customer portfolio (cartera) before anything is stored: the preview.

`check_portfolio` reads the file, maps its columns, normalises and validates every row, and
returns a PortfolioPreview: the valid rows ready to import, every problem with its row, column
and reason (Spanish), and the counts. A file that cannot be used at all raises
PortfolioFileError. Nothing here stores anything.

Rules a user sees:
- rows are numbered from the first data row below the header (data row N of a CSV whose header
  is on line 1 is file line N + 1); blank rows keep their number but are not counted;
- a row is invalid when any of its errors is: missing or malformed document, unknown document
  type, invalid main phone, balance or days past due that are not numbers, a formula, a wrong
  number of columns, or a document repeated in the file (all its rows are invalid: neither is
  imported, since we cannot know which one is right);
- warnings leave the row valid: no main phone (the customer can still write in and be identified
  by document), an invalid extra phone (dropped), an email that does not look like one (dropped,
  because email is never used to identify or reach a customer here), no name, no document type
  (CC assumed);
- a row whose only content is formulas (a totals row) is ignored and noted.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, NamedTuple

import phonenumbers

from application.portfolio_tables import DEFAULT_MAX_BYTES, FileFormat, PortfolioFileError, TableReader

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DOCUMENT_RULES",
    "ColumnMap",
    "CustomerRow",
    "DocumentRule",
    "FileFormat",
    "InvalidCellError",
    "PortfolioFileError",
    "PortfolioPreview",
    "RowProblem",
    "check_portfolio",
    "classify_header",
    "colombian_national_number",
    "e164_by_phonenumbers",
    "fold",
    "is_portfolio_header",
    "is_valid_colombian_number",
    "map_columns",
    "normalise_balance",
    "normalise_days",
    "normalise_document_number",
    "normalise_document_type",
    "normalise_email",
    "phones_in_cell",
    "to_e164",
]

Severity = Literal["error", "warning"]
PREVIEW_PROBLEMS = 20


class InvalidCellError(ValueError):
    """One cell's value cannot be used; the message (Spanish) says why."""


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowProblem:
    row_number: int
    column: str
    """The column's header as written in the file; empty for problems of the whole row."""
    reason: str
    severity: Severity = "error"


class CustomerRow(NamedTuple):
    """One valid customer, normalised. A NamedTuple because a big file makes 100,000 of them."""

    row_number: int
    document_type: str
    document_number: str
    full_name: str
    phones: tuple[str, ...]
    """E.164, main phone first."""
    email: str | None
    balance: str | None
    """Plain decimal string ("1234567.89"), or None when the file has no balance."""
    custom_fields: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, e.g. for a RowsAccepted event."""
        return {**self._asdict(), "phones": list(self.phones), "custom_fields": dict(self.custom_fields)}


@dataclass(frozen=True)
class PortfolioPreview:
    file_name: str
    sha256: str
    source: FileFormat
    columns: ColumnMap
    total_rows: int
    valid_rows: list[CustomerRow] = field(repr=False)
    problems: list[RowProblem] = field(repr=False)
    duplicate_rows: int
    notes: list[str]

    @property
    def valid_count(self) -> int:
        return len(self.valid_rows)

    @property
    def invalid_count(self) -> int:
        return self.total_rows - len(self.valid_rows)

    @property
    def warning_rows(self) -> int:
        return len({problem.row_number for problem in self.problems if problem.severity == "warning"})

    @property
    def sheet(self) -> str | None:
        return self.source.sheet

    def errors(self) -> list[RowProblem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    def warnings(self) -> list[RowProblem]:
        return [problem for problem in self.problems if problem.severity == "warning"]

    def error_report_csv(self) -> bytes:
        """Every problem, one line each, for Excel in Spanish: UTF-8 with BOM, `;` separated."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(["fila", "columna", "gravedad", "motivo"])
        for problem in self.problems:
            severity = "error" if problem.severity == "error" else "advertencia"
            writer.writerow([problem.row_number, _defused(problem.column), severity, _defused(problem.reason)])
        return buffer.getvalue().encode("utf-8-sig")

    def summary(self, limit: int | None = PREVIEW_PROBLEMS) -> dict[str, Any]:
        """JSON-able preview; `limit` caps the listed errors and warnings (None: all of them)."""
        errors, warnings = self.errors(), self.warnings()
        return {
            "file_name": self.file_name,
            "sha256": self.sha256,
            "file_type": self.source.file_type,
            "encoding": self.source.encoding,
            "delimiter": self.source.delimiter,
            "sheet": self.source.sheet,
            "sheets": list(self.source.sheet_names),
            "header_row": self.source.header_row,
            "columns": self.columns.described(),
            "custom_fields": [key for _, key in self.columns.custom],
            "total": self.total_rows,
            "valid": self.valid_count,
            "invalid": self.invalid_count,
            "duplicates": self.duplicate_rows,
            "warnings": self.warning_rows,
            "notes": list(self.notes),
            "errors_total": len(errors),
            "errors": [_problem_dict(problem) for problem in errors[:limit]],
            "row_warnings_total": len(warnings),
            "row_warnings": [_problem_dict(problem) for problem in warnings[:limit]],
        }


def _problem_dict(problem: RowProblem) -> dict[str, Any]:
    return {"row": problem.row_number, "column": problem.column, "reason": problem.reason}


def _defused(cell: str) -> str:
    """Keep Excel from running a cell of the report as a formula (CSV injection)."""
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


# --- entry point -----------------------------------------------------------------------------


def check_portfolio(content: bytes, file_name: str, *, read_table: TableReader, sheet: str | None = None,
                    max_bytes: int = DEFAULT_MAX_BYTES) -> PortfolioPreview:
    """Read (with the given reader), normalise and validate a portfolio file; raise PortfolioFileError
    if it is unusable."""
    with _garbage_collector_paused():
        source, columns, checker = _read_and_check(read_table, content, file_name, sheet, max_bytes)
    if checker.counted_rows == 0:
        raise PortfolioFileError(f"«{file_name}» solo tiene el encabezado: no hay clientes para revisar.")
    duplicate_rows = checker.reject_duplicates()
    return PortfolioPreview(
        file_name=file_name, sha256=hashlib.sha256(content).hexdigest(), source=source, columns=columns,
        total_rows=checker.counted_rows, valid_rows=checker.valid_rows, problems=checker.sorted_problems(),
        duplicate_rows=duplicate_rows, notes=[*columns.notes, *checker.notes()],
    )


def _read_and_check(read_table: TableReader, content: bytes, file_name: str, sheet: str | None,
                    max_bytes: int) -> tuple[FileFormat, ColumnMap, _RowChecker]:
    """The raw table lives only in here, so its cells are freed as soon as the rows are checked."""
    table = read_table(content, file_name, sheet=sheet, max_bytes=max_bytes, is_header=is_portfolio_header)
    columns = map_columns(table.header)
    checker = _RowChecker(columns, table.has_formulas)
    for number, cells in enumerate(table.rows, start=1):
        checker.check(number, cells)
    return table.format, columns, checker


@contextmanager
def _garbage_collector_paused() -> Iterator[None]:
    """A big file makes hundreds of thousands of small objects, none of them in a reference cycle;
    the cyclic collector would rescan them all again and again (it doubles the time of a check).
    Pausing it is process-wide but harmless: collection only waits until the check ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- columns ---------------------------------------------------------------------------------

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


def fold(text: str) -> str:
    """Lower-case ASCII words: "Número de  Teléfono" → "numero de telefono"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


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


# --- documents -------------------------------------------------------------------------------


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
    """"c.c." → "CC", "Cédula de extranjería" → "CE"; unknown types raise InvalidCellError."""
    compact = fold(text).replace(" ", "").upper()
    code = compact if compact in DOCUMENT_RULES else _TYPE_ALIASES.get(compact)
    if code is None:
        *first, last = DOCUMENT_RULES
        raise InvalidCellError(f"Tipo de documento desconocido {_shown(text)}; use {', '.join(first)} o {last}")
    return code


def normalise_document_number(text: str, document_type: str | None = None) -> str:
    """Without dots, spaces or dashes, upper case; checked against the type's rule when given."""
    number = text if text.isdigit() and text.isascii() else _cleaned_document_number(text)
    rule = DOCUMENT_RULES.get(document_type or "")
    if rule is None:
        return number
    if rule.digits_only and not number.isdigit():
        raise InvalidCellError(f"El documento {_shown(text)} tiene letras; un documento {document_type} "
                               "solo lleva números")
    if not rule.min_length <= len(number) <= rule.max_length:
        unit = "dígitos" if rule.digits_only else "caracteres"
        raise InvalidCellError(f"El documento {_shown(text)} tiene {len(number)} {unit}; un documento "
                               f"{document_type} tiene entre {rule.min_length} y {rule.max_length}")
    return number


def _cleaned_document_number(text: str) -> str:
    number = text.translate(_DOCUMENT_SEPARATORS).upper()
    if not number:
        raise InvalidCellError("Falta el número de documento")
    if _SCIENTIFIC.fullmatch(text.strip()):
        raise InvalidCellError(f"El documento {_shown(text)} está en notación científica y Excel le quitó "
                               "dígitos; dé a la columna formato de texto y exporte de nuevo")
    if not (number.isascii() and number.isalnum()):
        raise InvalidCellError(f"El documento {_shown(text)} tiene caracteres no permitidos")
    return number


# --- phones ----------------------------------------------------------------------------------

DEFAULT_REGION = "CO"
_PHONE_SEPARATORS = re.compile(r"[/;|,\n]")
_LETTER = re.compile(r"[^\W\d_]")
# The usual Colombian spellings: 3001234567, 300 123 4567, 57-300-123-4567, (+57) 3001234567,
# +573001234567, and fixed lines 601 234 5678. From any of them phonenumbers reads the national
# number as the ten digits after the optional 57, which is what lets the fast path skip it.
_COLOMBIAN_SPELLING = re.compile(
    r"(?:\(?\+?57\)?[ .-]?)?(3[0-9]{2}|60[0-9])[ .-]?([0-9]{3})[ .-]?([0-9]{4})", re.ASCII)
# phonenumbers' number types, in the order its _number_type_helper tries them
_NUMBER_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
                 "voicemail", "fixed_line", "mobile")


def to_e164(text: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of one phone number, or None when it is not valid: always phonenumbers' answer,
    found without phonenumbers (20 times faster) for the usual Colombian spellings."""
    if region == DEFAULT_REGION:
        national = colombian_national_number(text)
        if national is not None:
            valid = (_TEN_DIGITS_VALIDITY if len(national) == 10 else _validity_pattern(len(national))).match(national)
            return f"+57{national}" if valid else None
        if _is_too_short_for_colombia(text):
            return None
    return e164_by_phonenumbers(text, region)


def _is_too_short_for_colombia(text: str) -> bool:
    """Plain digits fewer than any Colombian number has: phonenumbers can only strip digits from
    them (a leading 0 may be an international prefix, so those are left to it)."""
    return text.isdigit() and text.isascii() and len(text) < _SHORTEST_COLOMBIAN_NUMBER and text[0] != "0"


def e164_by_phonenumbers(text: str, region: str = DEFAULT_REGION) -> str | None:
    """The reference: phonenumbers.parse, is_valid_number, E.164 (about 30 µs a number)."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def colombian_national_number(text: str) -> str | None:
    """The national number in a usual Colombian spelling ("(+57) 300 123 4567" → "3001234567"),
    or None for any other spelling. tests/unit/test_portfolio_check.py proves with hypothesis
    that to_e164 built on it gives phonenumbers' answer."""
    match = _COLOMBIAN_SPELLING.fullmatch(text.strip())
    return None if match is None else match[1] + match[2] + match[3]


def is_valid_colombian_number(national: str) -> bool:
    """phonenumbers.is_valid_number for a Colombian national number, from its own metadata."""
    return _validity_pattern(len(national)).match(national) is not None


def _colombian_metadata() -> phonenumbers.PhoneMetadata:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(DEFAULT_REGION)
    if metadata is None:
        raise LookupError("phonenumbers has no metadata for Colombia")
    return metadata


@lru_cache(maxsize=16)
def _validity_pattern(length: int) -> re.Pattern[str]:
    """phonenumbers' rule as one regex: the number fully matches the general pattern and the
    pattern of some number type, each pattern skipped when its possible lengths exclude `length`."""
    metadata = _colombian_metadata()

    def pattern(desc: phonenumbers.PhoneNumberDesc | None) -> str | None:
        if desc is None or desc.national_number_pattern is None:
            return None
        if desc.possible_length and length not in desc.possible_length:
            return None
        return desc.national_number_pattern

    general = pattern(metadata.general_desc)
    kinds = [kind for kind in (pattern(getattr(metadata, name)) for name in _NUMBER_TYPES) if kind]
    if general is None or not kinds:
        return re.compile(r"(?!)")  # never valid
    any_kind = "|".join(f"(?:{kind})" for kind in kinds)
    return re.compile(rf"(?=(?:{general})\Z)(?:{any_kind})\Z")


def phones_in_cell(text: str) -> list[str]:
    """Every phone of one cell ("300 123 4567 / 310 765 4321") in E.164; raise on the first bad one."""
    phones = []
    for piece in _PHONE_SEPARATORS.split(text):
        if not piece or piece.isspace():
            continue
        if _LETTER.search(piece):  # phonenumbers would read letters as keypad digits (1-800-FLOWERS)
            raise InvalidCellError(f"El teléfono {_shown(piece)} no es un número")
        e164 = to_e164(piece)
        if e164 is None:
            raise InvalidCellError(f"El teléfono {_shown(piece)} no es válido (se espera, por ejemplo, "
                                   "3001234567, 601 234 5678 o +1 202 555 0143)")
        phones.append(e164)
    return phones


_TEN_DIGITS_VALIDITY = _validity_pattern(10)
_SHORTEST_COLOMBIAN_NUMBER = min(getattr(_colombian_metadata().general_desc, "possible_length", ()), default=0)


# --- amounts, emails, days -------------------------------------------------------------------

_PLAIN_AMOUNT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]{1,2}|\.[0-9]{4,})?", re.ASCII)
_AMOUNT = re.compile(r"(-?)([0-9][0-9.,]*)", re.ASCII)
_AMOUNT_NOISE = str.maketrans("", "", "$ \u00a0\u202f")
_EMAIL = re.compile(r"[^@\s,;<>()\[\]]+@[^@\s,;<>()\[\]]+\.[^@\s,;<>()\[\].]{2,}")


def normalise_balance(text: str) -> str | None:
    """"$ 1.234.567,89", "1,234,567.89", "1234567,89" → "1234567.89"; "1.500" is one thousand five hundred."""
    text = text.strip()
    if not text:
        return None
    if _PLAIN_AMOUNT.fullmatch(text):
        return text
    cleaned = text.translate(_AMOUNT_NOISE).upper().removeprefix("COP").removesuffix("COP")
    if cleaned.startswith("(") and cleaned.endswith(")"):
        cleaned = f"-{cleaned[1:-1]}"
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise InvalidCellError(f"El saldo {_shown(text)} no es un número")
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
        raise InvalidCellError(f"El saldo {_shown(original)} tiene los separadores de miles o decimales mal puestos")
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
    if _EMAIL.fullmatch(text):
        return text
    text = text.strip()
    if not text:
        return None
    if not _EMAIL.fullmatch(text):
        raise InvalidCellError(f"El correo {_shown(text)} no parece válido; se omite")
    return text


def normalise_days(text: str) -> str | None:
    """Days past due as a whole number without leading zeros ("12,0" → "12")."""
    if not (text.isdigit() and text.isascii()):
        text = text.strip()
        if not text:
            return None
        match = _WHOLE_NUMBER.fullmatch(text)
        if match is None:
            raise InvalidCellError(f"Los días de mora {_shown(text)} deben ser un número entero")
        text = match[1]
    return text.lstrip("0") or "0"


_WHOLE_NUMBER = re.compile(r"([0-9]+)(?:[.,]0+)?", re.ASCII)


def _shown(value: str) -> str:
    """A cell value quoted for a message: one line, not too long."""
    flat = " ".join(value.split())
    return f"«{flat[:40]}…»" if len(flat) > 40 else f"«{flat}»"


# --- rows ------------------------------------------------------------------------------------


class _RowChecker:
    """Checks rows one by one, keeping the valid ones, the problems and what duplicates need.

    Every row of a big file passes through here: each field tries its usual form inline and calls
    the full normaliser only for the rest, and messages are only built when something is wrong.
    """

    def __init__(self, columns: ColumnMap, has_formulas: bool) -> None:
        self.columns = columns
        self.labels = columns.labels
        self.width = len(columns.labels)
        self.has_formulas = has_formulas
        self.name_columns = columns.full_name or (*columns.given_names, *columns.family_names)
        self.text_fields = tuple((index, key) for index, key in columns.custom if index != columns.days_past_due)
        self.valid_rows: list[CustomerRow] = []
        self.problems: list[RowProblem] = []
        self.counted_rows = 0
        self.ignored_total_rows: list[int] = []
        self.first_row_of: dict[str, int] = {}
        self.repeated: dict[str, list[int]] = {}
        """Rows of every document found more than once."""

    def check(self, number: int, cells: list[str]) -> None:
        if not any(cells):
            return
        if self.has_formulas and self._is_totals_row(cells):
            self.ignored_total_rows.append(number)
            return
        self.counted_rows += 1
        found: list[RowProblem] = []
        row = self._customer(number, cells, found)
        if found:
            self.problems.extend(found)
        if row is not None and (not found or all(problem.severity == "warning" for problem in found)):
            self.valid_rows.append(row)

    def _is_totals_row(self, cells: list[str]) -> bool:
        if not any(cell.startswith("=") for cell in cells):
            return False
        index = self.columns.document_number
        document = cells[index] if index < len(cells) else ""
        return not document.startswith("=") and not any(char.isdigit() for char in document)

    def _customer(self, number: int, cells: list[str], found: list[RowProblem]) -> CustomerRow | None:
        """The normalised row, or None when its document is unusable; every problem goes to `found`."""
        if len(cells) != self.width and not self._fits_header(number, cells, found):
            return None
        if self.has_formulas and self._reported_formulas(number, cells, found):
            return None
        document_type = self._document_type(number, cells, found)
        document_number = self._document_number(number, cells, document_type, found)
        row = CustomerRow(number, document_type or "", document_number or "", self._full_name(number, cells, found),
                          self._phones(number, cells, found), self._email(number, cells, found),
                          self._balance(number, cells, found), self._custom_fields(number, cells, found))
        return row if document_type and document_number else None

    def _fits_header(self, number: int, cells: list[str], found: list[RowProblem]) -> bool:
        if len(cells) < self.width:
            found.append(RowProblem(number, "", f"La fila tiene {len(cells)} columnas y el encabezado "
                                                f"{self.width}: revise separadores y comillas"))
            return False
        if any(cell.strip() for cell in cells[self.width:]):
            found.append(RowProblem(number, "", f"La fila tiene datos en {len(cells)} columnas y el "
                                                f"encabezado solo {self.width}"))
            return False
        return True

    def _reported_formulas(self, number: int, cells: list[str], found: list[RowProblem]) -> bool:
        before = len(found)
        for index, cell in enumerate(cells[:self.width]):
            if cell.startswith("="):
                found.append(RowProblem(number, self.labels[index],
                                        f"La celda tiene una fórmula ({_shown(cell)[1:-1]}); pegue solo los valores"))
        return len(found) > before

    def _document_type(self, number: int, cells: list[str], found: list[RowProblem]) -> str | None:
        index = self.columns.document_type
        if index is None:
            return DEFAULT_DOCUMENT_TYPE
        text = cells[index]
        if text in DOCUMENT_RULES:
            return text
        if not text.strip():
            found.append(RowProblem(number, self.labels[index], "Sin tipo de documento: se asumió CC", "warning"))
            return DEFAULT_DOCUMENT_TYPE
        try:
            return normalise_document_type(text)
        except InvalidCellError as error:
            found.append(RowProblem(number, self.labels[index], str(error)))
            return None

    def _document_number(self, number: int, cells: list[str], document_type: str | None,
                         found: list[RowProblem]) -> str | None:
        index = self.columns.document_number
        try:
            document_number = normalise_document_number(cells[index], document_type)
        except InvalidCellError as error:
            found.append(RowProblem(number, self.labels[index], str(error)))
            return None
        first_row = self.first_row_of.setdefault(document_number, number)
        if first_row != number:
            self.repeated.setdefault(document_number, [first_row]).append(number)
        return document_number

    def _full_name(self, number: int, cells: list[str], found: list[RowProblem]) -> str:
        name = " ".join(" ".join(map(cells.__getitem__, self.name_columns)).split())
        if not name and self.name_columns:
            found.append(RowProblem(number, self.labels[self.name_columns[0]], "Sin nombre", "warning"))
        return name

    def _phones(self, number: int, cells: list[str], found: list[RowProblem]) -> tuple[str, ...]:
        main = self.columns.main_phone
        if main is None:
            return ()
        phones = self._phones_of_cell(number, cells[main], main, found, "error")
        if not phones and not cells[main].strip():
            found.append(RowProblem(number, self.labels[main], "Sin teléfono principal: el cliente aún puede "
                                    "escribir e identificarse con su documento", "warning"))
        for index in self.columns.other_phones:
            if text := cells[index]:
                phones += self._phones_of_cell(number, text, index, found, "warning")
        return tuple(dict.fromkeys(phones)) if len(phones) > 1 else tuple(phones)

    def _phones_of_cell(self, number: int, text: str, index: int, found: list[RowProblem],
                        severity: Severity) -> list[str]:
        usual = _COLOMBIAN_SPELLING.fullmatch(text)  # to_e164's fast path, without its calls
        if usual is not None and _TEN_DIGITS_VALIDITY.match(national := usual[1] + usual[2] + usual[3]):
            return [f"+57{national}"]
        try:
            return phones_in_cell(text)
        except InvalidCellError as error:
            reason = str(error) if severity == "error" else f"{error}; se omite"
            found.append(RowProblem(number, self.labels[index], reason, severity))
            return []

    def _email(self, number: int, cells: list[str], found: list[RowProblem]) -> str | None:
        index = self.columns.email
        if index is None:
            return None
        text = cells[index]
        if _EMAIL.fullmatch(text):
            return text
        try:
            return normalise_email(text)
        except InvalidCellError as error:
            found.append(RowProblem(number, self.labels[index], str(error), "warning"))
            return None

    def _balance(self, number: int, cells: list[str], found: list[RowProblem]) -> str | None:
        index = self.columns.balance
        if index is None:
            return None
        text = cells[index]
        if _PLAIN_AMOUNT.fullmatch(text):
            return text
        try:
            return normalise_balance(text)
        except InvalidCellError as error:
            found.append(RowProblem(number, self.labels[index], str(error)))
            return None

    def _custom_fields(self, number: int, cells: list[str], found: list[RowProblem]) -> dict[str, str]:
        fields = {}
        for index, key in self.text_fields:
            if value := cells[index].strip():
                fields[key] = value
        days_index = self.columns.days_past_due
        if days_index is None:
            return fields
        text = cells[days_index]
        try:
            days = text if text.isdigit() and text.isascii() and text[0] != "0" else normalise_days(text)
        except InvalidCellError as error:
            found.append(RowProblem(number, self.labels[days_index], str(error)))
            return fields
        if days is not None:
            fields[DAYS_PAST_DUE_KEY] = days
        return fields

    def reject_duplicates(self) -> int:
        """Every row of a document that appears more than once is invalid; returns how many rows."""
        repeated = self.repeated
        if not repeated:
            return 0
        label = self.columns.labels[self.columns.document_number]
        for document, rows in repeated.items():
            listed = ", ".join(str(row) for row in rows)
            reason = f"El documento {document} está repetido en el archivo (filas {listed}); no se importa ninguna"
            self.problems.extend(RowProblem(row, label, reason) for row in rows)
        self.valid_rows = [row for row in self.valid_rows if row.document_number not in repeated]
        return sum(len(rows) for rows in repeated.values())

    def sorted_problems(self) -> list[RowProblem]:
        return sorted(self.problems, key=lambda problem: problem.row_number)

    def notes(self) -> list[str]:
        if not self.ignored_total_rows:
            return []
        rows = ", ".join(str(row) for row in self.ignored_total_rows)
        if len(self.ignored_total_rows) == 1:
            return [f"Se ignoró la fila {rows}: es una fila de totales con fórmulas."]
        return [f"Se ignoraron las filas {rows}: son filas de totales con fórmulas."]

"""Phone numbers of a portfolio in E.164: phonenumbers' answer, found much faster for the usual
Colombian spellings (tests/unit/test_portfolio_check.py proves the two agree)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import phonenumbers

from application.portfolio_check.problems import InvalidCellError
from domain.text import quoted

DEFAULT_REGION = "CO"
_PHONE_SEPARATORS = re.compile(r"[/;|,\n]")
_LETTER = re.compile(r"[^\W\d_]")
_EXTENSION_MARK = re.compile(r"[^\W\d_]|[#~＃～]")
"""What phonenumbers reads as the start of an extension: a word ("ext", "extensión", "x") or # or ~."""
# The usual Colombian spellings: 3001234567, 300 123 4567, 57-300-123-4567, (+57) 3001234567,
# +573001234567, and fixed lines 601 234 5678. From any of them phonenumbers reads the national
# number as the ten digits after the optional 57, which is what lets the fast path skip it.
COLOMBIAN_SPELLING = re.compile(
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
            valid = (TEN_DIGITS_VALIDITY if len(national) == 10 else _validity_pattern(len(national))).match(national)
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
    match = COLOMBIAN_SPELLING.fullmatch(text.strip())
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


class Phone(NamedTuple):
    e164: str
    dropped_extension: str = ""
    """An extension the cell gave ("ext 12"): WhatsApp and SMS cannot dial it, so it is not kept."""

    def warning(self, written: str) -> str:
        return (f"Se quitó la extensión {self.dropped_extension} del teléfono {quoted(written)}: "
                "WhatsApp y SMS no marcan extensiones")


def phones_in_cell(text: str) -> list[Phone]:
    """Every phone of one cell ("300 123 4567 / 310 765 4321") in E.164; raise on the first bad one."""
    return [_phone(piece) for piece in _PHONE_SEPARATORS.split(text) if piece and not piece.isspace()]


def _phone(piece: str) -> Phone:
    if _EXTENSION_MARK.search(piece) and (with_extension := _with_extension(piece)) is not None:
        return with_extension
    if _LETTER.search(piece):  # phonenumbers would read letters as keypad digits (1-800-FLOWERS)
        raise InvalidCellError(f"El teléfono {quoted(piece)} no es un número")
    e164 = to_e164(piece)
    if e164 is None:
        raise InvalidCellError(f"El teléfono {quoted(piece)} no es válido (se espera, por ejemplo, "
                               "3001234567, 601 234 5678 o +1 202 555 0143)")
    return Phone(e164)


def _with_extension(piece: str) -> Phone | None:
    """'300 123 4567 ext 12', '601 234 5678 extensión 104', '… #104': the number and its extension, when
    phonenumbers' matcher reads the whole piece as one valid number with one. The matcher never reads
    keypad letters, so '300-FLOWERS ext 1' stays refused."""
    written = piece.strip()
    match = next(iter(phonenumbers.PhoneNumberMatcher(written, DEFAULT_REGION, leniency=phonenumbers.Leniency.VALID)),
                 None)
    if match is None or match.raw_string != written or not match.number.extension:
        return None
    return Phone(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164),
                 match.number.extension)


TEN_DIGITS_VALIDITY = _validity_pattern(10)
_SHORTEST_COLOMBIAN_NUMBER = min(getattr(_colombian_metadata().general_desc, "possible_length", ()), default=0)

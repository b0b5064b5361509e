"""How the bot reads what customers type and fills `{variables}` into what it says."""

from __future__ import annotations

import re
from collections.abc import Mapping

from domain.text import fold as fold_words
from domain.text import without_accents

VARIABLE_NAME = r"[a-z_][a-z0-9_]*"
_PLACEHOLDER = re.compile(r"\{(" + VARIABLE_NAME + r")\}")
_OPTION_NUMBER = re.compile(r"^\s*(?:opcion\s*)?#?\s*(\d{1,3})\s*[.)\-:]?\s*$")
MAX_INPUT_CHARACTERS = 1000
"""Longer messages are cut before matching, so no pattern ever runs over an unbounded text."""


def fold(text: str) -> str:
    """Lower case, no accents, words separated by single spaces: 'Cédula  de Ciudadanía.' → 'cedula de ciudadania'."""
    return fold_words(text[:MAX_INPUT_CHARACTERS])


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether the folded phrase appears as whole words in the folded text."""
    folded_phrase = fold(phrase)
    return bool(folded_phrase) and f" {folded_phrase} " in f" {fold(text)} "


def option_number(text: str) -> int | None:
    """'1', '1.', ' 1 ', '1)' and 'opción 1' all mean option 1."""
    found = _OPTION_NUMBER.match(without_accents(text[:MAX_INPUT_CHARACTERS].casefold()))
    return int(found.group(1)) if found else None


def render(template: str, variables: Mapping[str, str]) -> str:
    """Replace `{name}` with the variable's value; a variable never set becomes empty text."""
    return _PLACEHOLDER.sub(lambda found: variables.get(found.group(1), ""), template)


def placeholders(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template)


def numbered(lines: list[str]) -> str:
    return "\n".join(f"{n}. {line}" for n, line in enumerate(lines, start=1))

"""Whether what the customer typed answers the state the bot is waiting in."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from domain.documents import CustomerIdentity, InvalidDocumentError
from domain.flows.model import DOCUMENT_TYPE, Option, Question, Shortcut
from domain.flows.text import MAX_INPUT_CHARACTERS, contains_phrase, fold, option_number

_DIGIT_SEPARATORS = re.compile(r"[\s.,\-]")


def matching_option(options: Sequence[Option], text: str) -> int | None:
    """Index of the option chosen by its number, its text or an alternative it accepts."""
    return _matching_index([(option.text, *option.also_accepts) for option in options], text)


def matching_label(labels: Sequence[str], text: str) -> int | None:
    return _matching_index([(label,) for label in labels], text)


def _matching_index(accepted_texts: Sequence[Sequence[str]], text: str) -> int | None:
    number = option_number(text)
    if number is not None:
        return number - 1 if 1 <= number <= len(accepted_texts) else None
    folded = fold(text)
    if not folded:
        return None
    for index, texts in enumerate(accepted_texts):
        if folded in {fold(accepted) for accepted in texts}:
            return index
    return None


def matching_shortcut(shortcuts: Sequence[Shortcut], text: str) -> Shortcut | None:
    for shortcut in shortcuts:
        if any(contains_phrase(text, phrase) for phrase in shortcut.phrases):
            return shortcut
    return None


def accepted_answer(question: Question, text: str, variables: Mapping[str, str]) -> str | None:
    """The value to store, or None when the answer does not meet the question's rules."""
    answer = text[:MAX_INPUT_CHARACTERS].strip()
    if question.format == "document":
        return _document_number(variables.get(DOCUMENT_TYPE, ""), answer)
    if question.format == "digits":
        answer = _DIGIT_SEPARATORS.sub("", answer)
        if not (answer.isascii() and answer.isdigit()):
            return None
    elif question.format == "pattern" and not _fully_matches(question.pattern, answer):
        return None
    return answer if question.min_length <= len(answer) <= question.max_length else None


def _document_number(document_type: str, answer: str) -> str | None:
    try:
        return CustomerIdentity.of(document_type, answer).document_number
    except InvalidDocumentError:
        return None


def _fully_matches(pattern: str, text: str) -> bool:
    compiled = _compiled(pattern)
    return compiled is not None and compiled.fullmatch(text) is not None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None

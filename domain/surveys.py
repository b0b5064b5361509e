"""The satisfaction survey after a close: what counts as an answer, and the rules of its campaign setting.

An answer is a short reply that names one score from 1 to 5 ("5", "5 estrellas", "cinco", "4/5", "⭐⭐⭐"), with
nothing else but a few courtesy words. Anything longer or with a second number is a message, not an answer, and
goes to a new chat as usual: "tengo 2 preguntas" must never read as a 2.
"""

from __future__ import annotations

import re

from domain.text import fold

LOWEST, HIGHEST = 1, 5
SATISFIED = frozenset({4, 5})
"""The scores CSAT counts as satisfied (the usual top-two-box of a 1–5 scale)."""
DEFAULT_QUESTION = "¿Cómo califica la atención? Responda con un número del 1 al 5"
DEFAULT_ANSWER_HOURS = 24
MAX_ANSWER_HOURS = 24 * 7
MAX_QUESTION_LENGTH = 500
MAX_ANSWER_WORDS = 6
SCORE_WORDS = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4,
               "cinco": 5}
COURTESY_WORDS = frozenset({"estrella", "estrellas", "punto", "puntos", "calificacion", "califico", "le", "doy",
                            "mi", "es", "un", "nota", "pongo", "gracias", "muchas", "ok"})
OUT_OF_FIVE = re.compile(r"\s*(?:/|de|sobre)\s*5\s*$")
STAR = "⭐"
WITHHELD_REASONS = ("outside_window", "opted_out")
"""Why an eligible close got no survey: the WhatsApp window had closed (a question is free text), or the customer
had opted out (R11)."""


def score_of(text: str) -> int | None:
    """The score a reply names, or None when it is not a survey answer."""
    stars = text.replace("\ufe0f", "").strip()
    if stars and set(stars) <= {STAR, " "}:
        count = stars.count(STAR)
        return count if LOWEST <= count <= HIGHEST else None
    words = fold(OUT_OF_FIVE.sub("", text.casefold().strip().rstrip(".!?,;"))).split()
    if not words or len(words) > MAX_ANSWER_WORDS:
        return None
    scores = [SCORE_WORDS[w] for w in words if w in SCORE_WORDS]
    if len(scores) != 1 or any(w not in SCORE_WORDS and w not in COURTESY_WORDS for w in words):
        return None
    return scores[0]


def is_satisfied(score: int) -> bool:
    return score in SATISFIED

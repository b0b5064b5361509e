"""Channel rules that do not belong to one aggregate: the WhatsApp window (R12) and opt-out words (R11)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta

WHATSAPP_WINDOW = timedelta(hours=24)
OPT_OUT_WORDS = ("stop", "baja", "cancelar", "detener", "parar", "unsubscribe", "no mas mensajes")
OPT_IN_WORDS = ("start", "alta", "unstop", "reanudar")


def whatsapp_window_open(last_customer_message_at: datetime | None, now: datetime) -> bool:
    """Free-form WhatsApp messages are allowed only within 24 h of the customer's last message."""
    return last_customer_message_at is not None and now - last_customer_message_at < WHATSAPP_WINDOW


def consent_keyword(body: str, opt_out_words: Iterable[str] = OPT_OUT_WORDS,
                    opt_in_words: Iterable[str] = OPT_IN_WORDS) -> str | None:
    """`opt_out`, `opt_in` or None: the whole message must be the word, ignoring case, accents and punctuation."""
    said = _fold(body)
    if said in {_fold(w) for w in opt_out_words}:
        return "opt_out"
    if said in {_fold(w) for w in opt_in_words}:
        return "opt_in"
    return None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in letters).split())

"""Channel rules that do not belong to one aggregate: the WhatsApp window (R12) and opt-out words (R11)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from domain.text import fold

WHATSAPP_WINDOW = timedelta(hours=24)
OPT_OUT_WORDS = ("stop", "baja", "cancelar", "detener", "parar", "unsubscribe", "no mas mensajes")
OPT_IN_WORDS = ("start", "alta", "unstop", "reanudar")


def whatsapp_window_open(last_customer_message_at: datetime | None, now: datetime) -> bool:
    """Free-form WhatsApp messages are allowed only within 24 h of the customer's last message."""
    return last_customer_message_at is not None and now - last_customer_message_at < WHATSAPP_WINDOW


def consent_keyword(body: str, opt_out_words: Iterable[str] = OPT_OUT_WORDS,
                    opt_in_words: Iterable[str] = OPT_IN_WORDS) -> str | None:
    """`opt_out`, `opt_in` or None: the whole message must be the word, ignoring case, accents and punctuation."""
    said = fold(body)
    if said in {fold(w) for w in opt_out_words}:
        return "opt_out"
    if said in {fold(w) for w in opt_in_words}:
        return "opt_in"
    return None

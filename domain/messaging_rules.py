"""Channel rules that do not belong to one aggregate: the WhatsApp window (R12) and opt-out words (R11)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from domain.text import fold

WHATSAPP_WINDOW = timedelta(hours=24)
OPT_OUT_WORDS = ("stop", "baja", "cancelar", "detener", "parar", "unsubscribe", "no mas mensajes")
OPT_IN_WORDS = ("start", "alta", "unstop", "reanudar")

# On SMS long codes and toll-free numbers Twilio answers these words itself when they are the whole message
# (any case): it replies to the customer, blocks (or unblocks) further messages from that number, so later
# sends fail with 21610, and forwards the message. Not on short codes, not on WhatsApp. With Advanced Opt-Out
# (a Messaging Service) Twilio says so in the webhook's OptOutType, whatever the words and the channel.
# Source: Twilio's support pages "Twilio support for opt-out keywords (SMS STOP filtering)" and "How to track
# opt-out, opt-in and help messages using the OptOutType parameter".
TWILIO_OPT_OUT_WORDS = ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout")
TWILIO_OPT_IN_WORDS = ("start", "yes", "unstop")
TWILIO_OPT_OUT_TYPES = {"STOP": "opt_out", "START": "opt_in"}
LONG_NUMBER = re.compile(r"\+\d{8,15}")  # E.164; short codes have 5 or 6 digits


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


def twilio_answers_keywords(channel: str, sender_address: str) -> bool:
    """Whether Twilio handles STOP/START itself for messages to this sender: SMS long codes and toll-free numbers."""
    return channel == "sms" and LONG_NUMBER.fullmatch(sender_address) is not None


def twilio_keyword(body: str, channel: str, sender_address: str, opt_out_type: str = "") -> str | None:
    """`opt_out` or `opt_in` when Twilio already answered this message as a keyword; None when it did not."""
    if opt_out_type.strip().upper() in TWILIO_OPT_OUT_TYPES:
        return TWILIO_OPT_OUT_TYPES[opt_out_type.strip().upper()]
    if not twilio_answers_keywords(channel, sender_address):
        return None
    said = body.strip().casefold()
    if said in TWILIO_OPT_OUT_WORDS:
        return "opt_out"
    if said in TWILIO_OPT_IN_WORDS:
        return "opt_in"
    return None


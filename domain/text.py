"""Text rules every layer shares, each written once: accent folding, quoting a value in a message,
spreadsheet cells that cannot run as formulas, and durations as people read them."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

_NOT_WORD = re.compile(r"[^a-z0-9]+")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes Excel, LibreOffice or Google Sheets read a cell as a formula (CSV injection)."""


def without_accents(text: str) -> str:
    """'Cédula de extranjería' → 'Cedula de extranjeria': combining marks removed, nothing else."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def fold(text: str) -> str:
    """Lower-case ASCII words separated by single spaces, for comparing what people type:
    'Número de  Teléfono.' → 'numero de telefono', 'NO MÁS mensajes' → 'no mas mensajes'."""
    return _NOT_WORD.sub(" ", without_accents(text.casefold())).strip()


def quoted(value: str, limit: int = 40) -> str:
    """A value quoted for a message: one line, not too long ('«300 123 4567»')."""
    flat = " ".join(value.split())
    return f"«{flat[:limit]}…»" if len(flat) > limit else f"«{flat}»"


def defused(cell: str) -> str:
    """The cell as a spreadsheet shows it but never runs: a leading quote before a formula start."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def format_duration(span: float | timedelta) -> str:
    """A compact duration for tables and transcripts: `45 s`, `4 min 32 s`, `12 min`, `3 h 05 min`,
    `2 d 4 h`. Seconds stop mattering from ten minutes on; a negative span is `0 s`."""
    total = max(int(span.total_seconds() if isinstance(span, timedelta) else span), 0)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes >= 10 or (minutes and not seconds):
        return f"{minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"

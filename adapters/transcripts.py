"""The closing transcript (R8): plain input values, document masking, content hash and the PDF.

The lead's use case builds a TranscriptData from events and read tables; this module turns it
into a Spanish A4 PDF with xhtml2pdf. Everything the customer typed is hostile input: the
template escapes it (autoescape, StrictUndefined) and xhtml2pdf may fetch nothing but the bundled
fonts. The same data always gives the same bytes, so a transcript can be regenerated and
compared with the stored one.

Two hashes, two purposes:
- `content_sha256`, printed on every page, covers the transcript as printed (document masked), so
  a paper copy can be checked against the system; hashing the raw document number instead would
  let anyone holding the paper brute-force the masked digits.
- `pdf_sha256`, of the file bytes, is recorded on the chat with the storage location.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import reportlab
from babel.dates import get_timezone_name
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape
from reportlab import rl_config
from reportlab.pdfbase.ttfonts import TTFont
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from adapters.file_storage import FileStorage, StoredFile
from domain.labels import label
from domain.messages import FAILED_STATUSES
from domain.text import format_duration

AuthorKind = Literal["customer", "bot", "agent", "system", "note"]
"""`note`: an internal note of the staff, printed as such; it was never sent to the customer."""

CANONICAL_FORMAT = "despacho-transcript/2"  # 2: the customer's WhatsApp profile name beside the portfolio's
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Bitstream Vera ships inside reportlab: Latin-1 (á, é, ñ, ¿, ¡) and the usual punctuation,
# embedded in the PDF, identical on every machine.
FONTS_DIR = Path(reportlab.__file__).resolve().parent / "fonts"
FONT_FILES = {"regular": "Vera.ttf", "bold": "VeraBd.ttf", "italic": "VeraIt.ttf"}


@dataclass(frozen=True)
class Attachment:
    """What a customer attached, by type: Twilio's address is credentials-only and never printed (the file
    itself is kept by Despacho and opened from the chat's page)."""

    content_type: str


@dataclass(frozen=True)
class AgentStint:
    name: str
    assigned_at: datetime
    released_at: datetime | None = None
    """None: the agent still held the chat when it closed."""


@dataclass(frozen=True)
class TranscriptEntry:
    at: datetime
    author_kind: AuthorKind
    author_name: str
    text: str
    attachments: Sequence[Attachment] = ()
    delivery_status: str | None = None
    """Final Twilio status of an outbound message (`delivered`, `read`, `failed`…); None inbound."""
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class BotStepEntry:
    at: datetime
    state: str
    action: str


@dataclass(frozen=True)
class AlertEntry:
    at: datetime
    kind: str
    state: str


@dataclass(frozen=True)
class TranscriptData:
    """Everything printed in a transcript; datetimes are timezone-aware (UTC)."""

    chat_id: str
    campaign_name: str
    """The call center's name for the campaign, e.g. `Banco A — Cobranza`."""
    campaign_display_name: str
    """The name the customer sees, e.g. `Banco A`."""
    time_zone: str
    """IANA name, e.g. America/Bogota: every time is printed in the campaign's zone."""
    channel: str
    customer_name: str
    """The portfolio's name once identified, else what the customer's profile or number says."""
    customer_document_type: str
    customer_document_number: str
    """The raw number: it is masked here, never printed whole."""
    customer_address: str
    opened_at: datetime
    closed_at: datetime
    closed_by: str
    close_reason: str
    disposition: str
    note: str
    agents: Sequence[AgentStint] = ()
    entries: Sequence[TranscriptEntry] = ()
    bot_steps: Sequence[BotStepEntry] = ()
    alerts: Sequence[AlertEntry] = ()
    customer_profile_name: str = ""
    """The WhatsApp profile name, printed beside a portfolio name that differs from it."""


@dataclass(frozen=True)
class RenderedTranscript:
    pdf: bytes
    content_sha256: str
    pdf_sha256: str


@dataclass(frozen=True)
class _Fonts:
    paths: dict[str, str] = field(default_factory=dict)
    glyphs: frozenset[int] = frozenset()


def mask_document(number: str, visible: int = 4) -> str:
    """`1020345678` → `******5678`; never shows more than half of the characters."""
    if visible < 0:
        raise ValueError("visible must be zero or more")
    characters = [c for c in number if c.isalnum()]
    shown = min(visible, len(characters) // 2)
    hidden = len(characters) - shown
    return "*" * hidden + "".join(characters[hidden:])


def transcript_content_hash(data: TranscriptData) -> str:
    """sha256 of the canonical JSON of the transcript as printed; stable across versions of this code."""
    canonical = json.dumps(_canonical(data), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def transcript_storage_key(data: TranscriptData, pdf_sha256: str) -> str:
    """`transcripts/2026/11/<chat id>-<hash prefix>.pdf`: a regenerated, different PDF never overwrites."""
    safe_chat_id = re.sub(r"[^A-Za-z0-9_-]", "_", data.chat_id)
    return f"transcripts/{data.closed_at:%Y/%m}/{safe_chat_id}-{pdf_sha256[:12]}.pdf"


def publish_transcript(data: TranscriptData, renderer: TranscriptRenderer, storage: FileStorage) -> StoredFile:
    """Render and store; safe to repeat (same bytes, same key). The result goes on the chat's history."""
    rendered = renderer.render(data)
    return storage.put(transcript_storage_key(data, rendered.pdf_sha256), rendered.pdf, "application/pdf")


def render_transcript_pdf(data: TranscriptData) -> bytes:
    """One-off convenience; keep a TranscriptRenderer to render many."""
    return TranscriptRenderer().render(data).pdf


class TranscriptRenderer:
    """Renders transcripts to PDF; builds its Jinja2 environment and reads its fonts once."""

    def __init__(self) -> None:
        self._environment = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._fonts = _load_fonts()
        self._environment.filters["printable"] = self._printable
        self._template = self._environment.get_template("transcript.html")
        self._policy = ResourceAccessPolicy.server(FONTS_DIR, allow_remote=False, max_render_seconds=300)

    def render(self, data: TranscriptData) -> RenderedTranscript:
        content_hash = transcript_content_hash(data)
        html = self._template.render(t=_view(data, content_hash), fonts=self._fonts.paths)
        pdf = _stamp_identity(_html_to_pdf(html, self._policy), data.closed_at, content_hash)
        return RenderedTranscript(pdf=pdf, content_sha256=content_hash, pdf_sha256=hashlib.sha256(pdf).hexdigest())

    def _printable(self, text: str) -> Markup:
        """Escaped text with line breaks kept; characters the font lacks become `[U+1F600]`."""
        paragraphs = _BLANK_LINES.sub("\n\n", text.replace("\r\n", "\n").strip("\n"))
        lines = (escape(self._in_font(line)) for line in paragraphs.split("\n"))
        return Markup("<br/>").join(lines)

    def _in_font(self, text: str) -> str:
        out: list[str] = []
        for character in text:
            category = unicodedata.category(character)
            if character == "\t":
                out.append(" ")
            elif category in ("Cc", "Cf", "Cs", "Co", "Cn") or "\ufe00" <= character <= "\ufe0f":
                continue  # control, joiners, variation selectors: nothing to print
            elif ord(character) in self._fonts.glyphs:
                out.append(character)
            else:
                out.append(f"[U+{ord(character):04X}]")
        return "".join(out)


def _load_fonts() -> _Fonts:
    regular = TTFont("DespachoProbe", str(FONTS_DIR / FONT_FILES["regular"]))
    return _Fonts(paths={style: (FONTS_DIR / name).as_uri() for style, name in FONT_FILES.items()},
                  glyphs=frozenset(regular.face.charToGlyph))


_RENDER_LOCK = threading.Lock()
_BLANK_LINES = re.compile(r"\n(\s*\n)+")


def _html_to_pdf(html: str, policy: ResourceAccessPolicy) -> bytes:
    # reportlab's `invariant` mode fixes the creation date and the file ID, so the same HTML gives
    # the same bytes. xhtml2pdf does not pass it to reportlab, which reads it from rl_config: set
    # it for this render only, under a lock so two renders do not restore each other's value.
    out = io.BytesIO()
    with _RENDER_LOCK:
        previous = rl_config.invariant
        rl_config.invariant = 1
        try:
            status = pisa.CreatePDF(html, dest=out, encoding="utf-8", resource_policy=policy)
        finally:
            rl_config.invariant = previous
    if status.err:
        raise TranscriptRenderError(f"xhtml2pdf reported {status.err} error(s) rendering the transcript")
    return out.getvalue()


class TranscriptRenderError(RuntimeError):
    pass


_INVARIANT_DATE = b"(D:20000101000000+00'00')"
_ID_PATTERN = re.compile(rb"/ID\s*\n?\[<([0-9a-fA-F]{32})><([0-9a-fA-F]{32})>\]")


def _stamp_identity(pdf: bytes, closed_at: datetime, content_hash: str) -> bytes:
    """Replace invariant mode's fixed date (2000-01-01) and shared ID with the chat's own.

    Same-length replacements, so the cross-reference offsets stay right. If a future reportlab
    writes these differently, the PDF keeps the invariant values: still deterministic.
    """
    stamped = closed_at.astimezone(UTC).strftime("(D:%Y%m%d%H%M%S+00'00')").encode("ascii")
    pdf = pdf.replace(_INVARIANT_DATE, stamped)
    file_id = content_hash[:32].upper().encode("ascii")
    return _ID_PATTERN.sub(lambda m: m.group(0).replace(m.group(1), file_id).replace(m.group(2), file_id), pdf)


# ---- what the template sees: Spanish labels, local times, masked document ----

CHANNEL_LABELS = {"whatsapp": "WhatsApp", "sms": "SMS"}
AUTHOR_LABELS = {"customer": "Cliente", "bot": "Bot", "agent": "Asesor", "system": "Sistema",
                 "note": "Nota interna (no enviada al cliente)"}
ALERT_STATE_LABELS = {"raised": "emitida", "acknowledged": "atendida", "resolved": "resuelta",
                      "cleared": "resuelta"}
# Spanish meanings of the Twilio codes that matter for delivery, translated from the project's
# reference list (the design material's twilio/error-codes.csv, from Twilio's error pages).
TWILIO_ERROR_TEXT = {
    "21610": "el destinatario respondió STOP; mensaje bloqueado",
    "21614": "el número no es un celular válido",
    "30003": "teléfono de destino inalcanzable",
    "30004": "mensaje bloqueado por el destinatario o el operador",
    "30005": "teléfono de destino desconocido",
    "30006": "teléfono fijo u operador inalcanzable",
    "30007": "filtrado como spam por Twilio o el operador",
    "30008": "error desconocido del operador",
    "63003": "el canal no encontró el destinatario",
    "63013": "infracción de la política de WhatsApp",
    "63014": "el usuario bloqueó el mensaje",
    "63016": "mensaje libre fuera de la ventana de 24 horas; se requiere plantilla",
    "63018": "se superó el límite de mensajes de WhatsApp",
    "63024": "destinatario no válido",
    "63032": "limitación de WhatsApp para el número del usuario",
    "63049": "Meta decidió no entregar esta plantilla de marketing",
}


def _view(data: TranscriptData, content_hash: str) -> dict[str, Any]:
    clock = _LocalClock(data.time_zone)
    return {
        "chat_id": data.chat_id,
        "campaign": data.campaign_name,
        "campaign_public_name": data.campaign_display_name or data.campaign_name,
        "channel": CHANNEL_LABELS.get(data.channel, data.channel),
        "customer_name": data.customer_name or "(sin nombre)",
        "customer_profile_name": "" if data.customer_profile_name == data.customer_name else data.customer_profile_name,
        "document": _document_label(data),
        "customer_address": data.customer_address.removeprefix("whatsapp:"),
        "time_zone": f"{data.time_zone} ({clock.zone_label(data.closed_at)}, {clock.offset_label(data.closed_at)})",
        "opened_at": clock.format(data.opened_at),
        "closed_at": clock.format(data.closed_at),
        "duration": format_duration(data.closed_at - data.opened_at),
        "closed_by": data.closed_by,
        "close_reason": label("close_reason", data.close_reason),
        "disposition": data.disposition or "(sin tipificación)",
        "note": data.note,
        "agents": [_agent_view(stint, data.closed_at, clock) for stint in data.agents],
        "entries": [_entry_view(entry, data.customer_name, clock) for entry in data.entries],
        "bot_steps": [{"at": clock.format(s.at), "state": s.state, "action": s.action} for s in data.bot_steps],
        "alerts": [_alert_view(alert, clock) for alert in data.alerts],
        "hash": content_hash,
        "hash_groups": " ".join(content_hash[i:i + 8] for i in range(0, len(content_hash), 8)),
    }


def _document_label(data: TranscriptData) -> str:
    masked = mask_document(data.customer_document_number)
    if not masked:
        return "(no identificado)"
    return f"{data.customer_document_type} {masked}".strip()


def _agent_view(stint: AgentStint, closed_at: datetime, clock: _LocalClock) -> dict[str, str]:
    released = stint.released_at or closed_at
    return {
        "name": stint.name,
        "assigned_at": clock.format(stint.assigned_at),
        "released_at": clock.format(released) if stint.released_at else f"{clock.format(closed_at)} (cierre)",
        "duration": format_duration(released - stint.assigned_at),
    }


def _entry_view(entry: TranscriptEntry, customer_name: str, clock: _LocalClock) -> dict[str, Any]:
    name = entry.author_name or (customer_name if entry.author_kind == "customer" else "")
    return {
        "at": clock.format(entry.at),
        "kind": entry.author_kind,
        "role": AUTHOR_LABELS.get(entry.author_kind, entry.author_kind),
        "name": name,
        "text": entry.text,
        "attachments": [_attachment_label(a) for a in entry.attachments],
        "status": delivery_status_label(entry.delivery_status, entry.error_code, entry.error_message),
        "status_failed": entry.delivery_status in FAILED_STATUSES,
    }


def _attachment_label(attachment: Attachment) -> str:
    kind = attachment.content_type.partition("/")[0]
    noun = {"image": "Imagen", "audio": "Audio", "video": "Video"}.get(kind, "Archivo")
    return f"{noun} ({attachment.content_type or 'tipo desconocido'})"


def _alert_view(alert: AlertEntry, clock: _LocalClock) -> dict[str, str]:
    return {
        "at": clock.format(alert.at),
        "kind": label("chat_alert", alert.kind),
        "state": ALERT_STATE_LABELS.get(alert.state, alert.state),
    }


def delivery_status_label(status: str | None, error_code: str = "", error_message: str = "") -> str:
    """`entregado`, `leído`, `fallido (código 30006: teléfono fijo u operador inalcanzable)`."""
    if status is None:
        return ""
    shown = label("message_status", status).lower()  # it reads inside a sentence: "Estado de entrega: leído"
    if not error_code:
        return shown
    meaning = TWILIO_ERROR_TEXT.get(error_code, error_message)
    return f"{shown} (código {error_code}: {meaning})" if meaning else f"{shown} (código {error_code})"


class _LocalClock:
    """Formats instants in the campaign's zone: `25/11/2026 10:03:15 (COT)`."""

    def __init__(self, time_zone: str) -> None:
        self._zone = ZoneInfo(time_zone)

    def format(self, instant: datetime) -> str:
        local = instant.astimezone(self._zone)
        return f"{local:%d/%m/%Y %H:%M:%S} ({self.zone_label(instant)})"

    def zone_label(self, instant: datetime) -> str:
        """The zone's abbreviation (COT, CET); zoneinfo says only `-05` for many American zones."""
        local = instant.astimezone(self._zone)
        name = local.tzname() or ""
        if name.isalpha():
            return name
        babel_name = str(get_timezone_name(local, "short", locale="es_CO"))
        return babel_name if babel_name.isalpha() and babel_name.isupper() else self.offset_label(instant)

    def offset_label(self, instant: datetime) -> str:
        offset = instant.astimezone(self._zone).utcoffset() or timedelta()
        sign = "-" if offset < timedelta() else "+"
        minutes = abs(int(offset.total_seconds())) // 60
        return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _canonical(data: TranscriptData) -> dict[str, Any]:
    def instant(value: datetime | None) -> str | None:
        return value.astimezone(UTC).isoformat() if value else None

    return {
        "format": CANONICAL_FORMAT,
        "chat_id": data.chat_id,
        "campaign": [data.campaign_name, data.campaign_display_name],
        "time_zone": data.time_zone,
        "channel": data.channel,
        "customer": [data.customer_name, data.customer_profile_name, data.customer_document_type,
                     mask_document(data.customer_document_number), data.customer_address],
        "opened_at": instant(data.opened_at),
        "closed_at": instant(data.closed_at),
        "closed_by": data.closed_by,
        "close_reason": data.close_reason,
        "disposition": data.disposition,
        "note": data.note,
        "agents": [[a.name, instant(a.assigned_at), instant(a.released_at)] for a in data.agents],
        "entries": [[instant(e.at), e.author_kind, e.author_name, e.text,
                     [a.content_type for a in e.attachments], e.delivery_status, e.error_code,
                     e.error_message] for e in data.entries],
        "bot_steps": [[instant(s.at), s.state, s.action] for s in data.bot_steps],
        "alerts": [[instant(a.at), a.kind, a.state] for a in data.alerts],
    }

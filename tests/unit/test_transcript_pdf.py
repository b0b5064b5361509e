"""The closing transcript PDF: what a person reading it on paper must find, and nothing unsafe.

Text is read back with poppler's pdftotext and pages turned into images with pdftoppm (Debian's
poppler-utils), the way a reviewer or an archive would read the file.
"""

from __future__ import annotations

import io
import re
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from pypdf import PdfReader
from pypdf.generic import ArrayObject

from adapters.file_storage import InMemoryFileStorage
from adapters.transcripts import (
    AgentStint,
    AlertEntry,
    Attachment,
    AuthorKind,
    BotStepEntry,
    RenderedTranscript,
    TranscriptData,
    TranscriptEntry,
    TranscriptRenderer,
    mask_document,
    publish_transcript,
    render_transcript_pdf,
    transcript_content_hash,
    transcript_storage_key,
)
from domain.text import format_duration
from tests.services import require_binary

OPENED = datetime(2026, 11, 25, 15, 0, 5, tzinfo=UTC)  # 10:00:05 in Bogotá
HOSTILE_TEXT = "<script>alert('x')</script> y </td></table> {{ 7*7 }} <img src=\"http://169.254.169.254/x\">"

needs_poppler = pytest.mark.usefixtures("poppler")


@pytest.fixture
def poppler() -> None:
    for binary in ("pdftotext", "pdftoppm"):
        require_binary(binary, "poppler-utils")


def at(minutes: float) -> datetime:
    return OPENED + timedelta(minutes=minutes)


CUSTOMER = "Íñigo Muñoz Peña"


def customer_wrote(minutes: float, text: str, *attachments: Attachment) -> TranscriptEntry:
    return TranscriptEntry(at(minutes), "customer", CUSTOMER, text, attachments=attachments)


def sent(minutes: float, kind: AuthorKind, author: str, text: str, status: str,
         error_code: str = "") -> TranscriptEntry:
    return TranscriptEntry(at(minutes), kind, author, text, delivery_status=status, error_code=error_code)


def realistic_chat() -> TranscriptData:
    """A collections chat: bot identification, a queue alert, a reassignment, a photo, a failed reply."""
    bot = "Bot Banco A"
    return TranscriptData(
        chat_id="4f1c2a9e-7b3d-4c1e-9a2f-0d5e6b7c8a91",
        campaign_name="Banco A — Cobranza",
        campaign_display_name="Banco A",
        time_zone="America/Bogota",
        channel="whatsapp",
        customer_name=CUSTOMER,
        customer_document_type="CC",
        customer_document_number="1020345678",
        customer_address="whatsapp:+573001234567",
        opened_at=OPENED,
        closed_at=at(74.5),
        closed_by="Bruno Asesor",
        close_reason="agent",
        disposition="Promesa de pago",
        note="El cliente se compromete a pagar $350.000 el viernes; pidió que no lo llamen después de las 6 p. m.",
        agents=[
            AgentStint("Ana Asesora", assigned_at=at(37), released_at=at(52)),
            AgentStint("Bruno Asesor", assigned_at=at(52)),
        ],
        entries=[
            customer_wrote(0, "Hola, buenas tardes. ¿Con quién hablo?"),
            sent(0.1, "bot", bot, "¡Hola! Soy el asistente de Banco A. Escribe tu número de documento.", "read"),
            customer_wrote(1, "1020345678"),
            sent(1.1, "bot", bot, "Gracias. Te comunico con un asesor; el tiempo de espera es corto.", "delivered"),
            customer_wrote(3, HOSTILE_TEXT),
            sent(38, "agent", "Ana Asesora", "Buenas tardes, señor Muñoz. Mi nombre es Ana, ¿en qué le ayudo?", "read"),
            customer_wrote(40, "Ya pagué la cuota de octubre, le mando el comprobante 📎",
                           Attachment("image/jpeg")),
            sent(52.5, "agent", "Bruno Asesor", "Don Íñigo, soy Bruno y continúo con su caso. Ya vi el comprobante.",
                 "failed", error_code="30006"),
            sent(53, "agent", "Bruno Asesor",
                 "Le confirmo: el pago quedó aplicado.\nQueda pendiente la cuota de noviembre.", "delivered"),
            customer_wrote(70, "Perfecto, la pago el viernes. ¡Muchas gracias!"),
            sent(74.5, "system", "", "Gracias por comunicarte con Banco A. Tu conversación ha finalizado.", "sent"),
        ],
        bot_steps=[
            BotStepEntry(at(0.1), "bienvenida", "Pidió el número de documento"),
            BotStepEntry(at(1.1), "identificacion", "Documento encontrado en la cartera de Banco A"),
            BotStepEntry(at(1.1), "enrutamiento", "Envió el chat a la cola de la campaña"),
        ],
        alerts=[AlertEntry(at(33), "queue_wait", "raised"), AlertEntry(at(82), "unanswered", "resolved")],
    )


def long_chat(messages: int = 200) -> TranscriptData:
    """A chat with `messages` entries alternating customer and agent, some with long paragraphs."""
    question = "¿Me confirma el saldo pendiente y la fecha límite de pago? "
    entries = []
    for number in range(messages):
        text = f"Mensaje {number + 1}: " + (question * (1 + number % 4)).strip()
        if number % 2 == 0:
            entries.append(customer_wrote(number * 1.5, text))
        else:
            entries.append(sent(number * 1.5, "agent", "Bruno Asesor", text, "delivered"))
    return replace(realistic_chat(), entries=entries, closed_at=at(messages * 1.5))


@pytest.fixture(scope="module")
def renderer() -> TranscriptRenderer:
    return TranscriptRenderer()


@pytest.fixture(scope="module")
def rendered(renderer: TranscriptRenderer) -> RenderedTranscript:
    return renderer.render(realistic_chat())


@pytest.fixture(scope="module")
def rendered_long(renderer: TranscriptRenderer) -> RenderedTranscript:
    return renderer.render(long_chat(200))


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "transcript.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
                          check=True, capture_output=True, text=True).stdout


def flat(text: str) -> str:
    """pdftotext wraps and pads columns; compare words, not layout."""
    return " ".join(text.split())


@needs_poppler
def test_transcript_shows_campaign_customer_agents_and_outcome(rendered: RenderedTranscript, tmp_path: Path) -> None:
    text = flat(pdf_text(rendered.pdf, tmp_path))

    for expected in ("Banco A — Cobranza", "Íñigo Muñoz Peña", "WhatsApp", "+573001234567", "Ana Asesora",
                     "Bruno Asesor", "Promesa de pago", "pidió que no lo llamen después de las 6 p. m.",
                     "Cerrado por el asesor", "4f1c2a9e-7b3d-4c1e-9a2f-0d5e6b7c8a91"):
        assert expected in text, expected


@needs_poppler
def test_document_number_is_masked_except_last_four_digits(rendered: RenderedTranscript, tmp_path: Path) -> None:
    text = pdf_text(rendered.pdf, tmp_path)

    assert "CC ******5678" in text
    # the customer typed the number to the bot: the conversation keeps it, the summary never shows it
    summary = text.split("Conversación")[0]
    assert "1020345678" not in summary


@needs_poppler
def test_times_are_printed_in_the_campaigns_time_zone(rendered: RenderedTranscript, tmp_path: Path) -> None:
    text = pdf_text(rendered.pdf, tmp_path)

    assert "25/11/2026 10:00:05 (COT)" in text  # opened at 15:00:05 UTC
    assert "25/11/2026 11:14:35 (COT)" in text  # closed
    assert "America/Bogota (COT, UTC-05:00)" in text
    assert "15:00:05" not in text


@needs_poppler
def test_outbound_messages_show_their_final_delivery_status_in_spanish(rendered: RenderedTranscript,
                                                                       tmp_path: Path) -> None:
    text = flat(pdf_text(rendered.pdf, tmp_path))

    assert "Estado de entrega: leído" in text
    assert "Estado de entrega: entregado" in text
    assert "Estado de entrega: fallido (código 30006: teléfono fijo u operador inalcanzable)" in text


@needs_poppler
def test_durations_read_as_the_pages_show_them(renderer: TranscriptRenderer, tmp_path: Path) -> None:
    chat = replace(realistic_chat(), agents=[AgentStint("Ana Asesora", assigned_at=at(37), released_at=at(49.5)),
                                             AgentStint("Bruno Asesor", assigned_at=at(49.5))])
    text = flat(pdf_text(renderer.render(chat).pdf, tmp_path))

    assert format_duration(timedelta(minutes=12, seconds=30)) == "12 min"  # the supervisor's tables
    assert "12 min" in text
    assert "12 min 30 s" not in text


@needs_poppler
def test_customer_attachments_bot_steps_and_alerts_are_listed(rendered: RenderedTranscript, tmp_path: Path) -> None:
    text = flat(pdf_text(rendered.pdf, tmp_path))

    assert "Adjunto · Imagen (image/jpeg)" in text
    assert "api.twilio.com" not in text  # Twilio's address of a file needs the account's credentials
    assert "Documento encontrado en la cartera de Banco A" in text
    assert "Espera prolongada en cola" in text
    assert "Cliente sin respuesta del asesor" in text


@needs_poppler
def test_hostile_customer_text_is_printed_as_text(rendered: RenderedTranscript, tmp_path: Path) -> None:
    text = flat(pdf_text(rendered.pdf, tmp_path))

    assert "<script>alert('x')</script> y </td></table> {{ 7*7 }}" in text
    assert '<img' in text and 'src="http://169.254.169.254/x">' in text
    # the message after it is still in its own row, so the hostile markup closed nothing
    assert "Mi nombre es Ana, ¿en qué le ayudo?" in text


@needs_poppler
def test_characters_missing_from_the_font_are_named_not_dropped(rendered: RenderedTranscript, tmp_path: Path) -> None:
    text = flat(pdf_text(rendered.pdf, tmp_path))

    assert "le mando el comprobante [U+1F4CE]" in text


@needs_poppler
def test_every_page_carries_the_content_hash_and_its_number(rendered_long: RenderedTranscript,
                                                            tmp_path: Path) -> None:
    result = rendered_long
    pages = pdf_text(result.pdf, tmp_path).split("\f")
    pages = [page for page in pages if page.strip()]

    assert len(pages) > 3
    for number, page in enumerate(pages, start=1):
        assert f"Página {number} de {len(pages)}" in page
        assert result.content_sha256 in page.replace(" ", "")
    assert "Mensaje 200:" in flat(pages[-1]) or "Mensaje 200:" in flat(pages[-2])


@needs_poppler
def test_first_page_renders_to_a_readable_image(rendered: RenderedTranscript, tmp_path: Path) -> None:
    (tmp_path / "transcript.pdf").write_bytes(rendered.pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                    str(tmp_path / "transcript.pdf"), str(tmp_path / "page")], check=True)

    with Image.open(tmp_path / "page.png") as image:
        width, height = image.size
        grey = image.convert("L")
        ink = sum(grey.histogram()[:128]) / (width * height)
        spread = ImageStat.Stat(grey).stddev[0]

    assert abs(height / width - 297 / 210) < 0.01  # A4 portrait
    assert 0.01 < ink < 0.3  # text on a white page, neither blank nor a black box
    assert spread > 20


def test_same_data_gives_the_same_bytes(renderer: TranscriptRenderer, rendered: RenderedTranscript) -> None:
    again = renderer.render(realistic_chat())

    assert again.pdf == rendered.pdf
    assert again.pdf_sha256 == rendered.pdf_sha256


def test_pdf_is_dated_by_the_close_and_identified_by_its_content(rendered: RenderedTranscript) -> None:
    reader = PdfReader(io.BytesIO(rendered.pdf))

    assert reader.metadata is not None
    assert reader.metadata.creation_date == realistic_chat().closed_at
    file_id = reader.trailer["/ID"]
    assert isinstance(file_id, ArrayObject)
    assert file_id[0].original_bytes.hex() == rendered.content_sha256[:32]


def test_content_hash_changes_with_any_printed_detail() -> None:
    chat = realistic_chat()
    edited_note = replace(chat, note=chat.note + ".")
    other_status = replace(chat, entries=[replace(chat.entries[1], delivery_status="failed"), *chat.entries[2:]])

    hashes = {transcript_content_hash(c) for c in (chat, edited_note, other_status)}

    assert len(hashes) == 3
    assert transcript_content_hash(realistic_chat()) == transcript_content_hash(chat)


def test_content_hash_does_not_depend_on_the_unprinted_digits_of_the_document() -> None:
    chat = realistic_chat()
    other_digits = replace(chat, customer_document_number="9990345678")

    assert transcript_content_hash(other_digits) == transcript_content_hash(chat)


def test_one_call_renders_a_pdf() -> None:
    pdf = render_transcript_pdf(realistic_chat())

    assert pdf.startswith(b"%PDF-")
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 1


def test_publishing_twice_stores_one_file_whose_hash_matches_the_pdf(renderer: TranscriptRenderer,
                                                                     rendered: RenderedTranscript) -> None:
    storage = InMemoryFileStorage()

    first = publish_transcript(realistic_chat(), renderer, storage)
    again = publish_transcript(realistic_chat(), renderer, storage)

    assert again == first
    assert first.sha256 == rendered.pdf_sha256
    assert storage.get(first.location) == rendered.pdf
    assert len(storage.files) == 1


def test_storage_key_is_per_chat_and_per_content() -> None:
    key = transcript_storage_key(realistic_chat(), "ab" * 32)

    assert key == "transcripts/2026/11/4f1c2a9e-7b3d-4c1e-9a2f-0d5e6b7c8a91-abababababab.pdf"


@pytest.mark.parametrize(("number", "masked"), [
    ("1020345678", "******5678"),
    ("1.020.345.678", "******5678"),
    ("AB123456", "****3456"),
    ("123456", "***456"),
    ("12", "*2"),
    ("", ""),
])
def test_masks_all_but_the_last_digits_and_never_more_than_half(number: str, masked: str) -> None:
    assert mask_document(number) == masked


def test_long_chat_pages_are_numbered_for_any_pdf_reader(rendered_long: RenderedTranscript) -> None:
    pages = PdfReader(io.BytesIO(rendered_long.pdf)).pages

    assert len(pages) > 3
    assert re.search(r"Página\s+1\s+de\s+" + str(len(pages)), pages[0].extract_text())

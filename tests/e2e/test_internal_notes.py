"""Internal notes (issue 15, item 11): the staff of a chat's campaign write them on the chat; they show in the
timeline marked as notes, print in the closing PDF marked as internal, and never reach the customer."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.clock import FixedClock
from despacho.settings import Settings
from projections import desk_queries
from tests.e2e.desk_world import CallCenter, call_center

NOTE = "Cliente molesto: prefiere que lo llamen después de las 5 p. m."


@pytest.fixture
def center(settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(settings, clock) as built:
        yield built


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "transcript.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def test_an_internal_note_is_on_the_chat_for_its_staff_and_never_sent_to_the_customer(center: CallCenter) -> None:
    chat = center.identified_chat()
    sent_before = len(center.transport.sent_to(chat["customer_address"]))

    assert center.post("ana", f"/api/chats/{chat['id']}/notes", {"text": NOTE}).status_code == 201
    assert center.post("sandra", f"/api/chats/{chat['id']}/notes", {"text": "Visto, lo llamo yo"}).status_code == 201

    timeline = desk_queries.timeline(center.despacho.read_engine, chat["id"])
    notes = [(m["author_kind"], m["author_name"], m["body"]) for m in timeline if m["author_kind"] == "note"]
    assert notes == [("note", "Ana", NOTE), ("note", "Sandra", "Visto, lo llamo yo")]
    assert len(center.transport.sent_to(chat["customer_address"])) == sent_before, "nothing went to the customer"
    page = center.get("sandra", f"/chats/{chat['id']}")
    assert "Nota interna" in page.text and NOTE in page.text


def test_only_the_staff_of_the_chats_campaign_write_or_read_its_notes(center: CallCenter) -> None:
    chat = center.identified_chat()
    url = f"/api/chats/{chat['id']}/notes"

    assert center.post("bruno", url, {"text": "no es mío"}).status_code == 403, "another campaign's agent"
    assert center.post("tomas", url, {"text": "no es mío"}).status_code == 403, "another campaign's supervisor"
    assert center.post("carla", url, {"text": "no es mío"}).status_code == 403, "an agent the chat is not assigned to"
    assert center.post("ana", url, {"text": "   "}).status_code == 422, "an empty note"
    assert center.get("tomas", f"/chats/{chat['id']}").status_code == 403
    assert [m for m in desk_queries.timeline(center.despacho.read_engine, chat["id"])
            if m["author_kind"] == "note"] == []


def test_the_closing_pdf_prints_notes_marked_as_internal(center: CallCenter, tmp_path: Path) -> None:
    chat = center.identified_chat()
    assert center.post("ana", f"/api/chats/{chat['id']}/replies", {"body": "Hola María"}).status_code == 201
    assert center.post("ana", f"/api/chats/{chat['id']}/notes", {"text": NOTE}).status_code == 201
    closed = center.post("ana", f"/api/chats/{chat['id']}/close", {"disposition": "promesa_de_pago", "note": ""})
    assert closed.status_code == 204, closed.text

    pdf = center.get("sandra", f"/chats/{chat['id']}/transcript.pdf")
    text = " ".join(pdf_text(pdf.content, tmp_path).split())

    assert "Nota interna (no enviada al cliente) · Ana" in text
    assert "prefiere que lo llamen" in text
    assert "Asesor · Ana" in text, "the agent's message is printed as a message, not as a note"

"""A day at the call center, then every page each role opens and every closing PDF, read as people see them: in
Spanish, codes are named in words (bot steps, dispositions, statuses, close reasons, event types) and whoever acted is
named (the person, "Bot", "Sistema …"), never `user:<id>`, `system:bot` or a UUID."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from despacho.settings import Settings
from domain.dispositions import DEFAULT_DISPOSITIONS
from domain.labels import EVENTS, LABELS
from tests.e2e.desk_world import CallCenter, call_center
from tests.e2e.test_api_auth import log_in
from tests.services import require_binary
from tests.unit.test_transcript_pdf import flat, pdf_text

SPANISH_WORDS = {"supervisor"} | {code for table in LABELS.values() for code, shown in table.items()
                                  if code and shown.casefold() == code.casefold()}
"""Codes that are also the Spanish word for what they name ("bot", "manual", the default break reasons)."""
RAW_CODES = ({code for table in LABELS.values() for code in table if code and code not in SPANISH_WORDS}
             | {d.code for d in DEFAULT_DISPOSITIONS} | set(EVENTS))
ACTOR_ID = r"\b(?:user|system|customer):"
UUID_TEXT = r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
RAW = re.compile("|".join([ACTOR_ID, UUID_TEXT, *(rf"(?<![\w.]){re.escape(code)}(?![\w.])"
                                                  for code in sorted(RAW_CODES, key=len, reverse=True))]))


class VisibleText(HTMLParser):
    """The text a person sees: no scripts or styles, and no data shown on purpose as recorded (`data-raw`)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden or tag in ("script", "style") or any(name == "data-raw" for name, _ in attrs):
            self._hidden.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden and self._hidden[-1] == tag:
            self._hidden.pop()

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


def raw_codes_in(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted({m.group(0) for m in RAW.finditer(text) if m.group(0) not in allowed})


@pytest.fixture
def center(sqlite_settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(sqlite_settings, clock) as built:
        yield built


def signed_in(center: CallCenter, login: str) -> TestClient:
    client = TestClient(center.client.app, follow_redirects=False)
    assert log_in(client, login).status_code == 303
    return client


def a_day(center: CallCenter) -> dict[str, str]:
    """Ana answers a customer, who then waits 31 minutes (alert); Sandra hands the chat to Carla, who closes it
    as a wrong number. Later, with nobody available, one customer waits in the queue and Sandra closes another."""
    answered = center.identified_chat()
    center.post("ana", f"/api/chats/{answered['id']}/replies", {"body": "Buenos días, María."})
    center.customer_writes(answered["customer_address"], "¿Sigue ahí?")
    center.clock.advance(timedelta(minutes=31))
    center.despacho.timers.run(center.clock.now())
    center.set_status("carla", "available")
    moved = center.post("sandra", f"/api/chats/{answered['id']}/reassign",
                        {"to_agent_id": center.ids["carla"], "reason": "Ana sale a almuerzo"})
    closed = center.post("carla", f"/api/chats/{answered['id']}/close",
                         {"disposition": "numero_equivocado", "note": "No es la titular"})
    assert (moved.status_code, closed.status_code) == (204, 204)
    for login in ("ana", "carla"):
        center.set_status(login, "break")
    waiting = center.identified_chat("900100200")
    dropped = center.identified_chat()
    assert center.post("sandra", f"/api/chats/{dropped['id']}/close",
                       {"disposition": "numero_equivocado", "note": "Cliente duplicado"}).status_code == 204
    center.clock.advance(timedelta(minutes=31))
    center.despacho.timers.run(center.clock.now())
    center.settle()
    return {"answered": answered["id"], "waiting": waiting["id"], "dropped": dropped["id"]}


def test_no_page_nor_pdf_shows_a_raw_code_an_actor_id_or_a_uuid(center: CallCenter, tmp_path: Path) -> None:
    require_binary("pdftotext", "poppler-utils")
    chats = a_day(center)
    answered, waiting, dropped = chats["answered"], chats["waiting"], chats["dropped"]
    pages = {
        "sandra": ["/", "/simulator", "/supervisor/queue", "/supervisor/agents", "/alerts?state=all", "/audit/messages",
                   "/attendance", *(f"/chats/{chat}" for chat in chats.values())],
        "carla": ["/desk", "/mi-dia", "/alerts?state=all", f"/chats/{answered}"],
        "admin": ["/", "/admin/flows", "/audit/events", f"/audit/events?aggregate={answered}",
                  f"/audit/events?aggregate={dropped}", f"/admin/agents/{center.ids['ana']}", "/admin/agents",
                  "/admin/portfolios", "/admin/campaigns", f"/admin/campaigns/{center.banco}", f"/chats/{answered}"],
        "auditor": ["/audit/events", f"/audit/events?aggregate={center.ids['carla']}", "/attendance"],
    }
    seen: dict[str, str] = {}
    for login, urls in pages.items():
        browser = signed_in(center, login)
        for url in urls:
            page = browser.get(url)
            assert (page.status_code, page.headers["content-language"]) == (200, "es"), url
            seen[f"{login} {url}"] = visible_text(page.text)
        for chat in (answered, dropped):
            pdf = browser.get(f"/chats/{chat}/transcript.pdf") if login in ("sandra", "admin") else None
            if pdf is not None:
                seen[f"{login} PDF {chat}"] = flat(pdf_text(pdf.content, tmp_path))

    offenders = {where: raw_codes_in(text, allowed=(answered, dropped) if " PDF " in where else ())
                 for where, text in seen.items()}

    assert {where: found for where, found in offenders.items() if found} == {}
    chat_page = seen[f"sandra /chats/{answered}"]
    for shown in ("Cerrado por el asesor", "Número equivocado", "Sandra", "Menor carga", "Ana sale a almuerzo"):
        assert shown in chat_page
    pdf = seen[f"sandra PDF {answered}"]
    for shown in ("Número equivocado", "Carla", "Pasó a la cola de asesores", "Cliente identificado"):
        assert shown in pdf
    assert "Cerrado por un supervisor" in seen[f"sandra /chats/{dropped}"]
    assert "Chat reasignado" in seen[f"admin /audit/events?aggregate={answered}"]
    assert "Cliente sin respuesta del asesor" in seen["sandra /alerts?state=all"]
    assert waiting in center.get("sandra", "/supervisor/queue").text


def test_a_user_who_chose_english_reads_codes_and_assignment_reasons_in_english(center: CallCenter) -> None:
    answered = a_day(center)["answered"]
    browser = signed_in(center, "sandra")
    token = re.search(r'name="csrf-token" content="([^"]+)"', browser.get("/").text)
    assert token is not None
    browser.post("/preferences/language", data={"lang": "en", "next": "/", "csrf_token": token.group(1)})

    page = visible_text(browser.get(f"/chats/{answered}").text)

    for shown in ("Closed by the agent", "Wrong number", "Assigned by least load", "Least load", "Reassignment"):
        assert shown in page
    assert "Asignado por" not in page and "Cerrado por" not in page


def test_the_check_sees_what_a_person_would_see() -> None:
    html = ('<p>Cerrado · auto_24h</p><p>user:4f1c2a9e-7b3d-4c1e-9a2f-0d5e6b7c8a91</p><p>Chat.Closed</p>'
            '<pre data-raw="event-data">{"kind": "handed_off"}</pre><script>var s = "waiting_queue";</script>'
            '<p>Acuerdo de pago · En bot · Finalizado en el bot</p>')

    assert raw_codes_in(visible_text(html)) == ["4f1c2a9e-7b3d-4c1e-9a2f-0d5e6b7c8a91", "Chat.Closed", "auto_24h",
                                                "user:"]

"""The attendance report over HTTP: the page, the API, the CSV and the XLSX show the same figures, in Spanish with
reasons by name, and each viewer sees only their scope (a supervisor of one campaign nothing of another)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from adapters.clock import FixedClock
from api.app import create_app
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from tests.attendance_world import AttendanceWorld
from tests.e2e.test_api_auth import PASSWORD, QUICK_PASSWORDS
from tests.e2e.test_pages_name_codes_in_spanish import raw_codes_in, visible_text

MONDAY_NINE_IN_BOGOTA = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


@dataclass
class Office:
    despacho: Despacho
    client: TestClient
    ids: dict[str, str]
    banco: str
    telco: str
    tokens: dict[str, str]

    def get(self, login: str, url: str) -> Any:
        return self.client.get(url, headers={"Authorization": f"Bearer {self.tokens[login]}"})


def work_a_morning(despacho: Despacho, agent_id: str, campaign_id: str, start: datetime) -> None:
    """Login, available, a chat with two replies, lunch 30 minutes, available again, logout after 3 hours."""
    world = AttendanceWorld(now=start, zones=(), existing_agent=despacho.store.repository.get(UUID(agent_id)),
                            campaigns=[despacho.store.repository.get(UUID(campaign_id))])
    world.login(0)
    world.set_status("available", "")
    for minutes, step in ((10, lambda: world.take_chat(0)), (5, lambda: world.reply(0)), (5, lambda: world.reply(0)),
                          (40, lambda: world.set_status("break", "almuerzo")),
                          (30, lambda: world.set_status("available", "")), (90, world.logout)):
        world.advance(minutes)
        step()
    despacho.store.save(*world.events)


@pytest.fixture
def office(sqlite_settings: Settings) -> Iterator[Office]:
    clock = FixedClock(MONDAY_NINE_IN_BOGOTA - timedelta(days=1))
    despacho = build(sqlite_settings, clock=clock, passwords=QUICK_PASSWORDS)
    banco = str(despacho.campaigns.register("banco_a", "Banco Andino cobranza", "Banco Andino", {}, actor="test"))
    telco = str(despacho.campaigns.register("telco_b", "Telco Sur", "Telco Sur", {"time_zone": "America/New_York"},
                                            actor="test"))
    staff = {"ana": ("agent", {banco}), "bruno": ("agent", {telco}), "sandra": ("supervisor", {banco}),
             "admin": ("admin", set()), "auditor": ("auditor", set())}
    ids = {login: str(despacho.staff.register(login, login.title(), role, password=PASSWORD, capacity=2,
                                              campaign_ids=frozenset(campaigns), actor="test"))
           for login, (role, campaigns) in staff.items()}
    work_a_morning(despacho, ids["ana"], banco, MONDAY_NINE_IN_BOGOTA)
    work_a_morning(despacho, ids["bruno"], telco, MONDAY_NINE_IN_BOGOTA + timedelta(minutes=30))
    clock.set(MONDAY_NINE_IN_BOGOTA + timedelta(hours=8))
    tokens = {login: despacho.staff.issue_token(UUID(ids[login]), "tests", actor="test") for login in staff}
    despacho.runner.catch_up()
    with TestClient(create_app(despacho), follow_redirects=False) as client:
        yield Office(despacho, client, ids, banco, telco, tokens)
    despacho.close()


def seconds_of(clock_text: str) -> int:
    hours, minutes, *seconds = (int(part) for part in clock_text.split(":"))
    return hours * 3600 + minutes * 60 + (seconds[0] if seconds else 0)


def csv_rows(office: Office, login: str, query: str = "") -> list[dict[str, str]]:
    response = office.get(login, "/api/attendance.csv" + query)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(office: Office, login: str, query: str = "") -> list[dict[str, Any]]:
    response = office.get(login, "/api/attendance.xlsx" + query)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def page_rows(office: Office, login: str, query: str = "") -> list[list[str]]:
    response = office.get(login, "/attendance" + query)
    assert response.status_code == 200
    body = re.search(r'<section id="attendance">.*?</section>', response.text, re.S)
    assert body is not None
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.group(0), re.S) if "<td" in row]


def test_the_page_the_api_the_csv_and_the_xlsx_show_the_same_figures(office: Office) -> None:
    api = office.get("admin", "/api/attendance").json()
    exported, workbook, page = csv_rows(office, "admin"), xlsx_rows(office, "admin"), page_rows(office, "admin")

    assert [r["agent"] for r in api] == ["Ana", "Bruno"] == [r["Asesor"] for r in exported] == \
        [r["Asesor"] for r in workbook] == [r[2] for r in page]
    for figures, row, cells, shown in zip(api, exported, workbook, page, strict=True):
        durations = {"Tiempo conectado": figures["connected_seconds"],
                     "Tiempo disponible": figures["available_seconds"],
                     "Pausa: Almuerzo": figures["breaks"][0]["seconds"],
                     "Tiempo en otro estado": figures["other_seconds"]}
        assert figures["breaks"] == [{"reason": "almuerzo", "seconds": 30 * 60}]
        assert figures["connected_seconds"] == 3 * 3600 == \
            figures["available_seconds"] + 30 * 60 + figures["other_seconds"]
        for header, seconds in durations.items():
            assert seconds_of(row[header]) == seconds == int(cells[header].total_seconds())
        columns = list(row)
        for header, seconds in durations.items():
            assert seconds_of(shown[columns.index(header)]) == seconds // 60 * 60
        counts = {"Chats asignados": figures["chats_assigned"], "Chats atendidos": figures["chats_handled"],
                  "Mensajes enviados": figures["messages_sent"], "Sesiones": len(figures["sessions"]),
                  "Máximo de chats simultáneos": figures["max_simultaneous_chats"]}
        assert counts == {"Chats asignados": 1, "Chats atendidos": 1, "Mensajes enviados": 2, "Sesiones": 1,
                          "Máximo de chats simultáneos": 1}
        for header, count in counts.items():
            assert int(row[header]) == count == cells[header] == int(shown[columns.index(header)])
        average = "Promedio de chats simultáneos"
        assert float(row[average]) == figures["average_simultaneous_chats"] == cells[average] == \
            float(shown[columns.index(average)].replace(",", "."))


def test_each_campaign_cuts_its_day_in_its_own_zone(office: Office) -> None:
    ana, bruno = office.get("admin", "/api/attendance").json()

    assert (ana["time_zone"], ana["day"]) == ("America/Bogota", "2026-11-02")
    assert (bruno["time_zone"], bruno["day"]) == ("America/New_York", "2026-11-02")
    assert [r["Primer ingreso"] for r in csv_rows(office, "admin")] == ["09:00:00", "09:30:00"]


def test_a_supervisor_of_one_campaign_gets_nothing_of_another(office: Office) -> None:
    assert [r["agent"] for r in office.get("sandra", "/api/attendance").json()] == ["Ana"]
    assert office.get("sandra", f"/api/attendance?campaign_id={office.telco}").json() == []
    assert office.get("sandra", f"/api/attendance?agent_id={office.ids['bruno']}").json() == []
    assert [r["Asesor"] for r in csv_rows(office, "sandra")] == ["Ana"]
    assert [r["Asesor"] for r in xlsx_rows(office, "sandra")] == ["Ana"]
    page = office.get("sandra", "/attendance").text
    assert "Bruno" not in page and "Telco Sur" not in page


def test_admins_and_auditors_see_everyone_and_an_agent_only_themself(office: Office) -> None:
    for login in ("admin", "auditor"):
        assert [r["agent"] for r in office.get(login, "/api/attendance").json()] == ["Ana", "Bruno"]
    assert [r["agent"] for r in office.get("ana", "/api/attendance").json()] == ["Ana"]
    assert office.get("ana", f"/api/attendance?agent_id={office.ids['bruno']}").json() == []


def test_the_page_speaks_spanish_names_reasons_and_shows_hours_and_minutes(office: Office) -> None:
    page = office.get("admin", "/attendance").text

    assert "Pausa: Almuerzo" in page and "Tiempo conectado" in page and "Asistencia" in page
    assert ">03:00<" in page and ">00:30<" in page
    assert raw_codes_in(visible_text(page)) == []


def test_dates_in_the_wrong_order_or_too_far_apart_are_refused(office: Office) -> None:
    backwards = office.get("admin", "/api/attendance?date_from=2026-11-05&date_to=2026-11-01")
    too_long = office.get("admin", "/api/attendance?date_from=2026-01-01&date_to=2026-11-01")
    not_a_date = office.get("admin", "/api/attendance?date_from=ayer")

    assert (backwards.status_code, too_long.status_code, not_a_date.status_code) == (422, 422, 422)
    assert "92" in too_long.json()["detail"]


def test_the_page_and_the_exports_speak_english_to_who_chose_it(office: Office) -> None:
    office.client.cookies.set("lang", "en")
    try:
        page = office.get("admin", "/attendance").text
        exported = csv_rows(office, "admin")
    finally:
        office.client.cookies.delete("lang")

    assert "Break: Lunch" in page and "Connected time" in page and ">0.94<" in page
    assert {"Break: Lunch", "Connected time", "Chats handled"} <= set(exported[0])

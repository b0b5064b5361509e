"""The auditors' time machine page over HTTP: auditors and admins see the queue, the agents and why a chat went to
its agent as of the instant they pick, in the campaign's local time; each lookup is recorded with who asked;
supervisors and agents are refused (the page shows any campaign's staff and chats as they were)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from api.app import create_app
from application.log_replay import read_log
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from domain.audit_lookups import AuditLookup
from tests.e2e.test_api_auth import PASSWORD, QUICK_PASSWORDS
from tests.time_machine_world import TwoWaitingThenAssigned, two_waiting_then_assigned

BOGOTA = ZoneInfo("America/Bogota")


@dataclass
class Office:
    world: TwoWaitingThenAssigned
    client: TestClient
    staff: dict[str, str]

    @property
    def despacho(self) -> Despacho:
        return self.world.floor.despacho

    def get(self, login: str, instant: datetime, chat_id: str = "") -> str:
        response = self.ask(login, instant, chat_id)
        assert response.status_code == 200, response.text
        return visible_text(response.text)

    def ask(self, login: str, instant: datetime, chat_id: str = "") -> httpx.Response:
        token = self.despacho.staff.issue_token(UUID(self.staff[login]), "tests", actor="test")
        local = instant.astimezone(BOGOTA).replace(tzinfo=None).isoformat()  # what a datetime-local control sends
        return self.client.get("/audit/as-of", params={"at": local, "campaign_id": self.world.floor.campaign,
                                                       "chat_id": chat_id},
                               headers={"Authorization": f"Bearer {token}"})


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def office(sqlite_settings: Settings, clock: FixedClock) -> Iterator[Office]:
    despacho = build(sqlite_settings, clock=clock, passwords=QUICK_PASSWORDS)
    world = two_waiting_then_assigned(despacho, clock)
    campaign = frozenset({world.floor.campaign})
    staff = {login: str(despacho.staff.register(login, name, role, password=PASSWORD, campaign_ids=members,
                                                 actor="test"))
             for login, name, role, members in (("alberto", "Alberto Auditor", "auditor", frozenset()),
                                                ("admin", "Adela Admin", "admin", frozenset()),
                                                ("sandra", "Sandra Supervisora", "supervisor", campaign),
                                                ("diego", "Diego Asesor", "agent", campaign))}
    world.floor.settle()
    with TestClient(create_app(despacho), follow_redirects=False) as client:
        yield Office(world, client, staff)
    despacho.close()


def lookups(despacho: Despacho) -> list[AuditLookup.Looked]:
    return [event for _, event in read_log(despacho.store) if isinstance(event, AuditLookup.Looked)]


def test_an_auditor_sees_two_chats_waiting_and_ana_available_with_one_before_routing_ran(office: Office) -> None:
    text = office.get("alberto", office.world.before)

    assert "Cola de Banco Andino cobranza" in text
    assert text.count("Ver en ese instante") == 2
    assert re.search(r"Ana Disponible .*? 1 / 2 Podía recibir chats", text)
    assert re.search(r"Bruno En pausa \(Almuerzo\) .*? 0 / 2 No recibía chats: no estaba disponible", text)
    assert office.world.first not in text  # chats are links, not ids to read


def test_after_routing_ran_the_chat_page_says_why_ana_got_it_among_the_candidates(office: Office) -> None:
    text = office.get("admin", office.world.after, chat_id=office.world.first)

    assert "No había chats en cola." in text
    assert "Por qué Ana recibió este chat" in text
    assert "Asignado por menor carga" in text and "entre 2 candidato(s)" in text
    assert re.search(r"Ana 1 / 2 Disponible Sí", text) and re.search(r"Carla 2 / 3 Disponible No", text)
    assert re.search(r"Asesores de la campaña en ese momento .*? Bruno En pausa", text)


def test_each_lookup_is_recorded_with_the_user_who_asked_and_what(office: Office) -> None:
    office.get("alberto", office.world.before, chat_id=office.world.first)

    [looked] = lookups(office.despacho)
    assert (looked.actor, looked.through) == (f"user:{office.staff['alberto']}", "page")
    assert (looked.instant, looked.campaign_id, looked.chat_id) == (
        office.world.before, office.world.floor.campaign, office.world.first)


def test_the_page_without_an_instant_asks_for_one_and_records_nothing(office: Office) -> None:
    token = office.despacho.staff.issue_token(UUID(office.staff["alberto"]), "tests", actor="test")

    response = office.client.get("/audit/as-of", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert 'type="datetime-local"' in response.text and "Banco Andino cobranza" in response.text
    assert lookups(office.despacho) == []


@pytest.mark.parametrize("login", ["sandra", "diego"])
def test_supervisors_and_agents_may_not_look_into_the_past(office: Office, login: str) -> None:
    response = office.ask(login, office.world.before)

    assert response.status_code == 403
    assert lookups(office.despacho) == []


def test_a_date_that_is_not_one_is_said_so_on_the_page(office: Office) -> None:
    token = office.despacho.staff.issue_token(UUID(office.staff["alberto"]), "tests", actor="test")

    response = office.client.get("/audit/as-of", params={"at": "ayer"}, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert "Escriba una fecha y hora válidas" in response.text

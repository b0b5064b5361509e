"""The dashboards against a scripted call center: banco_a has two chats of Ana's today (one closed by her), telco_b
one chat waiting five minutes because Bruno never connected. Every figure is checked in the query layer, on the
page (card and table), in the fragment the page refreshes and in the API, and a supervisor of one campaign never
sees the other's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from html import unescape
from typing import Any

import pytest

from adapters.clock import FixedClock
from application.ports import SendFailedError
from despacho.settings import Settings
from projections import dashboard_queries
from tests.conftest import START
from tests.e2e.desk_world import TELCO_NUMBER, CallCenter, call_center
from tests.e2e.test_api_auth import PASSWORD
from tests.services import fresh_postgres_database

WAIT = timedelta(minutes=5)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[CallCenter, dict[str, Any]]]:
    """The scripted day, once on SQLite and once on PostgreSQL."""
    var_dir = tmp_path_factory.mktemp("dashboards") / "var"
    with ExitStack() as stack:
        url = (f"sqlite:///{var_dir.parent / 'despacho.sqlite'}" if request.param == "sqlite"
               else stack.enter_context(fresh_postgres_database()))
        clock = FixedClock(START)
        center = stack.enter_context(call_center(Settings(var_dir=var_dir, database_url=url), clock))
        answered = center.identified_chat()
        assert center.post("ana", f"/api/chats/{answered['id']}/replies", {"body": "Hola, soy Ana."}).status_code == 201
        center.transport.fail_next(SendFailedError("21211", "El número de destino no es válido.", retryable=False))
        assert center.post("ana", f"/api/chats/{answered['id']}/replies", {"body": "¿Sigue ahí?"}).status_code == 201
        closed = center.identified_chat()
        assert center.post("ana", f"/api/chats/{closed['id']}/close",
                           {"disposition": "promesa_de_pago"}).status_code == 204
        waiting = center.identified_chat(document="900100200", to=TELCO_NUMBER)
        clock.advance(WAIT)
        yield center, {"answered": answered, "closed": closed, "waiting": waiting}


def cells(html: str, attribute: str) -> list[str]:
    return re.findall(rf'{attribute}="([^"]*)"', html)


def kpi(html: str, title: str) -> str:
    found = re.search(rf'card-title">{re.escape(title)}</span>\s*<span class="card-value" data-kpi-value="([^"]*)"',
                      html)
    assert found, f"no card {title!r}"
    return found.group(1)


def test_each_campaign_now_and_today_in_the_query_layer(world: tuple[CallCenter, dict[str, Any]]) -> None:
    center, _ = world
    now = center.clock.now()
    banco, telco = (dashboard_queries.campaigns_today(center.despacho.read_engine, {c}, now)[0]
                    for c in (center.banco, center.telco))

    assert (banco.waiting, banco.assigned, banco.agents, banco.chats_today, banco.closes_today) == (
        0, 1, {"available": 1, "break": 0, "offline": 1}, 2, {"agent": 1})
    assert banco.longest_wait_seconds(now) is None
    assert (telco.waiting, telco.assigned, telco.agents, telco.chats_today, telco.closes_today) == (
        1, 0, {"available": 0, "break": 0, "offline": 1}, 1, {})
    assert telco.longest_wait_seconds(now) == WAIT.total_seconds()


def test_a_supervisor_of_one_campaign_never_sees_anothers_numbers(world: tuple[CallCenter, dict[str, Any]]) -> None:
    center, chats = world
    engine, now = center.despacho.read_engine, center.clock.now()

    assert [c.id for c in dashboard_queries.campaigns_today(engine, {center.banco}, now)] == [center.banco]
    assert sum(dashboard_queries.volume_by_hour(engine, {center.banco}, now)) == 2
    assert [d.campaign_id for d in dashboard_queries.delivery_today(engine, {center.banco}, now)] == [center.banco]
    assert dashboard_queries.closed_chats(engine, {center.telco}) == 0

    home = center.get("sandra", "/").text
    assert "Telco Sur" not in home and "Nubia" not in home
    assert kpi(home, "Chats en cola") == "0" and kpi(home, "Chats de hoy") == "2"
    assert "card-title\">Espera más larga" not in home, "an empty queue has no longest wait to show"
    assert [c["id"] for c in center.get("sandra", "/api/dashboard/campaigns").json()] == [center.banco]
    for section in ("queue", "agents", "alerts", "volume", "kpis"):
        fragment = center.get("sandra", f"/dashboard/fragments/{section}")
        assert fragment.status_code == 200 and "Telco Sur" not in fragment.text and "Bruno" not in fragment.text
    assert "Nubia" not in center.get("sandra", f"/supervisor/queue?campaign={center.telco}").text
    filtered = center.get("tomas", f"/supervisor/queue?campaign={center.telco}").text
    assert chats["waiting"]["id"] in filtered and "Solo la campaña Telco Sur." in filtered


def test_the_supervisor_dashboard_shows_the_same_figures_in_cards_table_fragment_and_api(
        world: tuple[CallCenter, dict[str, Any]]) -> None:
    center, _ = world

    home = center.get("tomas", "/").text
    fragment = center.get("tomas", "/dashboard/fragments/queue").text
    [api] = center.get("tomas", "/api/dashboard/campaigns").json()

    assert kpi(home, "Chats en cola") == "1" == cells(home, "data-waiting")[0] == cells(fragment, "data-waiting")[0]
    assert kpi(home, "Espera más larga") == str(int(WAIT.total_seconds())) == cells(home, "data-longest-wait")[0]
    assert (api["waiting"], api["longest_wait_seconds"], api["chats_today"]) == (1, WAIT.total_seconds(), 1)
    assert f'href="/supervisor/queue?campaign={center.telco}"' in home
    assert re.search(r'data-agent-id="[^"]+"><a href="/attendance\?agent_id=[^"]+">Bruno</a>', home)
    assert 'data-chart="bar"' in home and 'id="volume-table"' in home


@pytest.mark.parametrize("viewer", ["sandra", "admin"])
def test_each_figure_of_today_on_the_dashboard_is_the_metrics_apis_number(
        world: tuple[CallCenter, dict[str, Any]], viewer: str) -> None:
    """R20 (Chatwoot issue 14141): today's cards, the campaigns table, the delivery table and the hourly chart read
    the registry's counters, so /api/metrics for the same day answers the same numbers."""
    center, _ = world
    day = f"date_from={center.clock.now().date()}&date_to={center.clock.now().date()}"  # 09:05 in Bogotá, same day
    rows = sorted((r for r in center.get(viewer, f"/api/metrics/campaigns?{day}").json() if r["campaign_id"]),
                  key=lambda r: r["campaign"])  # chats no campaign took yet are on no dashboard
    volume = center.get(viewer, f"/api/metrics/campaigns/volume?{day}").json()
    home = center.get(viewer, "/").text
    hourly = dict(re.findall(r'<th scope="row">(\d\d:00)</th><td data-value="(\d+)"',
                             center.get(viewer, "/dashboard/fragments/volume").text))

    assert kpi(home, "Chats de hoy") == str(int(sum(r["values"]["chats_total"] for r in rows)))
    assert kpi(home, "Cierres de hoy") == str(int(sum(r["values"]["chats_closed"] for r in rows)))
    expected = {f"{hour:02d}:00": sum(v["chats"] for v in volume if v["hour"] == hour) for hour in range(24)}
    assert {hour: int(n) for hour, n in hourly.items()} == expected and sum(expected.values()) > 0
    if viewer == "admin":
        assert cells(home, "data-chats-today") == [str(int(r["values"]["chats_total"])) for r in rows]
        assert cells(home, "data-closes-today") == [str(int(r["values"]["chats_closed"])) for r in rows]
        assert cells(home, "data-requested") == [str(int(r["counters"]["outbound"])) for r in rows]
        assert cells(home, "data-failed") == [str(int(r["counters"]["outbound_failed"])) for r in rows]
        assert [float(s) if s else None for s in cells(home, "data-failed-share")] == [
            r["values"]["delivery_failure_rate"] for r in rows]


def test_todays_kpis_say_in_words_whether_they_meet_the_campaigns_targets(
        world: tuple[CallCenter, dict[str, Any]]) -> None:
    """banco_a's chats were taken at once: a service level of 100 % against the default 80 % in 20 s."""
    center, _ = world

    home = center.get("sandra", "/").text

    card = re.search(r'data-kpi-met="(\w+)">\s*<span class="card-title">Nivel de servicio · Banco Andino cobranza'
                     r'</span>\s*<span class="card-value" data-kpi-value="1.0">.*?</span>\s*'
                     r'<span class="card-hint" data-kpi-target="0.8">Meta: 80\s?% en 20 s</span>\s*'
                     r'<span class="card-verdict text-success">.*?Cumple la meta</span>', home, re.S)
    assert card and card.group(1) == "yes"


def test_agents_now_show_presence_break_reason_time_in_status_and_load(
        world: tuple[CallCenter, dict[str, Any]]) -> None:
    center, _ = world
    center.set_status("carla", "break", "almuerzo")

    agents = center.get("sandra", "/dashboard/fragments/agents").text

    assert re.search(r'>Ana</a>.*?data-agent-status="available".*?data-load="1/2"', agents, re.S)
    assert re.search(r'>Carla</a>.*?data-agent-status="break".*?\(Almuerzo\).*?data-seconds-in-status="0"',
                     agents, re.S)
    assert 'data-break="1"' in center.get("sandra", "/dashboard/fragments/queue").text
    center.set_status("carla", "offline")


def test_hourly_volume_counts_todays_chats_in_the_campaigns_local_hour(
        world: tuple[CallCenter, dict[str, Any]]) -> None:
    center, _ = world

    volume = center.get("admin", "/dashboard/fragments/volume").text

    rows = dict(re.findall(r'<th scope="row">(\d\d:00)</th><td data-value="(\d+)"', volume))
    assert len(rows) == 24
    assert rows["09:00"] == "3", "START is 09:00 in Bogotá"
    assert sum(int(n) for n in rows.values()) == 3
    assert "3 en total; la hora con más chats fue 09:00, con 3" in volume


def test_the_admin_sees_every_campaign_side_by_side_and_todays_delivery(
        world: tuple[CallCenter, dict[str, Any]]) -> None:
    center, _ = world

    home = center.get("admin", "/").text
    audit = center.get("admin", f"/api/audit/messages?campaign_id={center.banco}").json()

    assert cells(home, "data-chats-today") == ["2", "1"], "Banco Andino, then Telco Sur, by name"
    assert cells(home, "data-closes-today") == ["1", "0"]
    assert "Cerrado por el asesor: 1" in home
    failed = [m for m in audit if m["status"] in ("failed", "undelivered", "canceled")]
    assert cells(home, "data-requested")[0] == str(len(audit)) and cells(home, "data-failed") == ["1", "0"]
    assert len(failed) == 1 and float(cells(home, "data-failed-share")[0]) == round(1 / len(audit), 4)
    assert re.search(rf'href="/audit/messages\?campaign_id={center.banco}&amp;status=failed&amp;date_from=2026-11-02'
                     r'&amp;date_to=2026-11-03">1</a>', home)
    assert 'href="/attendance"' in home
    assert kpi(home, "Chats de hoy") == "3" and kpi(home, "Cierres de hoy") == "1"


def test_the_agent_sees_their_own_day(world: tuple[CallCenter, dict[str, Any]]) -> None:
    center, _ = world

    day = center.get("ana", "/mi-dia").text

    assert re.search(r'data-chats-assigned="2".*?data-chats-handled="1".*?data-chats-closed="1".*?'
                     r'data-messages-sent="2".*?data-connected="300"', day, re.S)
    assert center.get("ana", "/").headers["location"] == "/desk"
    assert center.get("ana", "/dashboard/fragments/queue").status_code == 403
    assert center.get("sandra", "/dashboard/fragments/campaigns").status_code == 404


def test_the_agents_day_shows_the_metrics_apis_numbers(world: tuple[CallCenter, dict[str, Any]]) -> None:
    center, _ = world
    day = f"date_from={center.clock.now().date()}&date_to={center.clock.now().date()}"

    [own] = center.get("ana", f"/api/metrics/agents?{day}").json()
    page = center.get("ana", "/mi-dia").text

    for attribute, metric in (("data-chats-assigned", "chats_assigned"), ("data-chats-handled", "chats_handled"),
                              ("data-chats-closed", "closes"), ("data-messages-sent", "messages_sent")):
        assert cells(page, attribute) == [str(int(own["values"][metric]))], metric


def test_the_dashboard_speaks_english_with_english_number_formats(world: tuple[CallCenter, dict[str, Any]]) -> None:
    center, _ = world
    center.client.cookies.set("lang", "en")
    try:
        home = center.get("tomas", "/").text
    finally:
        center.client.cookies.delete("lang")

    for title in ("Queued chats", "Longest wait", "Today's chats", "Today's closes"):
        assert f'card-title">{title}</span>' in unescape(home)
    assert "Chats opened today by hour: 1 in all; the busiest hour was 09:00, with 1." in unescape(home)


def test_a_supervisor_without_campaigns_is_pointed_to_the_next_step(world: tuple[CallCenter, dict[str, Any]]) -> None:
    center, _ = world
    center.ids["vera"] = str(center.despacho.staff.register("vera", "Vera", "supervisor", password=PASSWORD,
                                                            campaign_ids=frozenset(), actor="test"))
    center.settle()

    home = center.get("vera", "/").text

    assert "empty-state" in home and 'href="/supervisor/queue"' in home
    assert "Banco Andino" not in home and "Telco Sur" not in home
    assert center.get("vera", "/api/dashboard/campaigns").json() == []

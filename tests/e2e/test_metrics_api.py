"""The metrics API and its exports: the JSON, the CSV and the XLSX of one filter show the same numbers (one query
feeds them all), and each viewer sees only their scope: a supervisor their campaigns, an agent their own row."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from adapters.clock import FixedClock
from despacho.settings import Settings
from tests.e2e.desk_world import TELCO_NUMBER, CallCenter, call_center

DAY = "2026-11-02"
RANGE = f"date_from={DAY}&date_to={DAY}"


@pytest.fixture
def center(sqlite_settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(sqlite_settings, clock) as built:
        yield built


def a_served_day(center: CallCenter) -> None:
    """ana answers a banco_a chat 40 s after taking it and closes it; a telco_b chat waits for bruno."""
    chat = center.identified_chat()
    center.clock.advance(timedelta(seconds=40))
    assert center.post("ana", f"/api/chats/{chat['id']}/replies", {"body": "Hola, soy Ana."}).status_code == 201
    center.post("ana", f"/api/chats/{chat['id']}/close", {"disposition": "acuerdo_de_pago", "note": ""})
    center.identified_chat(document="900100200", to=TELCO_NUMBER)


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def xlsx_rows(content: bytes) -> list[dict[str, object]]:
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_api_the_csv_and_the_xlsx_show_the_same_figures(center: CallCenter) -> None:
    a_served_day(center)

    [api] = [r for r in center.get("sandra", f"/api/metrics/agents?{RANGE}").json() if r["agent"] == "Ana"]
    [exported] = [r for r in csv_rows(center.get("sandra", f"/api/metrics/agents.csv?{RANGE}").text)
                  if r["Asesor"] == "Ana"]
    [sheet] = [r for r in xlsx_rows(center.get("sandra", f"/api/metrics/agents.xlsx?{RANGE}").content)
               if r["Asesor"] == "Ana"]

    assert api["values"]["first_response_time"] == 40.0
    assert (exported["Tiempo de primera respuesta (s)"], sheet["Tiempo de primera respuesta (s)"]) == ("40.0", 40.0)
    assert (api["values"]["chats_handled"], exported["Chats atendidos"], sheet["Chats atendidos"]) == (1, "1", 1)
    assert (api["dispositions"], exported["Tipificación: Acuerdo de pago"]) == ({"Acuerdo de pago": 1}, "1")
    campaign = center.get("sandra", f"/api/metrics/campaigns?{RANGE}").json()
    [campaign_csv] = csv_rows(center.get("sandra", f"/api/metrics/campaigns.csv?{RANGE}").text)
    assert [c["values"]["chats_total"] for c in campaign] == [1]
    assert campaign_csv["Chats totales"] == "1" and campaign_csv["Campaña"] == "Banco Andino cobranza"


def test_each_viewer_sees_only_their_scope(center: CallCenter) -> None:
    a_served_day(center)
    center.set_status("ana", "break")
    center.set_status("carla", "available")
    center.identified_chat()  # carla's: ana has half of banco_a's load

    campaigns = {r["campaign"] for r in center.get("tomas", f"/api/metrics/campaigns?{RANGE}").json()}
    everything = {r["campaign"] for r in center.get("auditor", f"/api/metrics/campaigns?{RANGE}").json()}
    assert campaigns == {"Telco Sur"} and {"Telco Sur", "Banco Andino cobranza"} <= everything
    assert center.get("tomas", f"/api/metrics/agents?{RANGE}").json() == []
    assert {r["agent"] for r in center.get("carla", f"/api/metrics/agents?{RANGE}").json()} == {"Carla"}
    [own] = center.get("ana", f"/api/metrics/agents?{RANGE}").json()
    [as_admin] = [r for r in center.get("admin", f"/api/metrics/agents?{RANGE}").json() if r["agent"] == "Ana"]
    assert own["agent"] == "Ana" and own["values"] == as_admin["values"] and own["values"]["load_share"] == 0.5
    assert center.get("ana", f"/api/metrics/campaigns?{RANGE}").status_code == 403
    assert center.get("ana", f"/api/metrics/bot?{RANGE}").status_code == 403


def test_a_bad_filter_is_refused_in_spanish(center: CallCenter) -> None:
    response = center.get("admin", f"/api/metrics/campaigns?{RANGE}&granularity=quarter")
    assert response.status_code == 422 and "Granularidad desconocida" in response.text


def test_the_heat_map_the_funnel_and_delivery_per_sender_are_scoped_and_exported(center: CallCenter) -> None:
    a_served_day(center)

    volume = center.get("sandra", f"/api/metrics/campaigns/volume?{RANGE}").json()
    assert [(v["campaign_name"], v["weekday"], v["hour"], v["chats"]) for v in volume] == [
        ("Banco Andino cobranza", 0, 9, 1)]
    [exported] = csv_rows(center.get("sandra", f"/api/metrics/campaigns/volume.csv?{RANGE}").text)
    assert (exported["Día de la semana"], exported["Hora"], exported["Chats"]) == ("0", "9", "1")
    funnel = center.get("tomas", f"/api/metrics/bot/funnel?{RANGE}").json()
    assert {step["campaign_name"] for step in funnel} == {"Telco Sur"}
    sheet = xlsx_rows(center.get("tomas", f"/api/metrics/bot/funnel.xlsx?{RANGE}").content)
    assert [(r["Estado"], r["Chats"]) for r in sheet] == [(s["state"], s["chats"]) for s in funnel]
    senders = center.get("sandra", f"/api/metrics/campaigns/delivery?{RANGE}").json()
    assert [s["sender"] for s in senders] == ["whatsapp:+5716000001"] and senders[0]["outbound"] > 0
    [delivery] = csv_rows(center.get("sandra", f"/api/metrics/campaigns/delivery.csv?{RANGE}").text)
    assert delivery["Mensajes solicitados"] == str(senders[0]["outbound"])


def test_the_dashboards_cards_show_the_tables_numbers(center: CallCenter) -> None:
    """The supervisor's cards for today read the same rows and formulas as /api/metrics (Chatwoot issue 14141)."""
    a_served_day(center)

    home = center.get("sandra", "/").text
    cards = dict(re.findall(r'card-title">([^<]*)</span>\s*<span class="card-value" data-kpi-value="([^"]*)"', home))
    [campaign] = center.get("sandra", f"/api/metrics/campaigns?{RANGE}").json()
    [ana] = center.get("sandra", f"/api/metrics/agents?{RANGE}").json()
    banco = " · Banco Andino cobranza"
    assert float(cards["Velocidad promedio de asignación" + banco]) == campaign["values"]["average_speed_of_answer"]
    assert float(cards["Nivel de servicio" + banco]) == campaign["values"]["service_level"]
    assert float(cards["Tiempo de primera respuesta" + banco]) == ana["values"]["first_response_time"] == 40.0
    assert not any("Telco Sur" in title for title in cards)

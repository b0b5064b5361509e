"""The satisfaction survey on the admin campaign form (on or off, its question, how long an answer counts: saved,
shown again, refused in Spanish when out of range, left alone by forms without the fieldset), and the answer on the
closed chat's page."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho
from domain.surveys import DEFAULT_QUESTION
from projections.admin_queries import campaign_row
from tests.e2e.admin_support import (  # noqa: F401
    PASSWORD,
    bearer,
    client_fixture,
    despacho_fixture,
    log_in,
    staff_fixture,
)
from tests.e2e.test_risk_campaign_form import base_form
from tests.metric_world import MetricCenter


def test_the_campaign_form_turns_the_survey_on_with_its_question_and_answer_window(
        client: TestClient, despacho: Despacho, staff: SimpleNamespace) -> None:
    url = f"/admin/campaigns/{staff.banco_a}"
    form = base_form(despacho, staff.banco_a, log_in(client, "admin"))
    blank = client.get(url)
    survey = {"survey_enabled": "1", "survey_question": "Del 1 al 5, ¿qué tal lo atendimos?",
              "survey_answer_hours": "12"}

    saved = client.post(url, data={**form, **survey})
    despacho.runner.catch_up()
    page = client.get(url)
    too_long = client.post(url, data={**form, **survey, "survey_answer_hours": "200"})
    empty = client.post(url, data={**form, **survey, "survey_question": " "})
    without_fieldset = client.post(url, data=form)
    despacho.runner.catch_up()
    kept = campaign_row(despacho.read_engine, staff.banco_a)
    switched_off = client.post(url, data={**form, "survey_question": survey["survey_question"],
                                          "survey_answer_hours": "12"})
    despacho.runner.catch_up()

    assert DEFAULT_QUESTION in blank.text and 'name="survey_enabled" value="1">' in blank.text
    assert saved.status_code == 303
    assert 'name="survey_enabled" value="1" checked' in page.text and "¿qué tal lo atendimos?" in page.text
    assert 'name="survey_answer_hours" type="number" value="12"' in page.text
    assert too_long.status_code == 422 and "de 1 a 168 horas después del cierre" in too_long.text
    assert empty.status_code == 422 and "La pregunta de la encuesta tiene de 1 a 500 caracteres" in empty.text
    assert without_fieldset.status_code == 303
    assert kept is not None and (kept["survey_enabled"], kept["survey_answer_hours"]) == (True, 12)
    assert switched_off.status_code == 303
    assert campaign_row(despacho.read_engine, staff.banco_a)["survey_enabled"] is False  # type: ignore[index]


def test_the_api_sets_the_survey_and_reads_it_back(client: TestClient, despacho: Despacho,
                                                    staff: SimpleNamespace) -> None:
    headers = bearer(despacho, staff.admin)
    response = client.put(f"/api/campaigns/{staff.banco_a}", headers=headers, json={
        "name": "Banco A", "display_name": "Banco A", "settings": {"survey_enabled": True, "survey_answer_hours": 6}})
    despacho.runner.catch_up()

    row = client.get(f"/api/campaigns/{staff.banco_a}", headers=headers).json()
    assert response.status_code == 204
    assert (row["survey_enabled"], row["survey_question"], row["survey_answer_hours"]) == (True, DEFAULT_QUESTION, 6)


def test_the_closed_chats_page_shows_the_customers_answer(client: TestClient, despacho: Despacho,
                                                          clock: FixedClock) -> None:
    center = MetricCenter(despacho, clock, banco_settings={"survey_enabled": True})
    despacho.staff.register("admin", "Administración", "admin", password=PASSWORD, actor="system:test")
    center.available("ana")
    customer = "whatsapp:+573001112299"
    chat = center.identified(customer)
    center.reply("ana", chat)
    center.close("ana", chat)
    despacho.closing.finish(chat)  # the close's follow-up
    center.catch_up()
    log_in(client, "admin")
    asked = client.get(f"/chats/{chat}")
    center.advance(120)
    center.customer_writes(customer, "cuatro")

    answered = client.get(f"/chats/{chat}")

    assert "Encuesta de satisfacción" in asked.text and "Enviada, sin respuesta" in asked.text
    assert "4 de 5" in answered.text

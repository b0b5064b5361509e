"""Campaign administration through HTTP: the JSON API and the admin pages, every setting an event."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import UUID

from fastapi.testclient import TestClient

from application.audit import aggregate_history
from despacho.bootstrap import Despacho
from projections.admin_queries import campaign_row
from tests.e2e.admin_support import (  # noqa: F401
    bearer,
    client_fixture,
    despacho_fixture,
    log_in,
    served_client_fixture,
    staff_fixture,
)

SID = "HX" + "a1" * 16
SERVICE = "MG" + "b2" * 16


def test_an_admin_creates_a_campaign_with_every_setting_and_its_senders(client: TestClient, despacho: Despacho,
                                                                         staff: SimpleNamespace) -> None:
    body = {"code": "Cobranza_C", "name": "Cobranza C", "display_name": "Banco C", "settings": {
        "time_zone": "America/Lima", "business_hours": {"mon": ["07:00", "19:00"]}, "alert_after_minutes": 15,
        "auto_close_after_hours": 12, "routing_policy": "round_robin", "default_capacity": 8,
        "closing_message": "Gracias", "closing_template_sid": SID, "dispositions": ["Pago total *", "No pagó"],
        "flow_name": "autoservicio_pagos"},
        "senders": [{"address": "+57 300 111 2233", "channel": "whatsapp"},
                    {"address": SERVICE, "channel": "messaging_service", "is_default": True}]}

    response = client.post("/api/campaigns", json=body, headers=bearer(despacho, staff.admin))
    despacho.runner.catch_up()

    assert response.status_code == 201
    row = campaign_row(despacho.read_engine, response.json()["id"])
    assert row is not None
    assert (row["code"], row["time_zone"], row["routing_policy"], row["default_capacity"]) == \
        ("cobranza_c", "America/Lima", "round_robin", 8)
    assert (row["alert_after_minutes"], row["auto_close_after_hours"]) == (15, 12)
    assert row["flow_name"] == "autoservicio_pagos"
    assert row["business_hours"] == {"mon": ["07:00", "19:00"]}
    assert row["dispositions"] == [{"code": "pago_total", "label": "Pago total", "effective": True},
                                   {"code": "no_pago", "label": "No pagó", "effective": False}]
    shown = client.get(f"/api/campaigns/{row['id']}", headers=bearer(despacho, staff.admin)).json()
    assert shown["dispositions"] == row["dispositions"], "the API shows which dispositions are effective"
    assert {(s["address"], s["is_default"]) for s in row["senders"]} == {
        ("whatsapp:+573001112233", False), (SERVICE, True)}


def test_editing_keeps_unsent_settings_and_is_recorded_as_events(client: TestClient, despacho: Despacho,
                                                                 staff: SimpleNamespace) -> None:
    headers = bearer(despacho, staff.admin)

    response = client.put(f"/api/campaigns/{staff.banco_a}", headers=headers, json={
        "name": "Banco A — Mora", "display_name": "Banco A", "settings": {"routing_policy": "round_robin"}})
    despacho.runner.catch_up()

    assert response.status_code == 204
    row = client.get(f"/api/campaigns/{staff.banco_a}", headers=headers).json()
    assert (row["name"], row["routing_policy"], row["time_zone"]) == ("Banco A — Mora", "round_robin", "America/Bogota")
    events = [(r.type, r.actor) for r in aggregate_history(despacho.store, UUID(staff.banco_a))]
    assert events[-1] == ("Campaign.Edited", f"user:{staff.admin}")


def test_bad_settings_are_refused_with_a_spanish_reason(client: TestClient, despacho: Despacho,
                                                        staff: SimpleNamespace) -> None:
    headers = bearer(despacho, staff.admin)
    cases = [({"time_zone": "Marte/Olympus"}, "Zona horaria"), ({"closing_template_sid": "plantilla"}, "Content SID"),
             ({"business_hours": {"mon": ["18:00", "08:00"]}}, "apertura")]
    for settings, reason in cases:
        response = client.put(f"/api/campaigns/{staff.banco_a}", headers=headers,
                              json={"name": "Banco A", "display_name": "Banco A", "settings": settings})
        assert response.status_code == 422 and reason in response.json()["detail"]
    assert client.put(f"/api/campaigns/{staff.banco_a}", headers=headers, json={
        "name": "A", "display_name": "A", "settings": {"unknown_setting": 1}}).status_code == 422


def test_senders_are_added_made_default_and_removed(client: TestClient, despacho: Despacho,
                                                    staff: SimpleNamespace) -> None:
    headers = bearer(despacho, staff.admin)
    base = f"/api/campaigns/{staff.banco_a}/senders"
    client.post(base, headers=headers, json={"address": "whatsapp:+5716000001", "channel": "whatsapp"})
    client.post(base, headers=headers, json={"address": "+5716000011", "channel": "sms", "is_default": True})
    refused = client.post(base, headers=headers, json={"address": "+57", "channel": "sms"})

    client.delete(f"{base}/+5716000011", headers=headers)
    despacho.runner.catch_up()

    assert refused.status_code == 422
    senders = client.get(f"/api/campaigns/{staff.banco_a}", headers=headers).json()["senders"]
    assert [(s["address"], s["is_default"]) for s in senders] == [("whatsapp:+5716000001", True)]


def test_archiving_hides_the_campaign_and_refuses_edits(client: TestClient, despacho: Despacho,
                                                        staff: SimpleNamespace) -> None:
    headers = bearer(despacho, staff.admin)

    assert client.post(f"/api/campaigns/{staff.telco_b}/archive", headers=headers).status_code == 204
    despacho.runner.catch_up()

    assert [c["code"] for c in client.get("/api/campaigns", headers=headers).json()] == ["banco_a"]
    edit = client.put(f"/api/campaigns/{staff.telco_b}", headers=headers,
                      json={"name": "Telco B", "display_name": "Telco B"})
    assert edit.status_code == 422 and "archivada" in edit.json()["detail"]


def test_only_admins_change_campaigns_and_unknown_ones_are_404(client: TestClient, despacho: Despacho,
                                                               staff: SimpleNamespace) -> None:
    response = client.post("/api/campaigns", headers=bearer(despacho, staff.supervisor),
                           json={"code": "x_y", "name": "X", "display_name": "X"})
    unknown = client.put("/api/campaigns/00000000-0000-0000-0000-000000000000", headers=bearer(despacho, staff.admin),
                         json={"name": "X", "display_name": "X"})

    assert response.status_code == 403
    assert unknown.status_code == 404 and unknown.json()["detail"] == "Campaña desconocida"


def test_the_admin_pages_create_and_edit_a_campaign(client: TestClient, despacho: Despacho,
                                                    staff: SimpleNamespace) -> None:
    csrf = log_in(client, "admin")
    form = {"csrf_token": csrf, "code": "seguros_d", "name": "Seguros D", "display_name": "Seguros D",
            "sender_channel": "sms", "sender_address": "+5716000099", "time_zone": "America/Bogota",
            "mon_open": "08:00", "mon_close": "17:00", "sat_open": "", "sat_close": "",
            "alert_after_minutes": "20", "auto_close_after_hours": "24", "routing_policy": "least_load",
            "default_capacity": "4", "flow_name": "default", "closing_message": "Chao",
            "closing_template_sid": "", "dispositions": "Pago total *\r\nnumero_equivocado\r\n"}

    created = client.post("/admin/campaigns", data=form)
    despacho.runner.catch_up()
    page = client.get(created.headers["location"])
    bad = client.post(created.headers["location"], data={**form, "default_capacity": "0"})

    assert created.status_code == 303
    assert page.status_code == 200 and "Seguros D" in page.text and "+5716000099" in page.text
    row = campaign_row(despacho.read_engine, created.headers["location"].rsplit("/", 1)[1])
    assert row is not None and row["business_hours"] == {"mon": ["08:00", "17:00"]}
    assert row["dispositions"] == [{"code": "pago_total", "label": "Pago total", "effective": True},
                                   {"code": "numero_equivocado", "label": "Número equivocado", "effective": False}]
    assert row["default_capacity"] == 4
    assert "Pago total *\nNúmero equivocado" in page.text, "the form lists the labels people read, one per line"
    assert "Termine con un asterisco (*) las tipificaciones efectivas" in page.text, "the form says what * means"
    assert "Acuerdo de pago *\nPromesa de pago *\nNo interesado" in client.get("/admin/campaigns/new").text
    assert bad.status_code == 422 and "capacidad por defecto" in bad.text
    assert "Seguros D" in client.get("/admin/campaigns").text


def test_the_admin_page_edits_the_approved_whatsapp_templates(client: TestClient, despacho: Despacho,
                                                              staff: SimpleNamespace) -> None:
    csrf = log_in(client, "admin")
    url = f"/admin/campaigns/{staff.banco_a}"
    row = campaign_row(despacho.read_engine, staff.banco_a)
    assert row is not None
    form = {"csrf_token": csrf, "name": row["name"], "display_name": row["display_name"], "time_zone": row["time_zone"],
            "alert_after_minutes": "30", "auto_close_after_hours": "24", "routing_policy": "least_load",
            "default_capacity": "5", "flow_name": "default", "closing_message": "Chao", "closing_template_sid": "",
            "dispositions": "pago", "mon_open": "08:00", "mon_close": "18:00",
            "template_name": ["recordatorio_pago", "", "saludo"], "template_content_sid": [SID, "", "HX" + "c3" * 16],
            "template_variables": ["nombre, monto", "", ""]}

    saved = client.post(url, data=form)
    despacho.runner.catch_up()
    page = client.get(url)
    no_name = client.post(url, data={**form, "template_name": ["recordatorio_pago", "", ""]})
    bad_sid = client.post(url, data={**form, "template_content_sid": [SID, "", "HX123"]})
    removed = client.post(url, data={**form, "template_name": ["recordatorio_pago", "", ""],
                                     "template_content_sid": [SID, "", ""]})
    despacho.runner.catch_up()

    assert saved.status_code == 303
    assert 'value="recordatorio_pago"' in page.text and 'value="nombre, monto"' in page.text and SID in page.text
    assert no_name.status_code == 422 and "Plantilla 2: falta el nombre" in no_name.text
    assert bad_sid.status_code == 422 and "Plantilla 2: el Content SID empieza por HX" in bad_sid.text
    assert 'value="HX123"' in bad_sid.text  # what was typed is kept for correcting it
    assert removed.status_code == 303
    row = campaign_row(despacho.read_engine, staff.banco_a)
    assert row is not None and row["templates"] == [
        {"name": "recordatorio_pago", "content_sid": SID, "variables": ["nombre", "monto"]}]


def test_an_unknown_bot_flow_is_refused_naming_the_flows_that_exist(client: TestClient, despacho: Despacho,
                                                                    staff: SimpleNamespace) -> None:
    headers = bearer(despacho, staff.admin)

    edited = client.put(f"/api/campaigns/{staff.banco_a}", headers=headers, json={
        "name": "Banco A", "display_name": "Banco A", "settings": {"flow_name": "../../etc/passwd"}})
    created = client.post("/api/campaigns", headers=headers, json={
        "code": "seguros_c", "name": "Seguros C", "display_name": "Seguros C", "settings": {"flow_name": "no_existe"}})
    despacho.runner.catch_up()

    for response, name in ((edited, "../../etc/passwd"), (created, "no_existe")):
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert name in detail and "autoservicio_pagos" in detail and "default" in detail
    row = campaign_row(despacho.read_engine, staff.banco_a)
    assert row is not None and row["flow_name"] == "default"
    assert [c["code"] for c in client.get("/api/campaigns", headers=headers).json()] == ["banco_a", "telco_b"]


def test_the_campaign_form_refuses_an_unknown_bot_flow_and_keeps_what_was_typed(
        client: TestClient, despacho: Despacho, staff: SimpleNamespace) -> None:
    csrf = log_in(client, "admin")
    url = f"/admin/campaigns/{staff.banco_a}"
    form = {"csrf_token": csrf, "name": "Banco A renombrado", "display_name": "Banco A", "time_zone": "America/Bogota",
            "alert_after_minutes": "30", "auto_close_after_hours": "24", "routing_policy": "least_load",
            "default_capacity": "5", "flow_name": "../../etc/passwd", "closing_message": "Chao",
            "closing_template_sid": "", "dispositions": "pago", "mon_open": "08:00", "mon_close": "18:00"}

    refused = client.post(url, data=form)
    despacho.runner.catch_up()

    assert refused.status_code == 422
    assert "No existe el flujo del bot" in refused.text and "autoservicio_pagos, default" in refused.text
    assert 'value="Banco A renombrado"' in refused.text
    row = campaign_row(despacho.read_engine, staff.banco_a)
    assert row is not None and (row["name"], row["flow_name"]) == ("Banco A", "default")


def test_a_whatsapp_campaign_without_its_closing_template_is_refused_by_the_api_and_the_admin_form(
        client: TestClient, despacho: Despacho, staff: SimpleNamespace) -> None:
    headers = bearer(despacho, staff.admin)
    whatsapp = {"address": "whatsapp:+5716000077", "channel": "whatsapp"}
    created = client.post("/api/campaigns", headers=headers, json={
        "code": "seguros_w", "name": "Seguros W", "display_name": "Seguros", "senders": [whatsapp]})
    linked = client.post(f"/api/campaigns/{staff.telco_b}/senders", headers=headers, json=whatsapp)
    csrf = log_in(client, "admin")
    form = client.post("/admin/campaigns", data={
        "csrf_token": csrf, "code": "seguros_w", "name": "Seguros W", "display_name": "Seguros",
        "sender_channel": "whatsapp", "sender_address": "+5716000077", "time_zone": "America/Bogota",
        "alert_after_minutes": "30", "auto_close_after_hours": "24", "routing_policy": "least_load",
        "default_capacity": "5", "flow_name": "default", "closing_message": "Chao", "closing_template_sid": "",
        "dispositions": "pago"})
    despacho.runner.catch_up()

    for refused in (created, linked):
        assert refused.status_code == 422 and "plantilla de cierre" in refused.json()["detail"]
    assert form.status_code == 422 and "plantilla de cierre" in form.text and 'value="Seguros W"' in form.text
    assert "seguros_w" not in [c["code"] for c in client.get("/api/campaigns", headers=headers).json()]
    assert client.get(f"/api/campaigns/{staff.telco_b}", headers=headers).json()["senders"] == []


def test_agents_working_outside_hours_take_chats_is_set_by_the_api_and_the_admin_form(
        client: TestClient, despacho: Despacho, staff: SimpleNamespace) -> None:
    headers = bearer(despacho, staff.admin)
    api = client.put(f"/api/campaigns/{staff.telco_b}", headers=headers, json={
        "name": "Telco B", "display_name": "Telco B", "settings": {"agents_outside_hours_take_chats": True}})
    csrf = log_in(client, "admin")
    url = f"/admin/campaigns/{staff.banco_a}"
    form = {"csrf_token": csrf, "name": "Banco A", "display_name": "Banco A", "time_zone": "America/Bogota",
            "alert_after_minutes": "30", "auto_close_after_hours": "24", "routing_policy": "least_load",
            "default_capacity": "5", "flow_name": "default", "closing_message": "Chao", "closing_template_sid": "",
            "dispositions": "pago", "mon_open": "00:00", "mon_close": "00:00", "agents_outside_hours_take_chats": "1"}
    saved = client.post(url, data=form)
    despacho.runner.catch_up()

    assert api.status_code == 204 and saved.status_code == 303
    assert client.get(f"/api/campaigns/{staff.telco_b}", headers=headers).json()["agents_outside_hours_take_chats"]
    row = campaign_row(despacho.read_engine, staff.banco_a)
    assert row is not None and row["agents_outside_hours_take_chats"] and row["business_hours"] == {
        "mon": ["00:00", "00:00"]}
    assert 'name="agents_outside_hours_take_chats" value="1" checked' in client.get(url).text
    client.post(url, data={k: v for k, v in form.items() if k != "agents_outside_hours_take_chats"})
    despacho.runner.catch_up()
    unticked = campaign_row(despacho.read_engine, staff.banco_a)
    assert unticked is not None and not unticked["agents_outside_hours_take_chats"]


def test_admin_pages_warn_while_the_unidentified_campaign_has_no_agent(client: TestClient, despacho: Despacho,
                                                                       staff: SimpleNamespace) -> None:
    despacho.unidentified.ensure_exists()
    despacho.runner.catch_up()
    warning = "no tiene asesores"
    log_in(client, "admin")
    for page in ("/admin/campaigns", "/admin/agents", "/"):
        assert warning in client.get(page).text, page

    despacho.staff.edit(UUID(staff.agent), name="Ana Asesora", role="agent", capacity=5, actor="t",
                        campaign_ids=frozenset({staff.banco_a, despacho.unidentified.campaign_id()}))
    despacho.runner.catch_up()
    assert warning not in client.get("/admin/campaigns").text


def test_the_page_after_saving_shows_the_change_and_its_message_even_if_a_live_refresh_comes_first(
        served_client: TestClient, despacho: Despacho, staff: SimpleNamespace) -> None:
    client = served_client
    csrf = log_in(client, "admin")
    url = f"/admin/campaigns/{staff.banco_a}"
    form = {"csrf_token": csrf, "name": "Banco A — Mora", "display_name": "Banco A", "time_zone": "America/Bogota",
            "alert_after_minutes": "30", "auto_close_after_hours": "24", "routing_policy": "least_load",
            "default_capacity": "5", "flow_name": "default", "closing_message": "Chao", "closing_template_sid": "",
            "dispositions": "pago"}

    saved = client.post(url, data=form)  # no catch_up by hand: the redirect waits for the projector
    # What the previous page's scripts may send while the browser follows the redirect: none takes the message.
    client.get("/api/me", headers={"Sec-Fetch-Dest": "empty"})
    page = client.get(saved.headers["location"], headers={"Sec-Fetch-Dest": "document"})
    again = client.get(url, headers={"Sec-Fetch-Dest": "document"})

    assert saved.status_code == 303
    assert "Cambios guardados." in page.text and 'value="Banco A — Mora"' in page.text
    assert "Cambios guardados." not in again.text, "shown once, on the page"

"""A campaign's own block and spam risk thresholds, typed on the admin campaign form: saved as a setting, shown
again for editing, refused with a Spanish reason when incomplete or out of order, left alone by forms without
the fieldset."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fastapi.testclient import TestClient

from despacho.bootstrap import Despacho
from projections.admin_queries import campaign_row
from tests.e2e.admin_support import client_fixture, despacho_fixture, log_in, staff_fixture  # noqa: F401


def base_form(despacho: Despacho, campaign_id: str, csrf: str) -> dict[str, Any]:
    row = campaign_row(despacho.read_engine, campaign_id)
    assert row is not None
    return {"csrf_token": csrf, "name": row["name"], "display_name": row["display_name"], "time_zone": row["time_zone"],
            "alert_after_minutes": "30", "auto_close_after_hours": "24", "routing_policy": "least_load",
            "default_capacity": "5", "flow_name": "default", "closing_message": "Chao", "closing_template_sid": "",
            "dispositions": "pago", "mon_open": "08:00", "mon_close": "18:00"}


def test_the_campaign_form_sets_and_clears_the_campaigns_risk_thresholds(client: TestClient, despacho: Despacho,
                                                                        staff: SimpleNamespace) -> None:
    url = f"/admin/campaigns/{staff.banco_a}"
    form = base_form(despacho, staff.banco_a, log_in(client, "admin"))
    loosened = {"risk_business_per_customer_24h_watch": "3", "risk_business_per_customer_24h_high": "4",
                "risk_business_per_customer_24h_critical": "6"}

    saved = client.post(url, data={**form, **loosened})
    despacho.runner.catch_up()
    page = client.get(url)
    partial = client.post(url, data={**form, "risk_reply_rate_watch": "0,2"})
    disordered = client.post(url, data={**form, "risk_failure_rate_watch": "0.5", "risk_failure_rate_high": "0.2",
                                        "risk_failure_rate_critical": "0.3"})
    without_fieldset = client.post(url, data=form)
    despacho.runner.catch_up()
    kept = campaign_row(despacho.read_engine, staff.banco_a)
    cleared = client.post(url, data={**form, "risk_failure_rate_watch": ""})
    despacho.runner.catch_up()

    assert saved.status_code == 303 and 'name="risk_business_per_customer_24h_high"' in page.text
    assert 'value="4"' in page.text and 'placeholder="0.35"' in page.text  # the failure rate's default
    assert partial.status_code == 422 and "escriba los tres valores" in partial.text
    assert disordered.status_code == 422 and "Los umbrales de Tasa de mensajes fallidos van de" in disordered.text
    assert without_fieldset.status_code == 303
    assert kept is not None and kept["risk_thresholds"] == {"business_per_customer_24h": [3.0, 4.0, 6.0]}
    assert cleared.status_code == 303
    assert campaign_row(despacho.read_engine, staff.banco_a)["risk_thresholds"] == {}  # type: ignore[index]

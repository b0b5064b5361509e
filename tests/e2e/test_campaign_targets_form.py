"""A campaign's service targets, typed on the admin campaign form: saved as a setting (shares typed as percentages),
shown again for editing with the defaults as placeholders, refused in Spanish when not a number or out of range,
left alone by forms without the fieldset, cleared by blanks."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient

from despacho.bootstrap import Despacho
from projections.admin_queries import campaign_row
from tests.e2e.admin_support import client_fixture, despacho_fixture, log_in, staff_fixture  # noqa: F401
from tests.e2e.test_risk_campaign_form import base_form


def test_the_campaign_form_sets_shows_refuses_and_clears_the_campaigns_targets(
        client: TestClient, despacho: Despacho, staff: SimpleNamespace) -> None:
    url = f"/admin/campaigns/{staff.banco_a}"
    form = base_form(despacho, staff.banco_a, log_in(client, "admin"))
    targets = {"target_service_level_seconds": "30", "target_service_level": "90", "target_abandonment_rate": "5,5",
               "target_average_speed_of_answer": "", "target_first_response_time": "45"}

    saved = client.post(url, data={**form, **targets})
    despacho.runner.catch_up()
    page = client.get(url)
    not_a_number = client.post(url, data={**form, "target_first_response_time": "rápido"})
    out_of_range = client.post(url, data={**form, "target_service_level": "120"})
    without_fieldset = client.post(url, data=form)
    despacho.runner.catch_up()
    kept = campaign_row(despacho.read_engine, staff.banco_a)
    cleared = client.post(url, data={**form, "target_service_level": ""})
    despacho.runner.catch_up()

    assert saved.status_code == 303
    assert 'name="target_service_level" placeholder="80" value="90"' in page.text
    assert 'name="target_abandonment_rate" placeholder="" value="5.5"' in page.text
    assert 'name="target_average_speed_of_answer" placeholder="" value=""' in page.text
    assert not_a_number.status_code == 422 and "debe ser un número" in not_a_number.text
    assert out_of_range.status_code == 422 and "está fuera de rango" in out_of_range.text
    assert without_fieldset.status_code == 303
    assert kept is not None and kept["metric_targets"] == {"service_level_seconds": 30.0, "service_level": 0.9,
                                                           "abandonment_rate": 0.055, "first_response_time": 45.0}
    assert cleared.status_code == 303
    assert campaign_row(despacho.read_engine, staff.banco_a)["metric_targets"] == {}  # type: ignore[index]

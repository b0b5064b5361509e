"""Portfolios through HTTP: preview, error report, import in a worker with progress, the sample files
of tests/fixtures/portfolios/EXPECTED.md imported per campaign, and every refusal changing nothing."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dramatiq
import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import select

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho
from projections.admin_queries import customers_with_document, portfolio_imports
from projections.queries import PORTFOLIOS
from tests.e2e.admin_support import (  # noqa: F401
    bearer,
    client_fixture,
    despacho_fixture,
    log_in,
    run_jobs,
    staff_fixture,
    worker_fixture,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "portfolios"
SHARED_DOCUMENTS = ["1020304050", "52123456", "80765432", "1098765432", "43210987"]
EXPECTED = [  # file, rows, valid, invalid, duplicates (EXPECTED.md)
    ("cartera_banco_a.csv", 50, 50, 0, 0),
    ("cartera_banco_a.xlsx", 30, 30, 0, 0),
    ("cartera_telco_b_excel.csv", 100, 100, 0, 0),
    ("cartera_con_errores.csv", 40, 30, 10, 2),
]


def upload(name: str, content: bytes | None = None) -> dict[str, Any]:
    return {"file": (name, content if content is not None else (FIXTURES / name).read_bytes())}


def import_file(client: TestClient, despacho: Despacho, worker: dramatiq.Worker, headers: dict[str, str],
                campaign_id: str, name: str, content: bytes | None = None, mode: str = "upsert",
                confirm_deactivation: bool = False) -> dict[str, Any]:
    response = client.post(f"/api/campaigns/{campaign_id}/portfolios/import", headers=headers,
                           files=upload(name, content),
                           data={"mode": mode, "confirm_deactivation": str(confirm_deactivation).lower()})
    assert response.status_code == 202, response.text
    run_jobs(despacho, worker)
    job: dict[str, Any] = client.get(response.json()["status_url"], headers=headers).json()
    return job


def customers(despacho: Despacho, campaign_id: str, *, active: bool = True) -> dict[str, dict[str, Any]]:
    table = PORTFOLIOS.customers
    with despacho.read_engine.connect() as connection:
        rows = connection.execute(select(table).where(table.c.campaign_id == campaign_id,
                                                      table.c.active.is_(active))).mappings()
        return {r["document_number"]: dict(r) for r in rows}


def csv_bytes(*documents: str) -> bytes:
    lines = ["documento,nombres,celular", *[f"{d},Cliente {d},300{d[-7:]:0>7}" for d in documents]]
    return "\n".join(lines).encode()


@pytest.mark.parametrize(("name", "total", "valid", "invalid", "duplicates"), EXPECTED)
def test_each_sample_file_imports_the_figures_of_expected_md(client: TestClient, despacho: Despacho,
                                                             staff: SimpleNamespace, worker: dramatiq.Worker,
                                                             name: str, total: int, valid: int, invalid: int,
                                                             duplicates: int) -> None:
    headers = bearer(despacho, staff.admin)

    preview = client.post(f"/api/campaigns/{staff.banco_a}/portfolios/preview", headers=headers,
                          files=upload(name)).json()
    job = import_file(client, despacho, worker, headers, staff.banco_a, name)

    assert (preview["total"], preview["valid"], preview["invalid"], preview["duplicates"]) == \
        (total, valid, invalid, duplicates)
    assert job["status"] == "completed" and job["percent"] == 100
    assert (job["counts"]["valid"], job["counts"]["invalid"]) == (valid, invalid)
    assert len(customers(despacho, staff.banco_a)) == valid
    assert customers(despacho, staff.telco_b) == {}


def test_the_error_file_imports_normalised_rows_and_none_of_the_duplicates(
        client: TestClient, despacho: Despacho, staff: SimpleNamespace, worker: dramatiq.Worker) -> None:
    import_file(client, despacho, worker, bearer(despacho, staff.admin), staff.banco_a, "cartera_con_errores.csv")
    imported = customers(despacho, staff.banco_a)

    assert "52987654" in imported
    assert "+12025550143" in [p for c in imported.values() for p in c["phones"]]


def test_a_document_in_two_campaigns_is_a_customer_of_each(client: TestClient, despacho: Despacho,
                                                           staff: SimpleNamespace, worker: dramatiq.Worker) -> None:
    headers = bearer(despacho, staff.admin)
    import_file(client, despacho, worker, headers, staff.banco_a, "cartera_banco_a.csv")
    import_file(client, despacho, worker, headers, staff.telco_b, "cartera_telco_b_excel.csv")

    def campaigns_holding(document_type: str, number: str) -> set[str]:
        return {c["campaign_id"] for c in customers_with_document(despacho.read_engine, number, document_type)}

    for document in SHARED_DOCUMENTS[1:]:
        assert campaigns_holding("CC", document) == {staff.banco_a, staff.telco_b}
    # The sample files hold 1020304050 as a passport in banco_a and as a cédula in telco_b: two people.
    assert campaigns_holding("PA", "1020304050") == {staff.banco_a}
    assert campaigns_holding("CC", "1020304050") == {staff.telco_b}


def test_replace_makes_customers_missing_from_the_new_file_inactive(client: TestClient, despacho: Despacho,
                                                                   staff: SimpleNamespace, worker: dramatiq.Worker,
                                                                   clock: FixedClock) -> None:
    headers = bearer(despacho, staff.admin)
    import_file(client, despacho, worker, headers, staff.banco_a, "v1.csv", csv_bytes("1001", "1002", "1003"))
    import_file(client, despacho, worker, headers, staff.telco_b, "b.csv", csv_bytes("1001"))
    clock.advance(timedelta(minutes=5))

    import_file(client, despacho, worker, headers, staff.banco_a, "v2.csv", csv_bytes("1002", "1004"), mode="replace",
                confirm_deactivation=True)

    assert set(customers(despacho, staff.banco_a)) == {"1002", "1004"}
    assert set(customers(despacho, staff.banco_a, active=False)) == {"1001", "1003"}
    assert set(customers(despacho, staff.telco_b)) == {"1001"}
    history = portfolio_imports(despacho.read_engine, {staff.banco_a})
    assert [(i["file_name"], i["mode"]) for i in history] == [("v2.csv", "replace"), ("v1.csv", "upsert")]


def test_the_api_says_what_a_replace_would_deactivate_and_refuses_it_unconfirmed(
        client: TestClient, despacho: Despacho, staff: SimpleNamespace, worker: dramatiq.Worker) -> None:
    headers = bearer(despacho, staff.admin)
    import_file(client, despacho, worker, headers, staff.banco_a, "v1.csv", csv_bytes("1001", "1002", "1003"))

    preview = client.post(f"/api/campaigns/{staff.banco_a}/portfolios/preview", headers=headers,
                          files=upload("v2.csv", csv_bytes("1001"))).json()
    refused = client.post(f"/api/campaigns/{staff.banco_a}/portfolios/import", headers=headers,
                          files=upload("v2.csv", csv_bytes("1001")), data={"mode": "replace"})
    run_jobs(despacho, worker)

    assert preview["replace"] == {"active": 3, "deactivated": 2, "needs_confirmation": True}
    assert refused.status_code == 422 and "desactivaría 2 de sus 3 clientes activos" in refused.json()["detail"]
    assert set(customers(despacho, staff.banco_a)) == {"1001", "1002", "1003"}


def test_the_preview_page_shows_the_deactivations_and_requires_ticking_the_confirmation(
        client: TestClient, despacho: Despacho, staff: SimpleNamespace, worker: dramatiq.Worker) -> None:
    import_file(client, despacho, worker, bearer(despacho, staff.admin), staff.banco_a, "v1.csv",
                csv_bytes("1001", "1002", "1003"))
    csrf = log_in(client, "admin")
    preview = client.post("/admin/portfolios/preview", data={"csrf_token": csrf, "campaign_id": staff.banco_a,
                                                             "mode": "replace"},
                          files=upload("una_fila.csv", csv_bytes("1001")))
    form = {"csrf_token": csrf, "campaign_id": staff.banco_a, "mode": "replace", "sheet": "",
            "upload_id": _hidden(preview.text, "upload_id"), "file_name": "una_fila.csv"}

    unticked = client.post("/admin/portfolios/import", data=form)
    ticked = client.post("/admin/portfolios/import", data={**form, "confirm_deactivation": "yes"})
    run_jobs(despacho, worker)

    assert "desactivará 2 de los 3 clientes activos" in preview.text
    assert 'name="confirm_deactivation" value="yes" required' in preview.text
    assert unticked.status_code == 422 and "confirme la desactivación" in unticked.text
    assert ticked.status_code == 303
    assert set(customers(despacho, staff.banco_a)) == {"1001"}


def test_the_full_error_report_downloads_as_csv(client: TestClient, despacho: Despacho,
                                                staff: SimpleNamespace) -> None:
    headers = bearer(despacho, staff.admin)
    preview = client.post(f"/api/campaigns/{staff.banco_a}/portfolios/preview", headers=headers,
                          files=upload("cartera_con_errores.csv")).json()

    report = client.get(preview["error_report_url"], headers=headers)

    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["fila", "columna", "gravedad", "motivo"]
    assert {int(r[0]) for r in rows[1:] if r[2] == "error"} == {4, 8, 12, 13, 15, 16, 20, 26, 28, 32}


@pytest.mark.parametrize(("name", "message"), [
    ("cartera_vacia.csv", "vacío"),
    ("cartera_solo_encabezado.csv", "solo tiene el encabezado"),
    ("cartera_sin_documento.csv", "documento"),
    ("no_es_csv.csv", ""),
])
def test_an_unusable_file_is_refused_and_changes_nothing(client: TestClient, despacho: Despacho,
                                                         staff: SimpleNamespace, name: str, message: str) -> None:
    headers = bearer(despacho, staff.admin)

    preview = client.post(f"/api/campaigns/{staff.banco_a}/portfolios/preview", headers=headers, files=upload(name))
    imported = client.post(f"/api/campaigns/{staff.banco_a}/portfolios/import", headers=headers, files=upload(name))
    despacho.runner.catch_up()

    assert preview.status_code == imported.status_code == 422
    assert message in preview.json()["detail"]
    assert customers(despacho, staff.banco_a) == {} and portfolio_imports(despacho.read_engine) == []


def test_unknown_campaign_and_oversized_files_get_clear_answers(client: TestClient, despacho: Despacho,
                                                                staff: SimpleNamespace) -> None:
    headers = bearer(despacho, staff.admin)
    despacho.portfolios.max_bytes = 1024

    unknown = client.post("/api/campaigns/00000000-0000-0000-0000-000000000000/portfolios/preview", headers=headers,
                          files=upload("cartera_banco_a.csv"))
    too_big = client.post(f"/api/campaigns/{staff.banco_a}/portfolios/import", headers=headers,
                          files=upload("cartera_banco_a.csv"))

    assert unknown.status_code == 404 and unknown.json()["detail"] == "Campaña desconocida"
    assert too_big.status_code == 413 and "el límite es" in too_big.json()["detail"]


def test_a_workbook_with_several_sheets_is_previewed_on_the_chosen_sheet(client: TestClient, despacho: Despacho,
                                                                         staff: SimpleNamespace) -> None:
    workbook = Workbook()
    workbook.active.title = "Resumen"
    workbook.active.append(["Total", "2"])
    cartera = workbook.create_sheet("Cartera")
    for row in (["documento", "nombres", "celular"], ["1001", "Ana", "3001234567"], ["1002", "Luis", "3007654321"]):
        cartera.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    headers = bearer(despacho, staff.admin)

    preview = client.post(f"/api/campaigns/{staff.banco_a}/portfolios/preview", headers=headers,
                          files=upload("libro.xlsx", buffer.getvalue()), data={"sheet": "Cartera"}).json()
    again = client.post(f"/api/campaigns/{staff.banco_a}/portfolios/preview", headers=headers,
                        data={"upload_id": preview["upload_id"], "file_name": "libro.xlsx", "sheet": "Cartera"}).json()

    assert preview["sheets"] == ["Resumen", "Cartera"] and preview["sheet"] == "Cartera"
    assert again["valid"] == preview["valid"] == 2


def test_the_upload_pages_require_a_campaign_then_preview_confirm_and_show_progress(
        client: TestClient, despacho: Despacho, staff: SimpleNamespace, worker: dramatiq.Worker) -> None:
    csrf = log_in(client, "admin")
    without_campaign = client.post("/admin/portfolios/preview", data={"csrf_token": csrf, "campaign_id": ""},
                                   files=upload("cartera_banco_a.csv"))

    preview = client.post("/admin/portfolios/preview", data={"csrf_token": csrf, "campaign_id": staff.telco_b,
                                                             "mode": "upsert"},
                          files=upload("cartera_con_errores.csv"))
    confirmed = client.post("/admin/portfolios/import", data={
        "csrf_token": csrf, "campaign_id": staff.telco_b, "mode": "upsert", "sheet": "",
        "upload_id": _hidden(preview.text, "upload_id"), "file_name": "cartera_con_errores.csv"})
    run_jobs(despacho, worker)
    job_page = client.get(confirmed.headers["location"])

    assert without_campaign.status_code == 422 and "Elija la campaña" in without_campaign.text
    assert preview.status_code == 200 and 'data-count="valid">30<' in preview.text
    assert "errors.csv" in preview.text and "Confirmar importación" in preview.text
    assert confirmed.status_code == 303
    assert 'data-status="completed"' in job_page.text and "30 clientes importados" in job_page.text
    assert len(customers(despacho, staff.telco_b)) == 30
    assert "cartera_con_errores.csv" in client.get("/admin/portfolios").text


def _hidden(html: str, name: str) -> str:
    marker = f'name="{name}" value="'
    return html.split(marker, 1)[1].split('"', 1)[0]

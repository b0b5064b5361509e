"""The proactive-send pages as supervisors, admins, auditors and agents use them: a supervisor previews and schedules
a broadcast for their campaign and follows its progress; nobody sees or acts on another campaign's; only an admin
resumes a sender's proactive sends from its risk page. Pages in Spanish, every state named in words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from despacho.settings import Settings
from domain.risk import Assessment, SenderRisk
from projections.runner import wait_until_projected
from tests.conftest import CLOSING_TEMPLATE_SID
from tests.e2e.admin_support import log_in
from tests.e2e.desk_world import BANCO_NUMBER, CallCenter, call_center
from tests.e2e.test_pages_name_codes_in_spanish import raw_codes_in, visible_text

MARIA = "whatsapp:+573001112233"  # 1,250,000 owed; Nubia owes 44,000


@pytest.fixture
def center(sqlite_settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(sqlite_settings, clock) as built:
        yield built


def browser(center: CallCenter, login: str) -> tuple[TestClient, str]:
    client = TestClient(center.client.app, follow_redirects=False)
    return client, log_in(client, login)


def form(center: CallCenter, csrf: str, **values: str) -> dict[str, str]:
    return {"csrf_token": csrf, "campaign_id": center.banco, "name": "Recordatorio de saldo",
            "content_sid": CLOSING_TEMPLATE_SID,
            "balance_from": "100000", "recent_hours": "24", **values}


def scheduled(center: CallCenter, login: str = "sandra", **values: str) -> str:
    client, csrf = browser(center, login)
    response = client.post("/broadcasts", data=form(center, csrf, **values))
    assert response.status_code == 303, response.text
    if "start_at" in values:  # its start waits on the broker for its time: settling would wait with it
        wait_until_projected(center.despacho.runner)
    else:
        center.settle()
    found = re.fullmatch(r"/broadcasts/([0-9a-f-]{36})", response.headers["location"])
    assert found
    return found.group(1)


def test_a_supervisor_previews_schedules_and_follows_a_broadcast_of_their_campaign(center: CallCenter) -> None:
    sandra, csrf = browser(center, "sandra")
    new = sandra.get(f"/broadcasts/new?campaign={center.banco}")
    preview = sandra.post("/broadcasts/preview", data=form(center, csrf))

    assert (new.status_code, preview.status_code) == (200, 200)
    assert 'data-figure="selected">1<' in preview.text, "María owes more than 100,000; Nubia does not"
    broadcast_id = scheduled(center)
    detail = sandra.get(f"/broadcasts/{broadcast_id}")
    listing = sandra.get(f"/broadcasts?campaign={center.banco}")

    assert [m.delivery.to for m in center.transport.sent if m.delivery.to == MARIA] == [MARIA]
    assert 'data-figure="sent">1<' in detail.text and 'data-figure="remaining">0<' in detail.text
    for page in (new, preview, detail, listing):
        assert page.headers["content-language"] == "es"
        assert raw_codes_in(visible_text(page.text)) == []
    assert "Terminado" in visible_text(detail.text) and "Recordatorio de saldo" in visible_text(listing.text)
    assert center.get("sandra", f"/api/broadcasts/{broadcast_id}").json()["sent"] == 1
    api_preview = center.post("sandra", "/api/broadcasts/preview", {"campaign_id": center.banco,
                                                                     "balance_from": "40000", "recent_hours": 0})
    assert api_preview.json() == {"selected": 2, "excluded": {"opted_out": 0, "recently_contacted": 0,
                                                              "no_valid_phone": 0}}


def test_nobody_sees_or_changes_another_campaigns_broadcasts(center: CallCenter) -> None:
    broadcast_id = scheduled(center, "admin", start_at="2026-11-02T15:00")  # this afternoon in Bogotá
    tomas, tomas_csrf = browser(center, "tomas")
    auditor, auditor_csrf = browser(center, "auditor")

    assert "Recordatorio de saldo" not in visible_text(tomas.get("/broadcasts").text)
    assert tomas.get(f"/broadcasts/{broadcast_id}").status_code == 404
    assert tomas.get(f"/broadcasts/new?campaign={center.banco}").status_code == 404
    refused = tomas.post(f"/broadcasts/{broadcast_id}/cancel", data={"csrf_token": tomas_csrf},
                         follow_redirects=True)
    assert "Envío desconocido" in visible_text(refused.text)
    assert center.get("tomas", f"/api/broadcasts/{broadcast_id}").status_code == 404
    assert center.client.post("/api/broadcasts/preview", json={"campaign_id": center.banco},
                              headers=center.as_user("tomas")).status_code == 404
    assert "Recordatorio de saldo" in visible_text(auditor.get("/broadcasts").text)
    assert auditor.post(f"/broadcasts/{broadcast_id}/cancel", data={"csrf_token": auditor_csrf}).status_code == 403
    assert center.get("ana", "/broadcasts").status_code == 403
    assert center.get("admin", f"/api/broadcasts/{broadcast_id}").json()["state"] == "scheduled"


def test_only_an_admin_resumes_a_senders_proactive_sends_from_its_risk_page(center: CallCenter) -> None:
    now = center.clock.now()
    risk = SenderRisk.start(BANCO_NUMBER, actor="system:risk", at=now)
    risk.judge(Assessment("critical", "reply_rate", 0.01, 0.05), actor="system:risk", at=now)
    center.despacho.store.save(risk)
    center.settle()
    page = f"/risk/senders/{quote(BANCO_NUMBER)}"
    sandra, sandra_csrf = browser(center, "sandra")
    admin, admin_csrf = browser(center, "admin")

    assert "Reanudar envíos proactivos" not in visible_text(sandra.get(page).text)
    assert sandra.post(f"{page}/resume-proactive", data={"csrf_token": sandra_csrf, "reason": "x"}).status_code == 403
    assert "Reanudar envíos proactivos" in visible_text(admin.get(page).text)
    resumed = admin.post(f"{page}/resume-proactive", data={"csrf_token": admin_csrf, "reason": "Lista depurada"})
    assert resumed.status_code == 303
    center.settle()

    shown = visible_text(sandra.get(page).text)
    assert "Reanudados por Admin" in shown and "Lista depurada" in shown

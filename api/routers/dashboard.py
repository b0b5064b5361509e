"""The home page: a dashboard per role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import PagesDep, ReadDb, UnidentifiedCampaignDep
from api.security import allow, current_identity
from api.warnings import unattended_campaign
from application.staff import Identity
from projections.queries import dashboard_counts

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, read_db: ReadDb, unidentified: UnidentifiedCampaignDep, pages: PagesDep,
         identity: Annotated[Identity, Depends(allow("admin", "supervisor", "agent", "auditor"))]) -> Response:
    if identity.role == "agent":
        return RedirectResponse("/desk", status_code=303)
    counts = dashboard_counts(read_db)
    lang = request.state.lang
    cards = {
        "admin": [
            {"title": pages.translate(lang, "Campañas activas"), "value": counts["campaigns"], "hint": "",
             "url": "/admin/campaigns"},
            {"title": pages.translate(lang, "Clientes en carteras"), "value": counts["customers"], "hint": "",
             "url": "/admin/portfolios"},
            {"title": pages.translate(lang, "Asesores disponibles"), "value": counts["agents_available"], "hint": "",
             "url": "/admin/agents"},
        ],
        "supervisor": [
            {"title": pages.translate(lang, "Chats en cola"), "value": counts["waiting_queue"], "hint": "",
             "url": "/supervisor/queue"},
            {"title": pages.translate(lang, "Chats asignados"), "value": counts["assigned"], "hint": "",
             "url": "/supervisor/agents"},
            {"title": pages.translate(lang, "Asesores disponibles"), "value": counts["agents_available"], "hint": "",
             "url": "/supervisor/agents"},
        ],
        "auditor": [
            {"title": pages.translate(lang, "Chats cerrados"), "value": counts["closed"], "hint": "",
             "url": "/audit/events"},
        ],
    }[current_identity(request).role]
    return pages.render(request, "dashboard.html", {
        "cards": cards, "unattended_campaign": unattended_campaign(read_db, identity, unidentified)})

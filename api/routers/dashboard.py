"""The home page, a dashboard per role: the supervisor's live operation, the admin's campaigns side by side, the
auditor's summary; agents go to their desk and see their own day at /mi-dia. Each section is also a fragment the
page refetches when its live topics change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from functools import cached_property
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from adapters.clock import Clock
from api.chat_access import alert_scope, campaign_scope
from api.deps import ClockDep, PagesDep, ReadDb, UnidentifiedCampaignDep
from api.routers import dashboard_view as view
from api.security import allow
from api.templating import Pages
from api.warnings import unattended_campaign
from application.staff import Identity
from projections import dashboard_queries
from projections.dashboard_queries import CampaignToday

router = APIRouter(tags=["dashboard"])
EVERYONE = allow("admin", "supervisor", "agent", "auditor")
MANAGERS = allow("admin", "supervisor")


class Viewer:
    """Who is looking, what they may see and, once asked, their campaigns now and today (shared by the sections
    of one page)."""

    def __init__(self, request: Request, db: Engine, identity: Identity, unidentified: str | None, clock: Clock,
                 pages: Pages) -> None:
        self.db = db
        self.campaigns = campaign_scope(db, identity)
        self.alert_campaigns = alert_scope(db, identity, unidentified)
        self.now = clock.now()
        self.formats = view.Formats(pages, request.state.lang)

    @cached_property
    def boards(self) -> list[CampaignToday]:
        return dashboard_queries.campaigns_today(self.db, self.campaigns, self.now)


def _kpis(v: Viewer) -> dict[str, Any]:
    return {"kpis": view.kpis(v.db, v.campaigns, v.now)}


def _campaigns(v: Viewer) -> dict[str, Any]:
    return {"campaigns": view.campaign_rows(v.boards, v.now, v.formats)}


def _agents(v: Viewer) -> dict[str, Any]:
    return {"agents": view.agents_now(v.db, v.campaigns, v.now)}


def _alerts(v: Viewer) -> dict[str, Any]:
    return {"alerts": view.open_alerts(v.db, v.alert_campaigns, v.campaigns)}


def _volume(v: Viewer) -> dict[str, Any]:
    return {"volume": view.hourly(v.db, v.campaigns, v.now, v.formats)}


def _delivery(v: Viewer) -> dict[str, Any]:
    return {"delivery": view.delivery_rows(v.db, v.boards, v.campaigns, v.now)}


SECTIONS: dict[str, Callable[[Viewer], dict[str, Any]]] = {
    "kpis": _kpis, "queue": _campaigns, "campaigns": _campaigns, "agents": _agents, "alerts": _alerts,
    "volume": _volume, "delivery": _delivery}
PAGES_BY_ROLE = {"supervisor": ("dashboard/supervisor.html", ("kpis", "queue", "agents", "alerts", "volume")),
                 "admin": ("dashboard/admin.html", ("kpis", "campaigns", "delivery", "volume"))}


def _context(v: Viewer, sections: tuple[str, ...]) -> dict[str, Any]:
    context: dict[str, Any] = {"fmt": v.formats, "topics": view.live_topics(v.campaigns, "agents"),
                               "queue_topics": view.live_topics(v.campaigns)}
    for section in sections:
        context.update(SECTIONS[section](v))
    return context


@router.get("/", include_in_schema=False)
def home(request: Request, read_db: ReadDb, unidentified: UnidentifiedCampaignDep, pages: PagesDep, clock: ClockDep,
         identity: Annotated[Identity, Depends(EVERYONE)]) -> Response:
    if identity.role == "agent":
        return RedirectResponse("/desk", status_code=303)
    viewer = Viewer(request, read_db, identity, unidentified, clock, pages)
    warning = unattended_campaign(read_db, identity, unidentified)
    if identity.role in PAGES_BY_ROLE:
        template, sections = PAGES_BY_ROLE[identity.role]
        context = _context(viewer, sections)
        if not context["campaigns"]:  # nothing to show yet: the role's next step instead
            return pages.render(request, "dashboard.html", {"cards": [], "unattended_campaign": warning})
        return pages.render(request, template, {**context, "unattended_campaign": warning})
    cards = [{"title": pages.translate(request.state.lang, "Chats cerrados"),
              "value": viewer.formats.number(dashboard_queries.closed_chats(read_db, viewer.campaigns)),
              "hint": "", "url": "/audit/events"}]
    return pages.render(request, "dashboard.html", {"cards": cards, "unattended_campaign": None})


@router.get("/dashboard/fragments/{section}", include_in_schema=False)
def fragment(section: str, request: Request, read_db: ReadDb, unidentified: UnidentifiedCampaignDep,
             pages: PagesDep, clock: ClockDep, identity: Annotated[Identity, Depends(MANAGERS)]) -> Response:
    """One section of the caller's dashboard, as the page refetches it when its topics change."""
    if section not in PAGES_BY_ROLE[identity.role][1]:
        raise HTTPException(status_code=404, detail="Sección desconocida")
    viewer = Viewer(request, read_db, identity, unidentified, clock, pages)
    return pages.render(request, f"dashboard/_{section}.html", _context(viewer, (section,)))


@router.get("/api/dashboard/campaigns")
def campaigns_json(read_db: ReadDb, clock: ClockDep,
                   identity: Annotated[Identity, Depends(allow("admin", "supervisor", "auditor"))]
                   ) -> list[dict[str, Any]]:
    """Each campaign of the caller now and today (its local day): queue, longest wait in seconds, assigned chats,
    agents by presence, chats opened and closes by reason. The same figures as the dashboards."""
    now = clock.now()
    return [{**asdict(board), "longest_wait_seconds": board.longest_wait_seconds(now)}
            for board in dashboard_queries.campaigns_today(read_db, campaign_scope(read_db, identity), now)]


@router.get("/mi-dia", include_in_schema=False)
def my_day(request: Request, read_db: ReadDb, pages: PagesDep, clock: ClockDep,
           identity: Annotated[Identity, Depends(allow("agent"))]) -> Response:
    """The agent's own today: chats and messages, connected, available and break time, per campaign."""
    campaigns = campaign_scope(read_db, identity) or set()
    rows = view.agent_day(read_db, identity, campaigns, clock.now())
    return pages.render(request, "dashboard/agent_day.html", {
        "rows": rows, "fmt": view.Formats(pages, request.state.lang),
        "totals": {key: sum(r[key] for r in rows)
                   for key in ("chats_assigned", "chats_handled", "chats_closed", "messages_sent")}})

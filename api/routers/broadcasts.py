"""Proactive-send pages: a campaign's broadcasts, the form to schedule one with the preview of who it reaches, a
broadcast's progress with pause, resume and cancel; an admin's resume of a sender's proactive sends after critical
risk; and the progress as JSON. Supervisors see and act on their own campaigns only, admins on all, auditors
read."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from api.chat_access import campaign_scope, see_own_writes
from api.deps import BroadcastsDep, ClockDep, PagesDep, PostedForm, ProjectionsDep, ReadDb
from api.flash import redirect_with_flash
from api.forms import form_outcome
from api.routers import broadcast_form
from api.security import allow
from api.templating import Pages
from application.broadcasts import BroadcastService
from application.staff import Identity
from domain.broadcasts import DEFAULT_RECENT_HOURS, Segment
from domain.business_hours import describe_next_opening, is_open
from domain.common import DomainError, actor_for_user
from projections import broadcast_queries, desk_queries
from projections.bot_world import campaign_settings
from projections.message_queries import approved_templates
from projections.queries import list_campaigns

router = APIRouter(tags=["broadcasts"])
VIEWERS = allow("admin", "supervisor", "auditor")
MANAGERS = allow("admin", "supervisor")
RESUMERS = allow("admin")
ACTIONS = {"pause": ("Envío pausado.", BroadcastService.pause),
           "resume": ("Envío reanudado.", BroadcastService.resume),
           "cancel": ("Envío cancelado.", BroadcastService.cancel)}


@router.get("/broadcasts", include_in_schema=False)
def broadcasts_page(request: Request, read_db: ReadDb, pages: PagesDep, identity: Annotated[Identity, Depends(VIEWERS)],
                    campaign: Annotated[str, Query()] = "") -> Response:
    scope = campaign_scope(read_db, identity)
    campaigns = _campaigns(read_db, scope)
    return pages.render(request, "broadcasts/index.html", {
        "campaigns": campaigns, "campaign_id": campaign, "may_manage": identity.role in ("admin", "supervisor"),
        "names": {c["id"]: c["name"] for c in campaigns},
        "broadcasts": broadcast_queries.list_broadcasts(read_db, scope, campaign)})


@router.get("/broadcasts/new", include_in_schema=False)
def new_broadcast_page(request: Request, read_db: ReadDb, broadcasts: BroadcastsDep, pages: PagesDep,
                       identity: Annotated[Identity, Depends(MANAGERS)],
                       campaign: Annotated[str, Query()] = "") -> Response:
    return _form(request, read_db, broadcasts, pages, identity, {**broadcast_form.defaults(), "campaign_id": campaign},
                 preview=False)


@router.post("/broadcasts/preview", include_in_schema=False)
def preview_page(request: Request, form: PostedForm, read_db: ReadDb, broadcasts: BroadcastsDep, pages: PagesDep,
                 identity: Annotated[Identity, Depends(MANAGERS)]) -> Response:
    return _form(request, read_db, broadcasts, pages, identity, broadcast_form.values_of(form), preview=True)


@router.post("/broadcasts", include_in_schema=False)
def schedule_broadcast(request: Request, form: PostedForm, read_db: ReadDb, clock: ClockDep,
                       broadcasts: BroadcastsDep, projections: ProjectionsDep, pages: PagesDep,
                       identity: Annotated[Identity, Depends(MANAGERS)]) -> Response:
    values = broadcast_form.values_of(form)
    campaign = _campaign(read_db, identity, values.get("campaign_id", ""))
    try:
        new = broadcast_form.new_broadcast(values, campaign["id"], _variables_of(campaign, values),
                                           campaign["time_zone"], clock.now())
        broadcast_id = broadcasts.schedule(new, actor=actor_for_user(identity.id),
                                           scope=campaign_scope(read_db, identity))
    except DomainError as refusal:
        return _form(request, read_db, broadcasts, pages, identity, values, preview=False,
                     error=pages.explain(request.state.lang, refusal))
    see_own_writes(projections, "broadcasts")
    return redirect_with_flash(request, f"/broadcasts/{broadcast_id}", "success",
                               pages.translate(request.state.lang, "Envío programado."))


@router.get("/broadcasts/{broadcast_id}", include_in_schema=False)
def broadcast_page(request: Request, broadcast_id: str, read_db: ReadDb, clock: ClockDep, pages: PagesDep,
                   identity: Annotated[Identity, Depends(VIEWERS)]) -> Response:
    row = _visible(read_db, identity, broadcast_id)
    settings = campaign_settings(read_db, row["campaign_id"])
    now = clock.now()
    closed = settings is not None and row["state"] == "running" and not is_open(settings, now)
    return pages.render(request, "broadcasts/detail.html", {
        "broadcast": row, "progress": broadcast_queries.progress(read_db, row),
        "campaign_name": _campaign_names(read_db).get(row["campaign_id"], ""),
        "may_manage": identity.role in ("admin", "supervisor"), "people": desk_queries.agent_names(read_db),
        "next_opening": describe_next_opening(settings, now) if closed and settings else "",
        "time_zone": settings.time_zone if settings else "America/Bogota"})


@router.post("/broadcasts/{broadcast_id}/{action}", include_in_schema=False)
def change_broadcast(request: Request, broadcast_id: str, action: str, read_db: ReadDb, broadcasts: BroadcastsDep,
                     projections: ProjectionsDep, pages: PagesDep,
                     identity: Annotated[Identity, Depends(MANAGERS)]) -> Response:
    if action not in ACTIONS:
        raise HTTPException(status_code=404, detail="La página que busca no existe.")
    success, command = ACTIONS[action]
    scope = campaign_scope(read_db, identity)
    return form_outcome(request, projections, pages,
                        lambda: command(broadcasts, broadcast_id, scope=scope, actor=actor_for_user(identity.id)),
                        back=f"/broadcasts/{broadcast_id}", success=success, projectors=("broadcasts",))


@router.post("/risk/senders/{sender}/resume-proactive", include_in_schema=False)
def resume_sender(request: Request, sender: str, form: PostedForm, broadcasts: BroadcastsDep,
                  projections: ProjectionsDep, pages: PagesDep,
                  identity: Annotated[Identity, Depends(RESUMERS)]) -> Response:
    reason = str(form.get("reason", ""))
    return form_outcome(request, projections, pages,
                        lambda: broadcasts.resume_sender(sender, reason, actor=actor_for_user(identity.id)),
                        back=f"/risk/senders/{quote(sender)}",
                        success="Envíos proactivos reanudados para este remitente.", projectors=("broadcasts",))


@router.get("/api/broadcasts/{broadcast_id}")
def broadcast_json(broadcast_id: str, read_db: ReadDb,
                   identity: Annotated[Identity, Depends(VIEWERS)]) -> dict[str, Any]:
    """A proactive send's state and progress: selected, sent, delivered, failed by category, replied, remaining."""
    row = _visible(read_db, identity, broadcast_id)
    return {"id": row["id"], "campaign_id": row["campaign_id"], "name": row["name"], "state": row["state"],
            "start_at": row["start_at"], "excluded": row["excluded"], **broadcast_queries.progress(read_db, row)}


class PreviewRequest(BaseModel):
    campaign_id: str
    min_days_past_due: int | None = Field(default=None, ge=0)
    balance_from: str = ""
    balance_to: str = ""
    field_equals: list[tuple[str, str]] = Field(default_factory=list)
    recent_hours: int = Field(default=DEFAULT_RECENT_HOURS, ge=0)


class PreviewPublic(BaseModel):
    selected: int
    excluded: dict[str, int]


@router.post("/api/broadcasts/preview", response_model=PreviewPublic,
             responses={404: {"description": "La campaña no existe o el usuario no puede verla"}})
def preview_json(body: PreviewRequest, read_db: ReadDb, broadcasts: BroadcastsDep,
                 identity: Annotated[Identity, Depends(MANAGERS)]) -> PreviewPublic:
    """How many customers of a campaign a segment reaches now, and how many it leaves out, by reason."""
    segment = Segment(min_days_past_due=body.min_days_past_due, balance_from=body.balance_from,
                      balance_to=body.balance_to, field_equals=tuple(body.field_equals),
                      recent_hours=body.recent_hours)
    selection = broadcasts.preview(body.campaign_id, segment, scope=campaign_scope(read_db, identity))
    return PreviewPublic(selected=selection.selected, excluded=selection.excluded)


def _form(request: Request, read_db: Engine, broadcasts: BroadcastService, pages: Pages, identity: Identity,
          values: dict[str, str], *, preview: bool, error: str = "") -> Response:
    campaign = _campaign(read_db, identity, values.get("campaign_id", ""))
    templates = approved_templates(read_db, campaign["id"])
    values.setdefault("content_sid", templates[0]["content_sid"] if templates else "")
    selection = None
    if preview and not error:
        try:
            selection = broadcasts.preview(campaign["id"], broadcast_form.segment_from(values),
                                           scope=campaign_scope(read_db, identity))
        except DomainError as refusal:
            error = pages.explain(request.state.lang, refusal)
    return pages.render(request, "broadcasts/form.html", {
        "campaign": campaign, "templates": templates, "values": values, "error": error, "selection": selection,
        "variables": _variables_of(campaign, values),
        "fields": broadcast_queries.portfolio_fields(read_db, campaign["id"])},
        status_code=422 if error else 200)


def _variables_of(campaign: dict[str, Any], values: dict[str, str]) -> tuple[str, ...]:
    template = next((t for t in campaign["templates"] if t["content_sid"] == values.get("content_sid")), None)
    return tuple(template["variables"]) if template else ()


def _campaign(read_db: Engine, identity: Identity, campaign_id: str) -> dict[str, Any]:
    """The campaign the form is for; without one, the first the viewer may send for (the menu's link has none)."""
    mine = _campaigns(read_db, campaign_scope(read_db, identity))
    found = next((c for c in mine if c["id"] == campaign_id or not campaign_id), None)
    if found is None:
        raise HTTPException(status_code=404, detail="Campaña desconocida")
    return {**found, "templates": approved_templates(read_db, campaign_id)}


def _campaigns(read_db: Engine, scope: set[str] | None) -> list[dict[str, Any]]:
    return [c for c in list_campaigns(read_db) if scope is None or c["id"] in scope]


def _campaign_names(read_db: Engine) -> dict[str, str]:
    return {c["id"]: c["name"] for c in list_campaigns(read_db, include_archived=True)}


def _visible(read_db: Engine, identity: Identity, broadcast_id: str) -> dict[str, Any]:
    row = broadcast_queries.broadcast(read_db, broadcast_id, campaign_scope(read_db, identity))
    if row is None:
        raise HTTPException(status_code=404, detail="Envío desconocido")
    return row

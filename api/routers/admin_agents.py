"""Admin pages for staff: list, create, edit (with their campaigns), deactivate and reactivate.

Supervisors use them too, within their own campaigns (the same rule as the staff API).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from starlette.datastructures import FormData

from api.deps import PagesDep, PostedForm, ProjectionsDep, ReadDb, StaffDep, UnidentifiedCampaignDep
from api.forms import form_outcome, redirect_once_seen
from api.navigation import ROLE_LABELS
from api.routers.staff import check_scope
from api.security import allow, current_identity
from api.templating import Pages
from api.warnings import unattended_campaign
from application.staff import Identity, StaffService
from domain.common import DomainError, actor_for_user
from projections.admin_queries import agent_row, membership_history
from projections.desk_queries import agent_names
from projections.queries import list_agents, list_campaigns
from projections.runner import ProjectionRunner

router = APIRouter(prefix="/admin/agents", include_in_schema=False,
                   dependencies=[Depends(allow("admin", "supervisor"))])


def _campaign_options(read_db: Engine, identity: Identity, current: list[str]) -> list[tuple[str, str]]:
    """Active campaigns the caller manages, and archived ones the agent still belongs to."""
    rows = list_campaigns(read_db, include_archived=True)
    return [(c["id"], c["name"]) for c in rows if (not c["archived"] or c["id"] in current)
            and (identity.role == "admin" or c["id"] in identity.campaigns)]


def _role_options(identity: Identity, pages: Pages, lang: str) -> list[tuple[str, str]]:
    roles = ROLE_LABELS if identity.role == "admin" else {"agent": ROLE_LABELS["agent"]}
    return [(role, pages.translate(lang, label)) for role, label in roles.items()]


def _form_page(request: Request, read_db: Engine, pages: Pages, agent: dict[str, Any] | None, values: dict[str, Any],
               error: str | None = None) -> Response:
    identity = current_identity(request)
    history = membership_history(read_db, agent["id"]) if agent else []
    options = _campaign_options(read_db, identity, agent["campaigns"] if agent else [])
    names = {c["id"]: c["name"] for c in list_campaigns(read_db, include_archived=True)}
    return pages.render(request, "admin/agent_form.html", {
        "agent": agent, "values": values, "error": error, "campaign_options": options,
        "role_options": _role_options(identity, pages, request.state.lang), "history": history, "campaign_names": names,
        "people": agent_names(read_db),
    }, status_code=422 if error else 200)


def _agent_or_404(read_db: Engine, agent_id: UUID, identity: Identity) -> dict[str, Any]:
    row = agent_row(read_db, str(agent_id))
    if row is None or (identity.role == "supervisor" and not set(row["campaigns"]) & identity.campaigns):
        raise HTTPException(status_code=404, detail="Usuario desconocido")
    return row


def _posted(form: FormData) -> dict[str, Any]:
    return {"login": str(form.get("login", "")).strip(), "name": str(form.get("name", "")),
            "role": str(form.get("role", "agent")), "capacity": str(form.get("capacity", "5")),
            "campaigns": [str(c) for c in form.getlist("campaign_ids")]}


def _capacity(values: dict[str, Any]) -> int:
    try:
        return int(values["capacity"])
    except ValueError as error:
        raise DomainError("La capacidad debe ser un número entero") from error


@router.get("")
def agents_page(request: Request, read_db: ReadDb, unidentified: UnidentifiedCampaignDep, pages: PagesDep) -> Response:
    identity = current_identity(request)
    rows = list_agents(read_db)
    if identity.role == "supervisor":
        rows = [r for r in rows if set(r["campaigns"]) & identity.campaigns]
    names = {c["id"]: c["name"] for c in list_campaigns(read_db, include_archived=True)}
    return pages.render(request, "admin/agents.html", {
        "agents": rows, "campaign_names": names,
        "unattended_campaign": unattended_campaign(read_db, identity, unidentified)})


@router.get("/new")
def new_agent_page(request: Request, read_db: ReadDb, pages: PagesDep) -> Response:
    return _form_page(request, read_db, pages, None,
                      {"login": "", "name": "", "role": "agent", "capacity": 5, "campaigns": []})


@router.post("")
def create_agent(request: Request, form: PostedForm, staff: StaffDep, read_db: ReadDb, projections: ProjectionsDep,
                 pages: PagesDep) -> Response:
    identity = current_identity(request)
    values = _posted(form)
    check_scope(identity, {values["role"]}, set(), set(values["campaigns"]))
    try:
        agent_id = staff.register(values["login"], values["name"], values["role"],
                                  password=str(form.get("password", "")), capacity=_capacity(values),
                                  campaign_ids=frozenset(values["campaigns"]), actor=f"user:{identity.id}")
    except DomainError as error:
        return _form_page(request, read_db, pages, None, values, pages.explain(request.state.lang, error))
    message = pages.translate(request.state.lang, "Usuario creado.")
    return redirect_once_seen(request, projections, f"/admin/agents/{agent_id}", message, ("agents",))


@router.get("/{agent_id}")
def edit_agent_page(agent_id: UUID, request: Request, read_db: ReadDb, pages: PagesDep) -> Response:
    agent = _agent_or_404(read_db, agent_id, current_identity(request))
    return _form_page(request, read_db, pages, agent, {**agent, "campaigns": agent["campaigns"]})


@router.post("/{agent_id}")
def edit_agent(agent_id: UUID, request: Request, form: PostedForm, staff: StaffDep, read_db: ReadDb,
               projections: ProjectionsDep, pages: PagesDep) -> Response:
    identity = current_identity(request)
    agent = _agent_or_404(read_db, agent_id, identity)
    values = {**_posted(form), "login": agent["login"]}
    if identity.role == "supervisor":  # campaigns the supervisor cannot see stay as they are
        values["campaigns"] = sorted(set(values["campaigns"]) & identity.campaigns
                                     | set(agent["campaigns"]) - identity.campaigns)
    check_scope(identity, {agent["role"], values["role"]}, set(agent["campaigns"]), set(values["campaigns"]))
    try:
        staff.edit(agent_id, name=values["name"], role=values["role"], capacity=_capacity(values),
                   campaign_ids=frozenset(values["campaigns"]), actor=f"user:{identity.id}")
    except DomainError as error:
        return _form_page(request, read_db, pages, agent, values, pages.explain(request.state.lang, error))
    message = pages.translate(request.state.lang, "Cambios guardados.")
    return redirect_once_seen(request, projections, f"/admin/agents/{agent_id}", message, ("agents",))


@router.post("/{agent_id}/deactivate")
def deactivate_agent(agent_id: UUID, request: Request, staff: StaffDep, read_db: ReadDb, projections: ProjectionsDep,
                     pages: PagesDep) -> Response:
    return _set_active(agent_id, request, staff, read_db, projections, pages, active=False)


@router.post("/{agent_id}/reactivate")
def reactivate_agent(agent_id: UUID, request: Request, staff: StaffDep, read_db: ReadDb, projections: ProjectionsDep,
                     pages: PagesDep) -> Response:
    return _set_active(agent_id, request, staff, read_db, projections, pages, active=True)


def _set_active(agent_id: UUID, request: Request, staff: StaffService, read_db: Engine, projections: ProjectionRunner,
                pages: Pages, *, active: bool) -> Response:
    identity = current_identity(request)
    agent = _agent_or_404(read_db, agent_id, identity)
    check_scope(identity, {agent["role"]}, set(), set(agent["campaigns"]))
    staff.set_active(agent_id, active, actor=f"user:{identity.id}")
    lang = request.state.lang
    message = pages.translate(lang, "Cuenta reactivada.") if active else \
        pages.translate(lang, "Cuenta desactivada: no puede entrar ni recibir chats nuevos.")
    return redirect_once_seen(request, projections, f"/admin/agents/{agent_id}", message, ("agents",))


@router.post("/{agent_id}/sessions/terminate")
def terminate_sessions(agent_id: UUID, request: Request, staff: StaffDep, read_db: ReadDb,
                       projections: ProjectionsDep, pages: PagesDep) -> Response:
    """Admins only (the button is on their user page): every open session of the user closes at once."""
    identity = current_identity(request)
    if identity.role != "admin":
        raise HTTPException(status_code=403, detail="No tiene permiso para esta acción")
    _agent_or_404(read_db, agent_id, identity)
    return form_outcome(request, projections, pages,
                        lambda: staff.terminate_sessions(agent_id, actor=actor_for_user(identity.id)),
                        back=f"/admin/agents/{agent_id}", success="Sesiones terminadas.", projectors=("agents",))

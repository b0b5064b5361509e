"""Supervisors: the waiting queue (R9), agents and their load, reassignment and the exceptional
manual assignment (R4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from adapters.clock import Clock
from api.chat_access import narrowed_scope, visible_chat
from api.deps import ClockDep, PagesDep, ProjectionsDep, ReadDb, RouterDep, SettingsDep
from api.forms import form_outcome
from api.reassign_candidates import reassign_candidates
from api.security import allow
from api.templating import Pages
from application.routing import AssignmentService
from application.staff import Identity
from domain.common import actor_for_user
from projections import desk_queries

router = APIRouter(tags=["supervision"])
VIEWERS = allow("admin", "supervisor", "auditor")
MANAGERS = allow("admin", "supervisor")


class Reassignment(BaseModel):
    to_agent_id: UUID
    reason: str = Field(min_length=1, max_length=500)
    to_unavailable: bool = Field(default=False, description="Reassign to a member on a break or offline: an "
                                                             "explicit exception, recorded with the reason")


class ManualAssignment(BaseModel):
    agent_id: UUID
    reason: str = Field(min_length=1, max_length=500)


CampaignFilter = Annotated[str, Query(max_length=36, description="Only this campaign (within the caller's)")]


def queue_for(read_db: Engine, clock: Clock, identity: Identity, campaign: str = "") -> list[dict[str, Any]]:
    return desk_queries.waiting_queue(read_db, narrowed_scope(read_db, identity, campaign), clock.now())


@router.get("/api/queue")
def queue_json(read_db: ReadDb, clock: ClockDep,
               identity: Annotated[Identity, Depends(VIEWERS)]) -> list[dict[str, Any]]:
    """Chats waiting for assignment in the caller's campaigns, oldest first, with seconds waited."""
    return queue_for(read_db, clock, identity)


def _queue_context(read_db: Engine, clock: Clock, manual_allowed: bool, identity: Identity,
                   campaign: str) -> dict[str, Any]:
    scope = narrowed_scope(read_db, identity, campaign)
    topics = "queue:*" if scope is None else " ".join(f"queue:{c}" for c in sorted(scope)) or "queue:none"
    return {"queue": queue_for(read_db, clock, identity, campaign), "topics": topics, "campaign": campaign,
            "campaign_name": _filter_name(read_db, scope, campaign),
            "manual_allowed": manual_allowed and identity.role != "auditor"}


def _filter_name(read_db: Engine, scope: set[str] | None, campaign: str) -> str:
    """The name of the campaign a page is filtered by, only when the caller may see it: another campaign's id in the
    address must not tell its name."""
    if not campaign or (scope is not None and campaign not in scope):
        return ""
    return desk_queries.campaign_names(read_db).get(campaign, "")


@router.get("/supervisor/queue", include_in_schema=False)
def queue_page(request: Request, read_db: ReadDb, clock: ClockDep, settings: SettingsDep, pages: PagesDep,
               identity: Annotated[Identity, Depends(VIEWERS)], campaign: CampaignFilter = "") -> Response:
    return pages.render(request, "supervisor/queue.html",
                        _queue_context(read_db, clock, settings.allow_manual_assignment, identity, campaign))


@router.get("/supervisor/fragments/queue", include_in_schema=False)
def queue_fragment(request: Request, read_db: ReadDb, clock: ClockDep, settings: SettingsDep, pages: PagesDep,
                   identity: Annotated[Identity, Depends(VIEWERS)], campaign: CampaignFilter = "") -> Response:
    return pages.render(request, "supervisor/_queue.html",
                        _queue_context(read_db, clock, settings.allow_manual_assignment, identity, campaign))


def _agents_context(read_db: Engine, clock: Clock, identity: Identity, campaign: str,
                    candidates: Callable[[str], list[dict[str, Any]]]) -> dict[str, Any]:
    """Each agent with their presence, its break reason and how long they have been in it (since the last status
    event), load and open chats."""
    scope = narrowed_scope(read_db, identity, campaign)
    agents = desk_queries.agents_of_campaigns(read_db, scope)
    now = clock.now()
    for agent in agents:
        agent["seconds_in_status"] = max((now - agent["status_since"]).total_seconds(), 0)
    campaigns = {c["campaign_id"] for a in agents for c in a["chats"] if c["in_scope"]}
    return {"agents": agents, "may_reassign": identity.role != "auditor", "campaign": campaign,
            "campaign_name": _filter_name(read_db, scope, campaign), "members": {c: candidates(c) for c in campaigns}}


@router.get("/supervisor/agents", include_in_schema=False)
def agents_page(request: Request, read_db: ReadDb, clock: ClockDep, pages: PagesDep, assignments: RouterDep,
                identity: Annotated[Identity, Depends(VIEWERS)], campaign: CampaignFilter = "") -> Response:
    return pages.render(request, "supervisor/agents.html", _agents_context(
        read_db, clock, identity, campaign, _candidates(read_db, assignments, pages, request)))


@router.get("/supervisor/fragments/agents", include_in_schema=False)
def agents_fragment(request: Request, read_db: ReadDb, clock: ClockDep, pages: PagesDep, assignments: RouterDep,
                    identity: Annotated[Identity, Depends(VIEWERS)], campaign: CampaignFilter = "") -> Response:
    return pages.render(request, "supervisor/_agents.html", _agents_context(
        read_db, clock, identity, campaign, _candidates(read_db, assignments, pages, request)))


def _candidates(read_db: Engine, assignments: AssignmentService, pages: Pages,
                request: Request) -> Callable[[str], list[dict[str, Any]]]:
    return lambda campaign_id: reassign_candidates(read_db, assignments, pages, request.state.lang, campaign_id)


def reassign(assignments: AssignmentService, read_db: Engine, identity: Identity, chat_id: str, to_agent_id: str,
             reason: str, to_unavailable: bool) -> None:
    visible_chat(read_db, identity, chat_id)
    assignments.reassign(chat_id, to_agent_id, reason=reason, to_unavailable=to_unavailable,
                         actor=actor_for_user(identity.id))


@router.post("/api/chats/{chat_id}/reassign", status_code=204)
def reassign_json(chat_id: UUID, body: Reassignment, assignments: RouterDep, read_db: ReadDb,
                  identity: Annotated[Identity, Depends(MANAGERS)]) -> None:
    """Move an assigned chat to another available member of its campaign, with a reason."""
    reassign(assignments, read_db, identity, str(chat_id), str(body.to_agent_id), body.reason, body.to_unavailable)


@router.post("/chats/{chat_id}/reassign", include_in_schema=False)
def reassign_form(chat_id: UUID, request: Request, assignments: RouterDep, read_db: ReadDb,
                  projections: ProjectionsDep, pages: PagesDep,
                  identity: Annotated[Identity, Depends(MANAGERS)],
                  to_agent_id: Annotated[UUID, Form()], reason: Annotated[str, Form(max_length=500)] = "",
                  back: Annotated[str, Form(pattern="^/(supervisor/agents|chats/[0-9a-f-]+)$")] = "/supervisor/agents",
                  to_unavailable: Annotated[bool, Form()] = False) -> Response:
    return form_outcome(request, projections, pages,
                        lambda: reassign(assignments, read_db, identity, str(chat_id), str(to_agent_id), reason,
                                         to_unavailable),
                        back=back, success="Chat reasignado.")


def assign_manually(assignments: AssignmentService, read_db: Engine, identity: Identity, chat_id: str,
                    agent_id: str, reason: str) -> None:
    visible_chat(read_db, identity, chat_id)
    assignments.assign_manually(chat_id, agent_id, reason=reason, actor=actor_for_user(identity.id))


@router.post("/api/chats/{chat_id}/assign", status_code=204)
def assign_json(chat_id: UUID, body: ManualAssignment, assignments: RouterDep, read_db: ReadDb,
                identity: Annotated[Identity, Depends(MANAGERS)]) -> None:
    """Exceptional manual assignment from the queue (off unless enabled), with a reason; marked as such."""
    assign_manually(assignments, read_db, identity, str(chat_id), str(body.agent_id), body.reason)


@router.post("/chats/{chat_id}/assign", include_in_schema=False)
def assign_form(chat_id: UUID, request: Request, assignments: RouterDep, read_db: ReadDb,
                projections: ProjectionsDep, pages: PagesDep, identity: Annotated[Identity, Depends(MANAGERS)],
                agent_id: Annotated[UUID, Form()], reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    return form_outcome(request, projections, pages,
                        lambda: assign_manually(assignments, read_db, identity, str(chat_id), str(agent_id), reason),
                        back=f"/chats/{chat_id}", success="Chat asignado manualmente.")

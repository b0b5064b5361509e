"""Supervisors: the waiting queue (R9), agents and their load, reassignment and the exceptional
manual assignment (R4)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.chat_access import campaign_scope, visible_chat
from api.deps import DespachoDep, PagesDep
from api.forms import form_outcome
from api.security import allow
from application.staff import Identity
from despacho.bootstrap import Despacho
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


def queue_for(despacho: Despacho, identity: Identity) -> list[dict[str, Any]]:
    return desk_queries.waiting_queue(despacho.read_engine, campaign_scope(despacho, identity), despacho.clock.now())


@router.get("/api/queue")
def queue_json(despacho: DespachoDep, identity: Annotated[Identity, Depends(VIEWERS)]) -> list[dict[str, Any]]:
    """Chats waiting for assignment in the caller's campaigns, oldest first, with seconds waited."""
    return queue_for(despacho, identity)


def _queue_context(despacho: Despacho, identity: Identity) -> dict[str, Any]:
    scope = campaign_scope(despacho, identity)
    topics = "queue:*" if scope is None else " ".join(f"queue:{c}" for c in sorted(scope)) or "queue:none"
    return {"queue": queue_for(despacho, identity), "topics": topics,
            "manual_allowed": despacho.settings.allow_manual_assignment and identity.role != "auditor"}


@router.get("/supervisor/queue", include_in_schema=False)
def queue_page(request: Request, despacho: DespachoDep, pages: PagesDep,
               identity: Annotated[Identity, Depends(VIEWERS)]) -> Response:
    return pages.render(request, "supervisor/queue.html", _queue_context(despacho, identity))


@router.get("/supervisor/fragments/queue", include_in_schema=False)
def queue_fragment(request: Request, despacho: DespachoDep, pages: PagesDep,
                   identity: Annotated[Identity, Depends(VIEWERS)]) -> Response:
    return pages.render(request, "supervisor/_queue.html", _queue_context(despacho, identity))


def _agents_context(despacho: Despacho, identity: Identity) -> dict[str, Any]:
    engine = despacho.read_engine
    agents = desk_queries.agents_of_campaigns(engine, campaign_scope(despacho, identity))
    campaigns = {c["campaign_id"] for a in agents for c in a["chats"] if c["in_scope"]}
    return {"agents": agents, "may_reassign": identity.role != "auditor",
            "members": {c: desk_queries.campaign_members(engine, c) for c in campaigns}}


@router.get("/supervisor/agents", include_in_schema=False)
def agents_page(request: Request, despacho: DespachoDep, pages: PagesDep,
                identity: Annotated[Identity, Depends(VIEWERS)]) -> Response:
    return pages.render(request, "supervisor/agents.html", _agents_context(despacho, identity))


@router.get("/supervisor/fragments/agents", include_in_schema=False)
def agents_fragment(request: Request, despacho: DespachoDep, pages: PagesDep,
                    identity: Annotated[Identity, Depends(VIEWERS)]) -> Response:
    return pages.render(request, "supervisor/_agents.html", _agents_context(despacho, identity))


def reassign(despacho: Despacho, identity: Identity, chat_id: str, to_agent_id: str, reason: str,
             to_unavailable: bool) -> None:
    visible_chat(despacho, identity, chat_id)
    despacho.router.reassign(chat_id, to_agent_id, reason=reason, to_unavailable=to_unavailable,
                             actor=actor_for_user(identity.id))


@router.post("/api/chats/{chat_id}/reassign", status_code=204)
def reassign_json(chat_id: UUID, body: Reassignment, despacho: DespachoDep,
                  identity: Annotated[Identity, Depends(MANAGERS)]) -> None:
    """Move an assigned chat to another available member of its campaign, with a reason."""
    reassign(despacho, identity, str(chat_id), str(body.to_agent_id), body.reason, body.to_unavailable)


@router.post("/chats/{chat_id}/reassign", include_in_schema=False)
def reassign_form(chat_id: UUID, request: Request, despacho: DespachoDep, pages: PagesDep,
                  identity: Annotated[Identity, Depends(MANAGERS)],
                  to_agent_id: Annotated[UUID, Form()], reason: Annotated[str, Form(max_length=500)] = "",
                  back: Annotated[str, Form(pattern="^/(supervisor/agents|chats/[0-9a-f-]+)$")] = "/supervisor/agents",
                  to_unavailable: Annotated[bool, Form()] = False) -> Response:
    return form_outcome(request, despacho, pages,
                        lambda: reassign(despacho, identity, str(chat_id), str(to_agent_id), reason, to_unavailable),
                        back=back, success="Chat reasignado.")


def assign_manually(despacho: Despacho, identity: Identity, chat_id: str, agent_id: str, reason: str) -> None:
    visible_chat(despacho, identity, chat_id)
    despacho.router.assign_manually(chat_id, agent_id, reason=reason, actor=actor_for_user(identity.id))


@router.post("/api/chats/{chat_id}/assign", status_code=204)
def assign_json(chat_id: UUID, body: ManualAssignment, despacho: DespachoDep,
                identity: Annotated[Identity, Depends(MANAGERS)]) -> None:
    """Exceptional manual assignment from the queue (off unless enabled), with a reason; marked as such."""
    assign_manually(despacho, identity, str(chat_id), str(body.agent_id), body.reason)


@router.post("/chats/{chat_id}/assign", include_in_schema=False)
def assign_form(chat_id: UUID, request: Request, despacho: DespachoDep, pages: PagesDep,
                identity: Annotated[Identity, Depends(MANAGERS)],
                agent_id: Annotated[UUID, Form()], reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    return form_outcome(request, despacho, pages,
                        lambda: assign_manually(despacho, identity, str(chat_id), str(agent_id), reason),
                        back=f"/chats/{chat_id}", success="Chat asignado manualmente.")

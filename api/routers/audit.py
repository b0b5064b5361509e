"""Event history for auditors: any aggregate's events in order, and the newest events overall."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import EventStoreDep, PagesDep, ReadDb
from api.security import allow
from application.audit import EventRecord, aggregate_history, recent_events
from projections.desk_queries import agent_names

router = APIRouter(tags=["audit"])
AUDITORS = allow("auditor", "admin")


class EventPublic(BaseModel):
    position: int | None
    aggregate_id: str
    version: int
    type: str
    actor: str
    at: datetime | None
    recorded_at: datetime
    data: dict[str, Any]


def _public(record: EventRecord) -> EventPublic:
    return EventPublic(**vars(record))


@router.get("/api/audit/aggregates/{aggregate_id}/events", response_model=list[EventPublic],
            dependencies=[Depends(AUDITORS)])
def aggregate_events(aggregate_id: UUID, store: EventStoreDep) -> list[EventPublic]:
    """Every event of one aggregate (chat, agent, campaign, message…), oldest first."""
    history = aggregate_history(store, aggregate_id)
    if not history:
        raise HTTPException(status_code=404, detail="No hay eventos para ese identificador")
    return [_public(r) for r in history]


@router.get("/api/audit/events", response_model=list[EventPublic], dependencies=[Depends(AUDITORS)])
def latest_events(store: EventStoreDep, before: Annotated[int | None, Query(ge=1)] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[EventPublic]:
    """The newest events of the whole log, newest first; page with `before`."""
    return [_public(r) for r in recent_events(store, before=before, limit=limit)]


@router.get("/audit/events", include_in_schema=False, dependencies=[Depends(AUDITORS)])
def events_page(request: Request, store: EventStoreDep, read_db: ReadDb, pages: PagesDep, aggregate: str = "",
                before: Annotated[int | None, Query(ge=1)] = None) -> Response:
    error = None
    records: list[EventRecord] = []
    if aggregate.strip():
        try:
            records = aggregate_history(store, UUID(aggregate.strip()))
        except ValueError:
            error = pages.translate(request.state.lang, "Identificador inválido")
        if not records and error is None:
            error = pages.translate(request.state.lang, "No hay eventos para ese identificador")
    else:
        records = recent_events(store, before=before, limit=50)
    older = min((r.position for r in records if r.position), default=None)
    return pages.render(request, "audit_events.html", {
        "records": records, "aggregate": aggregate.strip(), "error": error,
        "people": agent_names(read_db),
        "older_than": older if not aggregate and older and older > 1 else None})

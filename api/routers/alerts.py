"""Alerts (R6, R8): unanswered streaks, long queue waits and closing confirmations that never reached the
customer, for the agent concerned and the supervisors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from api.chat_access import alert_scope, campaign_scope, see_own_writes, visible_chat
from api.deps import ClosingDep, FilesDep, PagesDep, ProjectionsDep, ReadDb, TimersDep, UnidentifiedCampaignDep
from api.flash import redirect_with_flash
from api.forms import form_outcome
from api.routers.message_audit import delivery_alerts_for
from api.security import allow
from application.closing import ClosingService
from application.staff import Identity
from application.timers import TimerService
from domain.chats import CONFIRMATION_FAILED
from domain.common import actor_for_user
from projections import alert_queries, desk_queries, message_queries

router = APIRouter(tags=["alerts"])
VIEWERS = allow("admin", "supervisor", "agent", "auditor")
ACKNOWLEDGERS = allow("admin", "supervisor", "agent")
RESOLVERS = allow("admin", "supervisor")


class Resolution(BaseModel):
    note: str = Field(min_length=1, max_length=500, description="How the customer was told another way")


class Resent(BaseModel):
    message_id: str


def alerts_for(read_db: Engine, unidentified: str | None, identity: Identity,
               states: tuple[str, ...]) -> list[dict[str, Any]]:
    """The caller's alerts, each saying whether the caller may open its chat."""
    agent_id = identity.id if identity.role == "agent" else None
    chats_scope = campaign_scope(read_db, identity)
    rows = alert_queries.alerts(read_db, campaign_ids=alert_scope(read_db, identity, unidentified),
                                agent_id=agent_id, states=states)
    return [{**row, "viewable": chats_scope is None or row["campaign_id"] in chats_scope} for row in rows]


def _states(state: str) -> tuple[str, ...]:
    if state == "all":
        return alert_queries.STATES
    if state not in alert_queries.STATES:
        raise HTTPException(status_code=422, detail="Estado desconocido: open, acknowledged, resolved o all")
    return (state,)


@router.get("/api/alerts")
def alerts_json(read_db: ReadDb, unidentified: UnidentifiedCampaignDep, identity: Annotated[Identity, Depends(VIEWERS)],
                state: Annotated[str, Query(max_length=20)] = "open") -> list[dict[str, Any]]:
    """Alerts the caller may see (agents: their chats; supervisors: their campaigns), newest first."""
    return alerts_for(read_db, unidentified, identity, _states(state))


@router.get("/alerts", include_in_schema=False)
def alerts_page(request: Request, read_db: ReadDb, unidentified: UnidentifiedCampaignDep, pages: PagesDep,
                identity: Annotated[Identity, Depends(VIEWERS)],
                state: Annotated[str, Query(max_length=20)] = "open") -> Response:
    delivery_states = tuple(s for s in _states(state) if s in message_queries.ALERT_STATES)
    delivery = delivery_alerts_for(read_db, identity, delivery_states) if identity.role != "agent" else []
    return pages.render(request, "alerts.html", {
        "alerts": alerts_for(read_db, unidentified, identity, _states(state)), "state": state,
        "can_acknowledge": identity.role != "auditor", "can_resolve": identity.role in ("admin", "supervisor"),
        "delivery_alerts": delivery,
        "shows_delivery": identity.role != "agent",
        "can_acknowledge_delivery": identity.role in ("admin", "supervisor")})


def acknowledge(timers: TimerService, read_db: Engine, identity: Identity, alert_id: str) -> None:
    row = alert_queries.alert(read_db, alert_id)
    if row is None:
        raise HTTPException(status_code=404, detail="Alerta desconocida")
    visible_chat(read_db, identity, row["chat_id"])
    timers.acknowledge(row["chat_id"], row["kind"], row["streak_started_at"], actor=actor_for_user(identity.id))


@router.post("/api/alerts/{alert_id}/acknowledge", status_code=204)
def acknowledge_json(alert_id: str, timers: TimersDep, read_db: ReadDb,
                     identity: Annotated[Identity, Depends(ACKNOWLEDGERS)]) -> None:
    """Mark an open alert as seen; it is resolved when the agent replies (or the chat is assigned/closed)."""
    acknowledge(timers, read_db, identity, alert_id)


@router.post("/alerts/{alert_id}/acknowledge", include_in_schema=False)
def acknowledge_form(alert_id: str, request: Request, timers: TimersDep, read_db: ReadDb,
                     projections: ProjectionsDep, pages: PagesDep,
                     identity: Annotated[Identity, Depends(ACKNOWLEDGERS)]) -> Response:
    acknowledge(timers, read_db, identity, alert_id)
    see_own_writes(projections, "chats")
    message = pages.translate(request.state.lang, "Alerta marcada como vista.")
    return redirect_with_flash(request, "/alerts", "success", message)


class Acknowledgements(BaseModel):
    alert_ids: list[str] = Field(min_length=1, max_length=200)


class Acknowledged(BaseModel):
    acknowledged: int = Field(description="How many of the alerts this call marked as seen (others were already)")


def acknowledge_many(timers: TimerService, read_db: Engine, identity: Identity, alert_ids: list[str]) -> int:
    """Every alert is checked first, so one the caller may not see refuses them all."""
    rows = [alert_queries.alert(read_db, alert_id) for alert_id in dict.fromkeys(alert_ids)]
    if any(row is None for row in rows):
        raise HTTPException(status_code=404, detail="Alerta desconocida")
    found = [row for row in rows if row is not None]
    for row in found:
        visible_chat(read_db, identity, row["chat_id"])
    return timers.acknowledge_all([(r["chat_id"], r["kind"], r["streak_started_at"]) for r in found],
                                  actor=actor_for_user(identity.id))


@router.post("/api/alerts/acknowledge", response_model=Acknowledged,
             responses={404: {"description": "Una de las alertas no existe o el usuario no puede verla"}})
def acknowledge_many_json(body: Acknowledgements, timers: TimersDep, read_db: ReadDb,
                          identity: Annotated[Identity, Depends(ACKNOWLEDGERS)]) -> Acknowledged:
    """Mark several open alerts as seen in one action; each is recorded on its chat with who and when."""
    return Acknowledged(acknowledged=acknowledge_many(timers, read_db, identity, body.alert_ids))


@router.post("/alerts/acknowledge", include_in_schema=False)
def acknowledge_many_form(request: Request, timers: TimersDep, read_db: ReadDb, projections: ProjectionsDep,
                          pages: PagesDep, identity: Annotated[Identity, Depends(ACKNOWLEDGERS)],
                          alert_id: Annotated[list[str] | None, Form(max_length=200)] = None) -> Response:
    if not alert_id:
        return redirect_with_flash(request, "/alerts", "warning",
                                   pages.translate(request.state.lang, "Selecciona al menos una alerta."))
    marked = acknowledge_many(timers, read_db, identity, alert_id)
    see_own_writes(projections, "chats")
    message = pages.translate(request.state.lang, "%(count)s alerta(s) marcadas como vistas.", count=marked)
    return redirect_with_flash(request, "/alerts", "success", message)


def confirmation_alert(read_db: Engine, identity: Identity, alert_id: str) -> dict[str, Any]:
    row = alert_queries.alert(read_db, alert_id)
    if row is None or row["kind"] != CONFIRMATION_FAILED:
        raise HTTPException(status_code=404, detail="Alerta de confirmación desconocida")
    visible_chat(read_db, identity, row["chat_id"])
    return row


def resend_confirmation(closing: ClosingService, read_db: Engine, identity: Identity, alert_id: str) -> str:
    row = confirmation_alert(read_db, identity, alert_id)
    message_id: str = closing.resend_confirmation(row["chat_id"], actor=actor_for_user(identity.id))
    return message_id


def resolve_confirmation(closing: ClosingService, read_db: Engine, identity: Identity, alert_id: str,
                         note: str) -> None:
    row = confirmation_alert(read_db, identity, alert_id)
    closing.resolve_confirmation_alert(row["chat_id"], note, actor=actor_for_user(identity.id))


@router.post("/api/alerts/{alert_id}/resend-confirmation", status_code=202, response_model=Resent)
def resend_confirmation_json(alert_id: str, closing: ClosingDep, read_db: ReadDb,
                             identity: Annotated[Identity, Depends(RESOLVERS)]) -> Resent:
    """Send a lost closing confirmation again (e.g. once the campaign has its template); the alert resolves
    itself when Twilio accepts it."""
    return Resent(message_id=resend_confirmation(closing, read_db, identity, alert_id))


@router.post("/api/alerts/{alert_id}/resolve", status_code=204)
def resolve_json(alert_id: str, body: Resolution, closing: ClosingDep, read_db: ReadDb,
                 identity: Annotated[Identity, Depends(RESOLVERS)]) -> None:
    """Resolve a lost-confirmation alert by saying how the customer was told another way."""
    resolve_confirmation(closing, read_db, identity, alert_id, body.note)


@router.post("/alerts/{alert_id}/resend-confirmation", include_in_schema=False)
def resend_confirmation_form(alert_id: str, request: Request, closing: ClosingDep, read_db: ReadDb,
                             projections: ProjectionsDep, pages: PagesDep,
                             identity: Annotated[Identity, Depends(RESOLVERS)]) -> Response:
    return form_outcome(request, projections, pages,
                        lambda: resend_confirmation(closing, read_db, identity, alert_id),
                        back="/alerts", success="Confirmación enviada de nuevo; la alerta se resuelve cuando "
                                            "Twilio la acepte.", projectors=("chats",))


@router.post("/alerts/{alert_id}/resolve", include_in_schema=False)
def resolve_form(alert_id: str, request: Request, closing: ClosingDep, read_db: ReadDb, projections: ProjectionsDep,
                 pages: PagesDep, identity: Annotated[Identity, Depends(RESOLVERS)],
                 note: Annotated[str, Form(max_length=500)] = "") -> Response:
    return form_outcome(request, projections, pages,
                        lambda: resolve_confirmation(closing, read_db, identity, alert_id, note),
                        back="/alerts", success="Alerta resuelta.", projectors=("chats",))


@router.get("/chats/{chat_id}/transcript.pdf", include_in_schema=False)
def transcript(chat_id: str, read_db: ReadDb, files: FilesDep,
               identity: Annotated[Identity, Depends(allow("admin", "supervisor", "agent", "auditor"))]) -> Response:
    """The closed chat's PDF transcript, for whoever may see the chat."""
    visible_chat(read_db, identity, chat_id)
    location = desk_queries.transcript_location(read_db, chat_id)
    if not location:
        raise HTTPException(status_code=404, detail="Este chat todavía no tiene transcripción")
    return Response(files.get(location), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="chat-{chat_id}.pdf"'})

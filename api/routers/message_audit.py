"""The message audit: every outbound message with its status history, searchable, and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Engine

from api.chat_access import campaign_scope
from api.deps import ClockDep, OutboundDep, PagesDep, ProjectionsDep, ReadDb
from api.forms import form_outcome
from api.security import allow
from application.outbound import OutboundService
from application.staff import Identity
from domain.common import actor_for_user
from domain.text import defused
from projections import message_queries
from projections.message_queries import AuditFilter
from projections.queries import list_campaigns

router = APIRouter(tags=["audit"])
AUDIT_VIEWERS = allow("admin", "supervisor", "auditor")
PAGE_SIZE = 100
CSV_LIMIT = 50_000
STATUSES = ("requested", "accepted", "queued", "sending", "sent", "delivered", "read", "failed", "undelivered",
            "canceled", "answered_by_twilio")
CSV_COLUMNS = ("id", "requested_at", "campaign", "campaign_id", "chat_id", "agent", "kind", "channel", "to",
               "sender", "sid", "status", "error_code", "error_message", "error_category", "error_meaning",
               "error_action", "attempts", "submitted_at", "final_at", "retry_of", "retried_by", "history")


class AuditQuery(BaseModel):
    """Filters of the audit; dates are UTC days, both included."""

    phone: str = ""
    chat_id: str = ""
    campaign_id: str = ""
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""
    error_code: str = ""

    def as_filter(self) -> AuditFilter:
        start = datetime.combine(self.date_from, time(0), UTC) if self.date_from else None
        end = datetime.combine(self.date_to, time(0), UTC) + timedelta(days=1) if self.date_to else None
        return AuditFilter(phone=self.phone.strip(), chat_id=self.chat_id.strip(), campaign_id=self.campaign_id,
                           date_from=start, date_to=end, status=self.status, error_code=self.error_code.strip())


def audit_query(phone: Annotated[str, Query(max_length=40)] = "", chat_id: Annotated[str, Query(max_length=36)] = "",
                campaign_id: Annotated[str, Query(max_length=36)] = "", date_from: str = "", date_to: str = "",
                status: Annotated[str, Query(max_length=20)] = "",
                error_code: Annotated[str, Query(max_length=20)] = "") -> AuditQuery:
    return AuditQuery(phone=phone, chat_id=chat_id, campaign_id=campaign_id, date_from=_day(date_from),
                      date_to=_day(date_to), status=status, error_code=error_code)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError as exc:
        raise HTTPException(status_code=422, detail="Fecha inválida: use AAAA-MM-DD") from exc


AuditQueryDep = Annotated[AuditQuery, Depends(audit_query)]


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return defused(text)


def _history_text(history: list[dict[str, Any]]) -> str:
    return " > ".join(f"{h['status'] or h['event']}@{h['at'].isoformat()}" + (f" ({h['error_code']})"
                                                                             if h["error_code"] else "")
                      for h in history)


def csv_text(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        error = r["error"] or {}
        values = (r["id"], r["requested_at"], r["campaign_name"], r["campaign_id"], r["chat_id"], r["agent_name"],
                  r["kind"], r["channel"], r["to_address"], r["sender_address"], r["sid"], r["status"],
                  r["error_code"], r["error_message"], error.get("category_label"), error.get("meaning"),
                  error.get("action"), r["attempts"], r["submitted_at"], r["final_at"], r["retry_of"],
                  r["retried_by"], _history_text(r["history"]))
        writer.writerow([safe_cell(v) for v in values])
    return out.getvalue()


@router.get("/api/audit/messages")
def audit_json(read_db: ReadDb, identity: Annotated[Identity, Depends(AUDIT_VIEWERS)], query: AuditQueryDep,
               limit: Annotated[int, Query(ge=1, le=1000)] = PAGE_SIZE,
               offset: Annotated[int, Query(ge=0)] = 0) -> list[dict[str, Any]]:
    """Outbound messages with their status history, newest first; supervisors see their campaigns only."""
    return message_queries.audit_messages(read_db, query.as_filter(), campaign_ids=campaign_scope(read_db, identity),
                                          limit=limit, offset=offset)


@router.get("/api/audit/messages.csv", responses={200: {"content": {"text/csv": {}}}})
def audit_csv(read_db: ReadDb, clock: ClockDep, identity: Annotated[Identity, Depends(AUDIT_VIEWERS)],
              query: AuditQueryDep) -> Response:
    """The same messages as CSV (UTF-8, one row per message, its history in one column)."""
    rows = message_queries.audit_messages(read_db, query.as_filter(), campaign_ids=campaign_scope(read_db, identity),
                                          limit=CSV_LIMIT)
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return Response("\ufeff" + csv_text(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="mensajes-{stamp}.csv"'})


@router.get("/audit/messages", include_in_schema=False)
def audit_page(request: Request, read_db: ReadDb, pages: PagesDep,
               identity: Annotated[Identity, Depends(AUDIT_VIEWERS)], query: AuditQueryDep,
               page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    scope = campaign_scope(read_db, identity)
    rows = message_queries.audit_messages(read_db, query.as_filter(), campaign_ids=scope,
                                          limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    campaigns = [c for c in list_campaigns(read_db, include_archived=True)
                 if scope is None or c["id"] in scope]
    filters = urlencode({k: v for k, v in query.model_dump().items() if v})
    return pages.render(request, "audit/messages.html", {
        "messages": rows[:PAGE_SIZE], "has_more": len(rows) > PAGE_SIZE, "page": page, "query": query,
        "campaigns": campaigns, "statuses": STATUSES, "filters": filters,
        "unmatched": message_queries.unmatched_callbacks(read_db, limit=20) if scope is None else []})


ALERT_VIEWERS = allow("admin", "supervisor", "auditor")
ALERT_ACKNOWLEDGERS = allow("admin", "supervisor")


def delivery_alerts_for(read_db: Engine, identity: Identity, states: tuple[str, ...]) -> list[dict[str, Any]]:
    """Delivery alerts of the caller's campaigns (all for admins and auditors), newest first."""
    return message_queries.delivery_alerts(read_db, campaign_ids=campaign_scope(read_db, identity), states=states)


@router.get("/api/delivery-alerts")
def delivery_alerts_json(read_db: ReadDb, identity: Annotated[Identity, Depends(ALERT_VIEWERS)],
                         state: Annotated[str, Query(pattern="^(open|acknowledged|all)$")] = "open",
                         ) -> list[dict[str, Any]]:
    """Failed and stuck messages, high failure rates and account problems of the caller's campaigns."""
    states = message_queries.ALERT_STATES if state == "all" else (state,)
    return delivery_alerts_for(read_db, identity, states)


def acknowledge_delivery_alert(outbound: OutboundService, read_db: Engine, identity: Identity, alert_id: str) -> None:
    row = message_queries.delivery_alert(read_db, alert_id)
    scope = campaign_scope(read_db, identity)
    if row is None or (scope is not None and row["campaign_id"] not in scope):
        raise HTTPException(status_code=404, detail="Alerta desconocida")
    outbound.acknowledge_alert(alert_id, actor=actor_for_user(identity.id))


@router.post("/api/delivery-alerts/{alert_id}/acknowledge", status_code=204)
def acknowledge_delivery_json(alert_id: str, outbound: OutboundDep, read_db: ReadDb,
                              identity: Annotated[Identity, Depends(ALERT_ACKNOWLEDGERS)]) -> None:
    """Mark a delivery alert as seen."""
    acknowledge_delivery_alert(outbound, read_db, identity, alert_id)


@router.post("/delivery-alerts/{alert_id}/acknowledge", include_in_schema=False)
def acknowledge_delivery_form(alert_id: str, request: Request, outbound: OutboundDep, read_db: ReadDb,
                              projections: ProjectionsDep, pages: PagesDep,
                              identity: Annotated[Identity, Depends(ALERT_ACKNOWLEDGERS)]) -> Response:
    return form_outcome(request, projections, pages,
                        lambda: acknowledge_delivery_alert(outbound, read_db, identity, alert_id),
                        back="/alerts", success="Alerta marcada como vista.", projectors=("messages",))

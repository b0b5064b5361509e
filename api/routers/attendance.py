"""The attendance report (§12): per agent, per day in the campaign's time zone, as a page, JSON, CSV and XLSX.

Supervisors see their campaigns' agents, admins and auditors everyone, an agent only themself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Engine

from adapters.clock import Clock
from api.attendance_table import ReportTable, hours_minutes, report_table
from api.chat_access import campaign_scope
from api.deps import ClockDep, PagesDep, ReadDb
from api.security import allow
from api.templating import BABEL_LOCALES, DEFAULT_TIMEZONE, Pages
from application.staff import Identity
from domain.attendance import AttendanceError, DayReport, SessionPart
from domain.labels import label
from projections.attendance_queries import AttendanceFilter, AttendanceRow, agents_in_scope, attendance_report
from projections.queries import list_campaigns

router = APIRouter(tags=["attendance"])
VIEWERS = allow("admin", "supervisor", "auditor", "agent")
DEFAULT_DAYS = 7
ERRORS: dict[int | str, dict[str, Any]] = {403: {"description": "El usuario no puede ver este reporte"},
          422: {"description": "Filtros inválidos (fechas AAAA-MM-DD, hasta 92 días)"}}


class BreakTime(BaseModel):
    reason: str
    seconds: int


class SessionPublic(BaseModel):
    """One session's piece of the day: connected = available + breaks + other."""

    session_id: str
    opened_at: datetime
    closed_at: datetime | None
    close_reason: str
    connected_seconds: int
    available_seconds: int
    breaks: list[BreakTime]
    other_seconds: int


class AttendanceDayPublic(BaseModel):
    """An agent's day in a campaign, cut at the campaign's local midnight."""

    day: date
    campaign_id: str
    campaign: str
    time_zone: str
    agent_id: str
    agent: str
    login: str
    first_login: datetime | None
    last_logout: datetime | None
    connected_seconds: int
    available_seconds: int
    breaks: list[BreakTime]
    other_seconds: int
    sessions: list[SessionPublic]
    chats_assigned: int
    chats_handled: int
    chats_closed: int
    messages_sent: int
    max_simultaneous_chats: int
    average_simultaneous_chats: float


class AttendanceQuery(BaseModel):
    date_from: date
    date_to: date
    campaign_id: str = ""
    agent_id: str = ""

    def as_filter(self) -> AttendanceFilter:
        return AttendanceFilter(self.date_from, self.date_to, self.campaign_id, self.agent_id)


def attendance_query(read_db: ReadDb, clock: ClockDep, campaign_id: Annotated[str, Query(max_length=36)] = "",
                     agent_id: Annotated[str, Query(max_length=36)] = "", date_from: str = "",
                     date_to: str = "") -> AttendanceQuery:
    """Both dates included, local days of the campaign; by default the last week up to today."""
    today = _today(read_db, clock, campaign_id)
    last = _day(date_to) or today
    return AttendanceQuery(date_from=_day(date_from) or last - timedelta(days=DEFAULT_DAYS - 1), date_to=last,
                           campaign_id=campaign_id, agent_id=agent_id)


def _today(read_db: Engine, clock: Clock, campaign_id: str) -> date:
    zones = {c["id"]: c["time_zone"] for c in list_campaigns(read_db, include_archived=True)}
    return clock.now().astimezone(ZoneInfo(zones.get(campaign_id, DEFAULT_TIMEZONE))).date()


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError as exc:
        raise HTTPException(status_code=422, detail="Fecha inválida: use AAAA-MM-DD") from exc


AttendanceQueryDep = Annotated[AttendanceQuery, Depends(attendance_query)]
ViewerDep = Annotated[Identity, Depends(VIEWERS)]


def viewer_scope(read_db: Engine, identity: Identity) -> tuple[set[str] | None, str | None]:
    """The campaigns the viewer sees (None: all) and, for an agent, the one person they see: themself."""
    return campaign_scope(read_db, identity), identity.id if identity.role == "agent" else None


def rows_for(read_db: Engine, clock: Clock, pages: Pages, request: Request, identity: Identity,
             query: AttendanceQuery) -> list[AttendanceRow]:
    campaign_ids, only_agent = viewer_scope(read_db, identity)
    try:
        return attendance_report(read_db, query.as_filter(), campaign_ids=campaign_ids, only_agent=only_agent,
                                 now=clock.now())
    except AttendanceError as exc:
        raise HTTPException(status_code=422, detail=pages.explain(request.state.lang, exc)) from exc


def table_for(pages: Pages, request: Request, rows: list[AttendanceRow]) -> ReportTable:
    lang = request.state.lang

    def reason_label(reason: str) -> str:
        """A usual reason in the reader's language; a campaign's own reason as the admin wrote it."""
        return pages.translate(lang, label("break_reason", reason))

    return report_table(rows, lambda msgid, **values: pages.translate(lang, msgid, **values), reason_label)


def _breaks(breaks: dict[str, int]) -> list[BreakTime]:
    return [BreakTime(reason=reason, seconds=seconds) for reason, seconds in breaks.items()]


def _session_public(part: SessionPart) -> SessionPublic:
    seconds = part.time.seconds()
    return SessionPublic(session_id=part.session.id, opened_at=part.session.opened_at,
                         closed_at=part.session.closed_at, close_reason=part.session.close_reason,
                         connected_seconds=seconds.connected, available_seconds=seconds.available,
                         breaks=_breaks(seconds.breaks), other_seconds=seconds.other)


def _public(row: AttendanceRow) -> AttendanceDayPublic:
    report: DayReport = row.report
    seconds = report.time.seconds()
    return AttendanceDayPublic(
        day=report.day, campaign_id=row.campaign_id, campaign=row.campaign_name, time_zone=row.time_zone,
        agent_id=row.agent_id, agent=row.agent_name, login=row.agent_login, first_login=report.first_login,
        last_logout=report.last_logout, connected_seconds=seconds.connected, available_seconds=seconds.available,
        breaks=_breaks(seconds.breaks), other_seconds=seconds.other,
        sessions=[_session_public(p) for p in report.sessions], chats_assigned=report.chats_assigned,
        chats_handled=report.chats_handled, chats_closed=report.chats_closed, messages_sent=report.messages_sent,
        max_simultaneous_chats=report.max_simultaneous_chats,
        average_simultaneous_chats=report.average_simultaneous_chats)


@router.get("/api/attendance", response_model=list[AttendanceDayPublic], responses=ERRORS)
def attendance_json(request: Request, read_db: ReadDb, clock: ClockDep, pages: PagesDep, identity: ViewerDep,
                    query: AttendanceQueryDep) -> list[AttendanceDayPublic]:
    """Attendance per agent per day in the campaign's time zone; supervisors see their campaigns only."""
    return [_public(row) for row in rows_for(read_db, clock, pages, request, identity, query)]


def _download(content: str | bytes, media_type: str, name: str, query: AttendanceQuery) -> Response:
    filename = f"asistencia-{query.date_from.isoformat()}-{query.date_to.isoformat()}.{name}"
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/api/attendance.csv", responses={**ERRORS, 200: {"content": {"text/csv": {}}}})
def attendance_csv(request: Request, read_db: ReadDb, clock: ClockDep, pages: PagesDep, identity: ViewerDep,
                   query: AttendanceQueryDep) -> Response:
    """The same report as CSV (UTF-8), durations as hh:mm:ss."""
    table = table_for(pages, request, rows_for(read_db, clock, pages, request, identity, query))
    return _download("\ufeff" + table.csv_text(), "text/csv; charset=utf-8", "csv", query)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/api/attendance.xlsx", responses={**ERRORS, 200: {"content": {XLSX_TYPE: {}}}})
def attendance_xlsx(request: Request, read_db: ReadDb, clock: ClockDep, pages: PagesDep, identity: ViewerDep,
                    query: AttendanceQueryDep) -> Response:
    """The same report as an Excel workbook, durations as duration cells."""
    table = table_for(pages, request, rows_for(read_db, clock, pages, request, identity, query))
    return _download(table.xlsx_bytes(pages.translate(request.state.lang, "Asistencia")), XLSX_TYPE, "xlsx", query)


@router.get("/attendance", include_in_schema=False)
def attendance_page(request: Request, read_db: ReadDb, clock: ClockDep, pages: PagesDep, identity: ViewerDep,
                    query: AttendanceQueryDep) -> Response:
    rows = rows_for(read_db, clock, pages, request, identity, query)
    scope, only_agent = viewer_scope(read_db, identity)
    filters = urlencode({k: str(v) for k, v in query.model_dump().items() if v})
    return pages.render(request, "attendance/report.html", {
        "query": query, "table": table_for(pages, request, rows), "filters": filters,
        "campaigns": [c for c in list_campaigns(read_db, include_archived=True) if scope is None or c["id"] in scope],
        "agents": agents_in_scope(read_db, scope, only_agent),
        "hours_minutes": hours_minutes, "decimal": _decimal_in(request.state.lang)})


def _decimal_in(lang: str) -> Callable[[float], str]:
    """`1,06` in Spanish (Colombia), `1.06` in English."""
    return lambda value: str(format_decimal(value, format="0.00", locale=BABEL_LOCALES.get(lang, "es_CO")))

"""Agent, campaign and bot metrics (§15, §16) as JSON, CSV and XLSX, from the one query each level has.

Supervisors see their campaigns, admins and auditors everything (chats without a campaign included), an agent
only their own agent rows; the scope is applied inside the queries (projections/metric_queries.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Engine

from api.chat_access import campaign_scope
from api.deps import ClockDep, PagesDep, ReadDb
from api.metrics_table import TEXT, MetricTable, metric_table, plain_table
from api.security import allow
from api.templating import DEFAULT_TIMEZONE, Pages
from application.staff import Identity
from domain.common import DomainError
from domain.metrics.registry import AGENT, BOT, CAMPAIGN, COUNT, RATIO
from projections.metric_queries import (
    MetricFilter,
    MetricRow,
    agent_metrics,
    bot_funnel,
    bot_metrics,
    campaign_metrics,
    campaign_volume,
    delivery_by_sender,
)

router = APIRouter(tags=["metrics"])
EVERYONE = allow("admin", "supervisor", "auditor", "agent")
STAFF = allow("admin", "supervisor", "auditor")
DEFAULT_DAYS = 7
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERRORS: dict[int | str, dict[str, Any]] = {403: {"description": "El usuario no puede ver estas métricas"},
                                           422: {"description": "Filtros inválidos"}}
VOLUME, FUNNEL, DELIVERY = "volume", "funnel", "delivery"
TITLES = {AGENT: "Métricas de asesores", CAMPAIGN: "Métricas de campañas", BOT: "Métricas del bot",
          VOLUME: "Volumen por hora", FUNNEL: "Embudo del bot", DELIVERY: "Entrega por remitente"}
FILES = {AGENT: "metricas-asesores", CAMPAIGN: "metricas-campanas", BOT: "metricas-bot", VOLUME: "volumen-por-hora",
         FUNNEL: "embudo-bot", DELIVERY: "entrega-por-remitente"}
VOLUME_COLUMNS = (("Campaña", "campaign_name", TEXT), ("Día de la semana", "weekday", COUNT), ("Hora", "hour", COUNT),
                  ("Chats", "chats", COUNT))
FUNNEL_COLUMNS = (("Campaña", "campaign_name", TEXT), ("Flujo", "flow_name", TEXT), ("Estado", "state", TEXT),
                  ("Chats", "chats", COUNT))
DELIVERY_COLUMNS = (("Campaña", "campaign_name", TEXT), ("Remitente", "sender", TEXT),
                    ("Mensajes solicitados", "outbound", COUNT), ("Mensajes fallidos", "failed", COUNT),
                    ("Tasa de fallas de entrega", "failure_rate", RATIO))
PLAIN = {VOLUME: (campaign_volume, VOLUME_COLUMNS), FUNNEL: (bot_funnel, FUNNEL_COLUMNS),
         DELIVERY: (delivery_by_sender, DELIVERY_COLUMNS)}


class MetricRowPublic(BaseModel):
    """One bucket of one agent, campaign or flow: every metric of docs/metrics.md (null: no data to divide by)."""

    bucket: str
    time_zone: str
    campaign_id: str
    campaign: str
    agent_id: str
    agent: str
    flow_name: str
    values: dict[str, float | None]
    counters: dict[str, float]
    dispositions: dict[str, int]


def metric_filter(read_db: ReadDb, clock: ClockDep, campaign_id: Annotated[str, Query(max_length=36)] = "",
                  agent_id: Annotated[str, Query(max_length=36)] = "",
                  flow_name: Annotated[str, Query(max_length=80)] = "",
                  time_zone: Annotated[str, Query(max_length=64)] = "",
                  granularity: Annotated[str, Query(max_length=8)] = "day", date_from: str = "",
                  date_to: str = "") -> MetricFilter:
    """Both dates included, local days; by default the last week up to today."""
    last = _day(date_to) or clock.now().astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()
    return MetricFilter(_day(date_from) or last - timedelta(days=DEFAULT_DAYS - 1), last, campaign_id, agent_id,
                        flow_name, time_zone, granularity)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError as exc:
        raise HTTPException(status_code=422, detail="Fecha inválida: use AAAA-MM-DD") from exc


FilterDep = Annotated[MetricFilter, Depends(metric_filter)]


def rows_for(level: str, read_db: Engine, pages: Pages, request: Request, identity: Identity,
             wanted: MetricFilter, now: datetime | None = None) -> list[MetricRow]:
    """`now` ends the intervals still open, for the agents' occupancy."""
    scope = campaign_scope(read_db, identity)
    queries: dict[str, Callable[[], list[MetricRow]]] = {
        AGENT: lambda: agent_metrics(read_db, wanted, campaign_ids=scope,
                                     only_agent=identity.id if identity.role == "agent" else None, now=now),
        CAMPAIGN: lambda: campaign_metrics(read_db, wanted, campaign_ids=scope),
        BOT: lambda: bot_metrics(read_db, wanted, campaign_ids=scope),
    }
    try:
        return queries[level]()
    except DomainError as exc:
        raise HTTPException(status_code=422, detail=pages.explain(request.state.lang, exc)) from exc


def _public(row: MetricRow) -> MetricRowPublic:
    return MetricRowPublic(bucket=row.bucket, time_zone=row.time_zone, campaign_id=row.campaign_id,
                           campaign=row.campaign_name, agent_id=row.agent_id, agent=row.agent_name,
                           flow_name=row.flow_name, values=row.values, counters=row.counters,
                           dispositions=row.breakdown)


def table_for(level: str, pages: Pages, request: Request, rows: list[MetricRow]) -> MetricTable:
    lang = request.state.lang
    return metric_table(level, rows, lambda msgid, **values: pages.translate(lang, msgid, **values))


def _download(table: MetricTable, kind: str, level: str, pages: Pages, request: Request,
              wanted: MetricFilter) -> Response:
    name = f"{FILES[level]}-{wanted.date_from.isoformat()}-{wanted.date_to.isoformat()}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if kind == "csv":
        return Response("\ufeff" + table.csv_text(), media_type="text/csv; charset=utf-8", headers=headers)
    title = pages.translate(request.state.lang, TITLES[level])
    return Response(table.xlsx_bytes(title), media_type=XLSX_TYPE, headers=headers)


CSV = {**ERRORS, 200: {"content": {"text/csv": {}}}}
XLSX = {**ERRORS, 200: {"content": {XLSX_TYPE: {}}}}
EveryoneDep = Annotated[Identity, Depends(EVERYONE)]
StaffDep = Annotated[Identity, Depends(STAFF)]


@router.get("/api/metrics/agents", response_model=list[MetricRowPublic], responses=ERRORS)
def agents_json(request: Request, read_db: ReadDb, clock: ClockDep, pages: PagesDep, identity: EveryoneDep,
                wanted: FilterDep) -> list[MetricRowPublic]:
    """Each agent's metrics per campaign and bucket; an agent sees only their own rows."""
    return [_public(r) for r in rows_for(AGENT, read_db, pages, request, identity, wanted, clock.now())]


@router.get("/api/metrics/agents.csv", responses=CSV)
def agents_csv(request: Request, read_db: ReadDb, clock: ClockDep, pages: PagesDep, identity: EveryoneDep,
               wanted: FilterDep) -> Response:
    rows = rows_for(AGENT, read_db, pages, request, identity, wanted, clock.now())
    return _download(table_for(AGENT, pages, request, rows), "csv", AGENT, pages, request, wanted)


@router.get("/api/metrics/agents.xlsx", responses=XLSX)
def agents_xlsx(request: Request, read_db: ReadDb, clock: ClockDep, pages: PagesDep, identity: EveryoneDep,
                wanted: FilterDep) -> Response:
    rows = rows_for(AGENT, read_db, pages, request, identity, wanted, clock.now())
    return _download(table_for(AGENT, pages, request, rows), "xlsx", AGENT, pages, request, wanted)


@router.get("/api/metrics/campaigns", response_model=list[MetricRowPublic], responses=ERRORS)
def campaigns_json(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep,
                   wanted: FilterDep) -> list[MetricRowPublic]:
    """Each campaign's metrics per bucket; supervisors see their campaigns only."""
    return [_public(r) for r in rows_for(CAMPAIGN, read_db, pages, request, identity, wanted)]


@router.get("/api/metrics/campaigns.csv", responses=CSV)
def campaigns_csv(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep,
                  wanted: FilterDep) -> Response:
    rows = rows_for(CAMPAIGN, read_db, pages, request, identity, wanted)
    return _download(table_for(CAMPAIGN, pages, request, rows), "csv", CAMPAIGN, pages, request, wanted)


@router.get("/api/metrics/campaigns.xlsx", responses=XLSX)
def campaigns_xlsx(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep,
                   wanted: FilterDep) -> Response:
    rows = rows_for(CAMPAIGN, read_db, pages, request, identity, wanted)
    return _download(table_for(CAMPAIGN, pages, request, rows), "xlsx", CAMPAIGN, pages, request, wanted)


@router.get("/api/metrics/bot", response_model=list[MetricRowPublic], responses=ERRORS)
def bot_json(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep,
             wanted: FilterDep) -> list[MetricRowPublic]:
    """The bot's metrics per campaign, flow and bucket; supervisors see their campaigns only."""
    return [_public(r) for r in rows_for(BOT, read_db, pages, request, identity, wanted)]


@router.get("/api/metrics/bot.csv", responses=CSV)
def bot_csv(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep, wanted: FilterDep) -> Response:
    rows = rows_for(BOT, read_db, pages, request, identity, wanted)
    return _download(table_for(BOT, pages, request, rows), "csv", BOT, pages, request, wanted)


@router.get("/api/metrics/bot.xlsx", responses=XLSX)
def bot_xlsx(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep, wanted: FilterDep) -> Response:
    rows = rows_for(BOT, read_db, pages, request, identity, wanted)
    return _download(table_for(BOT, pages, request, rows), "xlsx", BOT, pages, request, wanted)


class VolumePublic(BaseModel):
    """Chats started in one campaign at one local weekday (0 = Monday) and hour."""

    campaign_id: str
    campaign_name: str
    weekday: int
    hour: int
    chats: int


class FunnelStepPublic(BaseModel):
    """Chats (dated by their start) that reached one state of one bot flow."""

    campaign_id: str
    campaign_name: str
    flow_name: str
    state: str
    chats: int


def plain_rows(kind: str, read_db: Engine, pages: Pages, request: Request, identity: Identity,
               wanted: MetricFilter) -> list[dict[str, Any]]:
    scope = campaign_scope(read_db, identity)
    try:
        return PLAIN[kind][0](read_db, wanted, campaign_ids=scope)
    except DomainError as exc:
        raise HTTPException(status_code=422, detail=pages.explain(request.state.lang, exc)) from exc


def _plain_download(kind: str, extension: str, read_db: Engine, pages: Pages, request: Request, identity: Identity,
                    wanted: MetricFilter) -> Response:
    lang = request.state.lang
    rows = plain_rows(kind, read_db, pages, request, identity, wanted)
    table = plain_table(PLAIN[kind][1], rows,
                        lambda msgid, **values: pages.translate(lang, msgid, **values))
    return _download(table, extension, kind, pages, request, wanted)


@router.get("/api/metrics/campaigns/volume", response_model=list[VolumePublic], responses=ERRORS)
def volume_json(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep,
                wanted: FilterDep) -> list[dict[str, Any]]:
    """Chats started per local weekday and hour, for the volume heat map; supervisors see their campaigns."""
    return plain_rows(VOLUME, read_db, pages, request, identity, wanted)


@router.get("/api/metrics/campaigns/volume.csv", responses=CSV)
def volume_csv(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep, wanted: FilterDep) -> Response:
    return _plain_download(VOLUME, "csv", read_db, pages, request, identity, wanted)


@router.get("/api/metrics/campaigns/volume.xlsx", responses=XLSX)
def volume_xlsx(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep,
                wanted: FilterDep) -> Response:
    return _plain_download(VOLUME, "xlsx", read_db, pages, request, identity, wanted)


@router.get("/api/metrics/bot/funnel", response_model=list[FunnelStepPublic], responses=ERRORS)
def funnel_json(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep,
                wanted: FilterDep) -> list[dict[str, Any]]:
    """Chats that reached each state of each flow; supervisors see their campaigns."""
    return plain_rows(FUNNEL, read_db, pages, request, identity, wanted)


@router.get("/api/metrics/bot/funnel.csv", responses=CSV)
def funnel_csv(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep, wanted: FilterDep) -> Response:
    return _plain_download(FUNNEL, "csv", read_db, pages, request, identity, wanted)


@router.get("/api/metrics/bot/funnel.xlsx", responses=XLSX)
def funnel_xlsx(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep,
                wanted: FilterDep) -> Response:
    return _plain_download(FUNNEL, "xlsx", read_db, pages, request, identity, wanted)


class DeliveryPublic(BaseModel):
    """Messages requested from one sender of one campaign and those that never reached the customer."""

    campaign_id: str
    campaign_name: str
    sender: str
    outbound: int
    failed: int
    failure_rate: float | None


@router.get("/api/metrics/campaigns/delivery", response_model=list[DeliveryPublic], responses=ERRORS)
def delivery_json(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep,
                  wanted: FilterDep) -> list[dict[str, Any]]:
    """The delivery failure rate per campaign and sender; supervisors see their campaigns."""
    return plain_rows(DELIVERY, read_db, pages, request, identity, wanted)


@router.get("/api/metrics/campaigns/delivery.csv", responses=CSV)
def delivery_csv(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep,
                 wanted: FilterDep) -> Response:
    return _plain_download(DELIVERY, "csv", read_db, pages, request, identity, wanted)


@router.get("/api/metrics/campaigns/delivery.xlsx", responses=XLSX)
def delivery_xlsx(request: Request, read_db: ReadDb, pages: PagesDep, identity: StaffDep,
                  wanted: FilterDep) -> Response:
    return _plain_download(DELIVERY, "xlsx", read_db, pages, request, identity, wanted)

"""Searching open and closed chats (by document, phone, name, dates, agent, disposition, campaign), as a page,
JSON and CSV, each limited to the caller's scope by the query itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from api.chat_access import search_scope
from api.deps import ClockDep, PagesDep, ReadDb
from api.search_table import search_table
from api.security import allow
from api.templating import DEFAULT_TIMEZONE
from application.staff import Identity
from projections.search_queries import ChatSearch, ResultPage, search_chats, searchable_agents, searchable_campaigns

router = APIRouter(tags=["search"])
SEARCHERS = allow("admin", "supervisor", "agent", "auditor")
DEFAULT_DAYS = 30
EXPORT_LIMIT = 5000
Text = Annotated[str, Query(max_length=120)]
Key = Annotated[str, Query(max_length=60)]


@dataclass(frozen=True)
class SearchForm:
    """The filters as typed (shown back in the form and kept by the pager) and as the query's criteria."""

    typed: dict[str, str]
    search: ChatSearch
    page: int


def search_form(clock: ClockDep, document: Text = "", phone: Text = "", name: Text = "", date_from: Key = "",
                date_to: Key = "", agent_id: Key = "", disposition: Key = "", campaign_id: Key = "",
                state: Annotated[str, Query(pattern="^(|open|closed)$")] = "",
                fresh: Annotated[bool, Query(include_in_schema=False)] = True,
                page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> SearchForm:
    """Dates are local days in Bogotá, both included. A first visit offers the last 30 days; a submitted form
    searches exactly what it says, so clearing the dates searches the whole history."""
    if fresh and not any((document, phone, name, date_from, date_to, agent_id, disposition, campaign_id, state)):
        today = clock.now().astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()
        date_from, date_to = (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), today.isoformat()
    first, last = _day(date_from), _day(date_to)
    typed = {"document": document, "phone": phone, "name": name, "date_from": date_from, "date_to": date_to,
             "agent_id": agent_id, "disposition": disposition, "campaign_id": campaign_id, "state": state}
    return SearchForm(typed, ChatSearch(
        document=document, phone=phone, name=name, opened_from=_start_of(first),
        opened_before=_start_of(last + timedelta(days=1) if last else None), agent_id=agent_id,
        disposition=disposition, campaign_id=campaign_id, state=state), page)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError as exc:
        raise HTTPException(status_code=422, detail="Fecha inválida: use AAAA-MM-DD") from exc


def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), ZoneInfo(DEFAULT_TIMEZONE)) if day else None


FormDep = Annotated[SearchForm, Depends(search_form)]
SearcherDep = Annotated[Identity, Depends(SEARCHERS)]


def results(read_db: Engine, identity: Identity, form: SearchForm, per_page: int = 25) -> ResultPage:
    return search_chats(read_db, search_scope(read_db, identity), form.search, page=form.page, per_page=per_page)


@router.get("/api/search/chats")
def search_json(read_db: ReadDb, form: FormDep, identity: SearcherDep) -> dict[str, Any]:
    """Chats matching every filter given, newest first, 25 a page, within the caller's campaigns (agents: theirs)."""
    found = results(read_db, identity, form)
    chats = [{**row, "url": f"/chats/{row['id']}",
              "transcript_url": f"/chats/{row['id']}/transcript.pdf" if row["has_transcript"] else None}
             for row in found.rows]
    return {"page": found.page, "pages": found.total_pages, "total": found.total, "chats": chats}


@router.get("/search.csv", include_in_schema=False)
def search_csv(request: Request, read_db: ReadDb, pages: PagesDep, form: FormDep, identity: SearcherDep) -> Response:
    found = search_chats(read_db, search_scope(read_db, identity), form.search, per_page=EXPORT_LIMIT)
    table = search_table(found.rows, lambda msgid: pages.translate(request.state.lang, msgid))
    return Response("\ufeff" + table.csv_text(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="chats.csv"'})


def _page_context(read_db: Engine, identity: Identity, form: SearchForm) -> dict[str, Any]:
    scope = search_scope(read_db, identity)
    campaigns = searchable_campaigns(read_db, scope.campaign_ids)
    dispositions = {d["code"]: d["label"] for c in campaigns for d in c["dispositions"]}
    query = {k: v for k, v in form.typed.items() if v} | {"fresh": "false"}
    return {"found": results(read_db, identity, form), "typed": form.typed, "campaigns": campaigns,
            "dispositions": sorted(dispositions.items(), key=lambda item: item[1]),
            "agents": [] if scope.agent_id else searchable_agents(read_db, scope.campaign_ids),
            "query": urlencode(query)}


@router.get("/search", include_in_schema=False)
def search_page(request: Request, read_db: ReadDb, pages: PagesDep, form: FormDep, identity: SearcherDep) -> Response:
    return pages.render(request, "search/search.html", _page_context(read_db, identity, form))

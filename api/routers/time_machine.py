"""The auditors' time machine page: a campaign's queue, its agents and a chat as of a past instant, from the log.

Auditors and admins only: it shows any campaign's staff and chats as they were, which supervisors see only live
and only for their campaigns. Every answered lookup is recorded by the use case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.chat_access import campaign_scope
from api.deps import PagesDep, ReadDb, TimeMachineDep
from api.security import allow
from api.templating import DEFAULT_TIMEZONE
from application.as_of import AsOf
from application.staff import Identity
from domain.common import DomainError, actor_for_user
from projections.desk_queries import agent_names
from projections.queries import list_campaigns

router = APIRouter(tags=["audit"])
AuditorDep = Annotated[Identity, Depends(allow("auditor", "admin"))]


@router.get("/audit/as-of", include_in_schema=False)
def as_of_page(request: Request, identity: AuditorDep, read_db: ReadDb, pages: PagesDep, machine: TimeMachineDep,
               at: Annotated[str, Query(max_length=32)] = "", campaign_id: Annotated[str, Query(max_length=36)] = "",
               chat_id: Annotated[str, Query(max_length=36)] = "") -> Response:
    scope = campaign_scope(read_db, identity)
    campaigns = [c for c in list_campaigns(read_db, include_archived=True) if scope is None or c["id"] in scope]
    zones = {c["id"]: c["time_zone"] for c in campaigns}
    zone = zones.get(campaign_id, DEFAULT_TIMEZONE)
    answer, error = None, None
    if at.strip():
        try:
            answer = machine.look(_instant(at, zone), campaign_id=campaign_id if campaign_id in zones else "",
                                  chat_id=chat_id, actor=actor_for_user(identity.id), through="page")
        except ValueError:
            error = pages.translate(request.state.lang, "Escriba una fecha y hora válidas")
        except DomainError as exc:
            error = pages.explain(request.state.lang, exc)
    return pages.render(request, "audit/as_of.html", {
        "campaigns": campaigns, "asked": {"at": at.strip(), "campaign_id": campaign_id, "chat_id": chat_id.strip()},
        "answer": answer, "error": error, "zone": _zone_of(answer, zone), "campaign_names": _names(campaigns),
        "people": agent_names(read_db)})


def _instant(text: str, zone: str) -> datetime:
    """The page's control has no zone: it is the selected campaign's local time."""
    instant = datetime.fromisoformat(text.strip())
    return instant if instant.tzinfo else instant.replace(tzinfo=ZoneInfo(zone))


def _zone_of(answer: AsOf | None, zone: str) -> str:
    return answer.campaign.time_zone if answer and answer.campaign else zone


def _names(campaigns: list[dict[str, Any]]) -> dict[str, str]:
    return {c["id"]: c["name"] for c in campaigns}

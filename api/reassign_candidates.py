"""The members a chat may be reassigned to, as the reassign forms show them: presence (a break with its reason),
load against capacity, and what routing's own check says a reassignment to each would do."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from api.templating import Pages
from application.routing import AssignmentService
from projections import desk_queries


def reassign_candidates(read_db: Engine, assignments: AssignmentService, pages: Pages, lang: str,
                        campaign_id: str) -> list[dict[str, Any]]:
    members = desk_queries.campaign_members(read_db, campaign_id)
    fits = assignments.reassignment_fits(campaign_id, {m["id"]: m["name"] for m in members})
    for member in members:
        fit = fits.get(member["id"])
        member["fit"] = fit.fit if fit else "unknown"  # routing has not seen them yet
        member["refusal"] = pages.explain(lang, fit.refusal) if fit and fit.refusal else ""
    return members

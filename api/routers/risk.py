"""The risk pages: every sender in the caller's campaigns with its block and spam risk level and a week of its
volume, and a page per sender with its signals now and over time (charts beside their tables), the level changes
that moved it and the messages waiting for a token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from api.chat_access import campaign_scope
from api.deps import ClockDep, PagesDep, ReadDb, RiskDep, ThrottleDep
from api.routers.risk_view import charts
from api.security import allow
from application.staff import Identity
from domain.delivery_errors import CATEGORY_LABELS
from domain.risk import LEVEL_ACTIONS, SIGNAL_ACTIONS
from domain.risk_thresholds import DEFAULT_THRESHOLDS, SHOWN_SIGNALS, shown
from projections import broadcast_queries, risk_queries
from projections.desk_queries import agent_names
from projections.queries import list_campaigns

router = APIRouter(include_in_schema=False)
VIEWERS = allow("admin", "supervisor", "auditor")
CAMPAIGN_COLUMNS = ("per_hour", "business_customers_24h", "reply_rate", "opt_out_rate", "failure_rate",
                    "template_failure_rate")


def actions(level: str, signal: str) -> list[str]:
    """The recommended action as msgids: the level's, then the moving signal's (ok needs no more)."""
    return [LEVEL_ACTIONS[level]] + ([SIGNAL_ACTIONS[signal]] if level != "ok" and signal in SIGNAL_ACTIONS else [])


@router.get("/risk")
def risk_page(request: Request, read_db: ReadDb, clock: ClockDep, risk: RiskDep, pages: PagesDep,
              identity: Annotated[Identity, Depends(VIEWERS)]) -> Response:
    scope = campaign_scope(read_db, identity)
    recorded = risk_queries.levels(read_db)
    rows = [{"sender": facts.sender, **recorded.get(facts.sender, {"level": "ok", "signal": "", "changed_at": None})}
            for facts in risk_queries.senders(read_db, scope)]
    volume = risk_queries.weekly_volume(read_db, [row["sender"] for row in rows], clock.now())
    for n, row in enumerate(rows):
        row["actions"], row["chart_id"] = actions(row["level"], row["signal"]), f"week-{n}"
        row["week"] = [{"at": at, "messages": messages} for at, messages in volume[row["sender"]]]
    campaigns = [{"name": c["name"], "signals": {name: shown(name, signal.value) for name, signal in
                                                  risk.campaign_signals(c["id"]).items()}}
                 for c in list_campaigns(read_db) if scope is None or c["id"] in scope]
    return pages.render(request, "risk/index.html", {"senders": rows, "campaigns": campaigns,
                                                     "campaign_columns": CAMPAIGN_COLUMNS})


@router.get("/risk/senders/{sender}")
def sender_page(request: Request, sender: str, read_db: ReadDb, clock: ClockDep, risk: RiskDep, pages: PagesDep,
                throttle: ThrottleDep, identity: Annotated[Identity, Depends(VIEWERS)],
                span: Annotated[str, Query(alias="range")] = "24h") -> Response:
    now = clock.now()
    span = span if span in risk_queries.HISTORY_SPANS else "24h"
    history = risk_queries.history(read_db, sender, now, span, campaign_scope(read_db, identity),
                                   risk.portfolio_senders(sender))
    if history is None:
        raise HTTPException(status_code=404, detail="Remitente desconocido")
    reading = next(r for r in risk.read(now, only={sender}))
    level = risk_queries.current_level(read_db, sender)
    changes = risk_queries.level_changes(read_db, sender)
    return pages.render(request, "risk/sender.html", {
        "sender": sender, "level": level, "reading": reading, "signals": _signal_rows(reading),
        "actions": actions(level, changes[0]["signal"] if changes else ""),
        "changes": [{**c, "value_shown": shown(c["signal"], c["value"]), "actions": actions(c["level"], c["signal"]),
                     "threshold_shown": shown(c["signal"], c["threshold"])} for c in changes],
        "hours": risk_queries.hourly(read_db, sender, now),
        "span": span, "spans": list(risk_queries.HISTORY_SPANS), "charts": charts(history, reading),
        "shown_rate": f"{reading.rate:g}".replace(".", ","),
        "waiting": throttle.waiting_line(sender), "people": agent_names(read_db),
        "hold": broadcast_queries.sender_hold(read_db, sender), "may_resume": identity.role == "admin",
        "categories": [{"label": CATEGORY_LABELS.get(category, category), "failures": failures,
                        "rate": shown("failure_rate", failures / max(reading.signals["failure_rate"].sample, 1))}
                       for category, failures in reading.failures_by_category.items()]})


def _signal_rows(reading: Any) -> list[dict[str, Any]]:
    rows = []
    for name in (*SHOWN_SIGNALS, *DEFAULT_THRESHOLDS):
        signal = reading.signals[name]
        threshold = reading.thresholds.get(name)
        rows.append({"name": name, "value": shown(name, signal.value), "sample": signal.sample,
                     "level": threshold.level_of(signal.value, signal.sample) if threshold else "",
                     "limits": [shown(name, threshold.value_for(lv)) for lv in ("watch", "high", "critical")]
                     if threshold else []})
    return rows

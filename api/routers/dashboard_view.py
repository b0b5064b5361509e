"""What each dashboard section shows, in the page's language: figures from the query layer, formatted, with the
link to the chats or agents behind each one. Routers pick a section; this module only shapes what they render."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal, format_percent
from sqlalchemy import Engine

from api.templating import BABEL_LOCALES, Pages, format_duration
from application.staff import Identity
from domain.agents import presence
from domain.attendance import local_days
from domain.labels import label
from projections import alert_queries, dashboard_queries, desk_queries, metric_queries
from projections.attendance_queries import AttendanceFilter, attendance_report
from projections.dashboard_queries import CampaignToday, DeliveryToday
from projections.kpis import Kpi, KpiSource

ALERTS_SHOWN = 8


# A KPI is shown only when one of these sources computes it: nothing here is ever a placeholder figure.
KPI_SOURCES: tuple[KpiSource, ...] = (dashboard_queries.read_table_kpis, metric_queries.metric_kpis)


def kpis(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[Kpi]:
    return [kpi for source in KPI_SOURCES for kpi in source(engine, campaign_ids, now)]


class Formats:
    """Numbers, shares and durations the way the other pages write them (babel, es_CO or en_US)."""

    def __init__(self, pages: Pages, lang: str) -> None:
        self.pages = pages
        self.lang = lang
        self.locale = BABEL_LOCALES.get(lang, "es_CO")

    def number(self, value: float) -> str:
        return str(format_decimal(value, locale=self.locale))

    def share(self, value: float | None) -> str:
        """A share to a tenth of a percent, written the locale's way (es_CO `81,2%`)."""
        if value is None:
            return "—"
        return str(format_percent(round(value, 3), locale=self.locale, decimal_quantization=False))

    def of_unit(self, value: float | None, unit: str) -> str:
        if value is None:
            return "—"
        if unit == "seconds":
            return format_duration(value)
        return self.share(value) if unit == "share" else self.number(value)

    def translate(self, msgid: str, **values: object) -> str:
        return self.pages.translate(self.lang, msgid, **values)


def live_topics(campaign_ids: set[str] | None, *pages_topics: str) -> str:
    """The queues of the viewer's campaigns (all of them for admins) and the page-wide topics asked for."""
    queues = ["queue:*"] if campaign_ids is None else [f"queue:{c}" for c in sorted(campaign_ids)] or ["queue:none"]
    return " ".join([*queues, *pages_topics])


def campaign_rows(boards: list[CampaignToday], now: datetime, formats: Formats) -> list[dict[str, Any]]:
    return [{"id": b.id, "name": b.name, "waiting": b.waiting, "longest_wait": b.longest_wait_seconds(now),
             "assigned": b.assigned, "agents": b.agents, "chats_today": b.chats_today,
             "closes_total": b.closes_total,
             "closes": [(formats.translate(label("close_reason", reason)) if reason else "—", count)
                        for reason, count in b.closes_today.items()],
             "queue_url": "/supervisor/queue?" + urlencode({"campaign": b.id}),
             "agents_url": "/supervisor/agents?" + urlencode({"campaign": b.id})} for b in boards]


def agents_now(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[dict[str, Any]]:
    """Each agent of the campaigns in scope: presence, break reason, time in it, load against capacity."""
    rows = desk_queries.agents_of_campaigns(engine, campaign_ids)
    return [{"id": a["id"], "name": a["name"], "presence": presence(a["status"], a["open_sessions"] > 0),
             "reason": a["status_reason"] if a["status"] == "break" else "",
             "seconds_in_status": max(int((now - a["status_since"]).total_seconds()), 0),
             "open_chats": a["open_chats"], "capacity": a["capacity"],
             "load": a["open_chats"] / a["capacity"] if a["capacity"] else None,
             "attendance_url": "/attendance?" + urlencode({"agent_id": a["id"]})}
            for a in rows if a["active"]]


def open_alerts(engine: Engine, alert_campaigns: set[str] | None, chat_campaigns: set[str] | None
                ) -> dict[str, Any]:
    rows = alert_queries.alerts(engine, campaign_ids=alert_campaigns, states=("open",))
    shown = [{**r, "viewable": chat_campaigns is None or r["campaign_id"] in chat_campaigns}
             for r in rows[:ALERTS_SHOWN]]
    return {"total": len(rows), "shown": shown}


def hourly(engine: Engine, campaign_ids: set[str] | None, now: datetime, formats: Formats) -> dict[str, Any]:
    """Chats started today by local hour, with a sentence saying what the chart shows."""
    counts = dashboard_queries.volume_by_hour(engine, campaign_ids, now)
    hours = [{"label": _hour_label(h), "chats": n} for h, n in enumerate(counts)]
    total = sum(counts)
    if total:
        busiest = max(range(24), key=lambda h: counts[h])
        summary = formats.translate("Chats abiertos hoy por hora: %(total)s en total; la hora con más chats fue "
                                    "%(hour)s, con %(chats)s.", total=formats.number(total),
                                    hour=_hour_label(busiest), chats=formats.number(counts[busiest]))
    else:
        summary = formats.translate("Todavía no se ha abierto ningún chat hoy.")
    return {"hours": hours, "total": total, "summary": summary}


def _hour_label(hour: int) -> str:
    return f"{hour:02d}:00"


def delivery_rows(engine: Engine, boards: list[CampaignToday], campaign_ids: set[str] | None, now: datetime
                  ) -> list[dict[str, Any]]:
    names = {b.id: b for b in boards}
    found: list[DeliveryToday] = dashboard_queries.delivery_today(engine, campaign_ids, now)
    return [{"name": names[d.campaign_id].name if d.campaign_id in names else "", "requested": d.requested,
             "failed": d.failed, "share": d.failed_share,
             "url": _failed_messages_url(d.campaign_id, names[d.campaign_id].time_zone if d.campaign_id in names
                                         else "America/Bogota", now)} for d in found]


def _failed_messages_url(campaign_id: str, time_zone: str, now: datetime) -> str:
    """The message audit over the UTC days that cover the campaign's local today (its filter takes UTC days)."""
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    [(_, span)] = local_days(today, today, zone)
    last = (span.end - timedelta(microseconds=1)).astimezone(UTC).date()
    return "/audit/messages?" + urlencode({"campaign_id": campaign_id, "status": "failed",
                                           "date_from": span.start.astimezone(UTC).date().isoformat(),
                                           "date_to": last.isoformat()})


AGENT_DAY_METRICS = {"chats_assigned": "chats_assigned", "chats_handled": "chats_handled", "chats_closed": "closes",
                     "messages_sent": "messages_sent"}
"""The agent's day's chat figures and the registry metrics they are (the same numbers as /api/metrics/agents)."""


def agent_day(engine: Engine, identity: Identity, campaign_ids: set[str], now: datetime) -> list[dict[str, Any]]:
    """The agent's own today per campaign (its local day): chats and messages from the metric queries, connected,
    available and break time from the attendance tables."""
    rows = []
    for board in dashboard_queries.campaigns_now(engine, campaign_ids):
        today = now.astimezone(ZoneInfo(board.time_zone)).date()
        metrics = metric_queries.agent_metrics(engine, metric_queries.MetricFilter(today, today, board.id),
                                               campaign_ids={board.id}, only_agent=identity.id)
        times = [row.report.time.seconds() for row in attendance_report(
            engine, AttendanceFilter(today, today, board.id), campaign_ids={board.id}, only_agent=identity.id,
            now=now)]
        if not (metrics or times):
            continue
        figures = {key: int(sum(r.values[metric] or 0 for r in metrics)) for key, metric in AGENT_DAY_METRICS.items()}
        rows.append({"campaign": board.name, "day": today, **figures,
                     "connected": sum(t.connected for t in times), "available": sum(t.available for t in times),
                     "break": sum(sum(t.breaks.values()) for t in times)})
    return rows

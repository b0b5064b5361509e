"""The attendance report read from the attendance tables: one row per campaign, agent and local day.

An agent's figures for a campaign are computed in that campaign's time zone and only while the agent was a
member of it; chats and messages are the campaign's own, so a supervisor of one campaign learns nothing of
another. The viewer's scope is an argument: `campaign_ids` None means every campaign, `only_agent` limits the
report to one person (an agent looking at themself).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, or_, select

from domain.attendance import (
    Activity,
    DayReport,
    LoadStep,
    Presence,
    Session,
    Span,
    Timeline,
    check_range,
    day_reports,
    local_days,
)
from projections.agents import AgentsProjector
from projections.attendance import AttendanceProjector
from projections.campaigns import CampaignsProjector

ATTENDANCE = AttendanceProjector()
AGENTS = AgentsProjector()
CAMPAIGNS = CampaignsProjector()


@dataclass(frozen=True)
class AttendanceFilter:
    date_from: date
    date_to: date
    campaign_id: str = ""
    agent_id: str = ""


@dataclass(frozen=True)
class AttendanceRow:
    campaign_id: str
    campaign_name: str
    time_zone: str
    agent_id: str
    agent_name: str
    agent_login: str
    report: DayReport


@dataclass(frozen=True)
class _Campaign:
    id: str
    name: str
    zone: ZoneInfo

    def window(self, wanted: AttendanceFilter) -> Span:
        days = local_days(wanted.date_from, wanted.date_to, self.zone)
        return Span(days[0][1].start, days[-1][1].end)


@dataclass(frozen=True)
class AgentInCampaign:
    """What the log says of one agent in one campaign over the report's range."""

    campaign_id: str
    campaign_name: str
    zone: ZoneInfo
    agent_id: str
    agent_name: str
    agent_login: str
    timeline: Timeline


def attendance_report(engine: Engine, wanted: AttendanceFilter, *, campaign_ids: set[str] | None,
                      only_agent: str | None = None, now: datetime) -> list[AttendanceRow]:
    """Rows by day, then campaign and agent name; days with nothing to report are left out."""
    rows = [AttendanceRow(who.campaign_id, who.campaign_name, who.zone.key, who.agent_id, who.agent_name,
                          who.agent_login, report)
            for who in attendance_timelines(engine, wanted, campaign_ids=campaign_ids, only_agent=only_agent, now=now)
            for report in day_reports(who.timeline, who.zone, wanted.date_from, wanted.date_to)]
    return sorted(rows, key=lambda r: (r.report.day, r.campaign_name, r.agent_name, r.agent_id))


def attendance_timelines(engine: Engine, wanted: AttendanceFilter, *, campaign_ids: set[str] | None,
                         only_agent: str | None = None, now: datetime) -> list[AgentInCampaign]:
    check_range(wanted.date_from, wanted.date_to)
    with engine.connect() as connection:
        campaigns = _campaigns(connection, wanted, campaign_ids)
        agents = _agents(connection, wanted, only_agent)
        memberships = _memberships(connection, agents.keys(), campaigns.keys(), now)
        if not memberships:
            return []
        windows = [campaign.window(wanted) for campaign in campaigns.values()]
        reach = Span(min(w.start for w in windows), max(w.end for w in windows))
        member_agents = {agent for agent, _ in memberships}
        sessions = _sessions(connection, member_agents, reach)
        presence = _presence(connection, member_agents, reach)
        load = _load(connection, memberships.keys(), reach)
        activity = _activity(connection, memberships.keys(), reach)
    found = []
    for (agent_id, campaign_id), windows_of_membership in sorted(memberships.items()):
        campaign, agent = campaigns[campaign_id], agents[agent_id]
        timeline = Timeline(sessions[agent_id], presence[agent_id], load[agent_id, campaign_id],
                            activity[agent_id, campaign_id], windows_of_membership, now)
        found.append(AgentInCampaign(campaign_id, campaign.name, campaign.zone, agent_id, agent["name"],
                                     agent["login"], timeline))
    return found


def agents_in_scope(engine: Engine, campaign_ids: set[str] | None, only_agent: str | None = None
                    ) -> list[dict[str, Any]]:
    """Agents the viewer may pick in the report's filter, by name."""
    agents, members = AGENTS.agents, AGENTS.memberships
    query = select(agents.c.id, agents.c.name).where(agents.c.role == "agent").order_by(agents.c.name)
    if campaign_ids is not None:
        query = query.where(agents.c.id.in_(select(members.c.agent_id).where(members.c.campaign_id.in_(campaign_ids))))
    if only_agent is not None:
        query = query.where(agents.c.id == only_agent)
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def _campaigns(connection: Connection, wanted: AttendanceFilter, scope: set[str] | None) -> dict[str, _Campaign]:
    table = CAMPAIGNS.campaigns
    query = select(table.c.id, table.c.name, table.c.time_zone)
    if wanted.campaign_id:
        query = query.where(table.c.id == wanted.campaign_id)
    if scope is not None:
        query = query.where(table.c.id.in_(scope))
    return {r.id: _Campaign(r.id, r.name, ZoneInfo(r.time_zone)) for r in connection.execute(query)}


def _agents(connection: Connection, wanted: AttendanceFilter, only_agent: str | None) -> dict[str, dict[str, Any]]:
    table = AGENTS.agents
    query = select(table.c.id, table.c.name, table.c.login).where(table.c.role == "agent")
    for agent_id in filter(None, (wanted.agent_id, only_agent)):
        query = query.where(table.c.id == agent_id)
    return {r.id: dict(r) for r in connection.execute(query).mappings()}


def _memberships(connection: Connection, agent_ids: Iterable[str], campaign_ids: Iterable[str],
                 now: datetime) -> dict[tuple[str, str], list[Span]]:
    """When each agent was a member of each campaign, from the membership history (joined → left)."""
    history = AGENTS.history
    agents, campaigns = list(agent_ids), list(campaign_ids)
    if not agents or not campaigns:
        return {}
    changes = connection.execute(
        select(history.c.agent_id, history.c.campaign_id, history.c.change, history.c.at)
        .where(history.c.agent_id.in_(agents), history.c.campaign_id.in_(campaigns))
        .order_by(history.c.at)).all()
    joined: dict[tuple[str, str], datetime] = {}
    spans: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for agent_id, campaign_id, change, at in changes:
        key = (agent_id, campaign_id)
        if change == "joined":
            joined.setdefault(key, at)
        elif key in joined:
            spans[key].append(Span(joined.pop(key), at))
    for key, since in joined.items():
        spans[key].append(Span(since, max(now, since)))
    return dict(spans)


def _overlapping(table: Table, start: str, end: str, reach: Span) -> Any:
    return [table.c[start] < reach.end, or_(table.c[end].is_(None), table.c[end] >= reach.start)]


def _sessions(connection: Connection, agents: set[str], reach: Span) -> dict[str, list[Session]]:
    table = ATTENDANCE.sessions
    found: dict[str, list[Session]] = defaultdict(list)
    for r in connection.execute(select(table).where(table.c.agent_id.in_(agents),
                                                    *_overlapping(table, "opened_at", "closed_at", reach))):
        found[r.agent_id].append(Session(r.id, r.opened_at, r.closed_at, r.close_reason or ""))
    return found


def _presence(connection: Connection, agents: set[str], reach: Span) -> dict[str, list[Presence]]:
    table = ATTENDANCE.presence
    found: dict[str, list[Presence]] = defaultdict(list)
    query = select(table).where(table.c.agent_id.in_(agents), table.c.status != "offline",
                                *_overlapping(table, "started_at", "ended_at", reach))
    for r in connection.execute(query):
        found[r.agent_id].append(Presence(r.status, r.reason, Span(r.started_at, r.ended_at or reach.end)))
    return found


def _load(connection: Connection, keys: Iterable[tuple[str, str]], reach: Span
          ) -> dict[tuple[str, str], list[LoadStep]]:
    table = ATTENDANCE.load
    wanted = set(keys)
    found: dict[tuple[str, str], list[LoadStep]] = defaultdict(list)
    query = select(table).where(table.c.agent_id.in_({a for a, _ in wanted}), table.c.open_chats > 0,
                                *_overlapping(table, "started_at", "ended_at", reach))
    for r in connection.execute(query):
        if (r.agent_id, r.campaign_id) in wanted:
            found[r.agent_id, r.campaign_id].append(LoadStep(r.open_chats, Span(r.started_at, r.ended_at or reach.end)))
    return found


def _activity(connection: Connection, keys: Iterable[tuple[str, str]], reach: Span
              ) -> dict[tuple[str, str], list[Activity]]:
    table = ATTENDANCE.activity
    wanted = set(keys)
    found: dict[tuple[str, str], list[Activity]] = defaultdict(list)
    query = select(table.c.agent_id, table.c.campaign_id, table.c.kind, table.c.chat_id, table.c.at).where(
        table.c.agent_id.in_({a for a, _ in wanted}), table.c.at >= reach.start, table.c.at < reach.end)
    for r in connection.execute(query):
        if (r.agent_id, r.campaign_id) in wanted:
            found[r.agent_id, r.campaign_id].append(Activity(r.kind, r.chat_id, r.at))
    return found

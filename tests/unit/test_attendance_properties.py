"""The attendance report on generated working days (§12, R13, R18): whatever the logins, devices, heartbeats,
closed tabs, expiries, lagging clocks, midnights and daylight-saving changes, presence intervals never overlap,
every day and every session reconciles (connected = available + breaks + other), nothing is counted outside a
session, and the days add up to the whole."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.pool import StaticPool

from domain.attendance import ZERO, Span, intersect, local_days, time_split, total
from projections.agents import AgentsProjector
from projections.attendance import AttendanceProjector
from projections.attendance_queries import AttendanceFilter, attendance_report, attendance_timelines
from projections.base import Projector
from projections.campaigns import CampaignsProjector
from tests.attendance_world import REASONS, AttendanceWorld

STARTS = (
    datetime(2026, 3, 7, 22, 0, tzinfo=UTC),    # the night before New York springs forward (a 23-hour day)
    datetime(2026, 10, 31, 22, 0, tzinfo=UTC),  # the night before New York falls back (a 25-hour day)
    datetime(2026, 6, 15, 3, 30, tzinfo=UTC),   # 22:30 in Bogotá: the first session crosses midnight
)
ZONES = ("America/Bogota", "America/New_York")

steps = st.one_of(
    st.tuples(st.just("advance"), st.integers(1, 400)),
    st.tuples(st.just("lag"), st.sampled_from([0, 0, 5, 45, 90])),
    st.tuples(st.just("login"), st.integers(0, 1)),
    st.tuples(st.just("logout")),
    st.tuples(st.just("heartbeat")),
    st.tuples(st.just("expire_idle")),
    st.tuples(st.sampled_from(["deactivate", "reactivate"])),
    st.tuples(st.just("set_status"), st.sampled_from(["available", "available", "break", "offline"]),
              st.sampled_from(REASONS)),
    st.tuples(st.just("take_chat"), st.integers(0, 1)),
    st.tuples(st.just("reply"), st.integers(0, 5)),
    st.tuples(st.just("finish_chat"), st.integers(0, 5), st.booleans()),
)


def play(world: AttendanceWorld, step: tuple[Any, ...]) -> None:
    name, *arguments = step
    if name == "set_status":
        status, reason = arguments
        world.set_status(status, reason if status == "break" else "")
    elif name == "finish_chat":
        world.finish_chat(arguments[0], close=arguments[1])
    else:
        getattr(world, name)(*arguments)


@functools.cache
def read_side() -> tuple[Engine, list[Projector]]:
    """One in-memory database for all examples (emptied before each), so statements compile once."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    projectors: list[Projector] = [CampaignsProjector(), AgentsProjector(), AttendanceProjector()]
    for projector in projectors:
        projector.metadata.create_all(engine)
    return engine, projectors


def project(events: list[Any]) -> Engine:
    """The read tables the report reads, built from the world's events in one transaction."""
    engine, projectors = read_side()
    with engine.begin() as connection:
        for projector in projectors:
            for table in projector.tables:
                connection.execute(table.delete())
            for position, event in enumerate(events, start=1):
                projector.apply(connection, event, position)
            projector.before_commit(connection)
    return engine


def covering(world: AttendanceWorld, start: datetime) -> AttendanceFilter:
    """Every local day, in any of the zones, on which something of the world happened."""
    return AttendanceFilter((start - timedelta(days=1)).date(), (world.now + timedelta(days=1)).date())


def whole_window(wanted: AttendanceFilter, zone: Any) -> Span:
    days = local_days(wanted.date_from, wanted.date_to, zone)
    return Span(days[0][1].start, days[-1][1].end)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[AttendanceWorld, datetime]:
    start = draw(st.sampled_from(STARTS))
    world = AttendanceWorld(now=start, zones=ZONES, allow_parallel=draw(st.booleans()))
    world.login(0)
    for step in draw(st.lists(steps, min_size=1, max_size=40)):
        play(world, step)
    return world, start


def chains(engine: Engine) -> Iterator[list[Any]]:
    """Each agent's presence chain and each agent's load chain per campaign, in order."""
    projector = AttendanceProjector()
    with engine.connect() as connection:
        presence = connection.execute(select(projector.presence).order_by("agent_id", "seq")).all()
        load = connection.execute(select(projector.load).order_by("agent_id", "campaign_id", "seq")).all()
    for rows, key in ((presence, lambda r: r.agent_id), (load, lambda r: (r.agent_id, r.campaign_id))):
        grouped: dict[Any, list[Any]] = {}
        for row in rows:
            grouped.setdefault(key(row), []).append(row)
        yield from grouped.values()


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(worlds())
def test_presence_and_load_intervals_never_overlap(generated: tuple[AttendanceWorld, datetime]) -> None:
    world, _ = generated
    for chain in chains(project(world.events)):
        assert [row.seq for row in chain] == list(range(len(chain)))
        assert all(row.ended_at is not None and row.ended_at >= row.started_at for row in chain[:-1])
        assert chain[-1].ended_at is None
        assert all(earlier.ended_at == later.started_at for earlier, later in pairwise(chain))


@PROPERTY
@given(worlds())
def test_every_day_and_every_session_reconciles(generated: tuple[AttendanceWorld, datetime]) -> None:
    world, start = generated
    rows = attendance_report(project(world.events), covering(world, start), campaign_ids=None, now=world.now)

    for row in rows:
        for split in (row.report.time, *(part.time for part in row.report.sessions)):
            seconds = split.seconds()
            assert split.other >= ZERO and seconds.other >= 0
            assert seconds.connected == seconds.available + sum(seconds.breaks.values()) + seconds.other
        assert row.report.average_simultaneous_chats <= row.report.max_simultaneous_chats <= 3


@PROPERTY
@given(worlds())
def test_connected_time_is_the_sessions_own_day_by_day_and_nothing_after_a_close(
        generated: tuple[AttendanceWorld, datetime]) -> None:
    world, start = generated
    wanted = covering(world, start)
    rows = attendance_report(project(world.events), wanted, campaign_ids=None, now=world.now)

    for campaign, zone in zip(world.campaigns, ZONES, strict=True):
        by_day = {r.report.day: r.report for r in rows if r.campaign_id == str(campaign.id)}
        for day, window in local_days(wanted.date_from, wanted.date_to, ZoneInfo(zone)):
            expected = total(intersect(world.connected(), [window]))
            assert (by_day[day].time.connected if day in by_day else ZERO) == expected
            assert expected <= window.length  # a 25-hour day holds at most 25 hours


@PROPERTY
@given(worlds())
def test_the_days_add_up_to_the_whole_range(generated: tuple[AttendanceWorld, datetime]) -> None:
    world, start = generated
    engine, wanted = project(world.events), covering(world, start)
    rows = attendance_report(engine, wanted, campaign_ids=None, now=world.now)

    for who in attendance_timelines(engine, wanted, campaign_ids=None, now=world.now):
        days = [r.report for r in rows if r.campaign_id == who.campaign_id]
        whole = time_split(who.timeline, whole_window(wanted, who.zone))
        assert sum((d.time.connected for d in days), ZERO) == whole.connected == total(world.connected())
        assert sum((d.time.available for d in days), ZERO) == whole.available
        for reason, spent in whole.breaks.items():
            assert sum((d.time.breaks.get(reason, ZERO) for d in days), ZERO) == spent
        for session_id, span in world.session_spans().items():
            assert sum((p.time.connected for d in days for p in d.sessions if p.session.id == session_id),
                       ZERO) == span.length
        for kind, figure in (("assigned", "chats_assigned"), ("message", "messages_sent"),
                             ("closed", "chats_closed")):
            assert sum(getattr(d, figure) for d in days) == world.counts.get((who.campaign_id, kind), 0)


@PROPERTY
@given(worlds())
def test_available_time_is_what_the_agent_set_inside_sessions(generated: tuple[AttendanceWorld, datetime]) -> None:
    world, start = generated
    engine, wanted = project(world.events), covering(world, start)

    for who in attendance_timelines(engine, wanted, campaign_ids=None, now=world.now):
        whole = time_split(who.timeline, whole_window(wanted, who.zone))
        if world.skewed:  # out-of-order stamps: the projector keeps the chain in order, still inside sessions
            assert whole.available + sum(whole.breaks.values(), ZERO) <= whole.connected
        else:
            assert whole.available == total(world.available())


def test_a_day_of_new_york_falling_back_has_twenty_five_hours() -> None:
    [(_, window)] = local_days(date(2026, 11, 1), date(2026, 11, 1), ZoneInfo("America/New_York"))

    assert window.length == timedelta(hours=25)


@pytest.mark.parametrize("zone", ZONES)
def test_a_session_across_midnight_is_split_at_the_campaigns_midnight(zone: str) -> None:
    local = ZoneInfo(zone)
    world = AttendanceWorld(now=datetime(2026, 6, 15, 22, 0, tzinfo=local).astimezone(UTC), zones=(zone,))
    world.login(0)
    world.set_status("available", "")
    world.advance(180)
    world.logout()
    wanted = AttendanceFilter(date(2026, 6, 15), date(2026, 6, 16))

    rows = attendance_report(project(world.events), wanted, campaign_ids=None, now=world.now)

    assert [(r.report.day, r.report.time.seconds().connected, r.report.time.seconds().available) for r in rows] == [
        (date(2026, 6, 15), 7200, 7200), (date(2026, 6, 16), 3600, 3600)]
    assert rows[0].report.first_login is not None and rows[0].report.last_logout is None
    assert rows[1].report.first_login is None and rows[1].report.last_logout == world.now

"""The attendance report through the real event store and projector runner, on SQLite and PostgreSQL: a known
working day gives its known figures, in each campaign's zone, whatever the batch size, and the tables rebuild
from the log without a difference (R14)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from despacho.bootstrap import Despacho
from projections.attendance import AttendanceProjector
from projections.attendance_queries import AttendanceFilter, AttendanceRow, attendance_report
from projections.rebuild import rebuild
from projections.runner import ProjectionRunner
from tests.attendance_world import AttendanceWorld

BOGOTA, NEW_YORK = "America/Bogota", "America/New_York"
EIGHT_IN_BOGOTA = datetime(2026, 6, 15, 8, 0, tzinfo=ZoneInfo(BOGOTA)).astimezone(UTC)


def a_known_day() -> AttendanceWorld:
    """08:00 login; lunch 12:00–13:00; a login from another device at 15:00 replaces the first; the tab is
    closed after its 17:00 heartbeat and the session expires at 17:00 (Bogotá). Two chats of the Bogotá
    campaign, three replies, one close."""
    world = AttendanceWorld(now=EIGHT_IN_BOGOTA, zones=(BOGOTA, NEW_YORK))
    world.login(0)
    for minutes, step in ((1, lambda: world.set_status("available", "")), (29, lambda: world.take_chat(0)),
                          (5, lambda: world.reply(0)), (5, lambda: world.reply(0)), (20, lambda: world.take_chat(0)),
                          (10, lambda: world.reply(1)), (50, lambda: world.finish_chat(0, close=True)),
                          (120, lambda: world.set_status("break", "almuerzo")),
                          (60, lambda: world.set_status("available", "")), (120, lambda: world.login(1)),
                          (2, lambda: world.set_status("available", "")), (118, world.heartbeat),
                          (45, world.expire_idle)):
        world.advance(minutes)
        step()
    return world


def report(despacho: Despacho, world: AttendanceWorld) -> list[AttendanceRow]:
    return attendance_report(despacho.read_engine, AttendanceFilter(date(2026, 6, 14), date(2026, 6, 16)),
                             campaign_ids=None, now=world.now)


def test_a_known_day_gives_its_figures_in_each_campaigns_zone(despacho: Despacho) -> None:
    world = a_known_day()
    despacho.store.save(*world.events)
    despacho.runner.catch_up()

    bogota, new_york = report(despacho, world)

    assert (bogota.time_zone, bogota.report.day, new_york.time_zone, new_york.report.day) == (
        BOGOTA, date(2026, 6, 15), NEW_YORK, date(2026, 6, 15))
    day = bogota.report
    seconds = day.time.seconds()
    assert (seconds.connected, seconds.available, seconds.breaks, seconds.other) == (
        9 * 3600, 7 * 3600 + 57 * 60, {"almuerzo": 3600}, 3 * 60)
    assert [(p.session.close_reason, p.time.seconds().connected) for p in day.sessions] == [
        ("replaced", 7 * 3600), ("expired", 2 * 3600)]
    assert day.first_login == EIGHT_IN_BOGOTA
    assert day.last_logout is not None and day.last_logout.astimezone(ZoneInfo(BOGOTA)).hour == 17
    assert (day.chats_assigned, day.chats_handled, day.messages_sent, day.chats_closed) == (2, 2, 3, 1)
    assert (day.max_simultaneous_chats, day.average_simultaneous_chats) == (2, 1.06)
    other_campaign = new_york.report
    assert other_campaign.time.seconds() == seconds  # the same hours of work, 09:00–18:00 in New York
    assert (other_campaign.chats_assigned, other_campaign.messages_sent, other_campaign.max_simultaneous_chats) == (
        0, 0, 0)


def test_the_attendance_tables_rebuild_from_the_log_and_do_not_depend_on_batches(despacho: Despacho) -> None:
    world = a_known_day()
    despacho.store.save(*world.events)
    despacho.runner.catch_up()
    small_batches = AttendanceProjector("_small_batches")
    runner = ProjectionRunner(despacho.store, despacho.read_engine, [small_batches], batch_size=2)
    runner.create_tables()
    runner.catch_up()

    assert rebuild(despacho.store, despacho.read_engine, AttendanceProjector, replace_live=False) == []
    live = AttendanceProjector()
    with despacho.read_engine.connect() as connection:
        for live_table, batched_table in zip(live.tables, small_batches.tables, strict=True):
            key = [c.name for c in live_table.primary_key.columns]
            assert connection.execute(select(live_table).order_by(*key)).all() == \
                connection.execute(select(batched_table).order_by(*key)).all()

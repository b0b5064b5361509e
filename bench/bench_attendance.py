"""Attendance: the projector's catch-up rate and the report's time, each beside a baseline in the same run.

Generated working weeks (tests/attendance_world.py: logins on two devices, heartbeats, breaks, expiry, chats
and replies) are saved to the store. In interleaved rounds the attendance projector projects the whole log
into fresh tables beside the agents projector over the same log and engine (the baseline); then the
report for the week is timed beside one plain read of the attendance tables it reads.

    .venv/bin/python bench/bench_attendance.py             # 20 agents, a few seconds
    .venv/bin/python bench/bench_attendance.py --scale 10  # 200 agents, the full figure
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from common import available_backends, backend, median
from sqlalchemy import select

from projections.agents import AgentsProjector
from projections.attendance import AttendanceProjector
from projections.attendance_queries import ATTENDANCE, AttendanceFilter, attendance_report
from projections.base import Projector
from projections.runner import ProjectionRunner
from tests.attendance_world import REASONS, AttendanceWorld

AGENTS_PER_SCALE = 20
ROUNDS = 5
MONDAY = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
WEEK = AttendanceFilter(date(2026, 11, 1), date(2026, 11, 8))


def a_week(world: AttendanceWorld, rng: random.Random) -> None:
    for _ in range(5):
        world.login(rng.randrange(2))
        world.set_status("available", "")
        for _ in range(12):
            world.advance(rng.randrange(5, 40))
            move = rng.random()
            if move < 0.3:
                world.take_chat(0)
            elif move < 0.7:
                world.reply(rng.randrange(3))
            elif move < 0.8:
                world.finish_chat(0, close=True)
            elif move < 0.9:
                world.set_status("break", rng.choice(REASONS))
            else:
                world.set_status("available", "")
            world.heartbeat()
        world.logout() if rng.random() < 0.7 else world.expire_idle()
        world.advance(24 * 60 - 400)
        world.expire_idle()


def seed(despacho, agents: int) -> int:
    rng, saved = random.Random(7), 0
    for n in range(agents):
        world = AttendanceWorld(now=MONDAY, zones=("America/Bogota",), agent_login=f"bench{n}")
        a_week(world, rng)
        despacho.store.save(*world.events)
        saved += len(world.events)
    return saved


def project_time(despacho, make: type[Projector], suffix: str) -> float:
    projector = make(suffix)
    runner = ProjectionRunner(despacho.store, despacho.read_engine, [projector], batch_size=500)
    runner.create_tables()
    started = time.perf_counter()
    runner.catch_up()
    elapsed = time.perf_counter() - started
    projector.metadata.drop_all(despacho.read_engine)
    return elapsed


def plain_read(despacho) -> float:
    started = time.perf_counter()
    with despacho.read_engine.connect() as connection:
        for table in (ATTENDANCE.sessions, ATTENDANCE.presence, ATTENDANCE.load, ATTENDANCE.activity):
            connection.execute(select(table)).all()
    return time.perf_counter() - started


def report_time(despacho) -> tuple[float, int]:
    started = time.perf_counter()
    rows = attendance_report(despacho.read_engine, WEEK, campaign_ids=None, now=MONDAY + timedelta(days=7))
    return time.perf_counter() - started, len(rows)


def ratios(values: list[float], baselines: list[float]) -> str:
    each = [v / b for v, b in zip(values, baselines, strict=True)]
    return f"median ratio {statistics.median(each):.2f} (spread {min(each):.2f}–{max(each):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1, help=f"{AGENTS_PER_SCALE} agents per unit")
    agents = parser.parse_args().scale * AGENTS_PER_SCALE
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; {agents} agents, one week each")
    for name in available_backends():
        with backend(name) as despacho:
            events = seed(despacho, agents)
            despacho.runner.catch_up()
            attendance, baseline = [], []
            for n in range(ROUNDS):
                attendance.append(events / project_time(despacho, AttendanceProjector, f"_bench{n}"))
                baseline.append(events / project_time(despacho, AgentsProjector, f"_bench{n}"))
            print(f"[{name}] attendance projector {median(attendance):,.0f} events/s over {events:,} events; "
                  f"baseline agents projector {median(baseline):,.0f} events/s; {ratios(attendance, baseline)}")
            reports, reads, rows = [], [], 0
            for _ in range(ROUNDS):
                reads.append(plain_read(despacho))
                elapsed, rows = report_time(despacho)
                reports.append(elapsed)
            print(f"[{name}] week report ({rows} agent-days) {median(reports) * 1000:,.0f} ms; "
                  f"baseline plain read of its tables {median(reads) * 1000:,.0f} ms; {ratios(reports, reads)}")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

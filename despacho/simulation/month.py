"""The simulated month: a calendar of what people do, run in time order on the application's clock.

Every action is an entry of one agenda (a heap ordered by instant, then by the order it was planned in). Before
each action the clock moves to its instant; after it the application settles (projectors, followers, jobs).
The scheduler's periodic jobs (timers, bot inactivity, session expiry, delivery checks) are entries of the same
agenda every `TICK`. What happens is drawn from one `random.Random(seed)` in that order, so a seed is a run.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from adapters.clock import FixedClock
from despacho.settings import Settings
from despacho.simulation.application import Application, SimulationError, running
from despacho.simulation.cast import AgentPart, Cast, draw_cast
from despacho.simulation.floor import Floor
from despacho.simulation.people import day_of_personas
from projections.simulation_queries import run_figures

ZONE = ZoneInfo("America/Bogota")
TICK = timedelta(minutes=10)
"""The simulated scheduler's period: the 30-minute alerts and the 24-hour close come at most this late."""
DRAIN = timedelta(hours=25)
"""After the last day: long enough for the 24-hour close of the last day's chats."""


@dataclass(frozen=True)
class MonthPlan:
    seed: int
    days: int = 30
    campaigns: int = 3
    agents: int = 8
    customers_per_day: int = 150
    start: date = date(2026, 11, 2)  # a Monday
    transcripts: bool = True


@dataclass
class Agenda:
    clock: FixedClock
    _heap: list[tuple[datetime, int, Callable[[], None]]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def at(self, instant: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (max(instant, self.clock.now()), next(self._order), action))

    def run_until(self, end: datetime, before_each: Callable[[], None], after_each: Callable[[], None]) -> None:
        while self._heap and self._heap[0][0] <= end:
            instant, _, action = heapq.heappop(self._heap)
            self.clock.set(instant)
            before_each()
            action()
            after_each()
        self.clock.set(end)


@dataclass
class Month:
    plan: MonthPlan
    app: Application
    cast: Cast
    rng: random.Random
    agenda: Agenda
    floor: Floor

    def run(self) -> dict[str, Any]:
        first = datetime.combine(self.plan.start, time(0, 0), ZONE).astimezone(UTC)
        end = first + timedelta(days=self.plan.days) + DRAIN
        self.agenda.at(first, self._tick)
        for day in range(self.plan.days):
            self._plan_day(self.plan.start + timedelta(days=day))
        self.agenda.run_until(end, self.floor.report_deliveries, self._after_each)
        self.app.settle_everything()
        figures = run_figures(self.app.despacho.read_engine)
        return {"plan": _plan_facts(self.plan, self.cast), "simulated": dict(sorted(self.floor.tally.items())),
                "jobs_failed": self.app.jobs_failed, **figures}

    # ---- the calendar ----

    def _plan_day(self, day: date) -> None:
        weekday = day.weekday()
        for agent in self.cast.agents:
            self._plan_shift(agent, day, weekday)
        volume = round(self.plan.customers_per_day * (1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.25)[weekday])
        for persona in day_of_personas(self.rng, volume):
            self.agenda.at(self._arrival(day), partial(self._new_customer, persona))

    def _plan_shift(self, agent: AgentPart, day: date, weekday: int) -> None:
        if weekday == 6 or (weekday == 5 and agent.shift[0] != time(8, 0)):
            return
        start = datetime.combine(day, agent.shift[0], ZONE) + timedelta(minutes=self.rng.randrange(-10, 15))
        end_time = time(13, 0) if weekday == 5 else agent.shift[1]
        end = datetime.combine(day, end_time, ZONE) + timedelta(minutes=self.rng.randrange(0, 20))
        self.agenda.at(start, lambda: self.floor.log_in(agent.login))
        length = end - start
        if length >= timedelta(hours=6):
            lunch = start + length / 2 + timedelta(minutes=self.rng.randrange(-30, 30))
            self._plan_break(agent.login, lunch, "almuerzo", timedelta(minutes=self.rng.randrange(30, 50)))
        short = start + timedelta(minutes=self.rng.randrange(60, max(61, int(length.total_seconds() // 60) - 60)))
        self._plan_break(agent.login, short, self.rng.choice(("pausa activa", "baño")),
                         timedelta(minutes=self.rng.randrange(5, 15)))
        self.agenda.at(end, lambda: self.floor.log_out(agent.login))

    def _plan_break(self, login: str, start: datetime, reason: str, length: timedelta) -> None:
        self.agenda.at(start, lambda: self.floor.take_break(login, reason))
        self.agenda.at(start + length, lambda: self.floor.back_from_break(login))

    def _arrival(self, day: date) -> datetime:
        """Mostly in business hours, with the mid-morning and afternoon peaks; some before and after."""
        if self.rng.random() < 0.08:
            hour = self.rng.choice((6.5, 7.2, 18.3, 19.0, 20.5, 21.5))
        else:
            hour = min(17.9, max(8.0, self.rng.choice((self.rng.gauss(10.5, 1.3), self.rng.gauss(15.0, 1.4)))))
        return datetime.combine(day, time(0, 0), ZONE) + timedelta(seconds=int(hour * 3600)
                                                                    + self.rng.randrange(60))

    def _tick(self) -> None:
        self.app.run_periodic_jobs()
        self.agenda.at(self.app.clock.now() + TICK, self._tick)

    def _after_each(self) -> None:
        self.app.settle()
        self.floor.notice_assignments()

    def _new_customer(self, persona: str) -> None:
        customer = self.floor.new_customer(persona)
        self.floor.count(f"persona_{customer.persona}")
        self.floor.start_conversation(customer)


def _plan_facts(plan: MonthPlan, cast: Cast) -> dict[str, Any]:
    return {"seed": plan.seed, "days": plan.days, "start": plan.start.isoformat(),
            "campaigns": [c.code for c in cast.campaigns], "agents": len(cast.agents),
            "customers_per_day": plan.customers_per_day, "transcripts": plan.transcripts}


def simulate_month(plan: MonthPlan, settings: Settings) -> dict[str, Any]:
    """Run the month into the database of `settings` (which must hold no events yet); returns its summary."""
    rng = random.Random(plan.seed)
    cast = draw_cast(rng, plan.campaigns, plan.agents)
    clock = FixedClock(datetime.combine(plan.start, time(0, 0), ZONE).astimezone(UTC) - timedelta(days=1))
    with running(settings, clock, transcripts=plan.transcripts) as app:
        if app.despacho.runner.head():
            raise SimulationError("La base de datos ya tiene eventos: la simulación necesita una vacía "
                                  "(otro DESPACHO_VAR_DIR o DESPACHO_DATABASE_URL)")
        agenda = Agenda(clock)
        month = Month(plan, app, cast, rng, agenda, Floor(app, cast, rng, agenda))
        month.floor.set_up()
        return month.run()


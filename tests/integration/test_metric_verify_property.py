"""Random days through the real services: whatever customers (answering the survey after a close or not), agents,
supervisors, admins (changing the service level's threshold, moving chats to the other campaign holding the
customer) and the timers do, the verify's own count of the raw log agrees with what the metric queries answer, and
the metric tables rebuild unchanged."""

from __future__ import annotations

import contextlib
import tempfile
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.clock import FixedClock
from application.metrics_verify import compare, counters_from_log
from despacho.bootstrap import build
from despacho.cli_metrics import query_counters
from despacho.settings import Settings
from domain.common import DomainError
from projections import desk_queries
from projections.metric_facts import MetricsProjector
from projections.rebuild import rebuild
from tests.conftest import START
from tests.metric_world import PAGOS, PORTFOLIO, MetricCenter

CUSTOMERS = [f"whatsapp:+5730055500{n}" for n in range(4)]
BANCO_AGENTS = ("ana", "carla")
pick = st.integers(0, 3)
steps = st.lists(st.one_of(
    st.tuples(st.sampled_from(["chat", "write", "reply", "close", "transfer", "status", "bot", "move", "bruno",
                               "answer"]), pick),
    st.tuples(st.just("wait"), st.integers(1, 4000)),
    st.tuples(st.just("timers"), st.just(0)),
    st.tuples(st.just("threshold"), st.integers(1, 120)),
), min_size=1, max_size=18)


class RandomDay:
    def __init__(self, center: MetricCenter) -> None:
        self.center = center
        self.chats: dict[str, str] = {}
        center.despacho.portfolios.import_file(UUID(center.pagos), PORTFOLIO.encode(), "cartera.csv", actor="test")
        self.admin = str(center.despacho.staff.register("admin", "Admin", "admin", password="clave-de-prueba-1",
                                                        actor="test"))
        center.catch_up()

    def step(self, kind: str, n: int) -> None:
        center, customer = self.center, CUSTOMERS[n % len(CUSTOMERS)]
        if kind == "wait":
            center.advance(n)
        elif kind == "timers":
            center.run_timers()
        elif kind == "threshold":  # the service level's threshold changes mid-day: earlier entries keep theirs
            center.despacho.campaigns.edit(UUID(center.banco), "Banco Andino", "Banco Andino",
                                           {"metric_targets": {"service_level_seconds": n}}, actor="test")
            center.catch_up()
        elif kind == "chat":
            self.chats[customer] = center.identified(customer)
        elif kind == "write":
            self.chats[customer] = center.customer_writes(customer, "¿Me ayudan?")
        elif kind == "answer":  # a survey answer when one is awaited, else a message that opens a chat
            self.chats[customer] = center.customer_writes(customer, str(n + 2))
        elif kind == "bot":
            center.customer_writes(f"{customer}9", ("Hola", "1", "2", "3")[n], to=PAGOS)
        elif kind == "status":
            self.presence(BANCO_AGENTS[n % 2], n)
        elif kind == "bruno":  # pagos' only agent
            self.presence("bruno", n)
        elif kind == "move" and customer in self.chats:
            self.move(self.chats[customer])
        else:
            self.agent_step(kind, customer, n)

    def presence(self, login: str, n: int) -> None:
        if n < 2:
            self.center.available(login)
        elif login in self.center.sessions:
            (self.center.on_break if n == 2 else self.center.logout)(login)

    def move(self, chat_id: str) -> None:
        """An admin moves the chat to the other campaign holding the customer, waiting or assigned."""
        center = self.center
        row = desk_queries.chat(center.despacho.read_engine, chat_id)
        if row is None:
            return
        target = center.pagos if row["campaign_id"] == center.banco else center.banco
        center.despacho.transfers.transfer(chat_id, target, reason="El cliente pide la otra campaña",
                                           user_id=self.admin)
        center.catch_up()

    def agent_step(self, kind: str, customer: str, n: int) -> None:
        center = self.center
        if customer not in self.chats:
            return
        chat_id = self.chats[customer]
        status, agent_id = center.chat_status(chat_id)
        login = next((name for name, id_ in center.agents.items() if id_ == agent_id), "")
        if status != "assigned" or login not in center.sessions:
            return
        if kind == "reply":
            center.reply(login, chat_id)
        elif kind == "close":
            center.close(login, chat_id, ("acuerdo_de_pago", "no_interesado")[n % 2])
            center.despacho.closing.finish(chat_id)  # the close's follow-up: the confirmation and the survey
            center.catch_up()
        else:
            other = next(name for name in BANCO_AGENTS if name != login)
            center.reassign(chat_id, other)


@settings(max_examples=8, deadline=None)
@given(steps)
def test_verify_agrees_with_the_metric_queries_on_any_day(day_steps: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clock = FixedClock(START)
        despacho = build(Settings(var_dir=Path(folder) / "var"), clock=clock)
        try:
            world = RandomDay(MetricCenter(despacho, clock, banco_settings={"survey_enabled": True}))
            for kind, n in day_steps:
                # a step the rules refuse (no one to transfer to, a closed chat) changes nothing
                with contextlib.suppress(DomainError):
                    world.step(kind, n)
            first, last = START.date() - timedelta(days=1), clock.now().date() + timedelta(days=1)
            from_log = counters_from_log(despacho.store)
            assert compare(from_log, query_counters(despacho.read_engine, first, last), first, last) == []
            assert rebuild(despacho.store, despacho.read_engine, MetricsProjector, replace_live=False) == []
        finally:
            despacho.close()


def test_verify_reports_a_tampered_counter(tmp_path: Path) -> None:
    clock = FixedClock(START)
    despacho = build(Settings(var_dir=tmp_path / "var"), clock=clock)
    try:
        center = MetricCenter(despacho, clock)
        center.available("ana")
        chat = center.identified(CUSTOMERS[0])
        center.advance(30)
        center.reply("ana", chat)
        table = MetricsProjector().counters["agent", "day"]
        with despacho.read_engine.begin() as connection:
            connection.execute(table.update().where(table.c.agent_id == center.agents["ana"]).values(frt_sum=31.0))
        day = date(2026, 11, 2)
        [difference] = compare(counters_from_log(despacho.store),
                               query_counters(despacho.read_engine, day, day), day, day)
        assert (difference.metric, difference.from_log, difference.from_queries) == ("first_response_time", 30.0, 31.0)
        assert difference.dimensions == (center.agents["ana"], center.banco)
    finally:
        despacho.close()

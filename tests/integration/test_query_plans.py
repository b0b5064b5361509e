"""The hot read queries (routing, the desk, the timer sweep, the bot's customer lookup) are served by
indexes: their plans, on SQLite and on PostgreSQL, never scan a whole table that grows with history.

The statements are the real ones, captured as the read functions run, then explained with the same
parameters. PostgreSQL is told to avoid sequential scans, so a `Seq Scan` left in a plan means no
index can serve the query, whatever the size of the tables; SQLite's planner, which ranks indexes by
the columns they constrain, shows the index each query is meant to use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, event

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho
from domain.chats import Chat
from domain.documents import CustomerIdentity
from projections import desk_queries
from projections.bot_world import SqlBotWorld
from projections.timer_directory import SqlTimerDirectory

# Tables whose rows accumulate with every chat ever handled (or every customer ever imported).
GROWING = ("chats", "chat_assignments", "chat_messages", "customers", "routing_queue")
SENDER = "whatsapp:+5716000001"


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


PlanCheck = Callable[[Engine, str, Any], list[str]]
"""What is wrong in one statement's plan (lines of it), for the statement and its parameters."""


def plan_findings(engine: Engine, queries: Mapping[str, Callable[[], object]],
                  *checks: PlanCheck) -> dict[str, list[str]]:
    """Runs each query and returns, per query whose plans any check faults, what the checks found (none: `{}`)."""
    findings: dict[str, list[str]] = {}
    for name, run in queries.items():
        with captured(engine) as statements:
            run()
        assert statements, f"{name} ran no query"
        found = [line for statement, parameters in statements for check in checks
                 for line in check(engine, statement, parameters)]
        if found:
            findings[name] = found
    return findings


def full_scans(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """The plan's lines that read one of the growing tables whole; on SQLite also every chat in one status
    (closed chats grow with history; the open ones are bounded but more than a query by agent or time needs).
    PostgreSQL weighs indexes of empty tables alike and may pick any that serves, so only its scans count."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
            lines = [r[0] for r in connection.exec_driver_sql("EXPLAIN " + statement, parameters)]
            scans = [r"Seq Scan on (\w+)"]
        else:
            lines = [r[3] for r in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
            scans = [r"^SCAN (\w+)(?! USING (?:COVERING )?INDEX \w+ \()",
                     r"^SEARCH (chats) USING \w+ \w+ \(status=\?\)$"]
    return [line for line in lines for scan in scans if (m := re.search(scan, line)) and m.group(1) in GROWING]


def a_call_center(despacho: Despacho) -> tuple[str, str, str]:
    """One campaign, one available agent holding one chat, one more chat waiting."""
    campaign_id = str(despacho.campaigns.register("banco_a", "Banco", "Banco", {}, actor="t"))
    agent = despacho.staff.register("ana", "Ana", "agent", password="clave-de-prueba-1", capacity=1,
                                    campaign_ids=frozenset({campaign_id}), actor="t")
    session = despacho.staff.open_session(agent, "t")
    despacho.staff.change_status(agent, "available", session_id=session, actor="t")
    now = despacho.clock.now()
    chats = []
    for n in range(2):
        chat = Chat.open("whatsapp", f"whatsapp:+57300000000{n}", SENDER, profile_name="", flow_name="default",
                         actor="t", at=now)
        chat.receive_customer_message(f"SM{n:032x}", "hola", [], actor="t", at=now)
        chat.enqueue(campaign_id, outside_hours=False, actor="t", at=now)
        chats.append(chat)
    despacho.store.save(*chats)
    despacho.runner.catch_up()
    return campaign_id, str(agent), str(chats[0].id)


def hot_queries(despacho: Despacho, clock: FixedClock) -> dict[str, Callable[[], object]]:
    campaign_id, agent_id, chat_id = a_call_center(despacho)
    engine, later = despacho.read_engine, clock.now() + timedelta(hours=25)
    timers = SqlTimerDirectory(engine)
    bot = SqlBotWorld(engine, SENDER)
    return {
        "dispatch": lambda: despacho.router.state.snapshot(),
        "one campaign's routing state": lambda: despacho.router.state.snapshot({campaign_id}),
        "waiting queue": lambda: desk_queries.waiting_queue(engine, {campaign_id}, later),
        "an agent's open chats": lambda: desk_queries.open_chats_of(engine, agent_id),
        "a chat": lambda: desk_queries.chat(engine, chat_id),
        "a chat's timeline": lambda: desk_queries.timeline(engine, chat_id),
        "a chat's assignments": lambda: desk_queries.assignments(engine, chat_id),
        "timer sweep": lambda: timers.possibly_due(later, timers.sla_by_campaign()),
        "bot customer lookup": lambda: bot.campaigns_for_customer(CustomerIdentity.of("CC", "1020304050")),
    }


def test_hot_read_queries_never_scan_a_table_that_grows_with_history(despacho: Despacho, clock: FixedClock) -> None:
    assert plan_findings(despacho.read_engine, hot_queries(despacho, clock), full_scans) == {}

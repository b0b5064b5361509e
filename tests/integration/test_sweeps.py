"""The periodic jobs take the oldest first, through an index, so a pile of old rows never starves the rest."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from despacho.bootstrap import Despacho
from domain.chats import Chat
from projections.queries import chats_idle_in_bot


def chat_the_customer_left_in_the_bot(despacho: Despacho, n: int) -> str:
    now = despacho.clock.now()
    chat = Chat.open("whatsapp", f"whatsapp:+5730000{n:05d}", "whatsapp:+5716000001", profile_name="",
                     flow_name="default", actor="t", at=now)
    chat.receive_customer_message(f"SM{n:032x}", "Hola", [], actor="t", at=now)
    despacho.store.save(chat)
    return str(chat.id)


def test_the_idle_bot_job_takes_the_longest_silent_chats_first(despacho: Despacho) -> None:
    written = []
    for n in (3, 1, 2, 0):
        despacho.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        written.append(chat_the_customer_left_in_the_bot(despacho, n))
    despacho.runner.catch_up()

    idle = chats_idle_in_bot(despacho.read_engine, despacho.clock.now() + timedelta(minutes=1))

    assert idle == written


def test_the_idle_bot_job_reads_through_an_index_in_its_order(despacho: Despacho) -> None:
    cutoff = despacho.clock.now().isoformat()
    query = ("SELECT id FROM chats WHERE status = 'bot' AND last_customer_message_at < :cutoff "
             "ORDER BY last_customer_message_at LIMIT 1000")
    with despacho.read_engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET enable_seqscan = off"))  # the tables are tiny; ask what it could use
            plan = "\n".join(connection.execute(text("EXPLAIN " + query), {"cutoff": cutoff}).scalars())
        else:
            plan = "\n".join(str(row[-1]) for row in connection.execute(text("EXPLAIN QUERY PLAN " + query),
                                                                        {"cutoff": cutoff}))
    assert "ix_chats_status_last_customer" in plan and "TEMP B-TREE" not in plan, plan

"""The search's filters and a chat's history are served by indexes on SQLite and PostgreSQL: a document, a phone,
an agent, a disposition or a date range is looked up, never found by reading every chat ever recorded. A name is a
substring, read within a date range (the page always offers one) or another filter."""

from __future__ import annotations

from datetime import timedelta

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho
from projections import desk_queries
from projections.search_queries import ChatScope, ChatSearch, previous_chats, search_chats
from tests.integration.test_dashboard_query_plans import whole_campaign_reads
from tests.integration.test_query_plans import a_call_center, full_scans, plan_findings


def test_search_and_history_queries_never_scan_a_table_that_grows_with_history(despacho: Despacho,
                                                                               clock: FixedClock) -> None:
    campaign_id, agent_id, chat_id = a_call_center(despacho)
    engine, now = despacho.read_engine, clock.now()
    month = {"opened_from": now - timedelta(days=30), "opened_before": now + timedelta(days=1)}
    everywhere, supervisor, agent = ChatScope(None), ChatScope(frozenset({campaign_id})), \
        ChatScope(frozenset({campaign_id}), agent_id)
    searches = {
        "by document": ChatSearch(document="1020304050"),
        "by phone": ChatSearch(phone="300 000 0000"),
        "by agent": ChatSearch(agent_id=agent_id),
        "by disposition": ChatSearch(disposition="promesa_de_pago"),
        "by date range": ChatSearch(**month),  # type: ignore[arg-type]
        "by name in a date range": ChatSearch(name="maría", **month),  # type: ignore[arg-type]
        "by campaign in a date range": ChatSearch(campaign_id=campaign_id, **month),  # type: ignore[arg-type]
        "closed by date range": ChatSearch(state="closed", **month),  # type: ignore[arg-type]
    }
    chat = desk_queries.chat(engine, chat_id)
    assert chat is not None
    queries = {f"{name}, {who}": (lambda s=search, sc=scope: search_chats(engine, sc, s))
               for name, search in searches.items()
               for who, scope in (("admin", everywhere), ("supervisor", supervisor))}
    queries["agent's own chats"] = lambda: search_chats(engine, agent, ChatSearch())
    queries["history by phone"] = lambda: previous_chats(engine, supervisor, chat)
    queries["history by document"] = lambda: previous_chats(
        engine, everywhere, {**chat, "document_type": "CC", "document_number": "1020304050"})
    scans = plan_findings(engine, queries, full_scans, whole_campaign_reads)

    assert scans == {}, "\n".join(f"{k}: {v}" for k, v in scans.items())

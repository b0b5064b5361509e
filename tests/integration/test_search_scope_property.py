"""Whatever the chats and the filters, a viewer's search finds exactly the chats of their scope that match, and
each one it finds is a chat whose page (`visible_chat`) the viewer may open: admins and auditors every chat,
supervisors their campaigns', agents the ones they hold or last held in their campaigns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, insert
from sqlalchemy.pool import StaticPool

from api.chat_access import search_scope, visible_chat
from application.staff import Identity
from projections.queries import AGENTS, CAMPAIGNS, CHATS
from projections.search_queries import ChatSearch, search_chats

START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
CAMPAIGN_IDS = ("c1", "c2", "c3")
AGENT_IDS = ("a1", "a2")
STATUSES = ("bot", "waiting_queue", "assigned", "closed")

chats = st.lists(st.fixed_dictionaries({
    "campaign_id": st.sampled_from([*CAMPAIGN_IDS, None]), "agent_id": st.sampled_from([*AGENT_IDS, None]),
    "status": st.sampled_from(STATUSES), "document_number": st.sampled_from(["1020304050", "900100200", None]),
    "disposition": st.sampled_from(["promesa_de_pago", "no_interesado", None])}), max_size=12)
viewers = st.tuples(st.sampled_from(["admin", "auditor", "supervisor", "agent"]), st.sampled_from(AGENT_IDS),
                    st.frozensets(st.sampled_from(CAMPAIGN_IDS)))
searches = st.builds(ChatSearch, document=st.sampled_from(["", "1.020.304.050", "900100200"]),
                     state=st.sampled_from(["", "open", "closed"]),
                     disposition=st.sampled_from(["", "promesa_de_pago"]),
                     campaign_id=st.sampled_from(["", *CAMPAIGN_IDS]))


def read_tables() -> Engine:
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    for projector in (CHATS, AGENTS, CAMPAIGNS):
        projector.metadata.create_all(engine)
    return engine


def chat_row(n: int, chat: dict[str, Any]) -> dict[str, Any]:
    return {**chat, "id": f"chat-{n:02d}", "channel": "whatsapp", "customer_address": f"whatsapp:+57300000{n:04d}",
            "sender_address": "whatsapp:+5716000001", "profile_name": "", "customer_name": "",
            "document_type": "CC" if chat["document_number"] else None, "opened_at": START + timedelta(minutes=n),
            "outside_hours": False, "bot_pending": 0, "queue_alerted": False, "confirmation_failure_recorded": False,
            "confirmation_alert_open": False, "customer_messages": 0}


def matches(row: dict[str, Any], search: ChatSearch) -> bool:
    state = "closed" if row["status"] == "closed" else "open"
    return ((not search.document or row["document_number"] == search.document.replace(".", ""))
            and (not search.state or search.state == state)
            and (not search.disposition or row["disposition"] == search.disposition)
            and (not search.campaign_id or row["campaign_id"] == search.campaign_id))


def in_scope(row: dict[str, Any], role: str, me: str, mine: frozenset[str]) -> bool:
    if role in ("admin", "auditor"):
        return True
    return row["campaign_id"] in mine and (role == "supervisor" or row["agent_id"] == me)


@given(chats, viewers, searches)
def test_a_viewer_finds_exactly_the_matching_chats_of_their_scope(chat_list: list[dict[str, Any]],
                                                                   viewer: tuple[str, str, frozenset[str]],
                                                                   search: ChatSearch) -> None:
    role, me, mine = viewer
    engine = read_tables()
    rows = [chat_row(n, chat) for n, chat in enumerate(chat_list)]
    with engine.begin() as connection:
        if rows:
            connection.execute(insert(CHATS.chats), rows)
        if role in ("supervisor", "agent") and mine:
            connection.execute(insert(AGENTS.memberships),
                               [{"agent_id": me, "campaign_id": c, "joined_at": START} for c in mine])
    identity = Identity(id=me, login=me, name=me, role=role, campaigns=mine)

    found = search_chats(engine, search_scope(engine, identity), search, per_page=100).rows

    expected = {r["id"] for r in rows if in_scope(r, role, me, mine) and matches(r, search)}
    assert {r["id"] for r in found} == expected
    for row in found:
        visible_chat(engine, identity, row["id"])  # raises 403 for a chat the viewer may not open

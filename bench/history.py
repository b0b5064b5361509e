"""Years of past chats for a benchmark, written straight into the read tables by one SQL statement each.

The dispatch and the desk read the read tables, and nothing a past chat leaves there may slow them:
a million closed chats, each with its automatic assignment, spread over the campaigns and agents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import JSON, Boolean, Engine, bindparam, text

from projections.queries import CHATS
from projections.sql import UtcDateTime

NUMBERS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"


def _keyed(name: str, ids: Sequence[str]) -> tuple[str, dict[str, str]]:
    values = ", ".join(f"({k}, :{name}{k})" for k in range(len(ids)))
    return f"{name}(k, id) AS (VALUES {values})", {f"{name}{k}": v for k, v in enumerate(ids)}


def seed_past_assignments(engine: Engine, count: int, campaign_ids: Sequence[str], agent_ids: Sequence[str],
                          at: datetime) -> None:
    campaigns, campaign_values = _keyed("campaign", campaign_ids)
    agents, agent_values = _keyed("agent", agent_ids)
    chat_id = "'00000000-0000-4000-8000-' || (100000000000 + n.i)"
    source = (f"{NUMBERS}, {campaigns}, {agents} SELECT {{columns}} FROM n "
              f"JOIN campaign ON campaign.k = n.i % {len(campaign_ids)} JOIN agent ON agent.k = n.i % {len(agent_ids)}")
    chats = source.format(columns=(
        f"{chat_id}, campaign.id, 'closed', 'whatsapp', 'whatsapp:+57' || (3000000000 + n.i), 'whatsapp:+5716000001',"
        " '', '', agent.id, :at, :at, :at, :at, :at, :no, 0, :no, :no, :no, 'agent', 'system:bench'"))
    assignments = source.format(columns=(
        f"'00000000-0000-4000-9000-' || (100000000000 + n.i), {chat_id}, campaign.id, agent.id, 'automatic', :no,"
        " 'seed', :decision, 'system:router', :at"))
    params = {"count": count, "at": at, "no": False, "decision": {}, **campaign_values, **agent_values}
    typed = [bindparam("at", type_=UtcDateTime), bindparam("no", type_=Boolean)]
    with engine.begin() as connection:
        connection.execute(text(
            f"INSERT INTO {CHATS.chats.name} (id, campaign_id, status, channel, customer_address, sender_address,"
            " profile_name, customer_name, agent_id, opened_at, queued_at, assigned_at, last_customer_message_at,"
            " closed_at, outside_hours, bot_pending, queue_alerted, confirmation_failure_recorded,"
            f" confirmation_alert_open, close_reason, closed_by) {chats}").bindparams(*typed),
            {k: v for k, v in params.items() if k != "decision"})
        connection.execute(text(
            f"INSERT INTO {CHATS.assignments.name} (event_id, chat_id, campaign_id, agent_id, kind, exceptional,"
            f" reason, decision, actor, at) {assignments}").bindparams(*typed, bindparam("decision", type_=JSON)),
            params)
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(f"ANALYZE {CHATS.chats.name}")
            connection.exec_driver_sql(f"ANALYZE {CHATS.assignments.name}")
    if engine.dialect.name == "sqlite":  # fold the seed's write-ahead log in now, not during the measured commits
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

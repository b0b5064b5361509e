"""The metric read tables: facts per chat, queue entry, assignment and outbound message, and each level's
counters of the registry (domain/metrics/registry.py) per UTC hour and per local day of the campaign."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, Float, Index, Integer, MetaData, String, Table

from domain.metrics.registry import AGENT, BOT, CAMPAIGN, COUNTER_KEYS
from projections.sql import UtcDateTime

ID = 36
DIMENSIONS = {AGENT: ("agent_id", "campaign_id"), CAMPAIGN: ("campaign_id",), BOT: ("campaign_id", "flow_name")}
"""Each level's key columns besides the bucket, the campaign among them (its zone cuts the days)."""


def fact_tables(metadata: MetaData, suffix: str) -> dict[str, Table]:
    chats = Table(
        f"metric_chats{suffix}", metadata,
        Column("chat_id", String(ID), primary_key=True),
        Column("campaign_id", String(ID), nullable=False),
        Column("flow_name", String(80), nullable=False),
        Column("channel", String(10), nullable=False),
        Column("sender_address", String(64), nullable=False),
        Column("customer_address", String(64), nullable=False),
        Column("opened_at", UtcDateTime, nullable=False),
        Column("identified", Boolean, nullable=False),
        Column("transferred", Boolean, nullable=False),
        Column("inactive", Boolean, nullable=False),
        Column("assigned", Boolean, nullable=False),
        Column("attended", Boolean, nullable=False),
        Column("customer_waiting", Boolean, nullable=False),
        Column("customer_returned", Boolean, nullable=False),
        Column("closed_at", UtcDateTime),
        Column("close_reason", String(20)),
        Column("disposition", String(60)),
        Column("closed_by_agent", String(ID)),
        Column("queue_entry_id", String(ID)),
        Column("assignment_id", String(ID)),
        Index(f"ix_metric_chats_campaign{suffix}", "campaign_id", "opened_at"),
        Index(f"ix_metric_chats_closer{suffix}", "closed_by_agent", "closed_at"),
        # the agents' closes per disposition over a range of days, counted from the index alone
        Index(f"ix_metric_chats_closed{suffix}", "closed_at", "campaign_id", "closed_by_agent", "disposition"),
    )
    queue_entries = Table(
        f"metric_queue_entries{suffix}", metadata,
        Column("id", String(ID), primary_key=True),
        Column("chat_id", String(ID), nullable=False),
        Column("campaign_id", String(ID), nullable=False),
        Column("queued_at", UtcDateTime, nullable=False),
        Column("ended_at", UtcDateTime),
        Column("outcome", String(12), nullable=False),
        Column("close_reason", String(20)),
        Column("wait_seconds", Float),
        Column("target_seconds", Float, nullable=False),
        Index(f"ix_metric_queue_entries_campaign{suffix}", "campaign_id", "queued_at"),
    )
    assignments = Table(
        f"metric_assignments{suffix}", metadata,
        Column("id", String(ID), primary_key=True),
        Column("chat_id", String(ID), nullable=False),
        Column("campaign_id", String(ID), nullable=False),
        Column("agent_id", String(ID), nullable=False),
        Column("kind", String(12), nullable=False),
        Column("assigned_at", UtcDateTime, nullable=False),
        Column("first_reply_at", UtcDateTime),
        Column("ended_at", UtcDateTime),
        Column("end_reason", String(12)),
        Column("messages", Integer, nullable=False),
        Column("reply_count", Integer, nullable=False),
        Column("reply_seconds", Float, nullable=False),
        Column("alerts", Integer, nullable=False),
        Column("waiting_since", UtcDateTime),
        Index(f"ix_metric_assignments_agent{suffix}", "agent_id", "assigned_at"),
        Index(f"ix_metric_assignments_campaign{suffix}", "campaign_id", "assigned_at"),
    )
    outbound = Table(
        f"metric_outbound{suffix}", metadata,
        Column("id", String(ID), primary_key=True),
        Column("chat_id", String(ID), nullable=False),
        Column("campaign_id", String(ID), nullable=False),
        Column("sender", String(64), nullable=False),
        Column("kind", String(12), nullable=False),
        Column("requested_at", UtcDateTime, nullable=False),
        Column("failed", Boolean, nullable=False),
        Index(f"ix_metric_outbound_campaign{suffix}", "campaign_id", "requested_at"),
    )
    bot_states = Table(
        f"metric_bot_states{suffix}", metadata,
        Column("chat_id", String(ID), primary_key=True),
        Column("state", String(80), primary_key=True),
        Column("flow_name", String(80), nullable=False),
        Column("reached_at", UtcDateTime, nullable=False),
    )
    customer_closes = Table(
        f"metric_bot_closes{suffix}", metadata,
        Column("customer_address", String(64), primary_key=True),
        Column("chat_id", String(ID), nullable=False),
        Column("closed_at", UtcDateTime, nullable=False),
    )
    campaigns = Table(
        f"metric_campaigns{suffix}", metadata,
        Column("campaign_id", String(ID), primary_key=True),
        Column("time_zone", String(64), nullable=False),
        Column("effective_dispositions", JSON, nullable=False),
        Column("service_level_seconds", Float, nullable=False),
    )
    return {"chats": chats, "queue_entries": queue_entries, "assignments": assignments, "outbound": outbound,
            "bot_states": bot_states, "bot_closes": customer_closes, "campaigns": campaigns}


def counter_tables(metadata: MetaData, suffix: str) -> dict[tuple[str, str], Table]:
    """`(level, "hour")`: per UTC hour (its start); `(level, "day")`: per local day of the campaign's zone."""
    tables = {}
    for level, dimensions in DIMENSIONS.items():
        for bucket, kind in (("hour", UtcDateTime), ("day", Date)):
            tables[level, bucket] = Table(
                f"metric_{level}_{bucket}s{suffix}", metadata,
                *[Column(name, String(80 if name == "flow_name" else ID), primary_key=True) for name in dimensions],
                Column(bucket, kind, primary_key=True),
                *[Column(counter, Float, nullable=False, default=0.0) for counter in COUNTER_KEYS[level]],
                Index(f"ix_metric_{level}_{bucket}s_bucket{suffix}", bucket),
            )
    return tables

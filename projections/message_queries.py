"""Read-side queries of delivery: the message audit, statuses for the timeline, delivery alerts.

`campaign_ids=None` means every campaign (admins and auditors); a set limits the answer to those
campaigns (a supervisor's).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, case, func, select

from application.delivery_monitor import FailureCount, UnfinishedMessage
from domain.delivery_alerts import may_retry
from domain.delivery_errors import explain
from domain.messages import FAILED_STATUSES, FINAL_STATUSES
from projections.messages import MessagesProjector, customer_phone
from projections.queries import AGENTS, CAMPAIGNS

MESSAGES = MessagesProjector()
ALERT_STATES = ("open", "acknowledged")


@dataclass(frozen=True)
class AuditFilter:
    phone: str = ""
    chat_id: str = ""
    campaign_id: str = ""
    date_from: datetime | None = None
    date_to: datetime | None = None
    status: str = ""
    error_code: str = ""


def explained(error_code: str | None, *, failed: bool) -> dict[str, str] | None:
    """The catalogue's meaning, category and recommended action of an error (None when nothing went wrong)."""
    if not error_code and not failed:
        return None
    explanation = explain(error_code or "")
    return {"code": explanation.code, "category": explanation.category, "category_label": explanation.category_label,
            "meaning": explanation.meaning, "action": explanation.action}


def _filtered(query: Select[Any], found: AuditFilter, campaign_ids: set[str] | None) -> Select[Any]:
    table = MESSAGES.messages
    if campaign_ids is not None:
        query = query.where(table.c.campaign_id.in_(campaign_ids))
    if found.phone:
        phone = found.phone.split(":", 1)[-1].strip()
        digits = "".join(c for c in phone if c.isdigit())
        query = query.where(table.c.customer_phone == phone) if phone.startswith("+") \
            else query.where(table.c.customer_phone.like(f"%{digits}"))
    if found.chat_id:
        query = query.where(table.c.chat_id == found.chat_id)
    if found.campaign_id:
        query = query.where(table.c.campaign_id == found.campaign_id)
    if found.date_from:
        query = query.where(table.c.requested_at >= found.date_from)
    if found.date_to:
        query = query.where(table.c.requested_at < found.date_to)
    if found.status:
        query = query.where(table.c.status == found.status)
    if found.error_code:
        query = query.where(table.c.error_code == found.error_code)
    return query


def audit_messages(engine: Engine, found: AuditFilter, *, campaign_ids: set[str] | None, limit: int = 200,
                   offset: int = 0, with_history: bool = True) -> list[dict[str, Any]]:
    """Messages matching the filter, newest first, with campaign and agent names, the explanation of their error
    and their status history."""
    table, campaigns, agents = MESSAGES.messages, CAMPAIGNS.campaigns, AGENTS.agents
    query = _filtered(select(table, campaigns.c.name.label("campaign_name"), agents.c.name.label("agent_name"))
                      .outerjoin(campaigns, campaigns.c.id == table.c.campaign_id)
                      .outerjoin(agents, agents.c.id == table.c.agent_id), found, campaign_ids)
    query = query.order_by(table.c.requested_at.desc(), table.c.id).limit(limit).offset(offset)
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(query).mappings()]
    history = status_history(engine, [r["id"] for r in rows]) if with_history else {}
    for row in rows:
        row["error"] = explained(row["error_code"], failed=row["status"] in FAILED_STATUSES)
        row["history"] = history.get(row["id"], [])
    return rows


def status_history(engine: Engine, message_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    table = MESSAGES.history
    ids = list(message_ids)
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return found
    with engine.connect() as connection:
        for row in connection.execute(select(table).where(table.c.message_id.in_(ids))
                                      .order_by(table.c.message_id, table.c.version)).mappings():
            found[row["message_id"]].append(dict(row))
    return found


def unmatched_callbacks(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """Status callbacks for SIDs no message claims, newest first (only admins and auditors see them)."""
    table = MESSAGES.unmatched
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(
            select(table).order_by(table.c.received_at.desc()).limit(limit)).mappings()]


def delivery_of(engine: Engine, message_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Delivery status of outbound messages for the timeline: status, error and whether a retry makes sense."""
    table = MESSAGES.messages
    ids = list(message_ids)
    if not ids:
        return {}
    with engine.connect() as connection:
        rows = connection.execute(select(table.c.id, table.c.status, table.c.error_code, table.c.error_message,
                                         table.c.retried_by, table.c.retry_of).where(table.c.id.in_(ids))).mappings()
        return {r["id"]: {**dict(r), "failed": r["status"] in FAILED_STATUSES,
                          "error": explained(r["error_code"], failed=r["status"] in FAILED_STATUSES),
                          "retryable": may_retry(r["status"], r["error_code"] or "") and not r["retried_by"]}
                for r in rows}


def with_delivery(engine: Engine, timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timeline rows, each outbound one with its `delivery` (None for customer messages)."""
    ours = [m["id"] for m in timeline if m["author_kind"] not in ("customer", "note")]
    delivery = delivery_of(engine, ours)
    return [{**m, "delivery": delivery.get(m["id"])} for m in timeline]


def message(engine: Engine, message_id: str) -> dict[str, Any] | None:
    table = MESSAGES.messages
    with engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == message_id)).mappings().first()
    return dict(row) if row else None


def delivery_alerts(engine: Engine, *, campaign_ids: set[str] | None, states: tuple[str, ...] = ALERT_STATES,
                    limit: int = 200) -> list[dict[str, Any]]:
    table, campaigns = MESSAGES.alerts, CAMPAIGNS.campaigns
    query = (select(table, campaigns.c.name.label("campaign_name"))
             .outerjoin(campaigns, campaigns.c.id == table.c.campaign_id)
             .where(table.c.state.in_(states)).order_by(table.c.raised_at.desc(), table.c.id).limit(limit))
    if campaign_ids is not None:
        query = query.where(table.c.campaign_id.in_(campaign_ids))
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(query).mappings()]
    return [{**r, "error": explained(r["error_code"], failed=r["kind"] == "message_failed")} for r in rows]


def delivery_alert(engine: Engine, alert_id: str) -> dict[str, Any] | None:
    table = MESSAGES.alerts
    with engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == alert_id)).mappings().first()
    return dict(row) if row else None


class SqlDeliveryDirectory:
    """What the delivery monitor needs from the read tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def unfinished_before(self, cutoff: datetime, limit: int, since: datetime | None = None) -> list[UnfinishedMessage]:
        table = MESSAGES.messages
        query = (select(table.c.id, table.c.campaign_id, table.c.chat_id, table.c.sender_address, table.c.status,
                        table.c.requested_at)
                 .where(table.c.status.not_in(FINAL_STATUSES), table.c.requested_at < cutoff)
                 .order_by(table.c.requested_at).limit(limit))
        if since is not None:
            query = query.where(table.c.requested_at >= since)
        with self.engine.connect() as connection:
            return [UnfinishedMessage(r.id, r.campaign_id or "", r.chat_id or "", r.sender_address, r.status,
                                      r.requested_at) for r in connection.execute(query)]

    def failure_counts(self, since: datetime) -> list[FailureCount]:
        table = MESSAGES.messages
        failed = func.sum(case((table.c.status.in_(FAILED_STATUSES), 1), else_=0))
        recent = table.c.requested_at >= since
        with self.engine.connect() as connection:
            per_campaign = connection.execute(
                select(table.c.campaign_id, func.count(), failed).where(recent, table.c.campaign_id.is_not(None))
                .group_by(table.c.campaign_id)).all()
            per_sender = connection.execute(
                select(table.c.sender_address, func.count(), failed).where(recent).group_by(table.c.sender_address)
            ).all()
            campaigns_of_sender = connection.execute(
                select(table.c.sender_address, table.c.campaign_id).distinct()
                .where(recent, table.c.campaign_id.is_not(None))).all()
        counts = [FailureCount("campaign", campaign, campaign, int(total), int(bad or 0))
                  for campaign, total, bad in per_campaign]
        senders = {sender: (int(total), int(bad or 0)) for sender, total, bad in per_sender}
        counts += [FailureCount("sender", sender, campaign, *senders[sender])
                   for sender, campaign in campaigns_of_sender if sender in senders]
        return counts


class SqlBusinessMessageCounts:
    """Templates handed to Twilio per customer, for the per-customer caps (domain/throttling.py). Read from the
    messages table, so a message sent in the last moments, not yet projected, is not counted yet."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sent_since(self, to: str, since: Sequence[datetime]) -> list[int]:
        table = MESSAGES.messages
        counts = [func.count().filter(table.c.submitted_at >= instant) for instant in since]
        query = select(*counts).where(
            table.c.customer_phone == customer_phone(to), table.c.to_address == to, table.c.content_sid != "",
            table.c.sid.is_not(None), table.c.status.not_in(FAILED_STATUSES), table.c.submitted_at >= min(since))
        with self.engine.connect() as connection:
            return [int(count) for count in connection.execute(query).one()]


def approved_templates(engine: Engine, campaign_id: str | None) -> list[dict[str, Any]]:
    """The WhatsApp templates a campaign may send outside the 24-hour window: its `templates` setting
    when it has one, and its closing template."""
    if not campaign_id:
        return []
    table = CAMPAIGNS.campaigns
    with engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == campaign_id)).mappings().first()
    if row is None:
        return []
    templates = [{"name": str(t.get("name", "")), "content_sid": str(t.get("content_sid", "")),
                  "variables": [str(v) for v in t.get("variables", [])]}
                 for t in (row.get("templates") or []) if t.get("content_sid")]
    if row["closing_template_sid"] and all(t["content_sid"] != row["closing_template_sid"] for t in templates):
        templates.append({"name": "Cierre", "content_sid": row["closing_template_sid"], "variables": []})
    return templates

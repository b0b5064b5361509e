"""Read-side queries of proactive sends: who a segment reaches (the preview, and the recipients when a broadcast
starts), the broadcasts a viewer may see, each one's progress, and the pace level the throttle reads.

Campaign scoping is applied here: `scope=None` means every campaign, a set means those campaigns only.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from adapters.caching import ttl_cache
from application.broadcasts import Candidate, Selection
from domain.broadcasts import (
    EXCLUSION_REASONS,
    NO_VALID_PHONE,
    OPTED_OUT,
    RECENTLY_CONTACTED,
    STANDARD_FIELDS,
    Segment,
)
from domain.delivery_errors import explain
from domain.messages import FAILED_STATUSES
from domain.messaging_rules import LONG_NUMBER
from projections.broadcasts import BroadcastsProjector
from projections.message_queries import MESSAGES
from projections.queries import PORTFOLIOS
from projections.risk_queries import current_level

BROADCASTS = BroadcastsProjector()
SENT_STATUSES = ("accepted", "scheduled", "queued", "sending", "sent", "delivered", "read")
DELIVERED_STATUSES = ("delivered", "read")


class SqlBroadcastAudience:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def select(self, campaign_id: str, sender: str, channel: str, segment: Segment, now: datetime) -> Selection:
        return select_audience(self.engine, campaign_id, sender, channel, segment, now)


def select_audience(engine: Engine, campaign_id: str, sender: str, channel: str, segment: Segment,
                    now: datetime) -> Selection:
    """The campaign's active customers in the segment, less those who opted out from the sender, those messaged on
    the business's initiative within the segment's hours (from any sender) and those without a valid phone."""
    excluded = dict.fromkeys(EXCLUSION_REASONS, 0)
    opted_out, contacted = _opted_out(engine, sender), _recently_contacted(engine, now - timedelta(
        hours=segment.recent_hours))
    recipients = []
    for customer in _customers(engine, campaign_id):
        fields = customer_fields(customer)
        if not segment.selects(fields):
            continue
        phone = next((p for p in customer["phones"] or () if LONG_NUMBER.fullmatch(str(p))), None)
        address = f"whatsapp:{phone}" if channel == "whatsapp" and phone else str(phone or "")
        reason = NO_VALID_PHONE if phone is None else OPTED_OUT if address in opted_out else \
            RECENTLY_CONTACTED if segment.recent_hours and phone in contacted else None
        if reason:
            excluded[reason] += 1
            continue
        recipients.append(Candidate(f"{customer['document_type']}:{customer['document_number']}", address, fields))
    return Selection(recipients, excluded)


def customer_fields(customer: dict[str, Any]) -> dict[str, str]:
    """A customer's portfolio fields as text, by name: the standard ones and the campaign's own columns."""
    fields = {name: "" if customer.get(name) is None else str(customer[name]) for name in STANDARD_FIELDS}
    for name, value in (customer.get("custom_fields") or {}).items():
        fields.setdefault(str(name), "" if value is None else str(value))
    return fields


def _customers(engine: Engine, campaign_id: str) -> list[dict[str, Any]]:
    t = PORTFOLIOS.customers
    query = select(t.c.document_type, t.c.document_number, t.c.full_name, t.c.email, t.c.balance, t.c.phones,
                   t.c.custom_fields).where(t.c.campaign_id == campaign_id, t.c.active.is_(True)) \
        .order_by(t.c.document_type, t.c.document_number)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def _opted_out(engine: Engine, sender: str) -> set[str]:
    t = BROADCASTS.consents
    with engine.connect() as connection:
        return set(connection.execute(select(t.c.customer_address).where(
            t.c.sender == sender, t.c.opted_out.is_(True))).scalars())


def _recently_contacted(engine: Engine, since: datetime) -> set[str]:
    """Phones a template went to (or is on its way to) since then, from any sender: business-initiated contact."""
    t = MESSAGES.messages
    with engine.connect() as connection:
        return set(connection.execute(select(t.c.customer_phone).distinct().where(
            t.c.requested_at >= since, t.c.content_sid != "", t.c.status.not_in(FAILED_STATUSES))).scalars())


def portfolio_fields(engine: Engine, campaign_id: str) -> list[str]:
    """The fields a filter or a template variable may name: the standard ones, then the campaign's own columns."""
    t = PORTFOLIOS.customers
    with engine.connect() as connection:
        sample = connection.execute(select(t.c.custom_fields).where(
            t.c.campaign_id == campaign_id, t.c.active.is_(True)).limit(50)).scalars().all()
    own = sorted({str(name) for fields in sample for name in (fields or {})})
    return [*STANDARD_FIELDS, *own]


def list_broadcasts(engine: Engine, scope: Collection[str] | None, campaign_id: str = "") -> list[dict[str, Any]]:
    t = BROADCASTS.broadcasts
    query = select(t).order_by(t.c.start_at.desc(), t.c.id)
    if scope is not None:
        query = query.where(t.c.campaign_id.in_(list(scope)))
    if campaign_id:
        query = query.where(t.c.campaign_id == campaign_id)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def broadcast(engine: Engine, broadcast_id: str, scope: Collection[str] | None) -> dict[str, Any] | None:
    """The broadcast's row, or None when it does not exist or is outside the viewer's campaigns."""
    t = BROADCASTS.broadcasts
    with engine.connect() as connection:
        row = connection.execute(select(t).where(t.c.id == broadcast_id)).mappings().first()
    if row is None or (scope is not None and row["campaign_id"] not in scope):
        return None
    return dict(row)


def progress(engine: Engine, row: dict[str, Any]) -> dict[str, Any]:
    """Selected, messaged, sent (Twilio took it), delivered, failed (by category of the error), replied, remaining."""
    t = BROADCASTS.messages
    with engine.connect() as connection:
        by_status = connection.execute(select(t.c.status, t.c.error_code, func.count())
                                       .where(t.c.broadcast_id == row["id"]).group_by(t.c.status, t.c.error_code)).all()
        replied = connection.execute(select(func.count()).where(t.c.broadcast_id == row["id"],
                                                                t.c.replied.is_(True))).scalar() or 0
    figures = {"selected": row["selected"], "messaged": row["messaged"], "skipped": row["skipped"], "sent": 0,
               "delivered": 0, "failed": 0, "replied": int(replied),
               "remaining": max(0, row["selected"] - row["messaged"] - row["skipped"])}
    failed_by_category: dict[str, int] = {}
    for status, error_code, count in by_status:
        if status in SENT_STATUSES:
            figures["sent"] += count
        if status in DELIVERED_STATUSES:
            figures["delivered"] += count
        if status in FAILED_STATUSES:
            figures["failed"] += count
            category = explain(error_code or "").category_label
            failed_by_category[category] = failed_by_category.get(category, 0) + count
    return {**figures, "failed_by_category": failed_by_category}


def sender_hold(engine: Engine, sender: str) -> dict[str, Any] | None:
    t = BROADCASTS.holds
    with engine.connect() as connection:
        row = connection.execute(select(t).where(t.c.sender == sender)).mappings().first()
    return dict(row) if row else None


def pace_level(engine: Engine, sender: str) -> str:
    """The level the throttle paces a sender's messages at: critical while its proactive sends are held (from its
    change to critical until an admin resumes them), high when an admin resumed them at critical."""
    level = current_level(engine, sender)
    hold = sender_hold(engine, sender)
    if hold is not None and hold["held"]:
        return "critical"
    return "high" if level == "critical" else level


class PaceRiskLevels:
    """The throttle's `RiskLevels` port: each sender's pace level, kept a few seconds (asked on every send)."""

    def __init__(self, engine: Engine, seconds: float = 5.0) -> None:
        def level_now(sender: str) -> str:
            return pace_level(engine, sender)

        self._level_of = ttl_cache(seconds)(level_now)

    def level_of(self, sender: str) -> str:
        level: str = self._level_of(sender)
        return level

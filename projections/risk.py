"""Read model of block and spam risk: per-minute traffic buckets per sender, campaign and customer, and levels.

Signals are sliding windows summed over these buckets at the instant they are read
(`projections/risk_queries.py`), so the tables hold only counts and stay rebuildable from the log. A message
is business-initiated when the customer had not written to that sender in the 24 hours before it was
requested: the WhatsApp service window, opened by the chat's `CustomerWrote` as the outbound path decides it
(the same rule stands in for SMS). The live projector is also the follower that judges levels: after each
batch it hands the senders the batch touched to `on_change` (application/risk.py), and when idle it asks for
a periodic re-judgement, since windows move without events.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Connection, Float, Index, Integer, MetaData, String, Table, Text, delete

from domain.campaigns import Campaign
from domain.chats import Chat
from domain.consent import Consent
from domain.messages import FAILED_STATUSES, OutboundMessage
from domain.messaging_rules import whatsapp_window_open
from domain.risk import SenderRisk
from domain.risk_thresholds import DESPACHO_REFUSALS
from projections.base import BatchProjector, Positioned, handles
from projections.sql import UtcDateTime, event_key, uid
from projections.unit_of_work import UnitOfWork

IDLE_JUDGEMENT_SECONDS = 60
BACKLOG_JUDGEMENT_SECONDS = 10
# The longest window any signal sums is 7 days (messages per customer); a day's margin keeps the 7-day window of a
# page read a little after the log's latest event whole.
RETENTION = timedelta(days=8)
RETENTION_KEY = "buckets"


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


class RiskProjector(BatchProjector):
    name = "risk"

    def __init__(self, suffix: str = "", *,
                 on_change: Callable[[Collection[str]], object] | None = None,
                 on_idle: Callable[[], object] | None = None) -> None:
        super().__init__(suffix)
        self.on_change = on_change
        self.on_idle = on_idle
        self.changed: set[str] = set()
        self._last_idle = float("-inf")
        self._last_judgement = float("-inf")

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.messages = Table(
            f"risk_messages{suffix}", metadata,
            Column("message_id", String(36), primary_key=True),
            Column("sender", String(80), nullable=False),
            Column("campaign_id", String(36), nullable=False),
            Column("customer", String(64), nullable=False),
            Column("template", Boolean, nullable=False),
            Column("failed", Boolean, nullable=False),
        )
        self.minutes = Table(
            f"risk_minutes{suffix}", metadata,
            Column("sender", String(80), primary_key=True),
            Column("campaign_id", String(36), primary_key=True),
            Column("minute", UtcDateTime, primary_key=True),
            *(Column(name, Integer, nullable=False, default=0) for name in (
                "messages", "business_initiated", "templates", "templates_failed", "failed", "replies",
                "opt_outs")),
            Index(f"ix_risk_minutes_minute{suffix}", "minute"),
        )
        self.errors = Table(
            f"risk_errors{suffix}", metadata,
            Column("sender", String(80), primary_key=True),
            Column("campaign_id", String(36), primary_key=True),
            Column("minute", UtcDateTime, primary_key=True),
            Column("error_code", String(20), primary_key=True),
            Column("failures", Integer, nullable=False, default=0),
            Index(f"ix_risk_errors_minute{suffix}", "minute"),
        )
        self.contacts = Table(
            f"risk_contacts{suffix}", metadata,
            Column("sender", String(80), primary_key=True),
            Column("campaign_id", String(36), primary_key=True),
            Column("customer", String(64), primary_key=True),
            Column("minute", UtcDateTime, primary_key=True),
            *(Column(name, Integer, nullable=False, default=0)
              for name in ("messages", "business_initiated", "replies")),
            Index(f"ix_risk_contacts_sender_minute{suffix}", "sender", "minute"),
            Index(f"ix_risk_contacts_minute{suffix}", "minute"),
        )
        self.customers = Table(
            f"risk_customers{suffix}", metadata,
            Column("sender", String(80), primary_key=True),
            Column("customer", String(64), primary_key=True),
            Column("last_inbound_at", UtcDateTime),
            Column("last_campaign_id", String(36), nullable=False),
        )
        self.chats = Table(
            f"risk_chats{suffix}", metadata,
            Column("chat_id", String(36), primary_key=True),
            Column("sender", String(80), nullable=False),
            Column("customer", String(64), nullable=False),
        )
        self.consents = Table(
            f"risk_consents{suffix}", metadata,
            Column("consent_id", String(36), primary_key=True),
            Column("sender", String(80), nullable=False),
            Column("customer", String(64), nullable=False),
        )
        self.campaign_senders = Table(
            f"risk_campaign_senders{suffix}", metadata,
            Column("campaign_id", String(36), primary_key=True),
            Column("sender", String(80), primary_key=True),
            Column("channel", String(20), nullable=False),
        )
        self.campaigns = Table(
            f"risk_campaigns{suffix}", metadata,
            Column("campaign_id", String(36), primary_key=True),
            Column("thresholds", JSON, nullable=False),
        )
        self.levels = Table(
            f"risk_levels{suffix}", metadata,
            Column("sender", String(80), primary_key=True),
            Column("level", String(20), nullable=False),
            Column("signal", String(40), nullable=False),
            Column("value", Float, nullable=False),
            Column("threshold", Float, nullable=False),
            Column("recommended_action", Text, nullable=False),
            Column("changed_at", UtcDateTime, nullable=False),
        )
        self.level_changes = Table(
            f"risk_level_changes{suffix}", metadata,
            Column("event_id", String(36), primary_key=True),
            Column("sender", String(80), nullable=False),
            Column("level", String(20), nullable=False),
            Column("previous", String(20), nullable=False),
            Column("signal", String(40), nullable=False),
            Column("value", Float, nullable=False),
            Column("threshold", Float, nullable=False),
            Column("recommended_action", Text, nullable=False),
            Column("actor", String(80), nullable=False),
            Column("version", Integer, nullable=False),
            Column("at", UtcDateTime, nullable=False),
            Index(f"ix_risk_level_changes_sender{suffix}", "sender", "at"),
        )
        self.retention = Table(
            f"risk_retention{suffix}", metadata,
            Column("name", String(20), primary_key=True),
            Column("latest_at", UtcDateTime, nullable=False),
            Column("kept_from", UtcDateTime, nullable=False),
        )
        self.pruned = (self.minutes, self.errors, self.contacts)
        self._kept_from: datetime | None = None
        self._pruned_before: datetime | None = None

    # ---- retention ----

    def project(self, connection: Connection, events: Sequence[Positioned]) -> None:
        super().project(connection, events)
        if self._pruned_before is not None:
            for table in self.pruned:
                connection.execute(delete(table).where(table.c.minute < self._pruned_before))

    def _advance_retention(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        """Buckets older than `RETENTION` before the latest instant the log has reached are deleted (once an hour
        of the log's time) and no longer counted. The cut follows the events' own `at`, never the wall clock, and
        only moves forward, so a rebuild of the same log keeps exactly the rows the live tables kept."""
        known = batch.get(self.retention, RETENTION_KEY)
        instants = [e.at.astimezone(UTC) for e in events] + ([known["latest_at"]] if known else [])
        if not instants:  # an empty batch before any event: nothing to keep or cut yet
            self._kept_from = self._pruned_before = None
            return
        latest = max(instants)
        kept_from = latest.replace(minute=0, second=0, microsecond=0) - RETENTION
        self._kept_from = kept_from
        self._pruned_before = kept_from if known is None or kept_from > known["kept_from"] else None
        batch.replace(self.retention, name=RETENTION_KEY, latest_at=latest, kept_from=kept_from)

    def _retained(self, minute: datetime) -> bool:
        return self._kept_from is None or minute >= self._kept_from

    def prefetch(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        """Read every row the batch's handlers will look at in a few statements: the messages and consents
        named, then the customers, then the buckets, whose campaigns come from those rows as the events
        leave them."""
        self._advance_retention(batch, events)
        batch.load(self.messages, [uid(e.originator_id) for e in events if isinstance(e, OutboundMessage.Event)
                                   and not isinstance(e, OutboundMessage.Requested)])
        batch.load(self.consents, [uid(e.originator_id) for e in events if isinstance(e, Consent.OptedOut)])
        batch.load(self.chats, [uid(e.originator_id) for e in events if isinstance(e, Chat.CustomerWrote)])
        campaign_ids = [uid(e.originator_id) for e in events if isinstance(e, Campaign.Created | Campaign.Edited)]
        batch.load(self.campaigns, campaign_ids)
        batch.load_groups(self.campaign_senders, "campaign_id", campaign_ids)
        pairs = {uid(e.originator_id): (e.sender_address, e.customer_address) for e in events
                 if isinstance(e, Consent.Recorded | Chat.Opened)}
        batch.load(self.customers, [key for e in events if (key := self._pair(batch, e, pairs)) is not None])
        self._prefetch_buckets(batch, events, pairs)

    def _pair(self, batch: UnitOfWork, event: Any, pairs: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
        """The (sender, customer) an outbound request, a customer's message or an opt-out concerns (`pairs`: those
        of the consents and chats the batch itself starts)."""
        if isinstance(event, OutboundMessage.Requested):
            return event.sender, event.to
        if isinstance(event, Chat.CustomerWrote | Consent.OptedOut):
            key = uid(event.originator_id)
            row = batch.get(self.chats if isinstance(event, Chat.CustomerWrote) else self.consents, key)
            return (row["sender"], row["customer"]) if row else pairs.get(key)
        return None

    def _prefetch_buckets(self, batch: UnitOfWork, events: Sequence[Any], pairs: dict[str, tuple[str, str]]) -> None:
        campaigns: dict[tuple[str, str], str] = {}
        messages: dict[str, tuple[str, str]] = {}
        minutes, contacts, errors = [], [], []
        for e in events:
            minute = minute_of(e.at)
            pair = self._pair(batch, e, pairs)
            if isinstance(e, OutboundMessage.Requested):
                campaigns[(e.sender, e.to)] = e.campaign_id or campaigns.get((e.sender, e.to)) or \
                    self._last_campaign(batch, (e.sender, e.to))
                messages[uid(e.originator_id)] = (e.sender, e.campaign_id or "")
                minutes.append((e.sender, e.campaign_id or "", minute))
                contacts.append((e.sender, e.campaign_id or "", e.to, minute))
            elif pair is not None:
                campaign_id = campaigns.get(pair) or self._last_campaign(batch, pair)
                minutes.append((pair[0], campaign_id, minute))
                contacts.append((pair[0], campaign_id, pair[1], minute))
            elif isinstance(e, OutboundMessage.Failed) or (
                    isinstance(e, OutboundMessage.StatusReported) and e.status in FAILED_STATUSES):
                row = batch.get(self.messages, uid(e.originator_id))
                sender, campaign_id = messages.get(uid(e.originator_id)) or (
                    (row["sender"], row["campaign_id"]) if row else ("", ""))
                minutes.append((sender, campaign_id, minute))
                errors.append((sender, campaign_id, minute, e.error_code or ""))
        batch.load(self.minutes, minutes)
        batch.load(self.contacts, contacts)
        batch.load(self.errors, errors)

    def _last_campaign(self, batch: UnitOfWork, pair: tuple[str, str]) -> str:
        known = batch.get(self.customers, pair)
        return known["last_campaign_id"] if known else ""

    # ---- counting ----

    def _add(self, batch: UnitOfWork, table: Table, key: dict[str, Any], **increments: int) -> None:
        if not self._retained(key["minute"]):
            return
        row = batch.get(table, tuple(key[c.name] for c in table.primary_key.columns))
        if row is None:
            batch.insert(table, **key, **increments)
        else:
            batch.update(table, tuple(key.values()), **{name: row[name] + n for name, n in increments.items()})

    def _bucket(self, batch: UnitOfWork, sender: str, campaign_id: str, at: datetime, **increments: int) -> None:
        self._add(batch, self.minutes, {"sender": sender, "campaign_id": campaign_id, "minute": minute_of(at)},
                  **increments)
        self.changed.add(sender)

    def _contact(self, batch: UnitOfWork, sender: str, campaign_id: str, customer: str, at: datetime,
                 **increments: int) -> None:
        self._add(batch, self.contacts, {"sender": sender, "campaign_id": campaign_id, "customer": customer,
                                         "minute": minute_of(at)}, **increments)

    # ---- outbound ----

    @handles(OutboundMessage.Requested)
    def requested(self, batch: UnitOfWork, event: Any) -> None:
        sender, customer, campaign_id = event.sender, event.to, event.campaign_id or ""
        known = batch.get(self.customers, (sender, customer))
        business = not whatsapp_window_open(known["last_inbound_at"] if known else None, event.at)
        template = bool(event.content_sid)
        batch.insert(self.messages, message_id=uid(event.originator_id), sender=sender, campaign_id=campaign_id,
                     customer=customer, template=template, failed=False)
        self._bucket(batch, sender, campaign_id, event.at, messages=1, business_initiated=int(business),
                     templates=int(template))
        self._contact(batch, sender, campaign_id, customer, event.at, messages=1, business_initiated=int(business))
        if known is None:
            batch.insert(self.customers, sender=sender, customer=customer, last_inbound_at=None,
                         last_campaign_id=campaign_id)
        elif campaign_id:
            batch.update(self.customers, (sender, customer), last_campaign_id=campaign_id)

    @handles(OutboundMessage.StatusReported)
    def status_reported(self, batch: UnitOfWork, event: Any) -> None:
        if event.status in FAILED_STATUSES:
            self._failed(batch, event, event.error_code)

    @handles(OutboundMessage.Failed)
    def failed(self, batch: UnitOfWork, event: Any) -> None:
        if event.error_code not in DESPACHO_REFUSALS:
            self._failed(batch, event, event.error_code)

    def _failed(self, batch: UnitOfWork, event: Any, error_code: str) -> None:
        """A message counts as failed once, at its first failed status, with the error code that came with it."""
        message = batch.get(self.messages, uid(event.originator_id))
        if message is None or message["failed"]:
            return
        batch.update(self.messages, message["message_id"], failed=True)
        sender, campaign_id = message["sender"], message["campaign_id"]
        self._bucket(batch, sender, campaign_id, event.at, failed=1, templates_failed=int(message["template"]))
        self._add(batch, self.errors, {"sender": sender, "campaign_id": campaign_id, "minute": minute_of(event.at),
                                       "error_code": error_code or ""}, failures=1)

    # ---- the customers' side ----

    @handles(Chat.Opened)
    def chat_opened(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.chats, chat_id=uid(event.originator_id), sender=event.sender_address,
                     customer=event.customer_address)

    @handles(Chat.CustomerWrote)
    def customer_wrote(self, batch: UnitOfWork, event: Any) -> None:
        """The customer's message as its chat recorded it (when Twilio called): what opens the service window."""
        chat = batch.get(self.chats, uid(event.originator_id))
        if chat is None:
            return
        sender, customer = chat["sender"], chat["customer"]
        known = batch.get(self.customers, (sender, customer))
        campaign_id = known["last_campaign_id"] if known else ""
        if known is None:
            batch.insert(self.customers, sender=sender, customer=customer, last_inbound_at=event.at,
                         last_campaign_id="")
        else:
            batch.update(self.customers, (sender, customer), last_inbound_at=event.at)
        self._bucket(batch, sender, campaign_id, event.at, replies=1)
        self._contact(batch, sender, campaign_id, customer, event.at, replies=1)

    @handles(Consent.Recorded)
    def consent_recorded(self, batch: UnitOfWork, event: Any) -> None:
        batch.insert(self.consents, consent_id=uid(event.originator_id), sender=event.sender_address,
                     customer=event.customer_address)

    @handles(Consent.OptedOut)
    def opted_out(self, batch: UnitOfWork, event: Any) -> None:
        consent = batch.get(self.consents, uid(event.originator_id))
        if consent is None:
            return
        known = batch.get(self.customers, (consent["sender"], consent["customer"]))
        self._bucket(batch, consent["sender"], known["last_campaign_id"] if known else "", event.at, opt_outs=1)

    # ---- campaigns ----

    @handles(Campaign.Created, Campaign.Edited)
    def campaign_settings(self, batch: UnitOfWork, event: Any) -> None:
        campaign_id = uid(event.originator_id)
        batch.upsert(self.campaigns, campaign_id=campaign_id,
                     thresholds=dict(event.settings.get("risk_thresholds", {})))
        self.changed.update(row["sender"] for row in batch.where(self.campaign_senders, "campaign_id", campaign_id))

    @handles(Campaign.SenderLinked)
    def sender_linked(self, batch: UnitOfWork, event: Any) -> None:
        batch.replace(self.campaign_senders, campaign_id=uid(event.originator_id), sender=event.address,
                      channel=event.channel)
        self.changed.add(event.address)

    @handles(Campaign.SenderUnlinked)
    def sender_unlinked(self, batch: UnitOfWork, event: Any) -> None:
        batch.delete(self.campaign_senders, (uid(event.originator_id), event.address))
        self.changed.add(event.address)

    # ---- levels ----

    @handles(SenderRisk.LevelChanged)
    def level_changed(self, batch: UnitOfWork, event: Any) -> None:
        values = {"level": event.level, "signal": event.signal, "value": float(event.value),
                  "threshold": float(event.threshold), "recommended_action": event.recommended_action}
        batch.replace(self.levels, sender=event.sender, changed_at=event.at, **values)
        batch.insert(self.level_changes, event_id=event_key(event), sender=event.sender, previous=event.previous,
                     actor=event.actor, version=event.originator_version, at=event.at, **values)
        self.touch("risk")

    # ---- judging ----

    def after_commit(self, caught_up: bool) -> None:
        """Judge once caught up with the log, and at least every few seconds while a backlog (a bulk send) lasts:
        that is when a level matters most."""
        if self.on_change is None or not self.changed:
            return
        now = time.monotonic()
        if caught_up or now - self._last_judgement >= BACKLOG_JUDGEMENT_SECONDS:
            self._last_judgement = now
            changed, self.changed = self.changed, set()
            self.on_change(changed)

    def discard_batch(self) -> None:
        self.changed = set()

    def when_idle(self) -> None:
        now = time.monotonic()
        if self.on_idle is not None and now - self._last_idle >= IDLE_JUDGEMENT_SECONDS:
            self._last_idle = now
            self.on_idle()

"""Read model of campaigns and their senders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, Text

from domain.campaigns import Campaign, CampaignSettings
from domain.dispositions import stored_disposition
from projections.base import BatchProjector, handles
from projections.sql import UtcDateTime, uid
from projections.unit_of_work import UnitOfWork


class CampaignsProjector(BatchProjector):
    name = "campaigns"

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        self.campaigns = Table(
            f"campaigns{suffix}", metadata,
            Column("id", String(36), primary_key=True),
            Column("code", String(40), nullable=False, unique=True),
            Column("name", String(120), nullable=False),
            Column("display_name", String(60), nullable=False),
            Column("archived", Boolean, nullable=False, default=False),
            Column("time_zone", String(64), nullable=False),
            Column("business_hours", JSON, nullable=False),
            Column("alert_after_minutes", Integer, nullable=False),
            Column("auto_close_after_hours", Integer, nullable=False),
            Column("routing_policy", String(20), nullable=False),
            Column("default_capacity", Integer, nullable=False),
            Column("agents_outside_hours_take_chats", Boolean, nullable=False),
            Column("closing_message", Text, nullable=False),
            Column("closing_template_sid", String(64), nullable=False),
            Column("dispositions", JSON, nullable=False),
            Column("flow_name", String(80), nullable=False),
            Column("templates", JSON, nullable=False),
            Column("break_reasons", JSON, nullable=False),
            Column("risk_thresholds", JSON, nullable=False),
            Column("metric_targets", JSON, nullable=False),
            Column("offline_requeue_minutes", Integer, nullable=False),
            Column("session_idle_minutes", Integer, nullable=False),
            Column("allow_parallel_sessions", Boolean, nullable=False),
            Column("survey_enabled", Boolean, nullable=False),
            Column("survey_question", Text, nullable=False),
            Column("survey_answer_hours", Integer, nullable=False),
            Column("created_at", UtcDateTime, nullable=False),
            Column("updated_at", UtcDateTime, nullable=False),
        )
        self.senders = Table(
            f"campaign_senders{suffix}", metadata,
            Column("campaign_id", String(36), primary_key=True),
            Column("address", String(80), primary_key=True, index=True),
            Column("channel", String(20), nullable=False),
            Column("is_default", Boolean, nullable=False),
        )

    def prefetch(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        batch.load(self.campaigns, [uid(e.originator_id) for e in events])

    @handles(Campaign.Created)
    def created(self, batch: UnitOfWork, event: Any) -> None:
        batch.replace(self.campaigns, id=uid(event.originator_id), code=event.code, name=event.name,
                      display_name=event.display_name, archived=False, **_settings_columns(event.settings),
                      created_at=event.at, updated_at=event.at)
        self.touch("campaigns")

    @handles(Campaign.Edited)
    def edited(self, batch: UnitOfWork, event: Any) -> None:
        batch.update(self.campaigns, uid(event.originator_id), name=event.name, display_name=event.display_name,
                     updated_at=event.at, **_settings_columns(event.settings))
        self.touch("campaigns")

    @handles(Campaign.Archived)
    def archived(self, batch: UnitOfWork, event: Any) -> None:
        batch.update(self.campaigns, uid(event.originator_id), archived=True, updated_at=event.at)
        self.touch("campaigns")

    @handles(Campaign.SenderLinked)
    def sender_linked(self, batch: UnitOfWork, event: Any) -> None:
        campaign_id = uid(event.originator_id)
        if event.is_default:
            for sender in batch.where(self.senders, "campaign_id", campaign_id):
                batch.update(self.senders, (campaign_id, sender["address"]), is_default=False)
        batch.replace(self.senders, campaign_id=campaign_id, address=event.address, channel=event.channel,
                      is_default=event.is_default)

    @handles(Campaign.SenderUnlinked)
    def sender_unlinked(self, batch: UnitOfWork, event: Any) -> None:
        campaign_id = uid(event.originator_id)
        batch.delete(self.senders, (campaign_id, event.address))
        remaining = batch.where(self.senders, "campaign_id", campaign_id)
        if remaining and not any(r["is_default"] for r in remaining):
            first = min(remaining, key=lambda r: r["address"])
            batch.update(self.senders, (campaign_id, first["address"]), is_default=True)


def _settings_columns(settings: dict[str, Any]) -> dict[str, Any]:
    return {key: settings[key] for key in (
        "time_zone", "business_hours", "alert_after_minutes", "auto_close_after_hours", "routing_policy",
        "default_capacity", "closing_message", "closing_template_sid", "flow_name")} | {
        "templates": list(settings.get("templates", [])),  # campaigns created before templates have none
        # campaigns saved before labels list bare codes
        "dispositions": [stored_disposition(d).to_dict() for d in settings["dispositions"]],
        "agents_outside_hours_take_chats": bool(settings.get("agents_outside_hours_take_chats", False))} | {
        # campaigns saved before presence settings read with their defaults
        key: getattr(CampaignSettings.from_dict(settings), key) for key in (
            "offline_requeue_minutes", "session_idle_minutes", "allow_parallel_sessions",
            "survey_enabled", "survey_question", "survey_answer_hours")} | {
        "break_reasons": list(CampaignSettings.from_dict(settings).break_reasons),
        "risk_thresholds": dict(settings.get("risk_thresholds", {})),
        "metric_targets": dict(settings.get("metric_targets", {}))}

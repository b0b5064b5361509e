"""Read model of campaigns and their senders."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    update,
)

from domain.campaigns import Campaign, CampaignSettings
from domain.dispositions import stored_disposition
from projections.base import Projector, handles
from projections.sql import UtcDateTime, uid, upsert


class CampaignsProjector(Projector):
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
            Column("offline_requeue_minutes", Integer, nullable=False),
            Column("session_idle_minutes", Integer, nullable=False),
            Column("allow_parallel_sessions", Boolean, nullable=False),
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

    @handles(Campaign.Created)
    def created(self, connection: Connection, event: Any) -> None:
        upsert(connection, self.campaigns, [{
            "id": uid(event.originator_id), "code": event.code, "name": event.name,
            "display_name": event.display_name, "archived": False, **_settings_columns(event.settings),
            "created_at": event.at, "updated_at": event.at,
        }], ["id"])
        self.touch("campaigns")

    @handles(Campaign.Edited)
    def edited(self, connection: Connection, event: Any) -> None:
        connection.execute(update(self.campaigns).where(self.campaigns.c.id == uid(event.originator_id)).values(
            name=event.name, display_name=event.display_name, updated_at=event.at,
            **_settings_columns(event.settings)))
        self.touch("campaigns")

    @handles(Campaign.Archived)
    def archived(self, connection: Connection, event: Any) -> None:
        connection.execute(update(self.campaigns).where(self.campaigns.c.id == uid(event.originator_id))
                           .values(archived=True, updated_at=event.at))
        self.touch("campaigns")

    @handles(Campaign.SenderLinked)
    def sender_linked(self, connection: Connection, event: Any) -> None:
        campaign_id = uid(event.originator_id)
        if event.is_default:
            connection.execute(update(self.senders).where(self.senders.c.campaign_id == campaign_id)
                               .values(is_default=False))
        upsert(connection, self.senders, [{"campaign_id": campaign_id, "address": event.address,
                                           "channel": event.channel, "is_default": event.is_default}],
               ["campaign_id", "address"])

    @handles(Campaign.SenderUnlinked)
    def sender_unlinked(self, connection: Connection, event: Any) -> None:
        campaign_id = uid(event.originator_id)
        connection.execute(delete(self.senders).where(self.senders.c.campaign_id == campaign_id,
                                                      self.senders.c.address == event.address))
        remaining = connection.execute(self.senders.select().where(self.senders.c.campaign_id == campaign_id)
                                       .order_by(self.senders.c.address)).mappings().all()
        if remaining and not any(r["is_default"] for r in remaining):
            first = min(remaining, key=lambda r: r["address"])
            connection.execute(update(self.senders).where(self.senders.c.campaign_id == campaign_id,
                                                          self.senders.c.address == first["address"])
                               .values(is_default=True))


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
            "offline_requeue_minutes", "session_idle_minutes", "allow_parallel_sessions")} | {
        "break_reasons": list(CampaignSettings.from_dict(settings).break_reasons)}

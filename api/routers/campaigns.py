"""Campaigns API: admins create, edit and archive; staff list what they may see."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CampaignsDep, ReadDb
from api.security import allow
from application.staff import Identity
from projections.admin_queries import campaign_row
from projections.queries import list_campaigns

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])
ADMINS = allow("admin")
STAFF = allow("admin", "supervisor", "auditor", "agent")


class TemplateIn(BaseModel):
    """An approved WhatsApp template: its name, Content SID and the names of its variables."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    content_sid: str = Field(pattern=r"^HX[0-9a-fA-F]{32}$")
    variables: list[str] = Field(default_factory=list, max_length=20)


class CampaignSettingsIn(BaseModel):
    """Any subset of a campaign's settings; what is left out keeps its current (or default) value."""

    model_config = ConfigDict(extra="forbid")

    time_zone: str | None = Field(default=None, examples=["America/Bogota"])
    business_hours: dict[str, list[str]] | None = Field(
        default=None, examples=[{"mon": ["08:00", "18:00"]}],
        description="Days mon…sun with [open, close]; a day left out is closed")
    alert_after_minutes: int | None = Field(default=None, description="Unanswered-chat alert (R6), default 30")
    auto_close_after_hours: int | None = Field(default=None,
                                               description="Close after customer silence (R7), default 24")
    routing_policy: Literal["least_load", "round_robin"] | None = None
    agents_outside_hours_take_chats: bool | None = Field(
        default=None, description="Outside business hours chats wait and the bot says when agents are back; "
                                  "true: agents working outside hours take them and the bot says nothing of hours")
    default_capacity: int | None = None
    closing_message: str | None = None
    closing_template_sid: str | None = Field(
        default=None, description="Content SID (HX…) of the approved WhatsApp closing template; required while "
                                  "the campaign has a WhatsApp sender (the 24-hour close can only send a template)")
    dispositions: list[str] | None = Field(
        default=None, examples=[["Acuerdo de pago *", "Número equivocado"]],
        description="Dispositions (tipificaciones) as people read them; each gets a code (acuerdo_de_pago), and one "
                    "the campaign already has keeps its code. A trailing '*' marks it effective (counted by the "
                    "effective close ratio); the campaign is read back with {code, label, effective}")
    flow_name: str | None = None
    templates: list[TemplateIn] | None = Field(
        default=None, description="Approved WhatsApp templates agents may send outside the 24-hour window")
    survey_enabled: bool | None = Field(
        default=None, description="Send the 1–5 satisfaction survey after the confirmation of closes an agent attended")
    survey_question: str | None = Field(default=None, max_length=500)
    survey_answer_hours: int | None = Field(
        default=None, description="How long after the close a 1–5 reply counts as the answer (default 24); later, or "
                                  "any other message, opens a new chat")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class SenderLink(BaseModel):
    address: str = Field(min_length=3, max_length=80, examples=["whatsapp:+573001112233"])
    channel: Literal["whatsapp", "sms", "messaging_service"]
    is_default: bool = False


class CampaignCreate(BaseModel):
    code: str = Field(min_length=2, max_length=40, examples=["banco_a"])
    name: str = Field(min_length=1, max_length=120)
    display_name: str = Field(min_length=1, max_length=60, description="What customers see")
    settings: CampaignSettingsIn = Field(default_factory=CampaignSettingsIn)
    senders: list[SenderLink] = Field(default_factory=list)


class CampaignUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    display_name: str = Field(min_length=1, max_length=60)
    settings: CampaignSettingsIn = Field(default_factory=CampaignSettingsIn)


class CampaignRef(BaseModel):
    id: UUID


@router.get("")
def campaigns(read_db: ReadDb, identity: Annotated[Identity, Depends(STAFF)],
              include_archived: bool = False) -> list[dict[str, Any]]:
    """Campaigns the caller may see: all for admins and auditors, their own for others."""
    rows = list_campaigns(read_db, include_archived=include_archived)
    if identity.role in ("admin", "auditor"):
        return rows
    return [r for r in rows if r["id"] in identity.campaigns]


@router.get("/{campaign_id}")
def campaign(campaign_id: UUID, read_db: ReadDb, identity: Annotated[Identity, Depends(STAFF)]) -> dict[str, Any]:
    """One campaign with its settings and senders."""
    row = campaign_row(read_db, str(campaign_id))
    if row is None or (identity.role not in ("admin", "auditor") and row["id"] not in identity.campaigns):
        raise HTTPException(status_code=404, detail="Campaña desconocida")
    return row


@router.post("", status_code=201, response_model=CampaignRef)
def create_campaign(body: CampaignCreate, campaigns: CampaignsDep,
                    identity: Annotated[Identity, Depends(ADMINS)]) -> CampaignRef:
    """Create a campaign (with its senders, if given)."""
    senders = [(s.address, s.channel, s.is_default) for s in body.senders]
    campaign_id = campaigns.register(body.code, body.name, body.display_name, body.settings.changes(),
                                              senders=senders, actor=f"user:{identity.id}")
    return CampaignRef(id=campaign_id)


@router.put("/{campaign_id}", status_code=204)
def edit_campaign(campaign_id: UUID, body: CampaignUpdate, campaigns: CampaignsDep,
                  identity: Annotated[Identity, Depends(ADMINS)]) -> None:
    """Edit a campaign's names and settings (the code never changes: it is the campaign's identity)."""
    campaigns.edit(campaign_id, body.name, body.display_name, body.settings.changes(),
                            actor=f"user:{identity.id}")


@router.post("/{campaign_id}/archive", status_code=204)
def archive_campaign(campaign_id: UUID, campaigns: CampaignsDep,
                     identity: Annotated[Identity, Depends(ADMINS)]) -> None:
    """Archive a campaign (its history stays)."""
    campaigns.archive(campaign_id, actor=f"user:{identity.id}")


@router.post("/{campaign_id}/senders", status_code=204)
def link_sender(campaign_id: UUID, body: SenderLink, campaigns: CampaignsDep,
                identity: Annotated[Identity, Depends(ADMINS)]) -> None:
    """Add a WhatsApp sender, SMS number or Messaging Service to a campaign (or make it the default)."""
    campaigns.link_sender(campaign_id, body.address, body.channel, is_default=body.is_default,
                          actor=f"user:{identity.id}")


@router.delete("/{campaign_id}/senders/{address}", status_code=204)
def unlink_sender(campaign_id: UUID, address: str, campaigns: CampaignsDep,
                  identity: Annotated[Identity, Depends(ADMINS)]) -> None:
    """Stop using a sender; if it was the default, another one becomes the default."""
    campaigns.unlink_sender(campaign_id, address, actor=f"user:{identity.id}")

"""Campaigns API: admins create, edit and archive; staff list what they may see."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import DespachoDep
from api.security import allow
from application.staff import Identity
from projections.queries import list_campaigns

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])
ADMINS = allow("admin")


class CampaignCreate(BaseModel):
    code: str = Field(min_length=2, max_length=40, examples=["banco_a"])
    name: str = Field(min_length=1, max_length=120)
    display_name: str = Field(min_length=1, max_length=60, description="What customers see")
    settings: dict[str, Any] = Field(default_factory=dict, description="Overrides of the default settings")


class CampaignUpdate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    display_name: str = Field(min_length=1, max_length=60)
    settings: dict[str, Any] = Field(default_factory=dict)


class SenderLink(BaseModel):
    address: str = Field(min_length=3, max_length=80, examples=["whatsapp:+573001112233"])
    channel: str = Field(pattern="^(whatsapp|sms|messaging_service)$")
    is_default: bool = False


class CampaignRef(BaseModel):
    id: UUID


@router.get("")
def campaigns(despacho: DespachoDep,
              identity: Annotated[Identity, Depends(allow("admin", "supervisor", "auditor", "agent"))],
              include_archived: bool = False) -> list[dict[str, Any]]:
    """Campaigns the caller may see: all for admins and auditors, their own for others."""
    rows = list_campaigns(despacho.read_engine, include_archived=include_archived)
    if identity.role in ("admin", "auditor"):
        return rows
    return [r for r in rows if r["id"] in identity.campaigns]


@router.post("", status_code=201, response_model=CampaignRef)
def create_campaign(body: CampaignCreate, despacho: DespachoDep,
                    identity: Annotated[Identity, Depends(ADMINS)]) -> CampaignRef:
    """Create a campaign."""
    campaign_id = despacho.campaigns.register(body.code, body.name, body.display_name, body.settings,
                                              actor=f"user:{identity.id}")
    return CampaignRef(id=campaign_id)


@router.put("/{campaign_id}", status_code=204)
def edit_campaign(campaign_id: UUID, body: CampaignUpdate, despacho: DespachoDep,
                  identity: Annotated[Identity, Depends(ADMINS)]) -> None:
    """Edit a campaign's names and settings."""
    despacho.campaigns.edit(campaign_id, body.name, body.display_name, body.settings, actor=f"user:{identity.id}")


@router.post("/{campaign_id}/archive", status_code=204)
def archive_campaign(campaign_id: UUID, despacho: DespachoDep,
                     identity: Annotated[Identity, Depends(ADMINS)]) -> None:
    """Archive a campaign (its history stays)."""
    despacho.campaigns.archive(campaign_id, actor=f"user:{identity.id}")


@router.post("/{campaign_id}/senders", status_code=204)
def link_sender(campaign_id: UUID, body: SenderLink, despacho: DespachoDep,
                identity: Annotated[Identity, Depends(ADMINS)]) -> None:
    """Add a WhatsApp sender, SMS number or Messaging Service to a campaign."""
    despacho.campaigns.link_sender(campaign_id, body.address, body.channel, is_default=body.is_default,
                                   actor=f"user:{identity.id}")

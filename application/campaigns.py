"""Use cases for campaigns: register, edit, archive, senders."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.ports import Clock
from application.store import EventStore
from domain.campaigns import Campaign, CampaignError, CampaignSettings
from domain.common import NotFoundError
from domain.dispositions import DEFAULT_DISPOSITIONS, Disposition, typed_dispositions


class CampaignExistsError(CampaignError):
    pass


class UnknownCampaignError(CampaignError, NotFoundError):
    pass


class UnknownFlowError(CampaignError):
    pass


class CampaignService:
    def __init__(self, store: EventStore, clock: Clock, flow_names: Collection[str]) -> None:
        """`flow_names`: the bot flows that exist (the flow catalogue's names); campaigns may name no other."""
        self.store = store
        self.clock = clock
        self.flow_names = sorted(flow_names)

    def register(self, code: str, name: str, display_name: str, settings: dict[str, Any], *,
                 senders: Sequence[tuple[str, str, bool]] = (), actor: str) -> UUID:
        """A new campaign with its senders (address, channel, is_default), saved together.

        `settings["dispositions"]`, when given, are the labels people read ("Acuerdo de pago"); each gets a code.
        """
        now = self.clock.now()
        settings = with_typed_dispositions(settings, DEFAULT_DISPOSITIONS)
        campaign_settings = self._with_known_flow(CampaignSettings.from_dict(settings))
        campaign = Campaign.register(code.strip().lower(), name, display_name, campaign_settings, actor=actor, at=now)
        for address, channel, is_default in senders:
            campaign.link_sender(address, channel, is_default=is_default, actor=actor, at=now)
        try:
            self.store.save(campaign)
        except IntegrityError as exc:
            raise CampaignExistsError("Ya existe una campaña con el código %(code)s", code=code) from exc
        return campaign.id

    def edit(self, campaign_id: UUID, name: str, display_name: str, changes: dict[str, Any], *,
             actor: str) -> None:
        """Typed dispositions that name one the campaign has keep its code, so the closes already counted stay."""
        campaign = self.get(campaign_id)
        changes = with_typed_dispositions(changes, campaign.settings.dispositions)
        campaign.edit(name=name, display_name=display_name,
                      settings=self._with_known_flow(campaign.settings.updated(changes)), actor=actor,
                      at=self.clock.now())
        self.store.save(campaign)

    def archive(self, campaign_id: UUID, *, actor: str) -> None:
        campaign = self.get(campaign_id)
        campaign.archive(actor=actor, at=self.clock.now())
        self.store.save(campaign)

    def link_sender(self, campaign_id: UUID, address: str, channel: str, *, is_default: bool,
                    actor: str) -> None:
        campaign = self.get(campaign_id)
        campaign.link_sender(address, channel, is_default=is_default, actor=actor, at=self.clock.now())
        self.store.save(campaign)

    def unlink_sender(self, campaign_id: UUID, address: str, *, actor: str) -> None:
        campaign = self.get(campaign_id)
        campaign.unlink_sender(address, actor=actor, at=self.clock.now())
        self.store.save(campaign)

    def _with_known_flow(self, settings: CampaignSettings) -> CampaignSettings:
        """A name outside the catalogue would silently run the default flow (or name a path): refuse it."""
        if settings.flow_name not in self.flow_names:
            raise UnknownFlowError("No existe el flujo del bot '%(flow)s'. Flujos disponibles: %(flows)s",
                                   flow=settings.flow_name, flows=", ".join(self.flow_names))
        return settings

    def get(self, campaign_id: UUID) -> Campaign:
        try:
            campaign: Campaign = self.store.repository.get(campaign_id)
        except AggregateNotFoundError as exc:
            raise UnknownCampaignError("Campaña desconocida") from exc
        return campaign

    def id_for_code(self, code: str) -> UUID:
        campaign_id: UUID = Campaign.create_id(code.strip().lower())
        self.get(campaign_id)
        return campaign_id


def with_typed_dispositions(settings: dict[str, Any], existing: Sequence[Disposition]) -> dict[str, Any]:
    if "dispositions" not in settings:
        return settings
    typed = typed_dispositions([str(line) for line in settings["dispositions"]], existing)
    return {**settings, "dispositions": [d.to_dict() for d in typed]}

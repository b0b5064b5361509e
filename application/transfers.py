"""Moving a chat to another campaign that also holds its identified customer (issue 15, item 12).

The chat leaves its agent (released in the same save) and waits in the new campaign's queue; the routing follower
then assigns it there like any queued chat, so R1 holds: only members of the new campaign can get it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from application.campaigns import CampaignService
from application.ports import Clock
from application.staff import StaffService
from application.store import EventStore, aggregate_or, retry_on_conflict
from domain.agents import Agent
from domain.chats import Chat, ChatError, check_may_transfer
from domain.common import actor_for_user
from domain.documents import CustomerIdentity
from domain.flows.world import CampaignRef


class CustomerCampaigns(Protocol):
    """The active campaigns whose active portfolio holds a document (projections.portfolio_directory)."""

    def campaigns_holding(self, customer: CustomerIdentity) -> Sequence[CampaignRef]: ...


class CampaignTransfers:
    def __init__(self, store: EventStore, clock: Clock, staff: StaffService, campaigns: CampaignService,
                 holders: CustomerCampaigns) -> None:
        self.store = store
        self.clock = clock
        self.staff = staff
        self.campaigns = campaigns
        self.holders = holders

    def transfer(self, chat_id: str, campaign_id: str, *, reason: str, user_id: str) -> None:
        """The assigned agent, a supervisor of the chat's campaign or an admin moves the chat, saying why."""
        user = self.staff.get(UUID(user_id))

        def command() -> None:
            chat = self._chat(chat_id)
            check_may_transfer(chat, role=user.role, user_id=user_id, user_campaigns=user.campaigns)
            target = self.campaigns.get(_campaign_uuid(campaign_id))
            holding = {ref.campaign_id for ref in self.holders.campaigns_holding(_identity(chat))}
            previous = self._agent(chat.agent_id) if chat.agent_id else None
            now, actor = self.clock.now(), actor_for_user(user_id)
            chat.transfer_to_campaign(campaign_id, reason=reason, holds_customer=campaign_id in holding,
                                      archived=target.archived, actor=actor, at=now)
            if previous is None:
                self.store.save(chat)
                return
            previous.release_chat(chat_id, reason="transferred", actor=actor, at=now)
            self.store.save(chat, previous)

        retry_on_conflict(command)

    def _chat(self, chat_id: str) -> Chat:
        return aggregate_or(self.store, chat_id, Chat, ChatError("Chat desconocido"))

    def _agent(self, agent_id: str) -> Agent:
        agent: Agent = self.store.repository.get(UUID(agent_id))
        return agent


def _identity(chat: Chat) -> CustomerIdentity:
    return CustomerIdentity(chat.document_type, chat.document_number)


def _campaign_uuid(campaign_id: str) -> UUID:
    try:
        return UUID(campaign_id)
    except ValueError as exc:
        raise ChatError("Elija la campaña de destino") from exc

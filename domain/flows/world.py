"""What the bot needs to know about the outside world, answered by the application layer.

One `BotWorld` serves one chat: it already knows which number the customer wrote to. It only
ever hands the bot campaign ids and public display names, so the bot cannot show portfolio
data (balances, debts, names) even by mistake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.documents import CustomerIdentity


@dataclass(frozen=True)
class CampaignRef:
    campaign_id: str
    display_name: str


@dataclass(frozen=True)
class BusinessHours:
    is_open: bool
    next_opening: str
    """Preformatted Spanish, e.g. 'mañana a las 8:00 a. m.'; empty while open."""


class BotWorld(Protocol):
    def campaigns_for_customer(self, customer: CustomerIdentity) -> Sequence[CampaignRef]:
        """The campaigns whose portfolio holds this customer, active (any order, possibly none)."""
        ...

    def campaign_of_number_written_to(self) -> CampaignRef | None:
        """The campaign that owns the number the customer wrote to, if exactly one does."""
        ...

    def business_hours(self, campaign_id: str | None, at: datetime) -> BusinessHours:
        """Whether agents are in; `campaign_id` None asks about the unidentified queue."""
        ...

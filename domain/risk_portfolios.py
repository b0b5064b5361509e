"""Which senders share a Meta business portfolio, and the messaging-limit tier each portfolio is on.

Meta counts the unique customers a portfolio reaches with business-initiated messages over a rolling 24
hours, across all of its numbers. Senders no portfolio names share the account's default portfolio.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.common import DomainError
from domain.risk_thresholds import META_TIERS

DEFAULT_PORTFOLIO = "cuenta"


class PortfolioSettingError(DomainError):
    pass


@dataclass(frozen=True)
class Portfolio:
    name: str
    tier: int  # 0: unlimited
    senders: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Portfolios:
    named: tuple[Portfolio, ...] = ()
    default_tier: int = META_TIERS[0]

    @classmethod
    def from_setting(cls, setting: Mapping[str, Mapping[str, Any]], default_tier: int) -> Portfolios:
        """`{"name": {"tier": 2000, "senders": ["whatsapp:+57…"]}}`; tiers are Meta's (0 = unlimited)."""
        named = tuple(Portfolio(name, int(spec.get("tier", default_tier)), frozenset(spec.get("senders", ())))
                      for name, spec in setting.items())
        portfolios = cls(named, default_tier)
        portfolios.check()
        return portfolios

    def check(self) -> None:
        for tier in (self.default_tier, *(p.tier for p in self.named)):
            if tier not in META_TIERS:
                raise PortfolioSettingError("El nivel de límite de Meta %(tier)s no existe: use 250, 2000, 10000, "
                                            "100000 o 0 (ilimitado)", tier=tier)
        seen: set[str] = set()
        for portfolio in self.named:
            if portfolio.senders & seen:
                raise PortfolioSettingError("Un remitente está en dos portafolios: %(senders)s",
                                            senders=", ".join(sorted(portfolio.senders & seen)))
            seen |= portfolio.senders

    def of(self, sender: str) -> Portfolio:
        for portfolio in self.named:
            if sender in portfolio.senders:
                return portfolio
        return Portfolio(DEFAULT_PORTFOLIO, self.default_tier)

    def members(self, portfolio: Portfolio, senders: Iterable[str]) -> list[str]:
        """The senders (of those known) that share this portfolio."""
        return sorted(s for s in senders if self.of(s).name == portfolio.name)

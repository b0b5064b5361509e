"""Judging senders' block and spam risk: the follower's reaction to traffic, and what `risk status` shows.

The risk projector (projections/risk.py) hands over the senders a committed batch touched; each is judged on
its signals now (and, for the portfolio's reach, on every sender of its portfolio), and a level change is
saved as `SenderRisk.LevelChanged` in one save with an alert, per campaign of the sender, to its supervisors
and the admins when the level rose. The aggregate's version makes two evaluators of one sender collide, so a
change is recorded once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from eventsourcing.persistence import IntegrityError

from application.ports import Clock
from application.store import EventStore
from domain.delivery_alerts import DeliveryAlert
from domain.risk import SenderRisk, assess
from domain.risk_portfolios import Portfolios
from domain.risk_thresholds import (
    CAMPAIGN_SIGNALS,
    Signal,
    Threshold,
    Traffic,
    failures_by_category,
    signals,
    thresholds_for,
)
from domain.throttling import SenderRates

JUDGE = "system:risk"


@dataclass(frozen=True)
class SenderFacts:
    sender: str
    channel: str
    campaign_ids: tuple[str, ...]


@dataclass(frozen=True)
class TrafficScope:
    """Whose traffic: some senders, one campaign, or both (None: no restriction)."""

    senders: Collection[str] | None = None
    campaign_id: str | None = None


class RiskDirectory(Protocol):
    def senders(self) -> list[SenderFacts]: ...

    def traffic(self, now: datetime, scope: TrafficScope) -> Traffic: ...

    def campaign_thresholds(self, campaign_ids: Collection[str]) -> list[dict[str, list[float]]]: ...

    def reach(self, now: datetime, senders: Collection[str]) -> int: ...


@dataclass(frozen=True)
class SenderReading:
    """One sender judged now: its signals, its portfolio and the level they make."""

    facts: SenderFacts
    portfolio: str
    tier: int
    signals: dict[str, Signal]
    thresholds: dict[str, Threshold]
    level: str
    failures_by_category: dict[str, int]
    rate: float  # messages per second the sender may send (what `rate_usage` is measured against)


class RiskMonitor:
    def __init__(self, store: EventStore, clock: Clock, directory: RiskDirectory, portfolios: Portfolios,
                 rates: SenderRates | None = None) -> None:
        self.store = store
        self.clock = clock
        self.directory = directory
        self.portfolios = portfolios
        self.rates = rates or SenderRates()

    def read(self, now: datetime | None = None, only: Collection[str] | None = None) -> list[SenderReading]:
        """Every known sender (or those of `only`) with its signals and the level they make at `now`."""
        now = now or self.clock.now()
        known = self.directory.senders()
        everyone = [facts.sender for facts in known]
        reach: dict[str, int] = {}
        readings = []
        for facts in known:
            if only is not None and facts.sender not in only:
                continue
            portfolio = self.portfolios.of(facts.sender)
            if portfolio.name not in reach:
                reach[portfolio.name] = self.directory.reach(now, self.portfolios.members(portfolio, everyone))
            traffic = self.directory.traffic(now, TrafficScope(senders=[facts.sender]))
            rate = self.rates.of(facts.sender)
            found = signals(traffic, sender_rate=rate, portfolio_customers_24h=reach[portfolio.name],
                            tier=portfolio.tier)
            thresholds = thresholds_for(self.directory.campaign_thresholds(facts.campaign_ids))
            readings.append(SenderReading(facts, portfolio.name, portfolio.tier, found, thresholds,
                                          assess(found, thresholds).level,
                                          failures_by_category(traffic.errors_24h or {}), rate))
        return readings

    def portfolio_senders(self, sender: str) -> list[str]:
        """The known senders of this sender's Meta portfolio (itself included), whose reach Meta counts together."""
        everyone = [facts.sender for facts in self.directory.senders()]
        return sorted({sender, *self.portfolios.members(self.portfolios.of(sender), everyone)})

    def campaign_signals(self, campaign_id: str, now: datetime | None = None) -> dict[str, Signal]:
        """A campaign's own traffic over all its senders (`CAMPAIGN_SIGNALS`)."""
        found = signals(self.directory.traffic(now or self.clock.now(), TrafficScope(campaign_id=campaign_id)),
                        sender_rate=1.0, portfolio_customers_24h=0, tier=0)
        return {name: found[name] for name in CAMPAIGN_SIGNALS}

    def judge(self, touched: Iterable[str] | None = None, now: datetime | None = None) -> int:
        """Judge the touched senders and those sharing a portfolio with them (all, without `touched`); returns
        how many level changes were recorded."""
        now = now or self.clock.now()
        only = None
        if touched is not None:
            portfolios = {self.portfolios.of(sender).name for sender in touched}
            only = {facts.sender for facts in self.directory.senders()
                    if self.portfolios.of(facts.sender).name in portfolios}
        return sum(self._judge_one(reading, now) for reading in self.read(now, only))

    def _judge_one(self, reading: SenderReading, now: datetime) -> int:
        sender = reading.facts.sender
        risk_id = SenderRisk.create_id(sender)
        new = risk_id not in self.store.repository
        risk = SenderRisk.start(sender, actor=JUDGE, at=now) if new else self.store.repository.get(risk_id)
        if not risk.judge(assess(reading.signals, reading.thresholds, risk.signal), actor=JUDGE, at=now):
            return 0
        try:
            self.store.save(risk, *self._alerts(risk, reading, now))
        except IntegrityError:  # another evaluator recorded this sender's change first
            return 0
        return 1

    def _alerts(self, risk: SenderRisk, reading: SenderReading, now: datetime) -> list[DeliveryAlert]:
        if not risk.rose:
            return []
        return [DeliveryAlert.sender_risk(sender=risk.sender, campaign_id=campaign_id, level=risk.level,
                                          signal=risk.signal, figures=_figures(reading, risk.signal),
                                          change=risk.version, actor=JUDGE, at=now)
                for campaign_id in (reading.facts.campaign_ids or ("",))]


def _figures(reading: SenderReading, signal: str) -> dict[str, object]:
    moving = reading.signals.get(signal, Signal(0.0, 0))
    return {"level": reading.level, "signal": signal, "value": moving.value, "sample": moving.sample,
            "portfolio": reading.portfolio}

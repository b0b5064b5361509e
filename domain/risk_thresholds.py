"""Block and spam risk of a sender: the signals, how each is computed from traffic counts, and its thresholds.

The one place thresholds live (docs/es/riesgo-spam.md explains each and why). A campaign may override any
of them (`CampaignSettings.risk_thresholds`: signal → [watch, high, critical]); a sender several campaigns
use is judged by the strictest value of each level among them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from domain.common import DomainError
from domain.delivery_errors import explain
from domain.labels import RISK_SIGNALS

LEVELS = ("ok", "watch", "high", "critical")
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}

# Meta's messaging limits: unique customers a business portfolio reaches with business-initiated messages in a
# rolling 24 hours. 0 stands for unlimited.
META_TIERS = (250, 2000, 10000, 100000, 0)
# Despacho's own refusals never reached Twilio, so they say nothing about the sender's reputation (`customer_cap`:
# the throttle's per-customer cap, application/throttle.py).
DESPACHO_REFUSALS = frozenset({"opted_out", "outside_window", "customer_cap"})
# Error codes that stand for a block or a report, each its own signal.
BLOCK_CODES = {"63014": "blocked_rate", "63049": "marketing_refused_rate", "30007": "spam_filtered_rate",
               "30004": "carrier_blocked_rate"}


class RiskThresholdError(DomainError):
    pass


@dataclass(frozen=True)
class Threshold:
    """The values at which a signal reaches each level; `rising` False when a lower value is worse."""

    watch: float
    high: float
    critical: float
    rising: bool = True
    min_sample: int = 0  # judged only once this many messages (or customers) are in the window

    def level_of(self, value: float, sample: int) -> str:
        if sample < self.min_sample:
            return "ok"
        for level in ("critical", "high", "watch"):
            if self.reached(level, value):
                return level
        return "ok"

    def reached(self, level: str, value: float) -> bool:
        limit = self.value_for(level)
        return value >= limit if self.rising else value <= limit

    def value_for(self, level: str) -> float:
        return {"watch": self.watch, "high": self.high, "critical": self.critical}[level]

    def stricter(self, other: Threshold) -> Threshold:
        pick = min if self.rising else max
        return replace(self, watch=pick(self.watch, other.watch), high=pick(self.high, other.high),
                       critical=pick(self.critical, other.critical))


DEFAULT_THRESHOLDS: Mapping[str, Threshold] = {
    "rate_usage": Threshold(0.5, 0.8, 1.0),
    "tier_usage": Threshold(0.7, 0.9, 1.0),
    "business_per_customer_24h": Threshold(2, 3, 5),
    "business_per_customer_7d": Threshold(4, 7, 10),
    "reply_rate": Threshold(0.10, 0.05, 0.02, rising=False, min_sample=20),
    "opt_out_rate": Threshold(0.02, 0.05, 0.10, min_sample=20),
    "blocked_rate": Threshold(0.01, 0.02, 0.05, min_sample=50),
    "marketing_refused_rate": Threshold(0.05, 0.10, 0.20, min_sample=50),
    "spam_filtered_rate": Threshold(0.01, 0.02, 0.04, min_sample=50),
    "carrier_blocked_rate": Threshold(0.01, 0.03, 0.05, min_sample=50),
    "failure_rate": Threshold(0.10, 0.20, 0.35, min_sample=20),
    "template_failure_rate": Threshold(0.05, 0.10, 0.20, min_sample=10),
}
"""Judged signals, in the order that breaks ties (the first signal at the worst level moves the level)."""

SHOWN_SIGNALS = ("per_second", "per_minute", "per_hour", "business_customers_24h")
"""Signals shown beside the judged ones, with no threshold of their own."""


@dataclass(frozen=True)
class Traffic:
    """What one sender (or campaign, or portfolio) did in the windows ending now, as counted by the read side."""

    last_minute: int = 0
    last_hour: int = 0
    last_24h: int = 0
    customers_24h: int = 0
    business_customers_24h: int = 0
    business_customers_answered_24h: int = 0
    most_business_to_one_customer_24h: int = 0
    most_business_to_one_customer_7d: int = 0
    opt_outs_24h: int = 0
    failed_24h: int = 0
    errors_24h: Mapping[str, int] | None = None
    templates_24h: int = 0
    templates_failed_24h: int = 0


@dataclass(frozen=True)
class Signal:
    value: float
    sample: int  # how many messages or customers the value is computed over


def signals(traffic: Traffic, *, sender_rate: float, portfolio_customers_24h: int,
            tier: int) -> dict[str, Signal]:
    """Every signal of a sender from its traffic, its Twilio rate and its portfolio's reach against its tier."""
    errors = traffic.errors_24h or {}
    sent = traffic.last_24h
    per_second = traffic.last_minute / 60
    found = {
        "per_second": Signal(round(per_second, 4), traffic.last_minute),
        "per_minute": Signal(traffic.last_minute, traffic.last_minute),
        "per_hour": Signal(traffic.last_hour, traffic.last_hour),
        "business_customers_24h": Signal(traffic.business_customers_24h, traffic.business_customers_24h),
        "rate_usage": Signal(_ratio(per_second, sender_rate), traffic.last_minute),
        "tier_usage": Signal(_ratio(portfolio_customers_24h, tier) if tier else 0.0, portfolio_customers_24h),
        "business_per_customer_24h": Signal(traffic.most_business_to_one_customer_24h, traffic.business_customers_24h),
        "business_per_customer_7d": Signal(traffic.most_business_to_one_customer_7d, traffic.business_customers_24h),
        "reply_rate": Signal(_ratio(traffic.business_customers_answered_24h, traffic.business_customers_24h),
                             traffic.business_customers_24h),
        "opt_out_rate": Signal(_ratio(traffic.opt_outs_24h, traffic.customers_24h), traffic.customers_24h),
        "failure_rate": Signal(_ratio(traffic.failed_24h, sent), sent),
        "template_failure_rate": Signal(_ratio(traffic.templates_failed_24h, traffic.templates_24h),
                                        traffic.templates_24h),
    }
    for code, name in BLOCK_CODES.items():
        found[name] = Signal(_ratio(errors.get(code, 0), sent), sent)
    return found


CAMPAIGN_SIGNALS = ("per_hour", "business_customers_24h", "business_per_customer_24h", "reply_rate", "opt_out_rate",
                    "failure_rate", "template_failure_rate", *BLOCK_CODES.values())
"""The signals that mean something for a campaign's traffic across its senders (rates and reach are per sender
or per portfolio)."""


def shown(name: str, value: float) -> str:
    """A signal's value as people read it: rates and usages as percentages, counts as whole numbers."""
    if name.endswith(("_rate", "_usage")):
        return f"{value * 100:.1f} %".replace(".", ",")
    if name == "per_second":
        return f"{value:.2f}".replace(".", ",")
    return f"{value:.0f}"


def failures_by_category(errors: Mapping[str, int]) -> dict[str, int]:
    """Failures per category of the error taxonomy (domain/delivery_errors.py), most frequent first."""
    counts: dict[str, int] = {}
    for code, failures in errors.items():
        category = explain(code).category if code else "unknown"
        counts[category] = counts.get(category, 0) + failures
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _ratio(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


def thresholds_for(overrides: Iterable[Mapping[str, list[float]]]) -> dict[str, Threshold]:
    """A sender's thresholds: each campaign's own (its overrides, else the defaults), the strictest of each level
    among the sender's campaigns (one mapping per campaign); the defaults for a sender of no campaign."""
    per_campaign = [_campaign_thresholds(campaign) for campaign in overrides]
    if not per_campaign:
        return dict(DEFAULT_THRESHOLDS)
    merged = per_campaign[0]
    for other in per_campaign[1:]:
        merged = {name: threshold.stricter(other[name]) for name, threshold in merged.items()}
    return merged


def _campaign_thresholds(overrides: Mapping[str, list[float]]) -> dict[str, Threshold]:
    return {name: replace(default, watch=overrides[name][0], high=overrides[name][1], critical=overrides[name][2])
            if name in overrides else default for name, default in DEFAULT_THRESHOLDS.items()}


def check_overrides(overrides: Mapping[str, list[float]]) -> None:
    """A campaign's thresholds: known signals, three numbers each, ordered from watch to critical."""
    for name, values in overrides.items():
        if name not in DEFAULT_THRESHOLDS:
            raise RiskThresholdError("Señal de riesgo desconocida: %(signal)s", signal=name)
        if not isinstance(values, list | tuple) or len(values) != 3 or \
                not all(isinstance(v, int | float) and v >= 0 for v in values):
            raise RiskThresholdError("Los umbrales de %(signal)s son tres números no negativos: vigilancia, alto y "
                                     "crítico", signal=RISK_SIGNALS.get(name, name))
        watch, high, critical = values
        shown_name = RISK_SIGNALS.get(name, name)
        ordered = watch <= high <= critical if DEFAULT_THRESHOLDS[name].rising else watch >= high >= critical
        if not ordered:
            raise RiskThresholdError("Los umbrales de %(signal)s van de vigilancia a crítico, cada uno más severo "
                                     "que el anterior", signal=shown_name)

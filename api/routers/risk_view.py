"""What a sender's risk charts show, point by point: each point's signals computed by the judge's own definition
(`domain.risk_thresholds.signals`) from the windows the history query read, and each cell as people read it.

A chart is drawn from its table (api/static/dashboard.js); a row's `marks` are the levels the sender changed to
during that step, which the chart marks on the time axis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from application.risk import SenderReading
from domain.delivery_errors import CATEGORY_LABELS
from domain.labels import RISK_SIGNALS
from domain.risk_thresholds import BLOCK_CODES, Signal, failures_by_category, shown, signals
from projections.risk_windows import HistoryPoint

CUSTOMER_SIGNALS = ("reply_rate", "opt_out_rate")
BLOCK_SIGNALS = tuple(BLOCK_CODES.values())


@dataclass(frozen=True)
class Cell:
    value: float  # what the chart plots (percentages for rates)
    text: str  # what the table shows


@dataclass(frozen=True)
class ChartRow:
    at: datetime
    cells: list[Cell]
    marks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Charts:
    volume: list[ChartRow]
    reach: list[ChartRow]
    customers: list[ChartRow]
    blocks: list[ChartRow]
    failures: list[ChartRow]
    # The series of the rate charts, as msgids (the failures chart: the failure rate, then each category's).
    customer_series: list[str]
    block_series: list[str]
    failure_series: list[str]


def count(value: float) -> Cell:
    return Cell(value, shown("per_minute", value))


def rate(name: str, value: float) -> Cell:
    return Cell(round(value * 100, 2), shown(name, value))


def charts(points: Sequence[HistoryPoint], reading: SenderReading) -> Charts:
    per_minute_limit = reading.rate * 60
    found = [(point, signals(point.traffic, sender_rate=reading.rate, tier=reading.tier,
                             portfolio_customers_24h=point.portfolio_business_customers_24h)) for point in points]
    categories = sorted({category for point in points for category in failures_by_category(point.traffic.errors_24h
                                                                                            or {})})

    def rows(cells_of: Callable[[HistoryPoint, dict[str, Signal]], list[Cell]]) -> list[ChartRow]:
        return [ChartRow(point.at, cells_of(point, found_signals), [change["level"] for change in point.changes])
                for point, found_signals in found]

    def category_rates(point: HistoryPoint) -> list[Cell]:
        failed = failures_by_category(point.traffic.errors_24h or {})
        sent = point.traffic.last_24h
        return [rate("failure_rate", failed.get(category, 0) / sent if sent else 0.0) for category in categories]

    return Charts(
        volume=rows(lambda p, s: [count(p.messages), count(p.busiest_minute), count(per_minute_limit)]),
        reach=rows(lambda p, s: [count(p.traffic.business_customers_24h), count(p.portfolio_business_customers_24h)]
                   + ([count(reading.tier)] if reading.tier else [])),
        customers=rows(lambda p, s: [rate(name, s[name].value) for name in CUSTOMER_SIGNALS]),
        blocks=rows(lambda p, s: [rate(name, s[name].value) for name in BLOCK_SIGNALS]),
        failures=rows(lambda p, s: [rate("failure_rate", s["failure_rate"].value), *category_rates(p)]),
        customer_series=[RISK_SIGNALS[name] for name in CUSTOMER_SIGNALS],
        block_series=[RISK_SIGNALS[name] for name in BLOCK_SIGNALS],
        failure_series=[RISK_SIGNALS["failure_rate"], *(CATEGORY_LABELS.get(category, category)
                                                         for category in categories)])

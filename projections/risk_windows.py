"""A sender's risk traffic at several instants: the rolling windows a chart of its signals plots.

At each point the windows end at the point's instant and hold the minute buckets after `at - window` and not
after `at`, as `projections/risk_queries.py` `traffic` reads them at `now` (the last point is `now`, so it equals
the signals shown as they are now). The minute and error rows are read once for the whole range and folded here;
the per-customer figures are counted per point by the query; the 7-day figure per customer is left out (no chart
shows it).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from domain.risk_thresholds import Traffic

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
MINUTE_COLUMNS = ("messages", "templates", "templates_failed", "failed", "opt_outs")


@dataclass(frozen=True)
class HistoryPoint:
    at: datetime
    messages: int  # requested in the step that ends at `at`
    busiest_minute: int  # messages in the busiest minute of that step
    traffic: Traffic  # the windows ending at `at`
    portfolio_business_customers_24h: int  # unique customers the sender's whole Meta portfolio reached so
    changes: tuple[dict[str, Any], ...]  # level changes inside the step, oldest first


def points_ending(now: datetime, span: timedelta, step: timedelta) -> list[datetime]:
    """The instants a chart plots, oldest first, the last of them `now`."""
    return [now - step * k for k in range(span // step - 1, -1, -1)]


class Sums:
    """Sums of a column over any window, from the rows' prefix sums."""

    def __init__(self, rows: Sequence[dict[str, Any]], columns: Iterable[str]) -> None:
        ordered = sorted(rows, key=lambda row: row["minute"])
        self.minutes = [row["minute"] for row in ordered]
        self.prefix = {name: [0, *accumulate(row[name] for row in ordered)] for name in columns}

    def over(self, name: str, end: datetime, length: timedelta) -> int:
        prefix = self.prefix[name]
        return int(prefix[bisect_right(self.minutes, end)] - prefix[bisect_right(self.minutes, end - length)])

    def busiest(self, end: datetime, length: timedelta) -> int:
        """The most messages of one minute in the window (rows of one minute from several campaigns added)."""
        per_minute: dict[datetime, int] = {}
        start = bisect_right(self.minutes, end - length)
        for n in range(start, bisect_right(self.minutes, end)):
            minute = self.minutes[n]
            per_minute[minute] = per_minute.get(minute, 0) + self.prefix["messages"][n + 1] - self.prefix["messages"][n]
        return max(per_minute.values(), default=0)


def errors_over(rows: Sequence[dict[str, Any]], end: datetime) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        if end - DAY < row["minute"] <= end:
            counts[str(row["error_code"])] = counts.get(str(row["error_code"]), 0) + int(row["failures"])
    return counts


def history(points: Sequence[datetime], step: timedelta, minutes: Sequence[dict[str, Any]],
            errors: Sequence[dict[str, Any]], customers: Sequence[dict[str, int]], portfolio: Sequence[int],
            changes: Sequence[dict[str, Any]]) -> list[HistoryPoint]:
    """The points from the sender's minute and error rows of the range, and each point's customer figures and
    portfolio reach (counted per point by the database: one row per customer and point would be too many here)."""
    sums = Sums(minutes, MINUTE_COLUMNS)
    found = []
    for end, figures, portfolio_reach in zip(points, customers, portfolio, strict=True):
        traffic = Traffic(last_minute=sums.over("messages", end, MINUTE), last_hour=sums.over("messages", end, HOUR),
                          last_24h=sums.over("messages", end, DAY), opt_outs_24h=sums.over("opt_outs", end, DAY),
                          failed_24h=sums.over("failed", end, DAY), templates_24h=sums.over("templates", end, DAY),
                          templates_failed_24h=sums.over("templates_failed", end, DAY),
                          errors_24h=errors_over(errors, end), **figures)
        found.append(HistoryPoint(end, sums.over("messages", end, step), sums.busiest(end, step), traffic,
                                  portfolio_reach,
                                  tuple(c for c in changes if end - step < c["at"] <= end)))
    return found

"""A KPI card of the dashboards: what one figure is, its value, and the target it is read against."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine


@dataclass(frozen=True)
class Kpi:
    """One KPI card: a Spanish msgid title, a value in `unit` ("count", "seconds" or "share"), the target it is
    read against (same unit; None without one) and whether the value meets it, the page listing what is behind it,
    and the campaign it is of ("" for every campaign in scope). `threshold_seconds`: the service level's threshold,
    which says what the share counts."""

    title: str
    value: float
    unit: str
    target: float | None
    url: str
    campaign: str = ""
    met: bool | None = None
    threshold_seconds: float | None = None


KpiSource = Callable[[Engine, set[str] | None, datetime], list[Kpi]]
"""Computes KPIs for the campaigns in scope (None: all) at an instant; the dashboards list their sources."""
